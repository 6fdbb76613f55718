import pg from "pg";
import request from "supertest";
import { purge as runPurge } from "../helpers/jobs.js";
import { LOCKS } from "../../src/store/locks.js";
import type { Store } from "../../src/store/connection.js";
import { buildTestApp, newViewer, postIngest, type TestApp } from "../helpers/app.js";
import { runCliAsync } from "../helpers/cli.js";
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

test("`tally purge --dry-run` and `tally purge` report the rows each dropped day partition held, and the boundary day's", async () => {
  await db.sql.query("TRUNCATE telemetry_daily, telemetry_event");
  const viewer = newViewer();
  const now = await dbNow();
  await seedRows(db, viewer, "suggestion_shown", new Date(now - 40 * DAY), 3);
  await seedRows(db, viewer, "suggestion_shown", new Date(now - 35 * DAY), 2);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const env = { DATABASE_URL: db.url };
  for (const dryRun of [true, false]) {
    const r = await runCliAsync(["purge", ...(dryRun ? ["--dry-run"] : [])], env);
    expect(r.code).toBe(0);
    const verb = dryRun ? "would be " : "";
    expect(r.stdout).toContain(`${dryRun ? "would delete" : "deleted"} 5 rows created before`);
    expect(r.stdout).toContain(`day ${day(now - 40 * DAY)}: partition ${verb}dropped, 3 rows`);
    expect(r.stdout).toContain(`day ${day(now - 35 * DAY)}: partition ${verb}dropped, 2 rows`);
    expect(r.stdout).toMatch(/boundary day: 0 rows/);
  }
  expect(await countRows(db)).toBe(0);
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
    await holder.query("SELECT pg_advisory_lock($1)", [LOCKS.purge.toString()]);
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

test("two purges started together (two replicas): one works, the other skips; rows deleted and partitions dropped once", async () => {
  await seedAroundRetention(newViewer());
  const lastExpired = dayOf((await dbNow()) - 31 * DAY);
  const expiredDays = (await partitionStates()).filter((p) => p.day <= lastExpired).length;
  expect(expiredDays).toBeGreaterThanOrEqual(2);
  const other = storeFor(db);
  try {
    const results = await Promise.all([
      runPurge(store, { retentionDays: 30, trigger: "cron" }),
      runPurge(other, { retentionDays: 30, trigger: "cron" }),
    ]);
    expect(results.reduce((n, r) => n + r.rows, 0)).toBe(9);
    expect(results.reduce((n, r) => n + r.partitionsDropped, 0)).toBe(expiredDays);
    expect(results.filter((r) => r.skipped)).toHaveLength(1);
    // And a run after both finds nothing left to do (nothing is dropped twice, no error).
    const again = await runPurge(other, { retentionDays: 30, trigger: "cron" });
    expect(again).toMatchObject({ skipped: false, rows: 0, partitionsDropped: 0 });
  } finally {
    await other.close();
  }
});

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const partitionName = (day: string) => `telemetry_event_p${day.replaceAll("-", "")}`;

/** Every day table of telemetry_event: attached, detach pending, or detached (a plain table). */
async function partitionStates(): Promise<{ name: string; day: string; state: "attached" | "pending" | "detached" }[]> {
  const { rows } = await db.sql.query<{ name: string; pending: boolean | null; attached: boolean }>(
    `SELECT c.relname AS name, i.inhdetachpending AS pending, i.inhrelid IS NOT NULL AS attached
     FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
     WHERE c.relname ~ '^telemetry_event_p[0-9]{8}$' AND c.relkind = 'r' ORDER BY 1`,
  );
  return rows.map((r) => ({
    name: r.name,
    day: `${r.name.slice(17, 21)}-${r.name.slice(21, 23)}-${r.name.slice(23, 25)}`,
    state: !r.attached ? "detached" : r.pending ? "pending" : "attached",
  }));
}

/**
 * A reader holds the parent open, so DETACH … CONCURRENTLY commits its first
 * phase and then waits; cancelling it then leaves the partition 'detach
 * pending', as a purge stopped at that moment would.
 */
async function leaveDetachPending(name: string): Promise<void> {
  const reader = new pg.Client({ connectionString: db.url });
  const detacher = new pg.Client({ connectionString: db.url });
  await Promise.all([reader.connect(), detacher.connect()]);
  try {
    await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
    await reader.query("SELECT count(*) FROM telemetry_event");
    const pid = (await detacher.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    const detach = detacher.query(`ALTER TABLE telemetry_event DETACH PARTITION "${name}" CONCURRENTLY`).catch((e: Error) => e);
    for (let i = 0; i < 100 && (await partitionStates()).find((p) => p.name === name)?.state !== "pending"; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await db.sql.query("SELECT pg_cancel_backend($1)", [pid]);
    expect(await detach).toBeInstanceOf(Error);
    await reader.query("COMMIT");
  } finally {
    await Promise.all([reader.end(), detacher.end()]);
  }
}

async function rollupOfDay(day: string): Promise<number> {
  const { rows } = await db.sql.query<{ n: string }>("SELECT coalesce(sum(count), 0) AS n FROM telemetry_daily WHERE day = $1::date", [day]);
  return Number(rows[0]!.n);
}

test("rows ingested while the purge detaches and drops expired partitions are all kept", async () => {
  const now = await dbNow();
  for (let d = 0; d < 4; d++) await seedRows(db, newViewer(), "suggestion_shown", new Date(now - (40 + d) * DAY), 3_000);
  const t = buildTestApp(db.url);
  try {
    const viewers = Array.from({ length: 20 }, () => newViewer());
    let acked = 0;
    let stop = false;
    const statuses: number[] = [];
    const writers = viewers.map(async (viewer) => {
      while (!stop) {
        const res = await postIngest(t, viewer, { event: "suggestion_accepted", count: 2 });
        statuses.push(res.status);
        if (res.status === 200) acked += res.body.stored as number;
      }
    });
    await new Promise((r) => setTimeout(r, 200));
    const result = await runPurge(store, { retentionDays: 30, trigger: "cron" });
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(writers);
    expect(result.partitionsDropped).toBeGreaterThanOrEqual(4);
    expect(result.rows).toBe(12_000);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(await countRows(db, { event: "suggestion_accepted" })).toBe(acked);
    expect((await partitionStates()).filter((p) => p.day < dayOf(now - 31 * DAY))).toEqual([]);
  } finally {
    await t.close();
  }
});

test("a detach interrupted half-way (the partition left 'detach pending') is finished and dropped by the next purge", async () => {
  const viewer = newViewer();
  const now = await dbNow();
  const old = new Date(now - 40 * DAY);
  await seedRows(db, viewer, "suggestion_shown", old, 5);
  const name = partitionName(dayOf(old.getTime()));
  await leaveDetachPending(name);
  expect((await partitionStates()).find((p) => p.name === name)?.state).toBe("pending");

  const result = await runPurge(store, { retentionDays: 30, trigger: "cron" });
  expect(result.rows).toBe(5);
  expect((await partitionStates()).find((p) => p.name === name)).toBeUndefined();
  expect(await rollupOfDay(dayOf(old.getTime()))).toBe(0);
});

test("a partition detached but not dropped (the purge stopped in between) is dropped by the next purge, with its rollup", async () => {
  const viewer = newViewer();
  const now = await dbNow();
  const old = new Date(now - 40 * DAY);
  await seedRows(db, viewer, "suggestion_shown", old, 6);
  const name = partitionName(dayOf(old.getTime()));
  await db.sql.query(`ALTER TABLE telemetry_event DETACH PARTITION "${name}"`);
  expect((await partitionStates()).find((p) => p.name === name)?.state).toBe("detached");
  expect(await rollupOfDay(dayOf(old.getTime()))).toBe(6);

  const result = await runPurge(store, { retentionDays: 30, trigger: "cron" });
  expect(result.rows).toBe(6);
  expect(result.partitionsDropped).toBe(1);
  expect((await partitionStates()).find((p) => p.name === name)).toBeUndefined();
  expect(await rollupOfDay(dayOf(old.getTime()))).toBe(0);
});

test("erasure reaches a viewer's rows in a partition whose detach is pending or done", async () => {
  const t = buildTestApp(db.url);
  try {
    const viewer = newViewer();
    const stored = t.hash(viewer);
    const now = await dbNow();
    const [a, b] = [new Date(now - 40 * DAY), new Date(now - 41 * DAY)];
    await seedRows(db, stored, "suggestion_shown", a, 2);
    await seedRows(db, stored, "suggestion_shown", b, 3);
    await db.sql.query(`ALTER TABLE telemetry_event DETACH PARTITION "${partitionName(dayOf(a.getTime()))}"`);
    await leaveDetachPending(partitionName(dayOf(b.getTime())));
    expect((await partitionStates()).filter((p) => p.day <= dayOf(a.getTime())).map((p) => p.state)).toEqual(["pending", "detached"]);
    await t.telemetry.forget(viewer);
    for (const day of [a, b]) {
      const { rows } = await db.sql.query<{ n: string }>(`SELECT count(*) AS n FROM "${partitionName(dayOf(day.getTime()))}" WHERE viewer_id = $1`, [stored]);
      expect(Number(rows[0]!.n)).toBe(0);
    }
  } finally {
    await t.close();
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

test("the public /explain says only the day the last purge ran; `tally explain` gives the operator its rows and the oldest row", async () => {
  const viewer = newViewer();
  await seedAroundRetention(viewer);
  const t: TestApp = buildTestApp(db.url);
  // A second process reading the same database (one app caches /explain for a few seconds).
  const later: TestApp = buildTestApp(db.url);
  try {
    const before = await request(t.app).get("/explain");
    expect(before.body.lastPurge).toBeNull();
    expect(before.body).not.toHaveProperty("oldestRow");
    expect(before.body).not.toHaveProperty("operator");
    const ran = await runPurge(store, { retentionDays: 30, trigger: "cli" });
    const after = await request(later.app).get("/explain");
    // To the day: not when (to the millisecond), not how many rows (on a quiet day, one person's).
    expect(after.body.lastPurge).toEqual({ day: (await store.pool.query("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d")).rows[0].d });
    expect(JSON.stringify(after.body)).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    expect(JSON.stringify(after.body)).not.toContain(`"rowsDeleted"`);

    const cli = await runCliAsync(["explain", "--json"], { DATABASE_URL: db.url });
    const operator = JSON.parse(cli.stdout).operator;
    expect(operator.lastPurge).toMatchObject({ rowsDeleted: ran.rows, trigger: "cli" });
    expect(operator.oldestRow.ageDays).toBeGreaterThan(29);
    expect(operator.oldestRow.ageDays).toBeLessThanOrEqual(30);
    const text = await runCliAsync(["explain"], { DATABASE_URL: db.url });
    expect(text.stdout).toMatch(new RegExp(`Last purge: .*, ${ran.rows} rows? older than`));
  } finally {
    await t.close();
    await later.close();
  }
});
