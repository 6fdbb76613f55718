// No deadlocks, whatever clients send: two replicas on one database, a load of
// over-budget and under-budget requests from a small set of overlapping viewers
// (so one batch holds a viewer whose share overflows the budget while another
// batch holds the same viewer's share that fits). PostgreSQL's own deadlock
// counter must not move, and no request may get a 5xx.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TEST_ID_SECRET, TEST_SESSION_SECRET, tokenFor } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { killAll, startTally, type Proc } from "../helpers/processes.js";

const LOAD = fileURLToPath(new URL("../faults/load-generator.mjs", import.meta.url));
let db: TestDatabase;
let replicas: Proc[];

beforeAll(async () => {
  db = await createTestDatabase();
  const env = {
    DATABASE_URL: db.url,
    SESSION_SECRET: TEST_SESSION_SECRET,
    TELEMETRY_ID_SECRET: TEST_ID_SECRET,
    TELEMETRY_RATE_LIMIT: "60",
  };
  replicas = await Promise.all([startTally(env), startTally(env)]);
}, 60_000);
afterAll(async () => {
  await killAll();
  await db.drop();
});

interface Report {
  sent: number;
  statuses: Record<string, number>;
  connectionErrors: number;
}

function load(url: string, tokens: string[], ms: number): Promise<Report> {
  const opts = { url, tokens, concurrency: 24, maxRequests: 1_000_000, durationMs: ms, counts: [1, 2, 5, 30, 50], event: "suggestion_shown", warmAcks: 1e9, mixViewers: true };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD, JSON.stringify(opts)]);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", () => {
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!) as Report);
      } catch (err) {
        reject(err);
      }
    });
  });
}

async function deadlocks(): Promise<number> {
  const { rows } = await db.sql.query<{ n: string }>("SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()");
  return Number(rows[0]!.n);
}

test("over- and under-budget batches from overlapping viewers on two replicas never deadlock and never get a 5xx", async () => {
  const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => tokenFor(`deadlock-viewer-${i}`)));
  await new Promise((r) => setTimeout(r, 1_100)); // statistics flushed before the baseline
  const before = await deadlocks();
  const reports = await Promise.all(replicas.map((r) => load(r.url, tokens, 12_000)));
  await new Promise((r) => setTimeout(r, 1_500)); // let backends flush their statistics
  const after = await deadlocks();
  const statuses: Record<string, number> = {};
  for (const rep of reports) for (const [k, v] of Object.entries(rep.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  console.log(JSON.stringify({ sent: reports.map((r) => r.sent), statuses, deadlocks: after - before }));
  expect(statuses["200"]).toBeGreaterThan(0);
  expect(statuses["429"]).toBeGreaterThan(0); // the budget was exercised
  expect(Object.keys(statuses).filter((s) => Number(s) >= 500)).toEqual([]);
  expect(reports.every((r) => r.connectionErrors === 0)).toBe(true);
  expect(after - before).toBe(0);
}, 60_000);
