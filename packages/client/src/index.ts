// @tally/client — the browser emitter. No dependencies, about 2.5 KB, never throws.
//
//   import { createTelemetry } from "@tally/client";
//   const telemetry = createTelemetry();
//   telemetry.track("suggestion_accepted");      // a misspelt event is a type error
//   telemetry.reset();                           // from the app's sign-out (and sign-in)
//   await telemetry.forget();                    // "erase my data"
//
// Delivery: every tracked count waits in an outbox until the service has
// acknowledged it (2xx) or refused it for good (other 4xx, a redirect).
// Network errors, 408, 429 and 5xx are retried with exponential backoff and
// jitter, honouring Retry-After, and a retry re-sends the same Idempotency-Key,
// so the service stores it once. The service remembers a key for 24 hours, so
// a request first sent more than CLIENT_GIVE_UP_MS ago is given up rather than
// risk being stored twice. The outbox lives in localStorage (memory without
// it), one key per tab: a tab only ever sends its own entries, and adopts the
// outbox of a tab that was closed (or reloaded) before it was acknowledged.
//
// Whose count it is: a browser profile is not a person. Every count is bound,
// when it is tracked, to the session signed in at that moment — a binding the
// service issues (GET <endpoint>/binding) and that names nobody — and carries
// it to the service, which refuses it (409 session_mismatch, 410 erased) if
// another viewer is signed in by then, or the viewer has erased their data
// since. A count tracked while no binding is held waits, in memory only, for
// the binding request already on its way (or sent at once for it): never for
// a later one, which could be another person's; if that request fails, the
// count is dropped. reset() and forget() clear the outbox in every tab of the
// origin, and while an erasure runs no tab binds anything.
import {
  BATCH_MAX_ITEMS,
  BINDING_HEADER,
  clampCount,
  CLIENT_GIVE_UP_MS,
  type DefaultEventName,
} from "../../../src/contract/index.js";

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

/** What `forget()` answers: the rows of counts erased, or why it could not erase. */
export type ForgetResult = { ok: true; deleted: number } | { ok: false; error: string };

export interface Telemetry<E extends string = DefaultEventName> {
  /** Reports that `event` happened `count` times (default 1, clamped to 1..50). Fire-and-forget. */
  track(event: E, count?: number): void;
  /**
   * The signed-in user changed: call it from the app's sign-out, and from a
   * sign-in that does not load a new page. Clears the outbox in every tab of
   * this origin (another user's pending counts must never be sent under the
   * next session, nor stay readable in storage) and asks for a new binding.
   */
  reset(): void;
  /**
   * Erases the signed-in viewer's data: clears the outbox in every tab, then
   * DELETE through the proxy. Once it answers, nothing tracked before it is
   * ever stored — a late request is refused by the service. Never rejects.
   */
  forget(): Promise<ForgetResult>;
  /** Stops sending for the rest of the page (e.g. the user opted out) and clears the outbox. */
  disable(): void;
  /** Sends what is queued now instead of at the end of the tick, even while waiting to retry. */
  flush(): void;
  /** False once disabled, by option, by `disable()`, by GPC or by the service's kill switch. */
  readonly enabled: boolean;
  /** Counts given up: refused for good by the service (4xx), tracked with nobody signed in, or pushed out of a full outbox. */
  readonly dropped: number;
  /**
   * Why counts were last given up: the service's error code (`no_viewer`: no
   * session; `session_mismatch`: tracked under another session; `erased`; …),
   * `http_<status>` without one, or `outbox_full`; null while nothing was.
   */
  readonly lastError: string | null;
  /** Counts in this page's outbox, not yet acknowledged (those waiting for a binding included). */
  readonly pending: number;
}

interface Item {
  event: string;
  count: number;
}
/**
 * One request: its Idempotency-Key, its items, when it was first sent (ms; 0
 * before), the session binding its counts were tracked under and when that
 * binding arrived (ms). Never changed once made, so a retry sends the same
 * body; a body the service refused as a whole is split into new entries with
 * new keys (and the same binding).
 */
interface Entry {
  k: string;
  i: Item[];
  s: number;
  b: string;
  t: number;
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 60_000;
/** Requests one tab has under way at once: an outage's backlog drains without a stampede. */
const MAX_IN_FLIGHT = 4;
/** Longest wait a Retry-After may impose. */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** A tab's stored outbox is adopted by another tab once it is closed, or silent this long. */
const STALE_MS = 300_000;
/** A binding older than this is renewed in the background (the service accepts one for 24 hours; it is used until the new one arrives). */
const BINDING_RENEW_MS = 3_600_000;
/** An erasure another tab announced is over after this long even if its end was never announced (a closed tab): DELETE /me waits at most 120 s. */
const ERASURE_MAX_MS = 130_000;

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
  const resetKey = `tally.reset ${endpoint}`;
  const forgettingKey = `tally.forgetting ${endpoint}`;
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
  /** Tracked while no binding is known: memory only (whose they are is not known yet). */
  let unbound: Item[] = [];
  let binding: { value: string; at: number } | null = null;
  let asking = false;
  /** Bumped whenever the session may have changed (reset, forget): an answer asked for before belongs to the previous one. */
  let session = 0;
  /** This tab's forget() is under way. */
  let forgetting = false;
  const inflight = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let dropped = 0;
  let lastError: string | null = null;

  const size = (list: { i: Item[] }[]) => list.reduce((n, e) => n + e.i.length, 0);
  const give = (n: number, why: string) => {
    if (n <= 0) return;
    dropped += n;
    lastError = why;
  };
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
  const remove = (e: Entry, why?: string) => {
    inflight.delete(e.k);
    const at = entries.indexOf(e);
    if (at < 0) return;
    entries.splice(at, 1);
    if (why) give(e.i.length, why);
    save();
  };
  /** Over the cap, the oldest requests not under way go first; so do requests past the key window. */
  const trim = () => {
    let excess = size(entries) - max;
    const now = Date.now();
    const before = entries.length;
    entries = entries.filter((e) => {
      const expired = (e.s > 0 && now - e.s > CLIENT_GIVE_UP_MS) || now - e.t > CLIENT_GIVE_UP_MS;
      if (inflight.has(e.k) || (excess <= 0 && !expired)) return true;
      excess -= e.i.length;
      give(e.i.length, expired ? "expired" : "outbox_full");
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
        // An entry carries the binding it was tracked under: the service decides whose it is.
        if (typeof e?.k === "string" && typeof e.b === "string" && Array.isArray(e.i) && !entries.some((x) => x.k === e.k)) {
          entries.push({ k: e.k, i: e.i, s: Number(e.s) || 0, b: e.b, t: Number(e.t) || 0 });
        }
      }
    }
    trim();
    save();
  };
  /** Clears every tab's stored outbox; `tell`: and tells the origin's other tabs (a storage event of that key). */
  const wipe = (tell?: string) => {
    try {
      if (tell) {
        store?.setItem(tell, newId());
        store?.removeItem(tell);
      }
      for (const k of storedKeys()) store!.removeItem(k);
    } catch {
      // no storage: only this tab
    }
  };
  /** Forgets everything this tab holds and whose session it was bound to. */
  const clear = () => {
    session += 1;
    asking = false;
    entries = [];
    thisTick = [];
    unbound = [];
    binding = null;
    inflight.clear();
    clearTimeout(timer);
    timer = undefined;
    attempt = 0;
    try {
      store?.removeItem(own);
    } catch {
      // nothing stored
    }
  };
  const stop = () => {
    wipe(enabled ? optOut : undefined); // other tabs of this origin hear it and stop too
    enabled = false;
    clear();
  };
  /**
   * An erasure is under way, in this tab or another of the origin: nothing
   * tracked now may be stored (it is tracked before the erasure answers), and
   * no binding is asked for (it could be issued after it).
   */
  const erasing = () => {
    if (forgetting) return true;
    try {
      const since = Number(store?.getItem(forgettingKey));
      return since > 0 && Date.now() - since < ERASURE_MAX_MS;
    } catch {
      return false;
    }
  };
  /** Waits before trying again (the binding or the requests): exponential backoff, or the service's Retry-After (at most an hour). */
  const retryLater = (retryAfter?: string | null) => {
    if (timer !== undefined || !enabled) return;
    const backoff = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt++) * (0.5 + Math.random() / 2);
    // Retry-After is seconds or an HTTP date.
    const asked = retryAfter ? Number(retryAfter) * 1000 || Date.parse(retryAfter) - Date.now() || 0 : 0;
    timer = setTimeout(() => {
      timer = undefined;
      run(adopt);
      run(flush);
    }, Math.min(MAX_RETRY_AFTER_MS, Math.max(asked, backoff)));
    (timer as { unref?: () => void }).unref?.(); // outside a browser, never keep the process alive
  };
  const request = (url: string, init: RequestInit) =>
    new Promise<Response>((resolve) =>
      resolve(send!(url, { credentials: "same-origin", redirect: "manual", ...init })),
    );
  /** The service's error code of a refusal, or http_<status>. */
  const errorOf = (res: Response): Promise<string> =>
    res.json().then(
      (body: { error?: unknown } | null) => (typeof body?.error === "string" ? body.error : `http_${res.status}`),
      () => `http_${res.status}`,
    );
  /**
   * Asks the service (through the proxy) for a binding of the session signed
   * in now — at once, never after a backoff: the counts waiting for it were
   * tracked just before it was sent, and a later request could be answered for
   * another person. If it fails, they are dropped (a renewal failing keeps the
   * binding it was renewing).
   */
  const ask = () => {
    if (asking || !enabled || erasing()) return;
    asking = true;
    const mine = session;
    const drop = (why: string) => {
      give(unbound.length, why);
      unbound = [];
    };
    request(`${endpoint}/binding`, { method: "GET", headers: { accept: "application/json" } })
      .then(async (res): Promise<unknown> => {
        if (mine !== session) return; // asked under the previous session: its answer is not this one's
        const why = res.status === 200 ? null : await errorOf(res);
        if (why === "telemetry_disabled") return stop();
        const body = why === null ? ((await res.json().catch(() => null)) as { binding?: unknown } | null) : null;
        if (typeof body?.binding === "string") binding = { value: body.binding, at: Date.now() };
        else drop(why ?? "invalid_binding"); // nobody signed in, a refusal, an outage: what waited can belong to no one
        return undefined;
      })
      .catch(() => mine === session && drop("binding_unavailable"))
      .finally(() => {
        if (mine !== session) return;
        asking = false;
        run(flush);
      });
  };
  /** A body refused as a whole (400, 413: nothing stored, no key kept): its halves go again under new keys, so one bad item cannot sink the rest. */
  const split = (e: Entry) => {
    inflight.delete(e.k);
    const at = entries.indexOf(e);
    const half = Math.ceil(e.i.length / 2);
    if (at >= 0) entries.splice(at, 1, { ...e, k: `${e.k}.0`, i: e.i.slice(0, half), s: 0 }, { ...e, k: `${e.k}.1`, i: e.i.slice(half), s: 0 });
    save();
  };
  const post = (e: Entry) => {
    inflight.add(e.k);
    // From the first attempt that may have reached the service (not while surely offline), the key window runs.
    if (!e.s && g.navigator?.onLine !== false) {
      e.s = Date.now();
      save();
    }
    request(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": e.k, [BINDING_HEADER]: e.b },
      body: JSON.stringify(e.i.length === 1 ? e.i[0] : { events: e.i }),
      keepalive: true,
    })
      .then(async (res): Promise<unknown> => {
        const status = res.status;
        if (!entries.includes(e)) return inflight.delete(e.k); // cleared meanwhile (reset, forget)
        if (status === 408 || status === 429 || status >= 500) {
          inflight.delete(e.k);
          return retryLater(res.headers.get("retry-after"));
        }
        if (status >= 200 && status < 300) {
          attempt = 0;
          remove(e);
        } else if ((status === 400 || status === 413) && e.i.length > 1) split(e);
        else {
          const why = await errorOf(res);
          if (why === "telemetry_disabled") return stop();
          remove(e, why);
          // Another viewer is signed in now, or this one erased their data: bind new counts afresh.
          if ((why === "session_mismatch" || why === "erased") && binding?.value === e.b) binding = null;
        }
        return flush();
      })
      .catch(() => {
        inflight.delete(e.k);
        retryLater();
      });
  };
  /** Commits this tick's calls to the outbox (bound to the session signed in now), then sends every request not already under way. */
  const flush = () => {
    if (!enabled) return;
    // A binding near the end of its life is not used: counts bound to it now could not be sent in time.
    if (binding && Date.now() - binding.at > CLIENT_GIVE_UP_MS / 2) binding = null;
    if (thisTick.length) {
      if (erasing()) give(thisTick.length, "erased"); // tracked before the erasure answered
      else if (binding) {
        for (let at = 0; at < thisTick.length; at += BATCH_MAX_ITEMS) {
          entries.push({ k: newId(), i: thisTick.slice(at, at + BATCH_MAX_ITEMS), s: 0, b: binding.value, t: binding.at });
        }
        save();
      } else {
        unbound.push(...thisTick); // waits for the binding request on its way, or sent now
        ask();
      }
      thisTick = [];
    }
    if (unbound.length > max) {
      give(unbound.length - max, "outbox_full");
      unbound = unbound.slice(-max);
    }
    if (unbound.length && binding) {
      // The binding their request brought back: theirs.
      for (let at = 0; at < unbound.length; at += BATCH_MAX_ITEMS) {
        entries.push({ k: newId(), i: unbound.slice(at, at + BATCH_MAX_ITEMS), s: 0, b: binding.value, t: binding.at });
      }
      unbound = [];
      save();
    }
    if (binding && Date.now() - binding.at > BINDING_RENEW_MS) ask(); // in the background: the current one is used meanwhile
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
    run(ask); // the binding is usually there before the first click (not while an erasure runs)
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
      if (e.key === resetKey && e.newValue) run(() => (clear(), ask())); // another tab signed out or in
      if (e.key === forgettingKey) run(() => (e.newValue ? clear() : ask())); // another tab's erasure began, or answered
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
    reset: () =>
      run(() => {
        wipe(resetKey);
        clear();
        ask();
      }),
    async forget() {
      if (!send) return { ok: false, error: "unavailable" };
      forgetting = true;
      run(() => {
        // Every tab of the origin, those opened meanwhile too, stops binding until the erasure has answered.
        try {
          store?.setItem(forgettingKey, String(Date.now()));
        } catch {
          // no storage: only this tab
        }
        wipe();
        clear();
      });
      try {
        const res = await request(endpoint, { method: "DELETE", headers: { accept: "application/json" } });
        if (!res.ok) return { ok: false, error: await errorOf(res) };
        const body = (await res.json().catch(() => null)) as { deleted?: unknown } | null;
        return typeof body?.deleted === "number" ? { ok: true, deleted: body.deleted } : { ok: false, error: `http_${res.status}` };
      } catch {
        return { ok: false, error: "network" };
      } finally {
        forgetting = false;
        run(() => store?.removeItem(forgettingKey)); // the other tabs hear it, and ask for a binding
        run(ask); // a binding issued from now on is younger than the erasure
      }
    },
    disable: () => run(stop),
    flush: () => run(now),
    get enabled() {
      return enabled;
    },
    get dropped() {
      return dropped;
    },
    get lastError() {
      return lastError;
    },
    get pending() {
      return size(entries) + unbound.length + thisTick.length;
    },
  };
}
