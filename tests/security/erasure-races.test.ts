// An erasure is complete whatever runs beside it: an ingest batch of the same
// viewer in flight, the purge deleting the same viewer's boundary-day rows, a
// request deadline shorter than the erasure, a viewer column erasure does not
// know. Each test failed before its fix (a hostile review's findings).
import request from "supertest";
import { deleteBoundaryRows } from "../../src/store/retention.js";
import { bearer, buildTestApp, newViewer, postIngest, useTestApps } from "../helpers/app.js";
import { countRows, createTestDatabase, seedRows, storeFor } from "../helpers/database.js";

const { db, app } = useTestApps();

/** Rows keyed by `viewerId` in every table with a viewer column. */
async function leftovers(viewerId: string): Promise<Record<string, number>> {
  const { rows: tables } = await db().sql.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'viewer_id'
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relnamespace = current_schema()::regnamespace`,
  );
  const out: Record<string, number> = {};
  for (const { t } of tables) {
    const n = Number((await db().sql.query(`SELECT count(*) AS n FROM "${t}" WHERE viewer_id = $1`, [viewerId])).rows[0].n);
    if (n > 0) out[t] = n;
  }
  return out;
}

test("an erasure that meets an ingest batch of the same viewer in flight leaves nothing of the viewer behind", async () => {
  const t = app();
  const viewer = newViewer("race");
  // Hold every batch open half a second inside its transaction, after it wrote its key and rate window.
  await db().sql.query(`
    CREATE OR REPLACE FUNCTION test_slow_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$;
    CREATE TRIGGER test_slow_rollup BEFORE INSERT ON telemetry_daily FOR EACH ROW EXECUTE FUNCTION test_slow_rollup();`);
  try {
    const ingest = postIngest(t, viewer, { event: "suggestion_shown", count: 2 }, { "idempotency-key": "in-flight-1" });
    await new Promise((r) => setTimeout(r, 150));
    const erase = request(t.app).delete("/me").set(await bearer(viewer));
    const [stored, erased] = await Promise.all([ingest, erase]);
    expect(stored.status).toBe(200);
    expect(erased.status).toBe(200);
    expect(await leftovers(t.hash(viewer))).toEqual({});
  } finally {
    await db().sql.query("DROP TRIGGER test_slow_rollup ON telemetry_daily; DROP FUNCTION test_slow_rollup()");
  }
});

test("erasures and the purge's deletes of the same viewer's boundary-day rows, side by side, never deadlock", async () => {
  const t = app();
  const store = storeFor(db());
  const deadlocks = async () =>
    Number((await db().sql.query("SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()")).rows[0].n);
  const before = await deadlocks();
  try {
    const cutoff = new Date(Date.now() - 2 * 86_400_000);
    const failures: unknown[] = [];
    for (let round = 0; round < 12; round++) {
      const viewer = newViewer("purge-race");
      for (const event of ["suggestion_shown", "suggestion_accepted", "suggestion_skipped"]) {
        await seedRows(db(), t.hash(viewer), event, new Date(cutoff.getTime() - 60_000), 150);
      }
      // Purge workers delete the boundary day's rows a few at a time while the viewer erases everything.
      const purging = Array.from({ length: 4 }, async () => {
        for (let n = 1; n > 0; ) n = await deleteBoundaryRows(store, cutoff, 3);
      });
      const erasing = new Promise((r) => setTimeout(r, round % 4)).then(() => t.telemetry.forget(viewer));
      for (const r of await Promise.allSettled([...purging, erasing])) if (r.status === "rejected") failures.push(r.reason);
      expect(await leftovers(t.hash(viewer))).toEqual({});
    }
    expect(failures.map((f) => String(f))).toEqual([]);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await deadlocks()) - before).toBe(0);
  } finally {
    await store.close();
  }
}, 60_000);

test("a heavy viewer is erased completely, however short the request deadline and statement timeout", async () => {
  const t = app({ REQUEST_TIMEOUT_MS: "60" }); // requests answered at 60 ms, statements cancelled at 30 ms
  const viewer = newViewer("heavy");
  await seedRows(db(), t.hash(viewer), "suggestion_shown", new Date(Date.now() - 3 * 86_400_000), 400_000);
  const res = await request(t.app).delete("/me").set(await bearer(viewer));
  expect(res.body).toEqual({ ok: true, deleted: 400_000 });
  expect(await countRows(db(), { viewerId: t.hash(viewer) })).toBe(0);
}, 60_000);

test("a viewer column under another name makes erasure fail loudly instead of missing it", async () => {
  const scratch = await createTestDatabase();
  const t = buildTestApp(scratch.url);
  try {
    await scratch.sql.query("CREATE TABLE later_feature (viewer_hash varchar(64), n int)");
    const viewer = newViewer();
    expect((await postIngest(t, viewer, { event: "suggestion_shown" })).status).toBe(200);
    const res = await request(t.app).delete("/me").set(await bearer(viewer));
    expect(res.status).toBe(500);
    expect(await countRows(scratch, { viewerId: t.hash(viewer) })).toBe(1); // nothing half-erased
  } finally {
    await t.close();
    await scratch.drop();
  }
});
