// Prometheus metrics (prom-client), served on their own listener at
// METRICS_PORT/metrics, never on the public port. Every label value comes from
// a fixed set (route patterns, statuses, the contract's error codes, outcome
// and job names): no viewer, key, token or client-chosen string can become a
// label. README "Metrics" lists each series.
import cluster, { type Worker } from "node:cluster";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { TelemetryMetrics } from "../telemetry/metrics.js";
import type { PoolStats } from "../runtime.js";

export interface Metrics {
  readonly registry: Registry;
  readonly telemetry: TelemetryMetrics;
  /** One answered request: its route pattern, status and outcome (an error code, "ok" or "replayed"). */
  request(route: string, status: number, outcome: string, seconds: number): void;
  /** Where the pool gauges read from. */
  watchPool(stats: () => PoolStats): void;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const r = { registers: [registry] };

  const httpRequests = new Counter({ ...r, name: "tally_http_requests_total", help: "HTTP requests answered, by route pattern and status.", labelNames: ["route", "status"] as const });
  const httpSeconds = new Histogram({ ...r, name: "tally_http_request_duration_seconds", help: "Time to answer, by route pattern.", labelNames: ["route"] as const, buckets: LATENCY_BUCKETS });
  const ingestRequests = new Counter({ ...r, name: "tally_ingest_requests_total", help: "POST /ingest requests by outcome: ok, replayed, or the contract's error code.", labelNames: ["outcome"] as const });
  const ingestRows = new Counter({ ...r, name: "tally_ingest_rows_total", help: "Rows of counts by outcome: stored, replayed, rate_limited, key_reused, erased.", labelNames: ["outcome"] as const });
  const batchRequests = new Histogram({ ...r, name: "tally_ingest_batch_requests", help: "Requests per group commit.", buckets: [1, 2, 5, 10, 20, 50, 100, 200] });
  const batchRows = new Histogram({ ...r, name: "tally_ingest_batch_rows", help: "Rows of counts per group commit.", buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000] });
  const commitSeconds = new Histogram({ ...r, name: "tally_ingest_commit_seconds", help: "Time the store took for one group commit.", buckets: LATENCY_BUCKETS });
  const summarySeconds = new Histogram({ ...r, name: "tally_summaries_duration_seconds", help: "Time to read one viewer's summary for GET /summary (group read included).", buckets: LATENCY_BUCKETS });
  const storeErrors = new Counter({ ...r, name: "tally_store_errors_total", help: "Store failures by kind: unavailable, transient (retried), other.", labelNames: ["kind"] as const });
  const jobRuns = new Counter({ ...r, name: "tally_job_runs_total", help: "Purge and aggregation runs by outcome: ok, failed, skipped.", labelNames: ["job", "outcome"] as const });
  const jobSeconds = new Histogram({ ...r, name: "tally_job_duration_seconds", help: "Duration of purge and aggregation runs.", labelNames: ["job"] as const, buckets: JOB_BUCKETS });
  const partitions = new Counter({ ...r, name: "tally_purge_partitions_dropped_total", help: "Day partitions dropped by the purge." });
  const days = new Counter({ ...r, name: "tally_aggregated_dates_total", help: "UTC dates (closed days) aggregated by this replica (by the hourly job or a purge)." });
  // Across a cluster's workers: the latest, not the sum.
  const lastSuccess = new Gauge({ ...r, name: "tally_job_last_success_timestamp_seconds", help: "When a job last succeeded (Unix time), by job.", labelNames: ["job"] as const, aggregator: "max" });

  // Every job's series exists from the start (0), so "never ran" and "last success too old" alerts can fire.
  for (const job of ["purge", "aggregate"] as const) {
    for (const outcome of ["ok", "failed", "skipped"] as const) jobRuns.inc({ job, outcome }, 0);
    lastSuccess.set({ job }, 0);
  }

  let pool: (() => PoolStats) | undefined;
  new Gauge({
    ...r,
    name: "tally_db_pool_connections",
    help: "Database pool connections by state: in_use, idle; and requests waiting for one.",
    labelNames: ["state"] as const,
    collect() {
      if (!pool) return;
      const s = pool();
      this.set({ state: "in_use" }, s.total - s.idle);
      this.set({ state: "idle" }, s.idle);
      this.set({ state: "waiting" }, s.waiting);
    },
  });

  const telemetry: TelemetryMetrics = {
    ingestRows: (outcome, rows) => ingestRows.inc({ outcome }, rows),
    batchCommitted(requests, rows, seconds) {
      batchRequests.observe(requests);
      batchRows.observe(rows);
      commitSeconds.observe(seconds);
    },
    summaryRead: (seconds) => summarySeconds.observe(seconds),
    storeError: (kind) => storeErrors.inc({ kind }),
    jobRun(run) {
      jobRuns.inc({ job: run.job, outcome: run.outcome });
      if (run.outcome === "skipped") return;
      jobSeconds.observe({ job: run.job }, run.seconds);
      if (run.outcome !== "ok") return;
      lastSuccess.set({ job: run.job }, Date.now() / 1000);
      if (run.partitionsDropped) partitions.inc(run.partitionsDropped);
      if (run.daysAggregated) days.inc(run.daysAggregated); // the purge aggregates too
    },
  };

  return {
    registry,
    telemetry,
    request(route, status, outcome, seconds) {
      httpRequests.inc({ route, status: String(status) });
      httpSeconds.observe({ route }, seconds);
      if (route === "/ingest") ingestRequests.inc({ outcome });
    },
    watchPool(stats) {
      pool = stats;
    },
  };
}

/** The cluster's metrics protocol: a worker says it is ready, the primary asks the ready ones, each answers its series. */
const READY = "tally:metrics-ready";
const ASK = "tally:metrics-ask";
const ANSWER = "tally:metrics-answer";
/** A worker that has not answered by then (dying, stalled) is left out of that scrape rather than failing it. */
const WORKER_ANSWER_MS = 2_000;
type Message = { type?: unknown; id?: unknown; metrics?: unknown };
const message = (m: unknown): Message => (typeof m === "object" && m !== null ? (m as Message) : {});

/**
 * In a worker of a cluster (WEB_CONCURRENCY > 1): its series answer the
 * primary's requests instead of a listener of its own; the primary serves them
 * summed over the workers (startClusterMetricsServer). Called first thing at
 * start-up, so a worker still connecting answers (with zeros) too.
 */
/** A message to the primary; a closed channel (the primary is going) reports to the callback, never as an unhandled 'error'. */
const send = (m: object) => process.send?.(m, undefined, {}, () => {});

export function shareWithPrimary(metrics: Metrics): void {
  process.on("message", (m: unknown) => {
    const { type, id } = message(m);
    if (type !== ASK) return;
    metrics.registry.getMetricsAsJSON().then(
      (json) => send({ type: ANSWER, id, metrics: json }),
      () => send({ type: ANSWER, id, metrics: null }),
    );
  });
  send({ type: READY });
}

/**
 * In a cluster's primary: GET /metrics, the series of the workers that have
 * said they are ready, summed (prom-client's aggregation). A worker forked a
 * moment ago cannot receive a question yet (a message sent before its listener
 * exists is lost), so it is asked only once it has said so; one that does not
 * answer in time is left out of that scrape instead of failing it.
 */
export function startClusterMetricsServer(host: string, port: number, logger: Logger): Promise<{ server: Server; port: number }> {
  const ready = new Set<Worker>();
  cluster.on("message", (worker, m: unknown) => {
    if (message(m).type === READY) ready.add(worker);
  });
  cluster.on("disconnect", (worker) => ready.delete(worker));
  cluster.on("exit", (worker) => ready.delete(worker));
  let asked = 0;
  const ask = (worker: Worker) =>
    new Promise<unknown[] | null>((resolve) => {
      const id = ++asked;
      const done = (answer: unknown[] | null) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        resolve(answer);
      };
      const onMessage = (m: unknown) => {
        const reply = message(m);
        if (reply.type === ANSWER && reply.id === id) done(Array.isArray(reply.metrics) ? reply.metrics : null);
      };
      const timer = setTimeout(() => done(null), WORKER_ANSWER_MS);
      worker.on("message", onMessage);
      // A worker whose channel has just closed (dying, draining) is not dead yet: send does not throw,
      // it reports to the callback — without one, to an 'error' event nobody handles, killing the primary.
      worker.send({ type: ASK, id }, undefined, (err: Error | null) => {
        if (err) done(null);
      });
    });
  const read = async () => {
    const answers = await Promise.all([...ready].filter((w) => w.isConnected() && !w.isDead()).map(ask));
    return AggregatorRegistry.aggregate(answers.filter((a): a is unknown[] => a !== null) as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
  };
  return serveMetrics(read, Registry.PROMETHEUS_CONTENT_TYPE, host, port, logger);
}

/** GET /metrics on METRICS_PORT (anything else: 404). Resolves once listening. */
export function startMetricsServer(metrics: Metrics, host: string, port: number, logger: Logger): Promise<{ server: Server; port: number }> {
  return serveMetrics(() => metrics.registry.metrics(), metrics.registry.contentType, host, port, logger);
}

async function serveMetrics(read: () => Promise<string>, contentType: string, host: string, port: number, logger: Logger): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    read().then(
      (text) => res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" }).end(text),
      () => res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("metrics unavailable\n"),
    );
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const exposed = !["127.0.0.1", "::1", "localhost"].includes(host);
  const line = `Prometheus metrics served without authentication on http://${host}:${bound}/metrics`;
  if (exposed) logger.warn({ host, port: bound }, `${line} (METRICS_HOST=${host}): keep this port on a private network`);
  else logger.info({ host, port: bound }, `${line} (loopback only; METRICS_HOST opens it to a private network)`);
  return { server, port: bound };
}
