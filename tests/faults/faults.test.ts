// No acknowledged count is lost: a load of concurrent ingest requests from a
// second process runs while tally is stopped, killed, or loses its database.
// In every case the rows stored are at least the rows acknowledged (exactly
// equal when the stop was graceful), and a 200 is never given for a count the
// database does not hold.
//
// `npm test` runs this file after the others, one file at a time (as
// `npm run test:isolated`): its load would otherwise starve tests beside it.
import { fileURLToPath } from "node:url";
import pg from "pg";
import { TEST_ID_SECRET, TEST_SESSION_SECRET, newViewer, tokenFor } from "../helpers/app.js";
import { adminUrl, countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { killAll, spawnNode, startTally, type Proc } from "../helpers/processes.js";
import { proxyFor } from "../helpers/tcp-proxy.js";

const LOAD = fileURLToPath(new URL("./load-generator.mjs", import.meta.url));
const LOAD_SHAPE = { concurrency: 20, maxRequests: 4_000, durationMs: 3_000, count: 3, warmAcks: 50 };

interface LoadReport {
  sent: number;
  acked: number;
  ackedRows: number;
  statuses: Record<string, number>;
  connectionErrors: number;
  ms: number;
}

const databases: TestDatabase[] = [];
afterEach(killAll);
afterAll(() => Promise.all(databases.map((d) => d.drop())));

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}

function tallyOn(databaseUrl: string, extra: Record<string, string> = {}): Promise<Proc> {
  return startTally({
    DATABASE_URL: databaseUrl,
    SESSION_SECRET: TEST_SESSION_SECRET,
    TELEMETRY_ID_SECRET: TEST_ID_SECRET,
    TELEMETRY_RATE_LIMIT: "0", // the load is one client hammering: no budget in the way
    ...extra,
  });
}

/** Runs the load against `url`; calls `fault` once the load is warm; returns the load's report. */
async function underLoad(url: string, fault: () => Promise<void>): Promise<LoadReport> {
  const tokens = await Promise.all(Array.from({ length: 4 }, () => tokenFor(newViewer("load"))));
  const load = spawnNode([LOAD, JSON.stringify({ url, tokens, event: "suggestion_shown", ...LOAD_SHAPE })], {
    PATH: process.env.PATH ?? "",
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`load never warmed up:\n${load.output()}`)), 15_000);
    const check = () => (load.output().includes('"warm":true') ? (clearTimeout(timer), resolve()) : setTimeout(check, 10));
    check();
  });
  await fault();
  expect(await load.exited).toBe(0);
  const last = load.output().trim().split("\n").at(-1)!;
  return JSON.parse(last) as LoadReport;
}

function describeRun(name: string, report: LoadReport, stored: number) {
  // The closing note's figures come from these lines.
  console.log(`${name}: ${JSON.stringify({ ...LOAD_SHAPE, ...report, storedRows: stored })}`);
}

async function ingestOnce(url: string): Promise<number> {
  const res = await fetch(`${url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await tokenFor(newViewer())}` },
    body: JSON.stringify({ event: "suggestion_accepted", count: 1 }),
  });
  return res.status;
}

/**
 * After a database fault under load: only 200 or 503 were answered, every
 * acknowledged row is stored, and the same process serves again by itself.
 */
async function expectNoCountLostAndRecovered(tally: Proc, report: LoadReport, stored: number) {
  expect(Object.keys(report.statuses).every((s) => s === "200" || s === "503")).toBe(true);
  expect(stored).toBeGreaterThanOrEqual(report.ackedRows);
  expect(await ingestOnce(tally.url)).toBe(200);
  expect(tally.child.exitCode).toBeNull();
}

test("SIGTERM under load: in-flight requests finish, exit 0 within 10 s, rows stored = rows acknowledged", async () => {
  const db = await freshDatabase();
  const tally = await tallyOn(db.url);
  let exitMs = 0;
  let code: number | null = null;
  const report = await underLoad(tally.url, async () => {
    const t0 = Date.now();
    code = await tally.stop();
    exitMs = Date.now() - t0;
  });
  const stored = await countRows(db);
  describeRun(`SIGTERM (exit after ${exitMs} ms)`, report, stored);
  expect(code).toBe(0);
  expect(exitMs).toBeLessThan(10_000);
  expect(report.acked).toBeGreaterThanOrEqual(LOAD_SHAPE.warmAcks);
  expect(Object.keys(report.statuses)).toEqual(["200"]);
  expect(stored).toBe(report.ackedRows); // graceful: nothing was left in flight
}, 60_000);

test("SIGKILL under load: rows stored ≥ rows acknowledged, and a new process serves the same database", async () => {
  const db = await freshDatabase();
  const tally = await tallyOn(db.url);
  const report = await underLoad(tally.url, async () => {
    tally.child.kill("SIGKILL");
    await tally.exited;
  });
  const stored = await countRows(db);
  describeRun("SIGKILL", report, stored);
  expect(report.acked).toBeGreaterThanOrEqual(LOAD_SHAPE.warmAcks);
  expect(Object.keys(report.statuses)).toEqual(["200"]);
  expect(stored).toBeGreaterThanOrEqual(report.ackedRows);
  // Anything beyond the acknowledged rows was committed but its answer was lost with the process.
  expect(stored - report.ackedRows).toBeLessThanOrEqual(LOAD_SHAPE.concurrency * LOAD_SHAPE.count);

  const again = await tallyOn(db.url);
  expect(await ingestOnce(again.url)).toBe(200);
}, 60_000);

test("database connections terminated under load: only 200 or 503, rows ≥ acknowledged, recovers without a restart", async () => {
  const db = await freshDatabase();
  const tally = await tallyOn(db.url);
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  let terminated = 0;
  try {
    const report = await underLoad(tally.url, async () => {
      for (let i = 0; i < 5; i++) {
        const { rowCount } = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tally'",
          [db.name],
        );
        terminated += rowCount ?? 0;
        await new Promise((r) => setTimeout(r, 150));
      }
    });
    const stored = await countRows(db);
    describeRun(`pg_terminate_backend (${terminated} connections)`, report, stored);
    expect(terminated).toBeGreaterThan(0);
    await expectNoCountLostAndRecovered(tally, report, stored);
  } finally {
    await admin.end();
  }
}, 60_000);

test("database unreachable under load: 503 store_unavailable meanwhile, rows ≥ acknowledged, recovers when it returns", async () => {
  const db = await freshDatabase();
  const proxy = proxyFor(db.url);
  await proxy.start();
  try {
    const tally = await tallyOn(proxy.rewrite(db.url));
    const report = await underLoad(tally.url, async () => {
      await proxy.stop();
      await new Promise((r) => setTimeout(r, 1_000));
      await proxy.start();
    });
    const stored = await countRows(db);
    describeRun("database unreachable for 1 s", report, stored);
    expect(report.statuses["503"]).toBeGreaterThan(0);
    await expectNoCountLostAndRecovered(tally, report, stored);
  } finally {
    await proxy.stop();
  }
}, 60_000);
