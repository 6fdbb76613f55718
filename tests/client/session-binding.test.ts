// The emitter's side of "a count belongs to whoever was signed in when it was
// tracked": every count is bound to the binding of the session at track time
// and carries it; refusals of another session's or an erased viewer's counts
// are final; reset() and forget() clear the outbox; forget() erases through
// the proxy. In Node, against a scripted service; the browser flows are in
// tests/e2e/shared-browser.test.ts.
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
}

/** A scripted service: who is signed in decides the binding; ingest answers from `answer`. */
function service() {
  const s = {
    viewer: "alice" as string | null,
    issued: 0,
    bindingsAsked: 0,
    posts: [] as { binding: string; body: unknown; key: string }[],
    deletes: 0,
    answer: (_binding: string): [number, unknown] => [200, { ok: true, stored: 1 }],
    deleteAnswer: [200, { ok: true, deleted: 3 }] as [number, unknown],
    fetch: (async (url: string, init: RequestInit) => {
      const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
      if (url.endsWith("/binding")) {
        s.bindingsAsked += 1;
        if (s.viewer === null) return json(401, { ok: false, error: "no_viewer" });
        s.issued += 1;
        return json(200, { ok: true, binding: `b1.${s.viewer}${s.issued}.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA` });
      }
      if (init.method === "DELETE") {
        s.deletes += 1;
        return json(...s.deleteAnswer);
      }
      const headers = init.headers as Record<string, string>;
      s.posts.push({ binding: headers["tally-binding"]!, body: JSON.parse(String(init.body)), key: headers["idempotency-key"]! });
      return json(...s.answer(headers["tally-binding"]!));
    }) as unknown as typeof globalThis.fetch,
  };
  return s;
}

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ["nextTick", "queueMicrotask", "setImmediate"] });
});
afterEach(() => {
  jest.useRealTimers();
});
const advance = (ms = 0) => jest.advanceTimersByTimeAsync(ms);

test("every request carries the binding of the session signed in when its counts were tracked", async () => {
  const svc = service();
  const t = createTelemetry({ fetch: svc.fetch, storage: null });
  t.track("suggestion_shown"); // before the binding has arrived: it waits for it
  expect(t.pending).toBe(1);
  await advance();
  expect(svc.posts.map((p) => p.binding)).toEqual(["b1.alice1.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"]);
  expect(svc.bindingsAsked).toBe(1); // asked once, at start, not per request
  t.track("suggestion_accepted");
  await advance();
  expect(svc.posts.map((p) => p.binding)).toEqual([svc.posts[0]!.binding, svc.posts[0]!.binding]);
});

test("with nobody signed in, what is tracked belongs to no one: dropped, lastError no_viewer; after sign-in it flows again", async () => {
  const svc = service();
  svc.viewer = null;
  const t = createTelemetry({ fetch: svc.fetch, storage: null });
  await advance();
  expect([t.dropped, t.lastError]).toEqual([0, null]); // nothing was waiting
  t.track("suggestion_shown");
  await advance();
  expect([t.pending, t.dropped, t.lastError, svc.posts.length]).toEqual([0, 1, "no_viewer", 0]);
  svc.viewer = "bob"; // signed in without a page load
  t.track("suggestion_shown", 2);
  await advance();
  expect(svc.posts.map((p) => [p.binding.split(".")[1], p.body])).toEqual([["bob1", { event: "suggestion_shown", count: 2 }]]);
});

test.each(["session_mismatch", "erased"])("%s is final: dropped, never retried, and the next counts get a new binding", async (error) => {
  const svc = service();
  svc.answer = (binding) => (binding.includes("alice1") ? [error === "erased" ? 410 : 409, { ok: false, error }] : [200, { ok: true, stored: 1 }]);
  const t = createTelemetry({ fetch: svc.fetch, storage: null });
  t.track("suggestion_shown");
  await advance(120_000);
  expect(svc.posts).toHaveLength(1);
  expect([t.pending, t.dropped, t.lastError]).toEqual([0, 1, error]);
  t.track("suggestion_accepted");
  await advance();
  expect(svc.bindingsAsked).toBe(2);
  expect(svc.posts.at(-1)!.binding).toContain("alice2");
  expect(t.pending).toBe(0);
});

test("reset() clears the outbox of every tab in storage and binds what comes next to the new session", async () => {
  const storage = new MemoryStorage();
  const svc = service();
  svc.answer = () => [503, { ok: false, error: "store_unavailable" }];
  const a = createTelemetry({ fetch: svc.fetch, storage });
  const b = createTelemetry({ fetch: svc.fetch, storage });
  a.track("suggestion_shown");
  b.track("suggestion_skipped");
  await advance();
  expect(storage.length).toBe(2);
  svc.viewer = "bob";
  a.reset();
  expect(storage.length).toBe(0); // Alice's pending counts are readable nowhere
  expect(a.pending).toBe(0);
  svc.answer = () => [200, { ok: true, stored: 1 }];
  await advance();
  a.track("suggestion_accepted");
  await advance();
  expect(svc.posts.at(-1)!.binding).toContain("bob");
  expect(svc.posts.at(-1)!.body).toEqual({ event: "suggestion_accepted", count: 1 });
});

test("forget() clears the outbox, erases through the endpoint, and binds only what is tracked after it answered", async () => {
  const storage = new MemoryStorage();
  const svc = service();
  svc.answer = () => [503, { ok: false, error: "store_unavailable" }];
  const t = createTelemetry({ fetch: svc.fetch, storage });
  t.track("suggestion_shown", 3);
  await advance();
  expect(t.pending).toBe(1);
  svc.answer = () => [200, { ok: true, stored: 1 }];
  const erasing = t.forget();
  t.track("suggestion_undo"); // tracked before the erasure answered: never sent
  expect(await erasing).toEqual({ ok: true, deleted: 3 });
  await advance(120_000);
  expect(svc.deletes).toBe(1);
  expect(storage.length).toBe(0);
  expect(svc.posts.map((p) => p.body)).toEqual([{ event: "suggestion_shown", count: 3 }]); // only the attempt before forget()
  expect([t.pending, t.dropped, t.lastError]).toEqual([0, 1, "erased"]);
  const before = svc.bindingsAsked;
  t.track("suggestion_accepted");
  await advance();
  expect(svc.bindingsAsked).toBe(before); // asked for right after the erasure answered
  expect(svc.posts.at(-1)!.binding).toContain(`alice${svc.issued}`);
  expect(svc.posts.at(-1)!.body).toEqual({ event: "suggestion_accepted", count: 1 });

  svc.deleteAnswer = [401, { ok: false, error: "no_viewer" }];
  expect(await t.forget()).toEqual({ ok: false, error: "no_viewer" });
});

test("an adopted entry without a binding (an older emitter's) is never sent: nobody can say whose it is", async () => {
  const storage = new MemoryStorage();
  storage.setItem("tally.outbox /api/telemetry old-tab", JSON.stringify({ t: 0, e: [{ k: "old", i: [{ event: "suggestion_shown", count: 1 }], s: 0 }] }));
  const svc = service();
  const t = createTelemetry({ fetch: svc.fetch, storage });
  await advance();
  expect(svc.posts).toEqual([]);
  expect(t.pending).toBe(0);
});

test.each([
  ["signed out (401)", null],
  ["another user's binding (200)", "alice"],
])("reset() while the page's first binding request is on its way asks again; the late answer, %s, is the old session's", async (_label, before) => {
  const svc = service();
  svc.viewer = before; // the page loaded with this session
  let release: () => void = () => {};
  const slow = svc.fetch;
  let first = true;
  const fetch = (async (url: string, init: RequestInit) => {
    if (url.endsWith("/binding") && first) {
      first = false;
      const answer = await slow(url, init); // answered for the page's first session…
      await new Promise<void>((r) => (release = r)); // …but slow to arrive
      return answer;
    }
    return slow(url, init);
  }) as unknown as typeof globalThis.fetch;
  const t = createTelemetry({ fetch, storage: null });
  await advance();
  svc.viewer = "carol"; // signed in without a page load
  t.reset();
  await advance();
  release(); // the old answer arrives now
  await advance();
  t.track("suggestion_shown");
  await advance();
  expect(svc.posts.map((p) => p.binding.split(".")[1])).toEqual([before === null ? "carol1" : "carol2"]);
  expect(t.dropped).toBe(0);
});

test("a count waits only for the binding request on its way when it was tracked: if that fails it is dropped, never bound to whoever is signed in at the next try", async () => {
  const svc = service();
  let outage = true;
  const fetch = (async (url: string, init: RequestInit) => {
    if (url.endsWith("/binding") && outage) return new Response('{"ok":false,"error":"store_unavailable"}', { status: 503 });
    return svc.fetch(url, init);
  }) as unknown as typeof globalThis.fetch;
  const t = createTelemetry({ fetch, storage: null });
  t.track("suggestion_shown", 3); // Alice, while the page's binding request fails
  await advance(120_000);
  expect([t.pending, t.dropped, t.lastError]).toEqual([0, 1, "store_unavailable"]);
  svc.viewer = "bob"; // Alice signs out, Bob in, on the same page, without reset()
  outage = false;
  await advance(120_000);
  expect(svc.posts).toEqual([]); // Alice's 3 never reach Bob
  t.track("suggestion_accepted");
  await advance();
  expect(svc.posts.map((p) => [p.binding.split(".")[1], p.body])).toEqual([["bob1", { event: "suggestion_accepted", count: 1 }]]);
});

test("while another tab's forget() runs, this tab binds nothing: what it tracks then is dropped (erased), and it asks for no binding", async () => {
  const storage = new MemoryStorage();
  const svc = service();
  let answerDelete: () => void = () => {};
  const fetch = (async (url: string, init: RequestInit) => {
    if (init.method === "DELETE") await new Promise<void>((r) => (answerDelete = r));
    return svc.fetch(url, init);
  }) as unknown as typeof globalThis.fetch;
  const a = createTelemetry({ fetch, storage });
  const b = createTelemetry({ fetch, storage });
  await advance();
  const asked = svc.bindingsAsked;
  const erasing = a.forget();
  await advance();
  b.track("suggestion_skipped", 4); // tracked before the erasure answered
  await advance();
  expect([b.pending, b.dropped, b.lastError]).toEqual([0, 1, "erased"]);
  expect(svc.bindingsAsked).toBe(asked);
  answerDelete();
  expect((await erasing).ok).toBe(true);
  expect(storage.length).toBe(0); // the announcement is gone with the erasure
  expect(svc.posts).toEqual([]);
});
