import pg from "pg";
import request from "supertest";
import { runPurge } from "../../src/telemetry/purge.js";
import { LOCK_KEYS } from "../../src/store/advisory-lock.js";
import type { Store } from "../../src/store/connection.js";
import { buildTestApp, newViewer, type TestApp } from "../helpers/app.js";
import { countRows, createTestDatabase, seedRows, storeFor, type TestDatabase } from "../helpers/database.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

let db: TestDatabase;
let store: Store;

beforeEach(async () => {
  db = await createTestDatabase();
  store = storeFor(db);
});
afterEach(async () => {
  await store.close();
  await db.drop();
});

async function dbNow(): Promise<number> {
  const { rows } = await db.sql.query<{ now: Date }>("SELECT now() AS now");
  return rows[0]!.now.getTime();
}

/** 3 + 2 + 4 expired rows (two of them in a wholly expired day), 5 + 6 kept. */
async function seedAroundRetention(viewer: string) {
  const now = await dbNow();
  await seedRows(db, viewer, "suggestion_shown", new Date(now - 40 * DAY), 3);
  await seedRows(db, viewer, "suggestion_shown", new Date(now - 35 * DAY), 2);
  await seedRows(db, viewer, "suggestion_accepted", new Date(now - 30 * DAY - HOUR), 4);
  await seedRows(db, viewer, "suggestion_accepted", new Date(now - 30 * DAY + HOUR), 5);
  await seedRows(db, viewer, "suggestion_shown", new Date(now - HOUR), 6);
  return { expired: 9, kept: 11 };
}

test("--dry-run reports what would go and deletes nothing", async () => {
  const viewer = newViewer();
  const { expired, kept } = await seedAroundRetention(viewer);
  const result = await runPurge(store, { retentionDays: 30, dryRun: true, trigger: "cli" });
  expect(result.dryRun).toBe(true);
  expect(result.rows).toBe(expired);
  expect(result.partitionsDropped).toBeGreaterThanOrEqual(2);
  expect(await countRows(db)).toBe(expired + kept);
  const { rows } = await db.sql.query("SELECT * FROM telemetry_purge_run");
  expect(rows).toHaveLength(0);
});

test("a real run deletes exactly the rows older than the retention period", async () => {
  const viewer = newViewer();
  const other = newViewer();
  const { expired, kept } = await seedAroundRetention(viewer);
  await seedRows(db, other, "embeddings_opt_in", new Date((await dbNow()) - 31 * DAY), 1);
  const fortyDaysAgo = `telemetry_event_p${new Date((await dbNow()) - 40 * DAY).toISOString().slice(0, 10).replaceAll("-", "")}`;
  const partitionExists = async (name: string) =>
    (await db.sql.query("SELECT to_regclass($1) AS t", [name])).rows[0].t !== null;
  expect(await partitionExists(fortyDaysAgo)).toBe(true);

  const result = await runPurge(store, { retentionDays: 30, trigger: "cron" });
  expect(result.skipped).toBe(false);
  expect(result.rows).toBe(expired + 1);
  expect(await countRows(db, { viewerId: viewer })).toBe(kept);
  expect(await countRows(db, { viewerId: other })).toBe(0);
  const { rows: left } = await db.sql.query<{ n: string }>(
    "SELECT count(*) AS n FROM telemetry_event WHERE created_at < now() - interval '30 days'",
  );
  expect(Number(left[0]!.n)).toBe(0);

  // whole expired days went as partitions, not row by row
  expect(result.partitionsDropped).toBeGreaterThanOrEqual(2);
  expect(await partitionExists(fortyDaysAgo)).toBe(false);

  const { rows: runs } = await db.sql.query("SELECT rows_deleted, trigger FROM telemetry_purge_run");
  expect(runs).toEqual([{ rows_deleted: String(expired + 1), trigger: "cron" }]);
});

test("boundary-day rows are deleted in bounded batches", async () => {
  const viewer = newViewer();
  const now = await dbNow();
  await seedRows(db, viewer, "suggestion_shown", new Date(now - 30 * DAY - HOUR), 7);
  await seedRows(db, viewer, "suggestion_shown", new Date(now - 30 * DAY + HOUR), 2);
  const result = await runPurge(store, { retentionDays: 30, trigger: "cli", batchRows: 2 });
  expect(result.rows).toBe(7);
  expect(await countRows(db, { viewerId: viewer })).toBe(2);
});

test("--days overrides the retention period", async () => {
  const viewer = newViewer();
  const now = await dbNow();
  await seedRows(db, viewer, "suggestion_shown", new Date(now - 3 * DAY), 2);
  await seedRows(db, viewer, "suggestion_shown", new Date(now - HOUR), 1);
  const result = await runPurge(store, { retentionDays: 2, trigger: "cli" });
  expect(result.rows).toBe(2);
  expect(await countRows(db, { viewerId: viewer })).toBe(1);
});

test("only one process purges at a time: a held lock means this run skips", async () => {
  const viewer = newViewer();
  await seedAroundRetention(viewer);
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  try {
    await holder.query("SELECT pg_advisory_lock($1)", [LOCK_KEYS.purge.toString()]);
    const result = await runPurge(store, { retentionDays: 30, trigger: "cron" });
    expect(result.skipped).toBe(true);
    expect(result.rows).toBe(0);
    expect(await countRows(db)).toBe(20);
  } finally {
    await holder.end();
  }
  const result = await runPurge(store, { retentionDays: 30, trigger: "cron" });
  expect(result.skipped).toBe(false);
  expect(result.rows).toBe(9);
});

test("two purges started together: one works, the other skips, rows deleted once", async () => {
  await seedAroundRetention(newViewer());
  const other = storeFor(db);
  try {
    const results = await Promise.all([
      runPurge(store, { retentionDays: 30, trigger: "cron" }),
      runPurge(other, { retentionDays: 30, trigger: "cron" }),
    ]);
    const total = results.reduce((n, r) => n + r.rows, 0);
    expect(total).toBe(9);
  } finally {
    await other.close();
  }
});

test("the purge creates the coming days' partitions", async () => {
  await db.sql.query(
    "DROP TABLE IF EXISTS " + `telemetry_event_p${new Date(Date.now() + 5 * DAY).toISOString().slice(0, 10).replaceAll("-", "")}`,
  );
  await runPurge(store, { retentionDays: 30, trigger: "cron" });
  const day = new Date((await dbNow()) + 5 * DAY).toISOString().slice(0, 10).replaceAll("-", "");
  const { rows } = await db.sql.query("SELECT to_regclass($1) AS t", [`telemetry_event_p${day}`]);
  expect(rows[0].t).toBe(`telemetry_event_p${day}`);
});

test("explain shows the last purge and the age of the oldest remaining row", async () => {
  const viewer = newViewer();
  await seedAroundRetention(viewer);
  const t: TestApp = buildTestApp(db.url);
  // A second process reading the same database (one app caches /explain for a few seconds).
  const later: TestApp = buildTestApp(db.url);
  try {
    const before = await request(t.app).get("/explain");
    expect(before.body.lastPurge).toBeNull();
    expect(before.body.oldestRow.ageDays).toBeGreaterThanOrEqual(40);
    await runPurge(store, { retentionDays: 30, trigger: "cli" });
    const after = await request(later.app).get("/explain");
    expect(after.body.lastPurge).toMatchObject({ rowsDeleted: 9, trigger: "cli" });
    expect(after.body.oldestRow.ageDays).toBeGreaterThan(29);
    expect(after.body.oldestRow.ageDays).toBeLessThanOrEqual(30);
  } finally {
    await t.close();
    await later.close();
  }
});
