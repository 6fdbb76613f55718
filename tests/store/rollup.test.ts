// The summary reads the daily rollup plus one partial day of raw rows; it must
// always equal a plain count over the raw rows: for every window, after
// ingest, after a purge that cuts through a day, and after erasure.
import request from "supertest";
import { purge as runPurge } from "../helpers/jobs.js";
import { bearer, newViewer, type TestApp, useTestApp } from "../helpers/app.js";
import { seedRows, storeFor, type TestDatabase } from "../helpers/database.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let db: TestDatabase;
let t: TestApp;

useTestApp((d, app) => ((db = d), (t = app)), { TELEMETRY_RATE_LIMIT: "0" });

/** A plain count over the raw rows: the truth the summary must match. */
async function rawCounts(viewerId: string, days: number): Promise<Record<string, number>> {
  const { rows } = await db.sql.query<{ event: string; n: number }>(
    `SELECT event, count(*)::int AS n FROM telemetry_event
     WHERE viewer_id = $1 AND created_at >= now() - make_interval(days => $2) GROUP BY event`,
    [viewerId, days],
  );
  return Object.fromEntries(rows.map((r) => [r.event, r.n]));
}

async function summaryCounts(auth: Record<string, string>, days: number, series = false) {
  const res = await request(t.app).get(`/summary?days=${days}${series ? "&series=day" : ""}`).set(auth);
  expect(res.status).toBe(200);
  const nonZero = Object.entries(res.body.counts as Record<string, number>).filter(([, n]) => n > 0);
  return { counts: Object.fromEntries(nonZero), body: res.body };
}

/** Rows spread over 35 days, at hours that sit on both sides of every window edge. */
async function seedHistory(viewerId: string): Promise<void> {
  const now = Date.now();
  for (let day = 0; day < 35; day++) {
    for (const [hours, event, count] of [
      [0.5, "suggestion_shown", 2],
      [7, "suggestion_accepted", 1],
      [13, "suggestion_shown", 3],
      [23.5, "suggestion_skipped", 1],
    ] as const) {
      await seedRows(db, viewerId, event, new Date(now - day * DAY - hours * HOUR), count);
    }
  }
}

async function expectSummaryEqualsRaw(auth: Record<string, string>, viewerId: string) {
  for (let days = 1; days <= 30; days++) {
    const { counts } = await summaryCounts(auth, days);
    expect({ days, counts }).toEqual({ days, counts: await rawCounts(viewerId, days) });
  }
  // The per-day series adds up to the same totals.
  for (const days of [1, 7, 30]) {
    const { body } = await summaryCounts(auth, days, true);
    for (const [event, perDay] of Object.entries(body.series.counts as Record<string, number[]>)) {
      expect(perDay.reduce((a, b) => a + b, 0)).toBe(body.counts[event]);
    }
  }
}

test("summary = raw count for every window from 1 to 30 days, with history and fresh ingest", async () => {
  const viewer = newViewer("rollup");
  const auth = await bearer(viewer);
  await seedHistory(t.hash(viewer));
  for (let i = 0; i < 5; i++) {
    expect((await request(t.app).post("/ingest").set(auth).send({ event: "suggestion_shown", count: 4 })).status).toBe(200);
  }
  await expectSummaryEqualsRaw(auth, t.hash(viewer));
  // The rollup holds one row per (viewer, event, day), not one per count.
  const { rows } = await db.sql.query("SELECT count(*)::int AS n FROM telemetry_daily WHERE viewer_id = $1", [t.hash(viewer)]);
  expect(rows[0].n).toBeLessThanOrEqual(36 * 3);
}, 60_000);

test("across the retention boundary: after a purge that cuts through a day, summary still = raw count", async () => {
  const viewer = newViewer("boundary");
  const auth = await bearer(viewer);
  await seedHistory(t.hash(viewer));
  const store = storeFor(db);
  try {
    // 10.3 days: whole days dropped, and a boundary day half deleted row by row.
    const result = await runPurge(store, { retentionDays: 10.3, trigger: "cli" });
    expect(result.partitionsDropped).toBeGreaterThan(0);
  } finally {
    await store.close();
  }
  const { rows } = await db.sql.query("SELECT min(created_at) AS oldest FROM telemetry_event WHERE viewer_id = $1", [t.hash(viewer)]);
  expect(Date.now() - (rows[0].oldest as Date).getTime()).toBeLessThan(10.3 * DAY);
  await expectSummaryEqualsRaw(auth, t.hash(viewer));
  // Rollup and raw rows agree day by day, boundary day included.
  const { rows: mismatched } = await db.sql.query(
    `SELECT coalesce(r.day, d.day) AS day FROM
       (SELECT (created_at AT TIME ZONE 'UTC')::date AS day, event, count(*) AS n FROM telemetry_event WHERE viewer_id = $1 GROUP BY 1, 2) r
       FULL JOIN (SELECT day, event, count AS n FROM telemetry_daily WHERE viewer_id = $1 AND count > 0) d
       ON d.day = r.day AND d.event = r.event
     WHERE r.n IS DISTINCT FROM d.n`,
    [t.hash(viewer)],
  );
  expect(mismatched).toEqual([]);
}, 60_000);

test("erasure removes the rollup with the rows", async () => {
  const viewer = newViewer("erase");
  const auth = await bearer(viewer);
  await seedHistory(t.hash(viewer));
  const res = await request(t.app).delete("/me").set(auth);
  expect(res.body).toEqual({ ok: true, deleted: 35 * 7 });
  const { rows } = await db.sql.query("SELECT count(*)::int AS n FROM telemetry_daily WHERE viewer_id = $1", [t.hash(viewer)]);
  expect(rows[0].n).toBe(0);
  expect((await summaryCounts(auth, 30)).counts).toEqual({});
});
