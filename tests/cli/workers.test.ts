// WEB_CONCURRENCY=2: a primary and two workers behind one port, as a real
// process. Every acknowledged count is stored once whichever worker took it;
// the metrics listener serves the workers' series summed; a worker killed with
// -9 is replaced while the others keep answering (and the metrics answer while
// it starts); SIGTERM drains every worker
// (rows stored = rows acknowledged) and the primary exits 0.
import { readFileSync } from "node:fs";
import { newViewer, TEST_ID_SECRET, TEST_SESSION_SECRET, tokenFor } from "../helpers/app.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { killAll, startTally, type Proc } from "../helpers/processes.js";

let db: TestDatabase;
let tally: Proc;
beforeAll(async () => {
  db = await createTestDatabase();
  tally = await startTally({ DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET: TEST_SESSION_SECRET, WEB_CONCURRENCY: "2", METRICS_PORT: "0", TELEMETRY_RATE_LIMIT: "0" });
}, 60_000);
afterAll(async () => {
  await killAll();
  await db.drop();
});

/** The pids of a process's children (its workers), from /proc. */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const metricsUrl = () => /Prometheus metrics served[^\n]*?(http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(tally.output())![1]!;

async function ingest(token: string, n: number): Promise<number> {
  // Separate connections (no keep-alive), so the primary hands them to both workers.
  const answers = await Promise.all(
    Array.from({ length: n }, () =>
      fetch(`${tally.url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, connection: "close" },
        body: JSON.stringify({ event: "suggestion_shown", count: 2 }),
      }).then(
        (r) => r.json() as Promise<{ stored?: number }>,
        (): { stored?: number } => ({}), // refused once the workers stopped accepting: not acknowledged
      ),
    ),
  );
  return answers.reduce((s, a) => s + (a.stored ?? 0), 0);
}

test("two workers share the port; every acknowledged count is stored once; the primary's metrics sum both workers", async () => {
  expect(children(tally.child.pid!)).toHaveLength(2);
  expect(tally.output()).toMatch(/"tally listening on [^"]*\(test, 2 workers from WEB_CONCURRENCY, up to 20 database connections\)"/);
  const viewer = newViewer("workers");
  const acknowledged = await ingest(await tokenFor(viewer), 60);
  expect(acknowledged).toBe(120);
  expect(await countRows(db, { viewerId: (await import("../../src/telemetry/identity.js")).createViewerHasher(TEST_ID_SECRET)(viewer) })).toBe(120);
  const text = await (await fetch(metricsUrl())).text();
  const requests = Number(/^tally_http_requests_total\{route="\/ingest",status="200"\} (\d+)$/m.exec(text)?.[1]);
  expect(requests).toBe(60);
});

test("a worker killed with -9 is replaced, and the service keeps answering", async () => {
  const [victim] = children(tally.child.pid!);
  process.kill(victim!, "SIGKILL");
  // The replacement is listening (workers 1 and 2 started first). Meanwhile the
  // metrics are scraped: a worker still starting answers the primary too (its
  // series are zeros until it serves), so no scrape fails for it.
  const scrapes: number[] = [];
  for (const until = Date.now() + 20_000; Date.now() < until && !tally.output().includes('"msg":"worker 3 listening"'); ) {
    scrapes.push((await fetch(metricsUrl())).status);
    await sleep(50);
  }
  expect(scrapes.length).toBeGreaterThan(0);
  expect(scrapes.filter((status) => status !== 200)).toEqual([]);
  expect(children(tally.child.pid!)).toHaveLength(2);
  expect(children(tally.child.pid!)).not.toContain(victim);
  expect(tally.output()).toContain('"worker died: starting another"');
  expect(await ingest(await tokenFor(newViewer("after")), 10)).toBe(20);
}, 30_000);

test("SIGTERM under load drains every worker: rows stored = rows acknowledged, exit 0", async () => {
  const token = await tokenFor(newViewer("drain"));
  const before = await countRows(db);
  const load = ingest(token, 80);
  await sleep(50);
  tally.child.kill("SIGTERM");
  const acknowledged = await load;
  expect(await tally.exited).toBe(0);
  expect(await countRows(db)).toBe(before + acknowledged);
}, 30_000);
