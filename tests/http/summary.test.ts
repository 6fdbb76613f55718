import request from "supertest";
import { defaultCatalog } from "../../src/catalog/default-catalog.js";
import { buildTestApp, bearer, newViewer, type TestApp, useTestApp } from "../helpers/app.js";
import { countRows, seedRows, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let t: TestApp;
const HOUR = 3600_000;

useTestApp((d, app) => ((db = d), (t = app)));

async function summary(viewer: string, query = "") {
  return request(t.app).get(`/summary${query}`).set(await bearer(viewer));
}

/** Seeds rows `hoursAgo` in the past by the database's clock. */
async function seedAgo(viewer: string, event: string, hoursAgo: number, count = 1) {
  const { rows } = await db.sql.query<{ now: Date }>("SELECT now() AS now");
  await seedRows(db, t.hash(viewer), event, new Date(rows[0]!.now.getTime() - hoursAgo * HOUR), count);
}

describe("GET /summary", () => {
  test("lists every catalog event, zeros included, in catalog order", async () => {
    const viewer = newViewer();
    await request(t.app).post("/ingest").set(await bearer(viewer)).send({ event: "suggestion_accepted", count: 2 });
    const res = await summary(viewer);
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    expect(res.body.days).toBe(7);
    expect(Object.keys(res.body.counts)).toEqual(defaultCatalog.events.map((e) => e.name));
    expect(res.body.counts).toEqual({
      suggestion_shown: 0,
      suggestion_accepted: 2,
      suggestion_skipped: 0,
      suggestion_edited: 0,
      suggestion_undo: 0,
      embeddings_opt_in: 0,
      embeddings_opt_out: 0,
    });
  });

  test("the window is the last days x 24 h", async () => {
    const viewer = newViewer();
    await seedAgo(viewer, "suggestion_shown", 1); // inside 1 day
    await seedAgo(viewer, "suggestion_shown", 23); // inside 1 day
    await seedAgo(viewer, "suggestion_shown", 25); // inside 2 days only
    await seedAgo(viewer, "suggestion_shown", 7 * 24 - 1); // inside 7 days
    await seedAgo(viewer, "suggestion_shown", 7 * 24 + 1); // outside 7 days
    await seedAgo(viewer, "suggestion_shown", 30 * 24 - 1); // inside 30 days
    await seedAgo(viewer, "suggestion_shown", 30 * 24 + 1); // outside every window
    expect((await summary(viewer, "?days=1")).body.counts.suggestion_shown).toBe(2);
    expect((await summary(viewer, "?days=2")).body.counts.suggestion_shown).toBe(3);
    expect((await summary(viewer)).body.counts.suggestion_shown).toBe(4);
    expect((await summary(viewer, "?days=30")).body.counts.suggestion_shown).toBe(6);
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(7);
  });

  test.each([
    ["", 7],
    ["?days=1", 1],
    ["?days=30", 30],
    ["?days=0", 1],
    ["?days=-3", 1],
    ["?days=31", 30],
    ["?days=365", 30],
    ["?days=7.9", 7],
    ["?days=%2014%20", 14],
  ])("days %s answers for %i days", async (query, days) => {
    const res = await summary(newViewer(), query);
    expect(res.status).toBe(200);
    expect(res.body.days).toBe(days);
  });

  test.each(["?days=abc", "?days=", "?days=1e2", "?days=1&days=2", "?days=0x10"])(
    "days %s is refused with 400 invalid_days",
    async (query) => {
      const res = await summary(newViewer(), query);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ ok: false, error: "invalid_days" });
    },
  );

  test("a viewer never sees another viewer's counts", async () => {
    const alice = newViewer("alice");
    const bob = newViewer("bob");
    await request(t.app).post("/ingest").set(await bearer(alice)).send({ event: "suggestion_skipped", count: 5 });
    await request(t.app).post("/ingest").set(await bearer(bob)).send({ event: "suggestion_skipped", count: 2 });
    expect((await summary(alice)).body.counts.suggestion_skipped).toBe(5);
    expect((await summary(bob)).body.counts.suggestion_skipped).toBe(2);
    expect((await summary(newViewer("carol"))).body.counts.suggestion_skipped).toBe(0);
  });

  test("without a session: 401 no_viewer", async () => {
    const res = await request(t.app).get("/summary");
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ ok: false, error: "no_viewer" });
  });
});

describe("DELETE /me", () => {
  test("erases every row of the caller and nothing of anyone else", async () => {
    const alice = newViewer("alice");
    const bob = newViewer("bob");
    await request(t.app).post("/ingest").set(await bearer(alice)).send({ event: "suggestion_shown", count: 3 });
    await seedAgo(alice, "suggestion_shown", 20 * 24, 2);
    await request(t.app).post("/ingest").set(await bearer(bob)).send({ event: "suggestion_shown", count: 4 });

    const res = await request(t.app).delete("/me").set(await bearer(alice));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, deleted: 5 });
    expect(await countRows(db, { viewerId: t.hash(alice) })).toBe(0);
    expect(await countRows(db, { viewerId: t.hash(bob) })).toBe(4);

    const again = await request(t.app).delete("/me").set(await bearer(alice));
    expect(again.body).toEqual({ ok: true, deleted: 0 });
  });

  test("without a session: 401 no_viewer, nothing deleted", async () => {
    const before = await countRows(db);
    const res = await request(t.app).delete("/me");
    expect(res.status).toBe(401);
    expect(await countRows(db)).toBe(before);
  });

  test("still works with the kill switch off (erasure does not depend on collection)", async () => {
    const viewer = newViewer();
    await request(t.app).post("/ingest").set(await bearer(viewer)).send({ event: "suggestion_shown" });
    const off = buildTestApp(db.url, { TELEMETRY_ENABLED: "0" });
    try {
      const res = await request(off.app).delete("/me").set(await bearer(viewer));
      expect(res.body).toEqual({ ok: true, deleted: 1 });
    } finally {
      await off.close();
    }
  });
});
