import request from "supertest";
import { createKeyHasher, createSubjectHasher } from "../../src/telemetry/identity.js";
import { purge as runPurge } from "../helpers/jobs.js";
import { buildTestApp, bearer, newViewer, TEST_ID_SECRET, type TestApp, useTestApp, postIngest } from "../helpers/app.js";
import { countRows, storeFor, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let t: TestApp;

useTestApp((d, app) => ((db = d), (t = app)));

const send = (app: TestApp, viewer: string, body: object, key?: string) =>
  postIngest(app, viewer, body, key === undefined ? {} : { "idempotency-key": key });

describe("Idempotency-Key: no double counting on retry", () => {
  test("the same request replayed 10 times sequentially stores once", async () => {
    const viewer = newViewer();
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await send(t, viewer, { event: "suggestion_shown", count: 3 }, "retry-seq-1"));
    for (const a of answers) expect(a.body).toEqual({ ok: true, stored: 3 });
    expect(answers.filter((a) => a.headers["idempotent-replayed"] === "true")).toHaveLength(9);
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(3);
  });

  test("the same request replayed 10 times concurrently stores once", async () => {
    const viewer = newViewer();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => send(t, viewer, { events: [{ event: "suggestion_accepted", count: 2 }, { event: "suggestion_shown" }] }, "retry-par-1")),
    );
    for (const a of answers) expect(a.body).toEqual({ ok: true, stored: 3 });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(3);
  });

  test("keys are per viewer, and different keys store separately", async () => {
    const alice = newViewer("alice");
    const bob = newViewer("bob");
    await send(t, alice, { event: "suggestion_shown" }, "same-key");
    await send(t, bob, { event: "suggestion_shown" }, "same-key");
    await send(t, alice, { event: "suggestion_shown" }, "other-key");
    await send(t, alice, { event: "suggestion_shown" }); // no key: always stores
    await send(t, alice, { event: "suggestion_shown" });
    expect(await countRows(db, { viewerId: t.hash(alice) })).toBe(4);
    expect(await countRows(db, { viewerId: t.hash(bob) })).toBe(1);
  });

  test.each(["", "a".repeat(129), "has space", "emoji-\u{1F600}", "semi;colon"])(
    "an Idempotency-Key of %j is refused with 400 invalid_body",
    async (key) => {
      const viewer = newViewer();
      const res = await request(t.app)
        .post("/ingest")
        .set(await bearer(viewer))
        .set("idempotency-key", Buffer.from(key, "utf8").toString("latin1"))
        .send({ event: "suggestion_shown" });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ ok: false, error: "invalid_body" });
      expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
    },
  );

  test("keys expire with a purge after 24 h: the same key then stores again", async () => {
    const viewer = newViewer();
    await send(t, viewer, { event: "suggestion_shown" }, "old-key");
    await send(t, viewer, { event: "suggestion_shown" }, "old-key");
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(1);
    const oldKey = createKeyHasher(TEST_ID_SECRET)("old-key"); // stored only as its keyed hash
    await db.sql.query("UPDATE telemetry_idempotency SET created_at = now() - interval '25 hours' WHERE key_hash = $1", [oldKey]);
    const store = storeFor(db);
    try {
      await runPurge(store, { retentionDays: 30, trigger: "cli" });
    } finally {
      await store.close();
    }
    const { rows } = await db.sql.query("SELECT count(*)::int AS n FROM telemetry_idempotency WHERE key_hash = $1", [oldKey]);
    expect(rows[0].n).toBe(0);
    await send(t, viewer, { event: "suggestion_shown" }, "old-key");
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(2);
  });
});

describe("per-viewer row budget", () => {
  let limited: TestApp;
  let replica: TestApp;
  beforeAll(() => {
    limited = buildTestApp(db.url, { TELEMETRY_RATE_LIMIT: "10" });
    replica = buildTestApp(db.url, { TELEMETRY_RATE_LIMIT: "10" }); // a second process's state, same database
  });
  afterAll(async () => {
    await limited.close();
    await replica.close();
  });

  test("over the budget: 429 rate_limited with Retry-After, and nothing of that request is stored", async () => {
    const viewer = newViewer();
    expect((await send(limited, viewer, { event: "suggestion_shown", count: 6 })).body).toEqual({ ok: true, stored: 6 });
    expect((await send(limited, viewer, { event: "suggestion_shown", count: 4 })).body).toEqual({ ok: true, stored: 4 });
    const over = await send(limited, viewer, { event: "suggestion_shown", count: 1 });
    expect(over.status).toBe(429);
    expect(over.body).toEqual({ ok: false, error: "rate_limited" });
    const retryAfter = Number(over.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await countRows(db, { viewerId: limited.hash(viewer) })).toBe(10);
    // other viewers have their own budget
    expect((await send(limited, newViewer(), { event: "suggestion_shown", count: 10 })).status).toBe(200);
  });

  test("one request over the whole budget is refused outright", async () => {
    const viewer = newViewer();
    const res = await send(limited, viewer, { events: [{ event: "suggestion_shown", count: 50 }] });
    // It could never fit in any minute: refused for good (413), not a 429 an emitter would retry forever.
    expect(res.status).toBe(413);
    expect(await countRows(db, { viewerId: limited.hash(viewer) })).toBe(0);
  });

  test("the budget holds across replicas (state in PostgreSQL, not in process memory)", async () => {
    const viewer = newViewer();
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(i % 2 ? replica : limited, viewer, { event: "suggestion_shown", count: 2 })),
    );
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(7);
    expect(await countRows(db, { viewerId: limited.hash(viewer) })).toBe(10);
  });

  test("a rate-limited request's Idempotency-Key is not remembered, so its retry can succeed later", async () => {
    const viewer = newViewer();
    await send(limited, viewer, { event: "suggestion_shown", count: 10 });
    expect((await send(limited, viewer, { event: "suggestion_shown" }, "limited-key")).status).toBe(429);
    await db.sql.query("DELETE FROM telemetry_rate_window WHERE subject = $1", [createSubjectHasher(TEST_ID_SECRET)(viewer)]); // the minute passes
    const retry = await send(limited, viewer, { event: "suggestion_shown" }, "limited-key");
    expect(retry.body).toEqual({ ok: true, stored: 1 });
    expect(retry.headers["idempotent-replayed"]).toBeUndefined();
  });

  test("TELEMETRY_RATE_LIMIT=0 turns the budget off", async () => {
    const unlimited = buildTestApp(db.url, { TELEMETRY_RATE_LIMIT: "0" });
    try {
      const viewer = newViewer();
      for (let i = 0; i < 3; i++) expect((await send(unlimited, viewer, { event: "suggestion_shown", count: 50 })).status).toBe(200);
      expect(await countRows(db, { viewerId: unlimited.hash(viewer) })).toBe(150);
    } finally {
      await unlimited.close();
    }
  });
});
