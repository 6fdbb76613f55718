// The emitter's delivery guarantee, in Node with a scripted fetch and an
// in-memory Storage (the browser's own behaviour is in tests/e2e/delivery.test.ts):
// a count stays in the outbox until it is acknowledged or refused for good,
// retries re-send the same Idempotency-Key and body, the outbox is capped and
// survives a "reload" (a new emitter on the same storage).
import { jest } from "@jest/globals";
import { createTelemetry } from "../../packages/client/src/index.js";

class MemoryStorage implements Storage {
  private map = new Map<string, string>();
  get length() {
    return this.map.size;
  }
  key(i: number) {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, String(v));
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
  clear() {
    this.map.clear();
  }
  keys() {
    return [...this.map.keys()];
  }
}

interface Sent {
  key: string;
  body: unknown;
}

/** A session binding as GET <endpoint>/binding answers it (the service's proof of who was signed in). */
export const BINDING = "b1.hooq0000.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA";
const bindingAnswer = () => new Response(JSON.stringify({ ok: true, binding: BINDING }), { status: 200 });

/**
 * A fetch that answers each ingest request with the next scripted answer (the
 * last one repeats); GET …/binding is always answered with BINDING.
 */
function scripted(...answers: Array<number | Error | [number, Record<string, string>]>) {
  const sent: Sent[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    if (url.endsWith("/binding")) return bindingAnswer();
    sent.push({ key: (init.headers as Record<string, string>)["idempotency-key"]!, body: JSON.parse(String(init.body)) });
    const a = answers[Math.min(sent.length - 1, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    const [status, headers] = Array.isArray(a) ? a : [a, {}];
    return new Response(status === 204 ? null : JSON.stringify({ ok: status < 300 }), { status, headers });
  }) as unknown as typeof globalThis.fetch;
  return { sent, fetch };
}

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ["nextTick", "queueMicrotask", "setImmediate"] });
});
afterEach(() => {
  jest.useRealTimers();
});

/** Lets promises settle and timers up to `ms` fire. */
const advance = (ms = 0) => jest.advanceTimersByTimeAsync(ms);

test("a network error is retried with backoff, with the same Idempotency-Key and body, until acknowledged", async () => {
  const { sent, fetch } = scripted(new TypeError("offline"), new TypeError("offline"), 200);
  const t = createTelemetry({ fetch, storage: null });
  t.track("suggestion_shown", 3);
  t.track("suggestion_accepted");
  await advance();
  expect(sent).toHaveLength(1);
  expect(t.pending).toBe(2);
  await advance(60_000);
  expect(sent).toHaveLength(3);
  expect(new Set(sent.map((s) => s.key)).size).toBe(1);
  expect(sent.every((s) => JSON.stringify(s.body) === JSON.stringify(sent[0]!.body))).toBe(true);
  expect(t.pending).toBe(0);
  expect(t.dropped).toBe(0);
});

test.each([408, 429, 500, 502, 503, 504])("%i is retried", async (status) => {
  const { sent, fetch } = scripted(status, 200);
  const t = createTelemetry({ fetch, storage: null });
  t.track("suggestion_shown");
  await advance(60_000);
  expect(sent).toHaveLength(2);
  expect(sent[1]!.key).toBe(sent[0]!.key);
  expect(t.pending).toBe(0);
});

test.each([400, 401, 403, 404, 413, 422])("%i is refused for good: dropped, counted, never retried", async (status) => {
  const { sent, fetch } = scripted(status);
  const t = createTelemetry({ fetch, storage: null });
  t.track("suggestion_shown", 2);
  await advance(120_000);
  expect(sent).toHaveLength(1);
  expect(t.pending).toBe(0);
  expect(t.dropped).toBe(1);
  expect(t.enabled).toBe(true);
});

test("Retry-After is honoured: no retry before it, a retry after it", async () => {
  const { sent, fetch } = scripted([429, { "retry-after": "30" }], 200);
  const t = createTelemetry({ fetch, storage: null });
  t.track("suggestion_shown");
  await advance(29_000);
  expect(sent).toHaveLength(1);
  await advance(2_000);
  expect(sent).toHaveLength(2);
  expect(t.pending).toBe(0);
});

test("backoff grows exponentially with jitter, capped at a minute", async () => {
  const { sent, fetch } = scripted(503);
  const t = createTelemetry({ fetch, storage: null });
  t.track("suggestion_shown");
  await advance();
  const at: number[] = [];
  for (let ms = 0; ms < 600_000; ms += 250) {
    const before = sent.length;
    await advance(250);
    if (sent.length > before) at.push(ms + 250);
  }
  const gaps = at.map((v, i) => v - (at[i - 1] ?? 0));
  // 500 ms doubling, each gap between half and all of its nominal value, never over 60 s
  expect(gaps[0]).toBeLessThanOrEqual(500 + 250);
  expect(gaps[3]).toBeGreaterThanOrEqual(2_000);
  expect(Math.max(...gaps)).toBeLessThanOrEqual(60_000 + 250);
  expect(gaps.slice(-3).every((g) => g >= 30_000)).toBe(true);
  expect(t.pending).toBe(1); // still waiting, never dropped
});

test("a backlog drains 4 requests at a time, each acknowledgement sending the next", async () => {
  const { sent, fetch } = scripted(new TypeError("offline"), new TypeError("offline"), 200);
  const t = createTelemetry({ fetch, storage: null });
  for (let i = 0; i < 30; i++) {
    t.track("suggestion_shown");
    await advance();
  }
  expect(sent).toHaveLength(1); // the first failure starts the backoff; the rest wait for it
  await advance(60_000);
  expect(t.pending).toBe(0);
  expect(new Set(sent.map((s) => s.key)).size).toBe(30);
});

test("the outbox is capped at 1 000 counts: the oldest requests are dropped first and counted", async () => {
  const { sent, fetch } = scripted(new TypeError("offline"));
  const t = createTelemetry({ fetch, storage: null });
  for (let i = 0; i < 1_100; i++) {
    t.track("suggestion_shown");
    await advance(); // one request per call
  }
  expect(t.pending).toBe(1_000);
  expect(t.dropped).toBe(100);
  const firstKey = sent[0]!.key;
  // the survivors are the newest: the first request's key is gone from what is retried
  sent.length = 0;
  await advance(60_000);
  expect(sent.map((s) => s.key)).not.toContain(firstKey);
  // at most 4 requests of a tab are under way at once, so a backlog does not stampede the service
  expect(new Set(sent.map((s) => s.key)).size).toBeLessThanOrEqual(4 * 8);
});

test("the outbox survives a reload: a new page adopts it and re-sends the same keys", async () => {
  const storage = new MemoryStorage();
  const offline = scripted(new TypeError("offline"));
  const first = createTelemetry({ fetch: offline.fetch, storage });
  first.track("suggestion_shown", 2);
  await advance();
  first.track("suggestion_accepted");
  await advance();
  expect(storage.keys()).toHaveLength(1);
  const stored = JSON.parse(storage.getItem(storage.keys()[0]!)!) as { e: { k: string }[] };
  expect(stored.e).toHaveLength(2);

  // The tab went away without a pagehide (a crash): its outbox is adopted once it has been silent 5 minutes.
  const online = scripted(200);
  jest.setSystemTime(Date.now() + 10_000);
  createTelemetry({ fetch: online.fetch, storage });
  await advance();
  expect(online.sent).toHaveLength(0);
  jest.setSystemTime(Date.now() + 300_000);
  const second = createTelemetry({ fetch: online.fetch, storage });
  await advance();
  expect(online.sent.map((s) => s.key).sort()).toEqual(stored.e.map((e) => e.k).sort());
  expect(online.sent.map((s) => s.body)).toEqual([
    { event: "suggestion_shown", count: 2 },
    { event: "suggestion_accepted", count: 1 },
  ]);
  expect(second.pending).toBe(0);
  expect(storage.keys()).toHaveLength(0); // acknowledged: nothing left anywhere
});

test("two live tabs on one storage each send only their own counts", async () => {
  const storage = new MemoryStorage();
  const a = scripted(200);
  const b = scripted(200);
  const tabA = createTelemetry({ fetch: a.fetch, storage });
  const tabB = createTelemetry({ fetch: b.fetch, storage });
  for (let i = 0; i < 5; i++) {
    tabA.track("suggestion_shown");
    tabB.track("suggestion_accepted");
    await advance();
  }
  await advance(60_000);
  expect(a.sent).toHaveLength(5);
  expect(b.sent).toHaveLength(5);
  expect(a.sent.every((s) => (s.body as { event: string }).event === "suggestion_shown")).toBe(true);
  expect(b.sent.every((s) => (s.body as { event: string }).event === "suggestion_accepted")).toBe(true);
});

test("disable(), a stored opt-out and GPC clear the stored outbox", async () => {
  const storage = new MemoryStorage();
  const offline = scripted(new TypeError("offline"));
  const t = createTelemetry({ fetch: offline.fetch, storage });
  t.track("suggestion_shown");
  await advance();
  expect(storage.keys()).toHaveLength(1);
  t.disable();
  expect(storage.keys()).toHaveLength(0);
  expect(t.pending).toBe(0);

  const again = createTelemetry({ fetch: offline.fetch, storage });
  again.track("suggestion_shown");
  await advance();
  expect(storage.keys()).toHaveLength(1);
  createTelemetry({ fetch: offline.fetch, storage, enabled: false }); // the user's stored opt-out
  expect(storage.keys()).toHaveLength(0);

  const third = createTelemetry({ fetch: offline.fetch, storage });
  third.track("suggestion_shown");
  await advance();
  expect(storage.keys()).toHaveLength(1);
  (globalThis as { navigator?: unknown }).navigator = { globalPrivacyControl: true };
  try {
    const gpc = createTelemetry({ fetch: offline.fetch, storage });
    expect(gpc.enabled).toBe(false);
    expect(storage.keys()).toHaveLength(0);
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
});

test("the kill switch (404 telemetry_disabled) stops the emitter and clears its outbox", async () => {
  const storage = new MemoryStorage();
  const sent: string[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    if (url.endsWith("/binding")) return bindingAnswer();
    sent.push(String(init.body));
    return new Response('{"ok":false,"error":"telemetry_disabled"}', { status: 404 });
  }) as unknown as typeof globalThis.fetch;
  const t = createTelemetry({ fetch, storage });
  t.track("suggestion_shown");
  await advance();
  expect(t.enabled).toBe(false);
  expect(t.pending).toBe(0);
  expect(storage.keys()).toHaveLength(0);
  t.track("suggestion_shown");
  await advance(60_000);
  expect(sent).toHaveLength(1);
});

test("outside a browser, with no fetch given, it sends nothing and never throws (server-side rendering)", async () => {
  const before = (globalThis as { fetch?: unknown }).fetch;
  let called = 0;
  (globalThis as { fetch?: unknown }).fetch = () => {
    called += 1;
    return Promise.reject(new Error("no"));
  };
  try {
    const t = createTelemetry();
    expect(() => t.track("suggestion_shown")).not.toThrow();
    await advance(60_000);
    expect(called).toBe(0);
    expect(t.enabled).toBe(false);
  } finally {
    (globalThis as { fetch?: unknown }).fetch = before;
  }
});

test("a full or failing storage keeps the outbox in memory", async () => {
  const broken = new MemoryStorage();
  broken.setItem = () => {
    throw new DOMException("quota", "QuotaExceededError");
  };
  const { sent, fetch } = scripted(new TypeError("offline"), 200);
  const t = createTelemetry({ fetch, storage: broken });
  t.track("suggestion_shown");
  await advance(60_000);
  expect(sent).toHaveLength(2);
  expect(t.pending).toBe(0);
});

describe("edges found in review", () => {
  test("a request first sent more than 23 hours ago is given up (the service forgets keys after 24 h), counted", async () => {
    const storage = new MemoryStorage();
    const offline = scripted(503);
    const t = createTelemetry({ fetch: offline.fetch, storage });
    t.track("suggestion_shown", 2);
    await advance();
    expect(offline.sent).toHaveLength(1);
    jest.setSystemTime(Date.now() + 23.5 * 3_600_000);
    await advance(60_000);
    expect(t.pending).toBe(0);
    expect(t.dropped).toBe(1);
    // A page that adopts such an outbox gives it up too, rather than store it a second time.
    const stale = JSON.stringify({ t: 0, e: [{ k: "old-key", i: [{ event: "suggestion_shown", count: 1 }], s: Date.now() - 24 * 3_600_000, b: BINDING, t: Date.now() - 24 * 3_600_000 }] });
    storage.setItem("tally.outbox /api/telemetry closed-tab", stale);
    const online = scripted(200);
    const later = createTelemetry({ fetch: online.fetch, storage });
    await advance();
    expect(online.sent).toHaveLength(0);
    expect(later.dropped).toBe(1);
  });

  test("a redirect (a sign-in page) is not an acknowledgement: the request is refused for good", async () => {
    const sent: RequestInit[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      if (url.endsWith("/binding")) return bindingAnswer();
      sent.push(init);
      return { status: 0, type: "opaqueredirect", headers: new Headers(), json: () => Promise.reject(new Error("opaque")) } as unknown as Response;
    }) as unknown as typeof globalThis.fetch;
    const t = createTelemetry({ fetch, storage: null });
    t.track("suggestion_shown");
    await advance(60_000);
    expect(sent[0]!.redirect).toBe("manual");
    expect(sent).toHaveLength(1);
    expect([t.pending, t.dropped]).toEqual([0, 1]);
  });

  test("a batch refused as a whole (400) is split so its good items still arrive, under new keys", async () => {
    const sent: Sent[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      if (url.endsWith("/binding")) return bindingAnswer();
      const body = JSON.parse(String(init.body)) as { event?: string; events?: { event: string }[] };
      sent.push({ key: (init.headers as Record<string, string>)["idempotency-key"]!, body });
      const events = body.events ?? [body as { event: string }];
      return new Response("{}", { status: events.some((e) => e.event === "not_in_catalog") ? 400 : 200 });
    }) as unknown as typeof globalThis.fetch;
    const t = createTelemetry<string>({ fetch, storage: null });
    t.track("suggestion_shown");
    t.track("not_in_catalog");
    t.track("suggestion_accepted", 3);
    await advance(1_000);
    const stored = sent.filter((s) => !JSON.stringify(s.body).includes("not_in_catalog"));
    expect(stored.map((s) => s.body)).toEqual(
      expect.arrayContaining([{ event: "suggestion_accepted", count: 3 }]),
    );
    expect(JSON.stringify(stored.map((s) => s.body))).toContain("suggestion_shown");
    expect(new Set(sent.map((s) => s.key)).size).toBe(sent.length); // every body has its own key
    expect([t.pending, t.dropped]).toEqual([0, 1]);
  });

  test("Retry-After is bounded: a huge or HTTP-date value waits at most an hour, never fires at once", async () => {
    const { sent, fetch } = scripted([429, { "retry-after": "99999999" }], [429, { "retry-after": new Date(Date.now() + 10 * 86_400_000).toUTCString() }], 200);
    const t = createTelemetry({ fetch, storage: null });
    t.track("suggestion_shown");
    await advance(1_000);
    expect(sent).toHaveLength(1);
    await advance(3_600_000);
    expect(sent).toHaveLength(2);
    await advance(3_600_000);
    expect(sent).toHaveLength(3);
    expect(t.pending).toBe(0);
  });

  test("refusals move the queue on: what waited behind them is sent without another track()", async () => {
    const { sent, fetch } = scripted(new TypeError("offline"), 401, 401, 401, 401, 200);
    const t = createTelemetry({ fetch, storage: null });
    for (let i = 0; i < 6; i++) {
      t.track("suggestion_shown");
      await advance();
    }
    await advance(60_000);
    expect(new Set(sent.map((s) => s.key)).size).toBe(6);
    expect(t.pending).toBe(0);
    expect(t.dropped).toBe(4);
  });

  test("adopting several full outboxes at load takes milliseconds, not seconds", async () => {
    const storage = new MemoryStorage();
    for (let tab = 0; tab < 10; tab++) {
      const e = Array.from({ length: 1_000 }, (_, n) => ({ k: `tab${tab}-${n}`, i: [{ event: "suggestion_shown", count: 1 }], s: 0, b: BINDING, t: Date.now() }));
      storage.setItem(`tally.outbox /api/telemetry tab-${tab}`, JSON.stringify({ t: 0, e }));
    }
    const { fetch } = scripted(new TypeError("offline"));
    const started = performance.now();
    const t = createTelemetry({ fetch, storage });
    expect(performance.now() - started).toBeLessThan(500);
    expect(t.pending).toBe(1_000);
    expect(t.dropped).toBe(9_000);
  });
});
