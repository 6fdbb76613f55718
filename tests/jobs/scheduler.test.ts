// Scheduled work runs on exactly one replica per tick, tested by its effects
// with ticks driven explicitly (scheduler.tick) rather than by waiting for a
// cron clock that a busy machine can starve: two replicas (two stores, two
// schedulers) on one database, the same ticks at the same time.
import { createScheduler } from "../../src/jobs/scheduler.js";
import { createLogger } from "../../src/logger.js";
import { buildTestApp, type TestApp } from "../helpers/app.js";
import { countRows, createTestDatabase, seedRows, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  db = await createTestDatabase();
  [a, b] = [buildTestApp(db.url, { TELEMETRY_RETENTION_DAYS: "1" }), buildTestApp(db.url, { TELEMETRY_RETENTION_DAYS: "1" })];
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  await db.drop();
});

const schedulerOf = (t: TestApp) => createScheduler(t.telemetry, { purgeCron: "17 3 * * *", claimTick: t.operations.claimTick }, createLogger("silent"));

test("each purge tick runs on exactly one of two replicas, and purges", async () => {
  await seedRows(db, "expired-viewer", "suggestion_shown", new Date(Date.now() - 3 * 86_400_000), 5);
  const [sa, sb] = [schedulerOf(a), schedulerOf(b)];
  const base = Date.now();
  for (let i = 0; i < 5; i++) {
    const at = new Date(base + i * 1000);
    const ran = await Promise.all([sa.tick("purge", at), sb.tick("purge", at)]);
    expect(ran.filter(Boolean)).toHaveLength(1);
  }
  const runs = Number((await db.sql.query("SELECT count(*) AS n FROM telemetry_purge_run WHERE trigger = 'cron'")).rows[0].n);
  const claims = Number((await db.sql.query("SELECT count(*) AS n FROM telemetry_job_claim WHERE job = 'purge'")).rows[0].n);
  expect([runs, claims]).toEqual([5, 5]);
  expect(await countRows(db, { viewerId: "expired-viewer" })).toBe(0);
  // The same tick again (a replica whose clock lags) runs nowhere.
  expect(await Promise.all([sa.tick("purge", new Date(base)), sb.tick("purge", new Date(base))])).toEqual([false, false]);
});

test("aggregation ticks likewise; maintenance runs on every replica (it is idempotent)", async () => {
  const [sa, sb] = [schedulerOf(a), schedulerOf(b)];
  const at = new Date(Date.now() + 3_600_000);
  expect((await Promise.all([sa.tick("aggregate", at), sb.tick("aggregate", at)])).filter(Boolean)).toHaveLength(1);
  expect(await Promise.all([sa.tick("maintenance", at), sb.tick("maintenance", at)])).toEqual([true, true]);
});

test("a tick whose work fails is logged, never thrown: the process stays up", async () => {
  const lines: string[] = [];
  const { Writable } = await import("node:stream");
  const logger = createLogger("info", new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
  const broken = createScheduler({ ...a.telemetry, purge: async () => Promise.reject(new Error("disk full")) }, { purgeCron: "17 3 * * *", claimTick: async () => true }, logger);
  expect(await broken.tick("purge", new Date())).toBe(false);
  expect(lines.join("")).toMatch(/"job":"purge".*"purge failed"/);
});
