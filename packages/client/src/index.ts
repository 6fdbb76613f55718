// tally/client — the browser emitter. No dependencies, a few KiB, never throws.
//
//   import { createTelemetry } from "tally/client";
//   const telemetry = createTelemetry();
//   telemetry.track("suggestion_accepted");      // a misspelt event is a type error
//
// Calls made in the same tick go out as one request (the batch form of
// POST /ingest). Requests use `keepalive` so counts sent while the page is
// being hidden still arrive. After a 404 `telemetry_disabled` the emitter
// stops for the rest of the page.
import type { DefaultEventName } from "../catalog/default-catalog.js";

export type { DefaultEventName } from "../catalog/default-catalog.js";

export interface TelemetryOptions {
  /** The host app's same-origin route that proxies to tally. Default `/api/telemetry`. */
  endpoint?: string;
  /** Start disabled (e.g. the user opted out). Default true. */
  enabled?: boolean;
  /**
   * With Global Privacy Control on (`navigator.globalPrivacyControl`), nothing
   * is sent unless this is true: an explicit decision of the host app.
   */
  sendDespiteGlobalPrivacyControl?: boolean;
  /** For tests and unusual runtimes; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

export interface Telemetry<E extends string = DefaultEventName> {
  /** Reports that `event` happened `count` times (default 1). Fire-and-forget. */
  track(event: E, count?: number): void;
  /** Stops sending for the rest of the page (e.g. the user opted out); drops anything queued. */
  disable(): void;
  /** Sends what is queued now instead of at the end of the tick. */
  flush(): void;
  /** False once disabled, by option, by `disable()`, by GPC or by the service's kill switch. */
  readonly enabled: boolean;
}

/** The service accepts at most this many items per request. */
const MAX_BATCH = 25;

interface Item {
  event: string;
  count: number;
}

function requestId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}-${Math.random().toString(16).slice(2)}`;
}

function globalPrivacyControl(): boolean {
  const nav = (globalThis as { navigator?: { globalPrivacyControl?: unknown } }).navigator;
  return nav?.globalPrivacyControl === true;
}

/** Creates an emitter. `E` is the event-name type; it defaults to the default catalog's events. */
export function createTelemetry<E extends string = DefaultEventName>(options: TelemetryOptions = {}): Telemetry<E> {
  const endpoint = options.endpoint ?? "/api/telemetry";
  const send = options.fetch ?? (typeof fetch === "function" ? fetch.bind(globalThis) : undefined);
  let enabled =
    options.enabled !== false && send !== undefined && (options.sendDespiteGlobalPrivacyControl === true || !globalPrivacyControl());
  let queue: Item[] = [];
  let scheduled = false;

  const post = (items: Item[]) => {
    const body = items.length === 1 ? items[0] : { events: items };
    try {
      send!(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": requestId() },
        body: JSON.stringify(body),
        keepalive: true,
        credentials: "same-origin",
      }).then(
        (res) => {
          if (res.status !== 404) return;
          return res.json().then(
            (b: unknown) => {
              if ((b as { error?: unknown } | null)?.error === "telemetry_disabled") stop();
            },
            () => undefined,
          );
        },
        () => undefined, // offline, blocked, aborted: counts are best-effort
      );
    } catch {
      // a fetch that throws synchronously (bad endpoint, no network stack)
    }
  };

  const flush = () => {
    scheduled = false;
    if (!enabled || queue.length === 0) return void (queue = []);
    const items = queue;
    queue = [];
    for (let i = 0; i < items.length; i += MAX_BATCH) post(items.slice(i, i + MAX_BATCH));
  };

  const stop = () => {
    enabled = false;
    queue = [];
  };

  const onPageHide = () => flush();
  try {
    (globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.("pagehide", onPageHide);
  } catch {
    // not a browser
  }

  return {
    track(event, count = 1) {
      try {
        if (!enabled || typeof event !== "string") return;
        const n = Number(count);
        queue.push({ event, count: Number.isFinite(n) ? Math.trunc(n) : 1 });
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      } catch {
        // never let telemetry break the page
      }
    },
    disable: stop,
    flush() {
      try {
        flush();
      } catch {
        // never throws
      }
    },
    get enabled() {
      return enabled;
    },
  };
}
