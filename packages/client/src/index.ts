// @tally/client — the browser emitter. No dependencies, about 2 KB, never throws.
//
//   import { createTelemetry } from "@tally/client";
//   const telemetry = createTelemetry();
//   telemetry.track("suggestion_accepted");      // a misspelt event is a type error
//
// Delivery: every tracked count waits in an outbox until the service has
// acknowledged it (2xx) or refused it for good (other 4xx, a redirect).
// Network errors, 408, 429 and 5xx are retried with exponential backoff and
// jitter, honouring Retry-After, and a retry re-sends the same Idempotency-Key,
// so the service stores it once. The service remembers a key for 24 hours, so
// a request first sent more than KEY_WINDOW_MS ago is given up rather than
// risk being stored twice. The outbox lives in localStorage (memory without
// it), one key per tab: a tab only ever sends its own entries, and adopts the
// outbox of a tab that was closed (or reloaded) before it was acknowledged.
import { BATCH_MAX_ITEMS, clampCount, type DefaultEventName } from "../../../src/contract/index.js";

export type { DefaultEventName };

export interface TelemetryOptions {
  /** The host app's same-origin route that proxies to tally. Default `/api/telemetry`. */
  endpoint?: string;
  /** Start disabled (e.g. the user opted out): nothing is sent and the stored outbox is cleared. Default true. */
  enabled?: boolean;
  /**
   * With Global Privacy Control on (`navigator.globalPrivacyControl`), nothing
   * is sent unless this is true: an explicit decision of the host app.
   */
  sendDespiteGlobalPrivacyControl?: boolean;
  /** Where the outbox survives reloads. Default `localStorage` when the page has it; `null`: memory only. */
  storage?: Storage | null;
  /** Most counts the outbox keeps; past it the oldest requests are dropped (and counted in `dropped`). Default 1000. */
  maxQueued?: number;
  /** For tests and unusual runtimes. Default: the page's `fetch` (nothing is sent outside a browser). */
  fetch?: typeof fetch;
}

export interface Telemetry<E extends string = DefaultEventName> {
  /** Reports that `event` happened `count` times (default 1, clamped to 1..50). Fire-and-forget. */
  track(event: E, count?: number): void;
  /** Stops sending for the rest of the page (e.g. the user opted out) and clears the outbox. */
  disable(): void;
  /** Sends what is queued now instead of at the end of the tick, even while waiting to retry. */
  flush(): void;
  /** False once disabled, by option, by `disable()`, by GPC or by the service's kill switch. */
  readonly enabled: boolean;
  /** Counts given up: refused for good by the service (400, 401, 403, 404, 413, 422) or pushed out of a full outbox. */
  readonly dropped: number;
  /** Counts in this page's outbox, not yet acknowledged. */
  readonly pending: number;
}

interface Item {
  event: string;
  count: number;
}
/**
 * One request: its Idempotency-Key, its items, and when it was first sent
 * (ms; 0 before). Never changed once made, so a retry sends the same body; a
 * body the service refused as a whole is split into new entries with new keys.
 */
interface Entry {
  k: string;
  i: Item[];
  s: number;
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 60_000;
/** Requests one tab has under way at once: an outage's backlog drains without a stampede. */
const MAX_IN_FLIGHT = 4;
/** Longest wait a Retry-After may impose. */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** A request first sent longer ago than this is given up: the service forgets keys after 24 hours. */
const KEY_WINDOW_MS = 23 * 3_600_000;
/** A tab's stored outbox is adopted by another tab once it is closed, or silent this long. */
const STALE_MS = 300_000;

type Global = {
  crypto?: { randomUUID?: () => string };
  navigator?: { globalPrivacyControl?: unknown; onLine?: boolean };
  localStorage?: Storage;
  window?: unknown;
  addEventListener?: (type: string, fn: (e: { persisted?: boolean; key?: string | null; newValue?: string | null }) => void) => void;
};
const g = globalThis as Global;

const newId = (): string =>
  g.crypto?.randomUUID?.() ?? `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}-${Math.random().toString(16).slice(2)}`;

/** Creates an emitter. `E` is the event-name type; it defaults to the default catalog's events. */
export function createTelemetry<E extends string = DefaultEventName>(options: TelemetryOptions = {}): Telemetry<E> {
  const endpoint = options.endpoint ?? "/api/telemetry";
  const send = options.fetch ?? (g.window && typeof fetch === "function" ? fetch.bind(globalThis) : undefined);
  const max = options.maxQueued ?? 1000;
  const prefix = `tally.outbox ${endpoint} `;
  const own = prefix + newId();
  const optOut = `tally.optout ${endpoint}`;
  let store: Storage | undefined;
  try {
    store = options.storage === null ? undefined : (options.storage ?? g.localStorage);
  } catch {
    // localStorage access can throw (blocked storage): keep the outbox in memory
  }
  let enabled =
    options.enabled !== false && send !== undefined && (options.sendDespiteGlobalPrivacyControl === true || g.navigator?.globalPrivacyControl !== true);
  let entries: Entry[] = [];
  let thisTick: Item[] = [];
  const inflight = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let dropped = 0;

  const size = (list: Entry[]) => list.reduce((n, e) => n + e.i.length, 0);
  const storedKeys = () => {
    const keys: string[] = [];
    for (let n = 0; store && n < store.length; n++) {
      const key = store.key(n);
      if (key?.startsWith(prefix)) keys.push(key);
    }
    return keys;
  };
  /** Writes this tab's outbox; `closed` lets the next page adopt it at once. */
  const save = (closed?: boolean) => {
    try {
      if (entries.length) store?.setItem(own, JSON.stringify({ t: closed ? 0 : Date.now(), e: entries }));
      else store?.removeItem(own);
    } catch {
      // storage full or blocked: the outbox still lives in memory
    }
  };
  const remove = (e: Entry, lost: boolean) => {
    inflight.delete(e.k);
    const at = entries.indexOf(e);
    if (at < 0) return;
    entries.splice(at, 1);
    if (lost) dropped += e.i.length;
    save();
  };
  /** Over the cap, the oldest requests not under way go first; so do requests past the key window. */
  const trim = () => {
    let excess = size(entries) - max;
    const now = Date.now();
    const before = entries.length;
    entries = entries.filter((e) => {
      const expired = e.s > 0 && now - e.s > KEY_WINDOW_MS;
      if (inflight.has(e.k) || (excess <= 0 && !expired)) return true;
      excess -= e.i.length;
      dropped += e.i.length;
      return false;
    });
    if (entries.length !== before) save();
  };
  /** Takes over the outbox of tabs that were closed, or have been silent for STALE_MS. */
  const adopt = () => {
    for (const key of storedKeys()) {
      if (key === own) continue;
      let other: { t?: number; e?: Entry[] } | null = null;
      try {
        other = JSON.parse(store!.getItem(key) ?? "null");
      } catch {
        // unreadable: removed below
      }
      if (other && Date.now() - (other.t ?? 0) < STALE_MS) continue;
      store!.removeItem(key);
      for (const e of other?.e ?? []) {
        if (typeof e?.k === "string" && Array.isArray(e.i) && !entries.some((x) => x.k === e.k)) entries.push({ k: e.k, i: e.i, s: Number(e.s) || 0 });
      }
    }
    trim();
    save();
  };
  const stop = () => {
    if (enabled) {
      // Other tabs of this origin hear it (a storage event) and stop too.
      try {
        store?.setItem(optOut, "1");
        store?.removeItem(optOut);
      } catch {
        // no storage: only this tab
      }
    }
    enabled = false;
    entries = [];
    thisTick = [];
    clearTimeout(timer);
    try {
      for (const key of storedKeys()) store!.removeItem(key);
    } catch {
      // nothing stored to clear
    }
  };
  const retryLater = (e: Entry, retryAfter?: string | null) => {
    inflight.delete(e.k);
    if (timer !== undefined || !enabled) return;
    const backoff = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt++) * (0.5 + Math.random() / 2);
    // Retry-After is seconds or an HTTP date; never more than an hour.
    const asked = retryAfter ? Number(retryAfter) * 1000 || Date.parse(retryAfter) - Date.now() || 0 : 0;
    timer = setTimeout(() => {
      timer = undefined;
      run(adopt);
      run(flush);
    }, Math.min(MAX_RETRY_AFTER_MS, Math.max(asked, backoff)));
    (timer as { unref?: () => void }).unref?.(); // outside a browser, never keep the process alive
  };
  /** A body refused as a whole (400, 413: nothing stored, no key kept): its halves go again under new keys, so one bad item cannot sink the rest. */
  const split = (e: Entry) => {
    inflight.delete(e.k);
    const at = entries.indexOf(e);
    const half = Math.ceil(e.i.length / 2);
    if (at >= 0) entries.splice(at, 1, { k: `${e.k}.0`, i: e.i.slice(0, half), s: 0 }, { k: `${e.k}.1`, i: e.i.slice(half), s: 0 });
    save();
  };
  const post = (e: Entry) => {
    inflight.add(e.k);
    // From the first attempt that may have reached the service (not while surely offline), the key window runs.
    if (!e.s && g.navigator?.onLine !== false) {
      e.s = Date.now();
      save();
    }
    new Promise<Response>((resolve) =>
      resolve(
        send!(endpoint, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": e.k },
          body: JSON.stringify(e.i.length === 1 ? e.i[0] : { events: e.i }),
          keepalive: true,
          credentials: "same-origin",
          redirect: "manual", // a redirect (to a sign-in page) is not an acknowledgement
        }),
      ),
    )
      .then((res): unknown => {
        const status = res.status;
        if (status === 408 || status === 429 || status >= 500) return retryLater(e, res.headers.get("retry-after"));
        if (status >= 200 && status < 300) {
          attempt = 0;
          remove(e, false);
        } else if ((status === 400 || status === 413) && e.i.length > 1) split(e);
        else if (status !== 404) remove(e, true);
        else
          return res.json().then(
            (body: { error?: unknown } | null) => (body?.error === "telemetry_disabled" ? stop() : (remove(e, true), flush())),
            () => (remove(e, true), flush()),
          );
        return flush();
      })
      .catch(() => retryLater(e));
  };
  /** Commits this tick's calls to the outbox, then sends every request not already under way. */
  const flush = () => {
    if (!enabled) return;
    if (thisTick.length) {
      for (let at = 0; at < thisTick.length; at += BATCH_MAX_ITEMS) entries.push({ k: newId(), i: thisTick.slice(at, at + BATCH_MAX_ITEMS), s: 0 });
      thisTick = [];
      save();
    }
    trim(); // and requests past the key window are given up before anything is sent
    for (const e of entries) {
      if (timer !== undefined || inflight.size >= MAX_IN_FLIGHT) break;
      if (!inflight.has(e.k)) post(e);
    }
  };
  /** Sends at once, even while waiting to retry (coming back online, the page closing). */
  const now = () => {
    clearTimeout(timer);
    timer = undefined;
    flush();
  };
  const run = (fn: () => void) => {
    try {
      fn();
    } catch {
      // never let telemetry break the page
    }
  };

  if (enabled) {
    run(adopt);
    run(flush);
  } else run(stop);
  run(() => {
    g.addEventListener?.("online", now);
    g.addEventListener?.("pagehide", (e) => {
      now();
      save(!e.persisted); // a page kept in the back/forward cache may come back for its own outbox
    });
    g.addEventListener?.("pageshow", () => save());
    g.addEventListener?.("storage", (e) => {
      if (e.key === optOut && e.newValue) run(stop); // another tab opted out
    });
  });

  return {
    track(event, count = 1) {
      run(() => {
        if (!enabled || typeof event !== "string") return;
        const n = Math.trunc(Number(count));
        thisTick.push({ event, count: clampCount(Number.isFinite(n) ? n : 1) });
        if (thisTick.length === 1) queueMicrotask(() => run(flush));
      });
    },
    disable: () => run(stop),
    flush: () => run(now),
    get enabled() {
      return enabled;
    },
    get dropped() {
      return dropped;
    },
    get pending() {
      return size(entries) + thisTick.length;
    },
  };
}
