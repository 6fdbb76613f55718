// Prometheus metrics on their own port (METRICS_PORT), scraped from the real
// service after real traffic: the documented series are there with the right
// figures, and no viewer id, hash, key or token is in any label.
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { startService, type RunningService } from "../../src/server.js";
import { createViewerHasher } from "../../src/telemetry/identity.js";
import { TEST_ID_SECRET, TEST_SESSION_SECRET, tokenFor, randomSecret } from "../helpers/app.js";
import { createTestDatabase, seedRows, type TestDatabase } from "../helpers/database.js";
import { promtoolFindings } from "../helpers/promtool.js";

/** Every series README "Metrics" documents (besides prom-client's process defaults). */
const DOCUMENTED = [
  "tally_http_requests_total",
  "tally_http_request_duration_seconds",
  "tally_ingest_requests_total",
  "tally_ingest_rows_total",
  "tally_ingest_batch_requests",
  "tally_ingest_batch_rows",
  "tally_ingest_commit_seconds",
  "tally_summaries_duration_seconds",
  "tally_store_errors_total",
  "tally_db_pool_connections",
  "tally_job_runs_total",
  "tally_job_duration_seconds",
  "tally_purge_partitions_dropped_total",
  "tally_aggregated_dates_total",
  "tally_job_last_success_timestamp_seconds",
];

let db: TestDatabase;
let service: RunningService;
const REPORT_TOKEN = randomSecret();

beforeAll(async () => {
  db = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: db.url,
    SESSION_SECRET: TEST_SESSION_SECRET,
    TELEMETRY_ID_SECRET: TEST_ID_SECRET,
    PORT: "0",
    METRICS_PORT: "0",
    REPORT_TOKEN,
    LOG_LEVEL: "warn",
  });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  service = await startService(config, createLogger("warn", sink));
});
afterAll(async () => {
  await service?.close();
  await db?.drop();
});

const base = () => `http://127.0.0.1:${service.port}`;
const scrape = async () => {
  const res = await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};
/** The value of one sample line, e.g. value(text, 'tally_ingest_rows_total{outcome="stored"}'). */
const value = (text: string, sample: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
};

test("the documented series are exposed, count what happened, and carry no viewer, key or token", async () => {
  const viewers = ["alice@example.com", "+1-555-0100", "viewer-4f1c2a"];
  const keys = ["retry-key-alpha", "retry-key-beta", "retry-key-gamma"];
  const tokens: string[] = [];
  for (const [i, viewer] of viewers.entries()) {
    const token = await tokenFor(viewer);
    tokens.push(token);
    const post = () =>
      fetch(`${base()}/ingest`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": keys[i]! },
        body: JSON.stringify({ event: "suggestion_shown", count: 4 }),
      });
    expect((await post()).status).toBe(200);
    expect((await post()).headers.get("idempotent-replayed")).toBe("true");
    expect((await fetch(`${base()}/summary?days=7`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  }
  expect((await fetch(`${base()}/ingest`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(401);
  expect((await fetch(`${base()}/report`, { headers: { authorization: `Bearer ${REPORT_TOKEN}` } })).status).toBe(200);

  const text = await scrape();
  for (const name of DOCUMENTED) expect(text).toContain(`# TYPE ${name} `);
  expect(value(text, 'tally_ingest_rows_total{outcome="stored"}')).toBe(12);
  expect(value(text, 'tally_ingest_rows_total{outcome="replayed"}')).toBe(12);
  expect(value(text, 'tally_ingest_requests_total{outcome="ok"}')).toBe(3);
  expect(value(text, 'tally_ingest_requests_total{outcome="replayed"}')).toBe(3);
  expect(value(text, 'tally_ingest_requests_total{outcome="no_viewer"}')).toBe(1);
  // Retries go through the group commit too (the key is looked up there): 3 × 4 rows twice.
  expect(value(text, "tally_ingest_batch_rows_sum")).toBe(24);
  expect(value(text, "tally_summaries_duration_seconds_count")).toBe(3);
  expect(value(text, 'tally_http_requests_total{route="/report",status="200"}')).toBe(1);
  expect(value(text, 'tally_db_pool_connections{state="waiting"}')).toBe(0);

  // Nothing personal: not the ids, their hashes, the keys, the tokens, the report token.
  const hash = createViewerHasher(TEST_ID_SECRET);
  const secrets = [...viewers, ...viewers.map(hash), ...keys, ...keys.map((k) => createHash("sha256").update(k).digest("hex")), ...tokens, REPORT_TOKEN, "alice", "555-0100"]; // not bare "555": a sample value may hold those digits
  for (const s of secrets) expect(text).not.toContain(s);
  // Every label value of tally's series is from a fixed vocabulary (route patterns, statuses, codes, names).
  const tallyLines = text.split("\n").filter((l) => l.startsWith("tally_"));
  const labelValues = tallyLines.flatMap((l) => [...l.matchAll(/(\w+)="([^"]*)"/g)].map((m) => `${m[1]}=${m[2]}`));
  expect(labelValues.length).toBeGreaterThan(20);
  for (const lv of labelValues) expect(lv).toMatch(/^(route=(\/[a-z/.]*|unmatched)|status=\d{3}|outcome=[a-z_]+|kind=[a-z]+|state=[a-z_]+|job=[a-z]+|le=([\d.e+-]+|\+Inf))$/);
});

test("jobs report their runs: purge and aggregation, with their figures and last success time", async () => {
  const before = await scrape();
  // Series from the start: a "never ran" alert (time() - last success > …) can fire before the first run.
  expect(value(before, 'tally_job_runs_total{job="purge",outcome="ok"}')).toBe(0);
  expect(value(before, 'tally_job_last_success_timestamp_seconds{job="purge"}')).toBe(0);
  const started = Date.now() / 1000;
  // Counts three days ago: the purge aggregates the three closed days before anything else.
  const { rows } = await db.sql.query<{ at: Date }>("SELECT now() - interval '3 days' AS at");
  await seedRows(db, "metrics-seeded-viewer-hash", "suggestion_shown", rows[0]!.at, 2);
  const aggregationsBefore = value(before, 'tally_job_runs_total{job="aggregate",outcome="ok"}') ?? 0; // a report aggregates first
  await service.telemetry.purge({ trigger: "cli" });
  await service.telemetry.aggregate();
  const after = await scrape();
  // Days aggregated count wherever they were aggregated (every closed day of the window, by the purge and the
  // report before it; the hourly job found none left). No figure of a day's counts is a metric.
  const claimed = Number((await db.sql.query("SELECT count(*) AS n FROM telemetry_aggregated_day")).rows[0].n);
  expect(value(after, "tally_aggregated_dates_total")).toBe(claimed);
  expect(claimed).toBeGreaterThanOrEqual(31);
  expect(after).not.toContain("tally_job_rows_total");
  expect(value(after, 'tally_job_runs_total{job="purge",outcome="ok"}')).toBe(1);
  expect(value(after, 'tally_job_runs_total{job="aggregate",outcome="ok"}')).toBe(aggregationsBefore + 1);
  expect(value(after, 'tally_job_duration_seconds_count{job="purge"}')).toBe(1);
  expect(value(after, 'tally_job_last_success_timestamp_seconds{job="purge"}')).toBeGreaterThanOrEqual(Math.floor(started));
  expect(value(after, 'tally_job_last_success_timestamp_seconds{job="aggregate"}')).toBeGreaterThanOrEqual(Math.floor(started));
});

test("`promtool check metrics` (Prometheus's linter) finds nothing to say about any tally_* series after traffic and jobs", async () => {
  const text = await scrape();
  expect(text).toContain("tally_summaries_duration_seconds_count");
  const findings = promtoolFindings(text);
  expect(findings.filter((f) => f.startsWith("tally_"))).toEqual([]);
  // What remains is prom-client's own naming of Node's defaults (nodejs_active_*_total gauges), not tally's.
  expect(findings.every((f) => f.startsWith("nodejs_active_"))).toBe(true);
});

test("only GET /metrics is served on the metrics port; the public port has no /metrics", async () => {
  expect((await fetch(`http://127.0.0.1:${service.metricsPort}/other`)).status).toBe(404);
  expect((await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`, { method: "POST" })).status).toBe(404);
  const pub = await fetch(`${base()}/metrics`);
  expect(pub.status).toBe(404);
});

test("the metrics listener binds to loopback even when the service listens on every interface (HOST=0.0.0.0)", async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: db.url,
    SESSION_SECRET: TEST_SESSION_SECRET,
    TELEMETRY_ID_SECRET: TEST_ID_SECRET,
    HOST: "0.0.0.0",
    PORT: "0",
    METRICS_PORT: "0",
  });
  expect(config.metricsHost).toBe("127.0.0.1");
  const open = await startService(config, createLogger("info", sink));
  try {
    const line = JSON.parse(lines.find((l) => l.includes("Prometheus metrics"))!) as { host: string; port: number; level: number };
    expect(line.host).toBe("127.0.0.1");
    expect((await fetch(`http://127.0.0.1:${open.metricsPort}/metrics`)).status).toBe(200);
    // Another address of this machine reaches the service's port but not the metrics port.
    const { networkInterfaces } = await import("node:os");
    const other = Object.values(networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal)?.address;
    if (other) {
      expect((await fetch(`http://${other}:${open.port}/healthz`)).status).toBe(200);
      await expect(fetch(`http://${other}:${open.metricsPort}/metrics`)).rejects.toThrow();
    }
  } finally {
    await open.close();
  }
});
