// The emitter in Node with a recording fetch: the same code the browser runs.
import { createTelemetry } from "../../packages/client/src/index.js";

interface Sent {
  url: string;
  init: RequestInit;
  body: unknown;
}

const BINDING = "b1.hooq0000.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA";

/** Records every ingest request; GET …/binding is answered with BINDING. */
function recorder(answer: (n: number) => Promise<Response> | Response = () => new Response('{"ok":true}')) {
  const sent: Sent[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    if (url.endsWith("/binding")) return new Response(JSON.stringify({ ok: true, binding: BINDING }));
    sent.push({ url, init, body: JSON.parse(String(init.body)) });
    return answer(sent.length);
  }) as unknown as typeof globalThis.fetch;
  return { sent, fetch };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  delete (globalThis as { navigator?: unknown }).navigator;
});

test("calls in the same tick are coalesced into one batch request", async () => {
  const { sent, fetch } = recorder();
  const t = createTelemetry({ fetch });
  t.track("suggestion_shown");
  t.track("suggestion_shown", 3);
  t.track("suggestion_accepted");
  expect(sent).toHaveLength(0); // nothing is sent synchronously
  await tick();
  expect(sent).toHaveLength(1);
  expect(sent[0]!.url).toBe("/api/telemetry");
  expect(sent[0]!.body).toEqual({
    events: [
      { event: "suggestion_shown", count: 1 },
      { event: "suggestion_shown", count: 3 },
      { event: "suggestion_accepted", count: 1 },
    ],
  });
  expect(sent[0]!.init).toMatchObject({ method: "POST", keepalive: true, credentials: "same-origin" });
});

test("one call is sent in the single-event form; later ticks make new requests", async () => {
  const { sent, fetch } = recorder();
  const t = createTelemetry({ fetch, endpoint: "/t" });
  t.track("suggestion_undo", 2);
  await tick();
  t.track("suggestion_skipped");
  await tick();
  expect(sent.map((s) => [s.url, s.body])).toEqual([
    ["/t", { event: "suggestion_undo", count: 2 }],
    ["/t", { event: "suggestion_skipped", count: 1 }],
  ]);
});

test("more than 25 calls in a tick are split into requests of at most 25", async () => {
  const { sent, fetch } = recorder();
  const t = createTelemetry({ fetch });
  for (let i = 0; i < 60; i++) t.track("suggestion_shown");
  await tick();
  expect(sent.map((s) => (s.body as { events: unknown[] }).events.length)).toEqual([25, 25, 10]);
});

test("every request carries its own Idempotency-Key", async () => {
  const { sent, fetch } = recorder();
  const t = createTelemetry({ fetch });
  t.track("suggestion_shown");
  await tick();
  t.track("suggestion_shown");
  await tick();
  const keys = sent.map((s) => (s.init.headers as Record<string, string>)["idempotency-key"]);
  expect(keys[0]).toMatch(/^[0-9a-f-]{20,}$/);
  expect(new Set(keys).size).toBe(2);
});

test("never throws and never leaves a rejected promise: network errors, non-JSON answers, a throwing fetch", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    const failing = createTelemetry({ fetch: (async () => Promise.reject(new TypeError("offline"))) as unknown as typeof fetch });
    const garbage = createTelemetry({ fetch: (async () => new Response("<html>", { status: 404 })) as unknown as typeof fetch });
    const throwing = createTelemetry({
      fetch: (() => {
        throw new Error("sync");
      }) as unknown as typeof fetch,
    });
    for (const t of [failing, garbage, throwing]) {
      expect(() => t.track("suggestion_shown")).not.toThrow();
      expect(() => t.track(undefined as never, Number.NaN)).not.toThrow();
      expect(() => t.flush()).not.toThrow();
    }
    await tick();
    await tick();
    expect(unhandled).toEqual([]);
    expect(garbage.enabled).toBe(true); // a 404 that is not the kill switch does not disable
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("after a 404 telemetry_disabled it stops sending for the rest of the page", async () => {
  const { sent, fetch } = recorder(() => new Response('{"ok":false,"error":"telemetry_disabled"}', { status: 404 }));
  const t = createTelemetry({ fetch });
  t.track("suggestion_shown");
  await tick();
  await tick();
  expect(t.enabled).toBe(false);
  t.track("suggestion_shown");
  await tick();
  expect(sent).toHaveLength(1);
});

test("enabled: false and disable() send nothing", async () => {
  const { sent, fetch } = recorder();
  const off = createTelemetry({ fetch, enabled: false });
  off.track("suggestion_shown");
  const later = createTelemetry({ fetch });
  later.track("suggestion_shown"); // queued in this tick...
  later.disable(); // ...and dropped by the opt-out
  later.track("suggestion_shown");
  await tick();
  expect(sent).toHaveLength(0);
  expect(off.enabled).toBe(false);
  expect(later.enabled).toBe(false);
});

test("with Global Privacy Control on it sends nothing unless the host app opts in", async () => {
  (globalThis as { navigator?: unknown }).navigator = { globalPrivacyControl: true };
  const { sent, fetch } = recorder();
  const respectful = createTelemetry({ fetch });
  respectful.track("suggestion_shown");
  await tick();
  expect(sent).toHaveLength(0);
  expect(respectful.enabled).toBe(false);
  const optedIn = createTelemetry({ fetch, sendDespiteGlobalPrivacyControl: true });
  optedIn.track("suggestion_shown");
  await tick();
  expect(sent).toHaveLength(1);
});

test("flush() sends what is queued at once (as on pagehide), once the page has its binding", async () => {
  const { sent, fetch } = recorder();
  const t = createTelemetry({ fetch });
  await tick(); // the binding, asked for at start
  t.track("suggestion_edited");
  t.flush();
  expect(sent).toHaveLength(1);
  expect((sent[0]!.init.headers as Record<string, string>)["tally-binding"]).toBe(BINDING);
});
