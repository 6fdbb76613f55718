// Two `tally serve` processes on one database, the way two replicas run behind
// a load balancer: they start together on an empty database (migrations must
// not race), both run the purge cron every second (each tick claimed must run
// on exactly one — tests/jobs/scheduler.test.ts drives the same ticks
// explicitly), and they share one row budget and one set of counts.
import { TEST_ID_SECRET, TEST_SESSION_SECRET, newViewer, tokenFor } from "../helpers/app.js";
import { countRows, createEmptyDatabase, seedRows, type TestDatabase } from "../helpers/database.js";
import { killAll, startTally, type Proc } from "../helpers/processes.js";
import { createViewerHasher } from "../../src/telemetry/identity.js";

const RATE_LIMIT = 10;
let db: TestDatabase;
let a: Proc;
let b: Proc;

beforeAll(async () => {
  db = await createEmptyDatabase();
  const env = {
    DATABASE_URL: db.url,
    SESSION_SECRET: TEST_SESSION_SECRET,
    TELEMETRY_ID_SECRET: TEST_ID_SECRET,
    TELEMETRY_RATE_LIMIT: String(RATE_LIMIT),
    TELEMETRY_RETENTION_DAYS: "1",
    TELEMETRY_PURGE_CRON: "* * * * * *", // every second, to see many ticks
    LOG_LEVEL: "debug", // a tick whose purge found the lock taken logs "purge skipped" at debug
  };
  [a, b] = await Promise.all([startTally(env), startTally(env)]);
}, 60_000);
afterAll(async () => {
  await killAll();
  await db.drop();
});

async function post(p: Proc, token: string, count: number): Promise<number> {
  const res = await fetch(`${p.url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ event: "suggestion_shown", count }),
  });
  return res.status;
}

test("migrations at start do not race: each applied exactly once, by one of the two", async () => {
  const { rows } = await db.sql.query<{ migration_name: string; n: string }>(
    "SELECT migration_name, count(*) AS n FROM _prisma_migrations GROUP BY 1",
  );
  expect(rows.length).toBeGreaterThanOrEqual(2);
  for (const r of rows) expect(Number(r.n)).toBe(1);
  const appliedBy = [a, b].filter((p) => p.output().includes('"migrations applied"'));
  expect(appliedBy).toHaveLength(1);
});

test("with a cron every second, each tick the replicas claim is run by exactly one of them, and the purge purges", async () => {
  const old = new Date(Date.now() - 3 * 86_400_000);
  await seedRows(db, "expired-viewer", "suggestion_shown", old, 5);
  const count = async (sql: string) => Number((await db.sql.query(sql)).rows[0].n);
  const claimed = () => count("SELECT count(*) AS n FROM telemetry_job_claim WHERE job = 'purge'");
  // By effects, not by time: however busy the machine, wait for three claimed ticks (a second each when idle)...
  for (const until = Date.now() + 60_000; (await claimed()) < 3 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 200));
  const ticks = await claimed();
  expect(ticks).toBeGreaterThanOrEqual(3);
  const lines = (p: Proc, text: string) => p.output().split("\n").filter((l) => l.includes(text)).length;
  // ...then for each of them to be handled: its one replica either purged or found the previous
  // tick's purge still running (the purge lock). However slow a purge, each claimed tick ends once.
  const handled = () => [a, b].reduce((n, p) => n + lines(p, '"purge finished"') + lines(p, '"purge skipped'), 0);
  for (const until = Date.now() + 60_000; handled() < ticks && Date.now() < until; ) await new Promise((r) => setTimeout(r, 200));
  expect(handled()).toBeGreaterThanOrEqual(ticks);
  // Never more runs than claims: no tick ran on both replicas (handled is read before the claims, which only grow).
  const runs = handled();
  expect(runs).toBeLessThanOrEqual(await claimed());
  expect(lines(a, '"purge failed"') + lines(b, '"purge failed"')).toBe(0);
  for (const until = Date.now() + 30_000; (await countRows(db, { viewerId: "expired-viewer" })) > 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 200));
  expect(await countRows(db, { viewerId: "expired-viewer" })).toBe(0);
}, 120_000);

test("the row budget holds across both replicas", async () => {
  // The budget is per UTC minute: the 16 requests must fall in one. A busy machine can stretch them
  // across a minute's end, so a try that did is discarded and run again with a fresh viewer.
  const minute = () => Math.floor(Date.now() / 60_000);
  let statuses: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    if (new Date().getUTCSeconds() > 50) await new Promise((r) => setTimeout(r, (61 - new Date().getUTCSeconds()) * 1000));
    const token = await tokenFor(newViewer("budget"));
    const started = minute();
    statuses = [];
    for (let i = 0; i < 8; i++) statuses.push(await post(a, token, 1), await post(b, token, 1));
    if (minute() === started) break;
  }
  expect(statuses.filter((s) => s === 200)).toHaveLength(RATE_LIMIT);
  expect(statuses.filter((s) => s === 429)).toHaveLength(16 - RATE_LIMIT);
  // Both replicas refused, so neither is keeping its own budget in memory.
  expect(statuses.slice(RATE_LIMIT).every((s) => s === 429)).toBe(true);
}, 200_000);

test("counts sent to both replicas add up exactly, and each replica reports the same total", async () => {
  const viewer = newViewer("both");
  const token = await tokenFor(viewer);
  const sends = [
    ...Array.from({ length: 2 }, () => post(a, token, 3)),
    ...Array.from({ length: 2 }, () => post(b, token, 2)),
  ];
  expect(await Promise.all(sends)).toEqual([200, 200, 200, 200]);
  const expected = 2 * 3 + 2 * 2;
  expect(await countRows(db, { viewerId: createViewerHasher(TEST_ID_SECRET)(viewer) })).toBe(expected);
  for (const p of [a, b]) {
    const res = await fetch(`${p.url}/summary?days=1`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await res.json()) as { counts: Record<string, number> }).counts.suggestion_shown).toBe(expected);
  }
});
