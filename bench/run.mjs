// npm run bench: tally against what a user would otherwise run, on this
// machine, in one run: bare Express 5 (the floor: no auth, no database), a
// naive peer (Express + one durable INSERT per request), and tally — with 1
// and 2 workers — alternating A B C … so the comparison holds while the
// machine's speed drifts. Loopback only; every run is bounded in time.
//
// Each run reports req/s, p50/p99, and what it cost: CPU time per request of
// the server's processes and of every PostgreSQL process (utime + stime from
// /proc, so the figures are CPU, not wall time), and how many of the box's
// cores were busy. A diagnostic run samples where tally's requests wait
// (PostgreSQL wait events, the pool, the event loop, GC).
//
//   npm run bench              1 M seeded rows (about 8 minutes)
//   npm run bench -- --only=ingest|summary|purge|report
//   BENCH_DURATION=5 BENCH_REPEATS=3 BENCH_DATABASE_URL=postgresql://… npm run bench
//
// The database: BENCH_DATABASE_URL (a server where a scratch database may be
// created), else a PostgreSQL server on 127.0.0.1:5432, else an embedded one.
// Results: a table on the terminal, JSON in bench/results/ (latest.json for a
// full run as shipped), and README's table regenerated from it (bench/readme.mjs).
import autocannon from "autocannon";
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { randomBytes, randomUUID } from "node:crypto";
import { mintSessionToken } from "../dist/auth/token.js";
import { migrate } from "../dist/store/migrate.js";
import { createViewerHasher } from "../dist/telemetry/identity.js";
import { renderResults, updateReadme } from "./readme.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = path.join(ROOT, "dist/cli/main.js");
/** Node's flags in `npm start` (the V8 heap ceiling): the service is measured as it is started. */
const START_FLAGS = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.start.match(/^node((?: --\S+)*) /)[1].trim().split(/\s+/).filter(Boolean);
const BARE = path.join(ROOT, "bench/bare-express.mjs");
const NAIVE = path.join(ROOT, "bench/naive-peer.mjs");
const RESULTS = path.join(ROOT, "bench/results");
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
/** Each figure is the median of this many runs, the servers alternating. */
const REPEATS = Number(process.env.BENCH_REPEATS ?? process.env.BENCH_PAIRS ?? 3);
const CONNECTIONS = 50;
/** 1e6 / CLK_TCK: /proc counts CPU time in clock ticks. */
const TICK_US = 1e6 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
/**
 * The load generator of the throughput runs: wrk when it is installed (a C
 * program: on a small machine it leaves the CPU to the two servers, as a real
 * client fleet would), else autocannon (which itself takes about a core).
 * Runs that time every answer (the purge's) always use autocannon.
 */
const LOADER = process.env.BENCH_LOADER ?? (spawnSync("wrk", ["--version"]).error ? "autocannon" : "wrk");
/** Real traffic: every ingest request from one of this many people, in turn. */
const INGEST_VIEWERS = Number(process.env.BENCH_VIEWERS ?? 20_000);

/**
 * Ablations, to measure one design choice at a time (`-- --variant=NAME`, with
 * `-- --only=ingest` to run just the ingest scenarios):
 *   shipped      as released
 *   log-all      one log line per request (LOG_REQUESTS=all) instead of the summary
 *   small-cache  a verified-session cache smaller than the viewers (10 000 for 20 000)
 *   fat-rows     telemetry_event with the bigserial id, its primary key and the created_at index back
 *   small-batches  group-commit batches of up to 100 rows (the default was 100 until measured: 500)
 *   no-wait      batches sent at the end of the event-loop turn (no 2 ms wait for company)
 * and `-- --servers=tally,bare` to run only some of the servers.
 */
const VARIANTS = {
  shipped: {},
  "log-all": { LOG_REQUESTS: "all" },
  "small-cache": { SESSION_CACHE_SIZE: "10000" },
  "fat-rows": {},
  "small-batches": { INGEST_BATCH_MAX_ROWS: "100" },
  "no-wait": { INGEST_BATCH_WAIT_MS: "0" },
};
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const VARIANT = arg("variant") ?? "shipped";
if (!(VARIANT in VARIANTS)) throw new Error(`unknown --variant=${VARIANT}; one of ${Object.keys(VARIANTS).join(", ")}`);
const variantEnv = VARIANTS[VARIANT];
/** --only=ingest|summary|purge|report: one part of the run (the warm-up and RSS figures always, except for report). */
const ONLY = arg("only");
/** --servers=bare,naive,tally,bare×2,tally×2 (or "tally ×2"): only these take part. */
const SERVERS = arg("servers")?.split(",").map((x) => x.replace(/\s*×\s*/, " ×"));
if (ONLY && !["ingest", "summary", "purge", "report"].includes(ONLY)) throw new Error(`unknown --only=${ONLY}; one of ingest, summary, purge, report`);
/** The report scenario's size: 10 M rows over 30 UTC days from 20 000 viewers (BENCH_REPORT_ROWS to change). */
const REPORT_ROWS = Number(process.env.BENCH_REPORT_ROWS ?? 10_000_000);
// Secrets made per run: any secret written in the repository is public, and production refuses it.
const REPORT_TOKEN = randomBytes(24).toString("hex");
const ROWS = process.argv.includes("--10m") ? 10_000_000 : 1_000_000;
const HEAVY_ROWS = 100_000; // ~24 000 of them in any 7-day window
const PURGE_DAY_ROWS = 300_000;
const SESSION_SECRET = randomBytes(32).toString("hex");
const ID_SECRET = randomBytes(32).toString("hex");
const EVENTS = ["suggestion_shown", "suggestion_accepted", "suggestion_skipped", "suggestion_edited", "suggestion_undo"];
const hash = createViewerHasher(ID_SECRET);
const children = new Set();

const log = (msg) => process.stdout.write(`${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- processes ----------------------------------------------------------------

function startProcess(args, env, logFile, readyPattern) {
  const out = openSync(logFile, "w");
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", out, out] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const check = () => {
      const text = readFileSync(logFile, "utf8");
      const m = readyPattern.exec(text);
      if (m) return resolve({ child, url: `http://127.0.0.1:${m[1]}`, pid: child.pid });
      if (child.exitCode !== null || Date.now() > deadline) return reject(new Error(`${args[0]} did not start:\n${text}`));
      setTimeout(check, 50);
    };
    check();
  });
}

function stopAll() {
  for (const child of children) child.kill("SIGKILL");
}
process.on("exit", stopAll);
process.on("SIGINT", () => process.exit(130));

/** RSS once the process has settled after start (a second after it said it listens), in MB. */
async function settledRss(pid) {
  await sleep(1_000);
  return rssMb(pid, "VmRSS");
}

/** Resident memory of a process (VmRSS now, or VmHWM: the peak so far), in MB. */
function rssMb(pid, field = "VmHWM") {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : null;
}

// ---- CPU accounting (/proc) ----------------------------------------------------

/** utime + stime (ticks), parent pid and command name of every process. */
function processes() {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const f = stat.slice(close + 2).split(" ");
      // utime + stime, and cutime + cstime: the CPU of children that exited and were
      // waited for (a PostgreSQL backend or autovacuum worker that ended during a
      // run is counted in its postmaster's, a dead worker in the cluster's primary).
      out.push({ pid: Number(entry), ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU ticks so far of `rootPid` and its descendants (a cluster's workers), and of every PostgreSQL process. */
function cpuTicks(rootPid) {
  const all = processes();
  const children = new Map();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  let server = 0;
  const walk = (pid) => {
    const p = all.find((x) => x.pid === pid);
    if (p) server += p.ticks;
    for (const c of children.get(pid) ?? []) walk(c.pid);
  };
  walk(rootPid);
  const postgres = all.filter((p) => p.comm === "postgres" || p.comm.startsWith("postgres:")).reduce((n, p) => n + p.ticks, 0);
  return { server, postgres };
}

/** The box's busy and total ticks (all cores), from /proc/stat. */
function boxTicks() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Runs `work` (a load returning its request count) and what it cost: CPU µs per request of the server and of PostgreSQL, busy cores. */
async function costed(serverPid, work) {
  const [c0, b0, t0] = [cpuTicks(serverPid), boxTicks(), performance.now()];
  const result = await work();
  const [c1, b1, t1] = [cpuTicks(serverPid), boxTicks(), performance.now()];
  const requests = result.requests.total;
  const perReq = (ticks) => (requests > 0 ? Math.round((ticks * TICK_US) / requests) : null);
  const cores = os.cpus().length;
  return {
    result,
    nodeUsPerReq: perReq(c1.server - c0.server),
    pgUsPerReq: perReq(c1.postgres - c0.postgres),
    busyCores: Math.round(((b1.busy - b0.busy) / (b1.total - b0.total)) * cores * 100) / 100,
    seconds: (t1 - t0) / 1000,
  };
}

// ---- database -----------------------------------------------------------------

async function reachable(url) {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function databaseServer() {
  if (process.env.BENCH_DATABASE_URL) return { url: process.env.BENCH_DATABASE_URL, kind: "BENCH_DATABASE_URL", stop: async () => {} };
  const local = "postgresql://postgres@127.0.0.1:5432/postgres";
  if (await reachable(local)) return { url: local, kind: "PostgreSQL on 127.0.0.1:5432", stop: async () => {} };
  const { startEmbeddedPostgres } = await import("../dist/store/embedded-postgres.js");
  const db = await startEmbeddedPostgres(path.join(ROOT, ".data/bench"), { database: "postgres" });
  return { url: db.url, kind: "embedded PostgreSQL", stop: db.stop };
}

async function scratchDatabase(serverUrl) {
  const name = `tally_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const version = (await admin.query("SHOW server_version")).rows[0].server_version;
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    version,
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** ROWS rows over the last 29 days: 2 000 normal viewers and one heavy one; plus a 300 000-row expired day. */
async function seed(url) {
  const sql = new pg.Client({ connectionString: url });
  sql.on("error", () => {});
  await sql.connect();
  const normal = Array.from({ length: 2_000 }, (_, i) => hash(`bench-normal-${i}`));
  const t0 = Date.now();
  await sql.query("SELECT tally_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 33, (now() AT TIME ZONE 'UTC')::date + 7)");
  const insert = (viewerExpr, n, ageExpr, params) =>
    sql.query(
      `INSERT INTO telemetry_event (viewer_id, event, created_at)
       SELECT ${viewerExpr}, ($1::text[])[1 + g % 5], now() - ${ageExpr}
       FROM generate_series(1, ${n}) g`,
      [EVENTS, ...params],
    );
  for (let done = 0; done < ROWS - HEAVY_ROWS; done += 1_000_000) {
    const n = Math.min(1_000_000, ROWS - HEAVY_ROWS - done);
    await insert("($2::text[])[1 + (g::bigint * 7919) % 2000]", n, "random() * interval '29 days' - interval '1 minute'", [normal]);
  }
  await insert("$2", HEAVY_ROWS, "random() * interval '29 days' - interval '1 minute'", [hash("bench-heavy")]);
  // One whole day past a 30-day retention, for the purge scenario.
  await insert("($2::text[])[1 + g % 2000]", PURGE_DAY_ROWS, "interval '31 days' - (g::float / 300001) * interval '20 hours'", [normal]);
  await sql.query(`
    INSERT INTO telemetry_daily (viewer_id, event, day, count)
    SELECT viewer_id, event, (created_at AT TIME ZONE 'UTC')::date, count(*) FROM telemetry_event GROUP BY 1, 2, 3`);
  await sql.query("VACUUM ANALYZE");
  const total = Number((await sql.query("SELECT count(*) AS n FROM telemetry_event")).rows[0].n);
  await sql.end();
  return { rows: total, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}

// ---- load ---------------------------------------------------------------------

const tokenFiles = new Map();
/** The tokens, one per line, in a file wrk's script reads. */
function tokenFile(tokens) {
  if (!tokenFiles.has(tokens)) {
    const file = path.join(os.tmpdir(), `tally-bench-tokens-${process.pid}-${tokenFiles.size}.txt`);
    writeFileSync(file, `${tokens.join("\n")}\n`);
    tokenFiles.set(tokens, file);
  }
  return tokenFiles.get(tokens);
}

/** One wrk run, its figures in autocannon's shape. */
function wrkLoad({ url, path: p, method, body, tokens, keys, duration, connections }) {
  return new Promise((resolve, reject) => {
    execFile(
      "wrk",
      ["-t", String(Math.min(2, connections)), "-c", String(connections), "-d", `${duration}s`, "--timeout", "10s", "-s", path.join(ROOT, "bench/wrk-load.lua"), `${url}${p}`],
      { env: { PATH: process.env.PATH, WRK_TOKENS: tokenFile(tokens), WRK_KEYS: keys ? "1" : "0", WRK_METHOD: method, WRK_BODY: body ?? "" } },
      (err, stdout) => {
        const line = stdout.split("\n").find((l) => l.startsWith("{"));
        if (err || !line) return reject(err ?? new Error(`wrk printed no summary:\n${stdout}`));
        const w = JSON.parse(line);
        const ms = (us) => Math.round(us / 100) / 10;
        resolve({ requests: { average: w.requests / (w.durationUs / 1e6), total: w.requests }, latency: { p50: ms(w.p50Us), p99: ms(w.p99Us) }, non2xx: w.non2xx, errors: w.socketErrors, timeouts: 0 });
      },
    );
  });
}

/**
 * One load run; `onResponse(latencyMs)` sees every answer (autocannon only).
 * `keys`: a fresh Idempotency-Key per request, as the emitter sends.
 */
function load(shape) {
  if (LOADER === "wrk" && !shape.onResponse && !shape.amount) return wrkLoad({ connections: CONNECTIONS, ...shape });
  return autocannonLoad(shape);
}

function autocannonLoad({ url, path: p, method, body, tokens, keys, duration, amount, connections = CONNECTIONS, onResponse }) {
  let i = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        ...(amount ? { amount } : { duration }),
        requests: [
          {
            method,
            path: p,
            headers: { "content-type": "application/json" },
            body,
            setupRequest: (req) => {
              i += 1;
              const headers = { ...req.headers, authorization: `Bearer ${tokens[i % tokens.length]}` };
              if (keys) headers["idempotency-key"] = randomUUID();
              return { ...req, headers };
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (onResponse) instance.on("response", (_client, _status, _bytes, ms) => onResponse(ms));
  });
}

function figures(result, rowsPerRequest) {
  return {
    reqPerSec: Math.round(result.requests.average),
    rowsPerSec: rowsPerRequest ? Math.round(result.requests.average * rowsPerRequest) : null,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors + result.timeouts,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

/**
 * REPEATS rounds; in each, every server takes the same load in turn. Each
 * server's figures are the median of its runs, with their spread.
 */
async function rounds(name, servers, shape) {
  const runs = Object.fromEntries(servers.map((s) => [s.label, []]));
  for (let round = 0; round < REPEATS; round++) {
    for (const server of servers) {
      const c = await costed(server.pid, () => load({ ...shape, url: server.url }));
      runs[server.label].push({ ...figures(c.result, shape.rows), nodeUsPerReq: c.nodeUsPerReq, pgUsPerReq: server.database ? c.pgUsPerReq : null, busyCores: c.busyCores });
    }
    log(`  ${name} round ${round + 1}: ${servers.map((s) => `${s.label} ${runs[s.label].at(-1).reqPerSec} req/s`).join(", ")}`);
  }
  const summarize = (list) => {
    const out = {};
    for (const k of ["reqPerSec", "p50", "p99", "nodeUsPerReq", "pgUsPerReq", "busyCores"]) {
      const xs = list.map((r) => r[k]).filter((x) => x !== null && x !== undefined);
      out[k] = xs.length ? spread(xs) : null;
    }
    out.non2xx = list.reduce((n, r) => n + r.non2xx, 0);
    return out;
  };
  return { name, connections: shape.connections ?? CONNECTIONS, servers: Object.fromEntries(servers.map((s) => [s.label, summarize(runs[s.label])])), runs };
}

/**
 * Where tally's requests wait, sampled every 20 ms during one ingest run: the
 * PostgreSQL wait events of its connections (on CPU, idle = waiting for Node,
 * lock, WAL, I/O), and from its own metrics the event-loop delay, GC time, the
 * pool's queue and the group-commit batch sizes.
 */
async function diagnose(tally, databaseName, shape) {
  const sql = new pg.Client({ connectionString: tally.databaseUrl });
  await sql.connect();
  const states = new Map();
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await sql.query(
        // An idle connection waits in ClientRead too: it is told apart (idle: the pool's spare;
        // idle in transaction: a transaction waiting for Node).
        `SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'on CPU') ELSE state END AS what
         FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name = 'tally'`,
        [databaseName],
      );
      samples += 1;
      for (const r of rows) states.set(r.what, (states.get(r.what) ?? 0) + 1);
      await sleep(20);
    }
  })();
  const scrape = async () => (await fetch(`http://127.0.0.1:${tally.metricsPort}/metrics`)).text();
  /** A metric's value, summed over its labelled series (GC time is one series per kind). */
  const value = (text, name) =>
    [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);
  const before = await scrape();
  const c = await costed(tally.pid, () => load({ ...shape, url: tally.url }));
  const after = await scrape();
  sampling = false;
  await sampler;
  await sql.end();
  const delta = (name) => Math.round((value(after, name) - value(before, name)) * 1e6) / 1e6;
  const perSample = Object.fromEntries([...states].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, Math.round((n / samples) * 100) / 100]));
  return {
    reqPerSec: Math.round(c.result.requests.average),
    nodeUsPerReq: c.nodeUsPerReq,
    pgUsPerReq: c.pgUsPerReq,
    busyCores: c.busyCores,
    connectionsBy: perSample, // average number of tally's connections in each state
    eventLoopDelayP99Ms: Math.round(value(after, "nodejs_eventloop_lag_p99_seconds") * 1e5) / 100,
    gcSecondsPerSecond: Math.round((delta("nodejs_gc_duration_seconds_sum") / c.seconds) * 1000) / 1000,
    batchRequestsMean: Math.round((delta("tally_ingest_batch_requests_sum") / delta("tally_ingest_batch_requests_count")) * 10) / 10,
    commitMsMean: Math.round((delta("tally_ingest_commit_seconds_sum") / delta("tally_ingest_commit_seconds_count")) * 1e4) / 10,
  };
}

// ---- main ---------------------------------------------------------------------

/**
 * GET /report?days=30 over REPORT_ROWS rows spread over the last 30 UTC days
 * (20 000 viewers, 5 events): the first report aggregates the closed days
 * (timed), then 40 sequential requests read the aggregates, after 3 unmeasured.
 */
async function reportScenario(serverUrl) {
  const db = await scratchDatabase(serverUrl);
  try {
    await migrate(db.url);
    const sql = new pg.Client({ connectionString: db.url });
    sql.on("error", () => {});
    await sql.connect();
    log(`report: seeding ${REPORT_ROWS.toLocaleString("en")} rows over 30 UTC days…`);
    const t0 = Date.now();
    await sql.query("SELECT tally_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 31, (now() AT TIME ZONE 'UTC')::date + 1)");
    // Day from g % 30, viewer and event from g / 30: every day has all 20 000 viewers and all 5 events
    // (deriving all three from g modulo small numbers would tie each day to one event and 2 000 viewers).
    for (let done = 0; done < REPORT_ROWS; done += 1_000_000) {
      const n = Math.min(1_000_000, REPORT_ROWS - done);
      await sql.query(
        `INSERT INTO telemetry_event (viewer_id, event, created_at)
         SELECT md5('bench-report-' || (((g / 30) * 7919) % 20000)), ($1::text[])[1 + (g / 210) % 5],
                least(now() - interval '1 second', date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                      - ((g % 30) * interval '1 day') + random() * interval '23 hours')
         FROM generate_series($2::bigint, $3::bigint) g`,
        [EVENTS, done + 1, done + n],
      );
    }
    // In day order, as a live service writes it (a day's rollup rows are inserted during that day).
    await sql.query(`INSERT INTO telemetry_daily (viewer_id, event, day, count)
                     SELECT viewer_id, event, (created_at AT TIME ZONE 'UTC')::date, count(*) FROM telemetry_event GROUP BY 1, 2, 3 ORDER BY 3`);
    await sql.query("VACUUM ANALYZE");
    const seedSeconds = Math.round((Date.now() - t0) / 100) / 10;
    log(`  seeded in ${seedSeconds} s`);

    const tally = await startProcess(
      [...START_FLAGS, CLI, "serve"],
      { NODE_ENV: "production", PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", DATABASE_URL: db.url, SESSION_SECRET, TELEMETRY_ID_SECRET: ID_SECRET, TELEMETRY_PURGE_CRON: "0 0 1 1 *", REPORT_TOKEN },
      path.join(os.tmpdir(), `tally-bench-report-${process.pid}.log`),
      /"port":(\d+)[^\n]*"tally listening/,
    );
    const time = async (requests) => {
      const latencies = [];
      for (let i = 0; i < requests + 3; i++) {
        const t = performance.now();
        const res = await fetch(`${tally.url}/report?days=30`, { headers: { authorization: `Bearer ${REPORT_TOKEN}` } });
        const body = await res.json();
        if (res.status !== 200 || !body.ok) throw new Error(`GET /report answered ${res.status}`);
        if (i >= 3) latencies.push(performance.now() - t);
      }
      const r1 = (x) => Math.round(x * 10) / 10;
      return { p50: r1(percentile(latencies, 50)), p99: r1(percentile(latencies, 99)), max: r1(Math.max(...latencies)) };
    };
    // The first report finds the closed days not aggregated (as after the hourly job's first run
    // is missed) and aggregates them; every later one reads only the aggregates.
    const t1 = Date.now();
    const first = await fetch(`${tally.url}/report?days=30`, { headers: { authorization: `Bearer ${REPORT_TOKEN}` } });
    if (first.status !== 200) throw new Error(`GET /report answered ${first.status}`);
    const aggregateSeconds = Math.round((Date.now() - t1) / 100) / 10;
    const days = (await sql.query("SELECT count(*)::int AS n FROM telemetry_aggregated_day WHERE day >= (now() AT TIME ZONE 'UTC')::date - 30")).rows[0].n;
    const aggregated = await time(40);
    log(`  the first report aggregated ${days} closed days in ${aggregateSeconds} s; then p50 ${aggregated.p50} ms, p99 ${aggregated.p99} ms`);
    const rows = Number((await sql.query("SELECT count(*) AS n FROM telemetry_event")).rows[0].n);
    await sql.end();
    tally.child.kill("SIGTERM");
    return { rows, days: 30, viewers: 20_000, seedSeconds, firstReportSeconds: aggregateSeconds, daysAggregated: days, aggregated, requests: 40 };
  } finally {
    await db.drop().catch(() => {});
  }
}

/** A server under test: `tally serve` (WEB_CONCURRENCY workers), the bare baseline or the naive peer. */
function startTally(db, workers, logName, extraEnv = {}) {
  return startProcess(
    [...START_FLAGS, CLI, "serve"],
    {
      NODE_ENV: "production",
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info", // request logging as shipped (LOG_REQUESTS default)
      DATABASE_URL: db.url,
      SESSION_SECRET,
      TELEMETRY_ID_SECRET: ID_SECRET,
      TELEMETRY_PURGE_CRON: "0 0 1 1 *", // the default row budget (600/min) stays on
      WEB_CONCURRENCY: String(workers),
      ...variantEnv,
      ...extraEnv,
    },
    path.join(os.tmpdir(), `tally-bench-${logName}-${process.pid}.log`),
    /"port":(\d+)[^\n]*"tally listening/,
  );
}

async function main() {
  mkdirSync(RESULTS, { recursive: true });
  const server = await databaseServer();
  if (ONLY === "report") {
    try {
      const report = await reportScenario(server.url);
      const file = path.join(RESULTS, `bench-report-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
      writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
      log(`JSON: ${path.relative(ROOT, file)}`);
    } finally {
      stopAll();
      await server.stop();
    }
    return;
  }
  const db = await scratchDatabase(server.url);
  log(`database: ${server.kind} (PostgreSQL ${db.version}), scratch database for this run`);
  try {
    await migrate(db.url);
    if (VARIANT === "fat-rows") {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query(`ALTER TABLE telemetry_event ADD COLUMN id BIGSERIAL;
                     ALTER TABLE telemetry_event ADD PRIMARY KEY (id, created_at);
                     CREATE INDEX ON telemetry_event (created_at)`);
      await c.end();
    }
    log(`seeding ${ROWS.toLocaleString("en")} rows + a ${PURGE_DAY_ROWS.toLocaleString("en")}-row expired day…`);
    const seeded = await seed(db.url);
    log(`  ${seeded.rows.toLocaleString("en")} rows in ${seeded.seconds} s`);

    // (tally with one worker always: the memory figures and the purge scenario are its.)
    const wanted = (label) => !SERVERS || label === "tally" || SERVERS.includes(label);
    const underTest = async (label, start) => (wanted(label) ? { label, ...(await start()) } : null);
    const tally1 = await underTest("tally", async () => ({ database: true, ...(await startTally(db, 1, "tally1")) }));
    const tally2 = await underTest("tally ×2", async () => ({ database: true, ...(await startTally(db, 2, "tally2")) }));
    const bare1 = await underTest("bare", () => startProcess([BARE], {}, path.join(os.tmpdir(), `bare-bench-${process.pid}.log`), /"port":(\d+)/));
    const bare2 = await underTest("bare ×2", () => startProcess([BARE], { WEB_CONCURRENCY: "2" }, path.join(os.tmpdir(), `bare2-bench-${process.pid}.log`), /"port":(\d+)/));
    const naive = await underTest("naive", async () => ({ database: true, ...(await startProcess([NAIVE], { DATABASE_URL: db.url }, path.join(os.tmpdir(), `naive-bench-${process.pid}.log`), /"port":(\d+)/)) }));
    const present = (...list) => list.filter(Boolean);

    const startRssMb = await settledRss(tally1.pid);
    const ingestTokens = await Promise.all(
      Array.from({ length: INGEST_VIEWERS }, (_, i) => mintSessionToken({ secret: SESSION_SECRET, viewer: `bench-ingest-${i}`, ttlSeconds: 3_600 })),
    );
    const normalTokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => mintSessionToken({ secret: SESSION_SECRET, viewer: `bench-normal-${i}`, ttlSeconds: 3_600 })),
    );
    const heavyTokens = [await mintSessionToken({ secret: SESSION_SECRET, viewer: "bench-heavy", ttlSeconds: 3_600 })];
    const ingest = (count, connections = CONNECTIONS) => ({
      path: "/ingest",
      method: "POST",
      body: JSON.stringify({ event: "suggestion_shown", count }),
      tokens: ingestTokens,
      keys: true,
      duration: DURATION,
      rows: count,
      connections,
    });

    // A live service has seen its viewers before: requests from each of them
    // first (sessions verified and cached in every worker, as in steady state), then the runs.
    log(`warm-up: every one of the ${INGEST_VIEWERS} viewers, on every server…`);
    for (const s of present(bare1, bare2, naive)) await load({ ...ingest(5), url: s.url, duration: 2 });
    await load({ ...ingest(5), url: tally1.url, duration: undefined, amount: INGEST_VIEWERS });
    if (tally2) await load({ ...ingest(5), url: tally2.url, duration: undefined, amount: 3 * INGEST_VIEWERS });

    const scenarios = [];
    const run = (part) => !ONLY || ONLY === part;
    if (run("ingest")) {
      for (const connections of [CONNECTIONS, 200]) {
        log(`ingest count=5, ${connections} connections (${INGEST_VIEWERS} viewers, an Idempotency-Key each, JWT sessions, request logging as shipped)`);
        scenarios.push(await rounds(`ingest count=5, ${connections} conn`, present(bare1, naive, tally1, bare2, tally2), ingest(5, connections)));
      }
    }
    const tallyPeakRssMb = rssMb(tally1.pid, "VmHWM");
    if (run("summary")) {
      log("summary (GET /summary, 50 connections)");
      for (const [who, tokens, days] of [["normal", normalTokens, 7], ["heavy", heavyTokens, 30]]) {
        const shape = { path: `/summary?days=${days}`, method: "GET", tokens, duration: DURATION, connections: CONNECTIONS };
        scenarios.push(await rounds(`summary ${who} ${days}d, ${CONNECTIONS} conn`, present(bare1, tally1, tally2), shape));
      }
    }
    let diagnosis = null;
    if (run("ingest")) {
      log("diagnosis: where tally's requests wait (a run with metrics on, sampled every 20 ms)");
      const diag = await startTally(db, 1, "diag", { METRICS_PORT: "0" });
      const metricsPort = Number(/Prometheus metrics served[^\n]*?:(\d+)\/metrics/.exec(readFileSync(path.join(os.tmpdir(), `tally-bench-diag-${process.pid}.log`), "utf8"))?.[1]);
      await load({ ...ingest(5), url: diag.url, duration: undefined, amount: INGEST_VIEWERS });
      diagnosis = await diagnose({ ...diag, metricsPort, databaseUrl: db.url }, new URL(db.url).pathname.slice(1), ingest(5));
      diag.child.kill("SIGTERM");
      log(`  ${JSON.stringify(diagnosis)}`);
    }
    let purgeResult = null;
    if (run("purge")) purgeResult = await purgeScenario(db, tally1, ingest);

    const report = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, postgres: db.version, database: server.kind },
      settings: { durationSeconds: DURATION, repeats: REPEATS, seededRows: seeded.rows, loader: LOADER, viewers: INGEST_VIEWERS, rowsPerIngest: 5 },
      tallyStartRssMb: startRssMb,
      tallyPeakRssMb,
      variant: VARIANT,
      scenarios,
      diagnosis,
      purge: purgeResult,
      report: run("report") ? await reportScenario(server.url) : null,
    };
    const file = path.join(RESULTS, `bench-${report.date.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log("");
    log(renderResults(report));
    // latest.json (README's table) is the full run as shipped; partial runs and ablations keep only their own file.
    if (VARIANT === "shipped" && !ONLY) {
      writeFileSync(path.join(RESULTS, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
      updateReadme(report);
      log("\nREADME.md's results table regenerated from bench/results/latest.json");
    }
    log(`\nJSON: ${path.relative(ROOT, file)}`);
  } finally {
    stopAll();
    await db.drop().catch(() => {});
    await server.stop();
  }
}

/** The purge of an expired day while ingest runs (count=5, 50 connections): ingest p99 during it against a run without. */
async function purgeScenario(db, tally, ingest) {
  log("purge of an expired day while ingest runs (count=5, 50 connections)");
  const purgeDuration = Math.max(6, DURATION);
  const baseline = figures(await load({ ...ingest(5), url: tally.url, duration: purgeDuration }), 5);
  const samples = [];
  const during = load({ ...ingest(5), url: tally.url, duration: purgeDuration, onResponse: (ms) => samples.push([performance.now(), ms]) });
  await sleep(2_000);
  const purge = await new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "purge", "--json", "--days", "30"], {
      env: { PATH: process.env.PATH, NODE_ENV: "production", DATABASE_URL: db.url, LOG_LEVEL: "warn" },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", () => resolve({ ...JSON.parse(out), endedAt: performance.now() }));
  });
  const withPurge = figures(await during, 5);
  // Answers that completed while the purge ran (plus 100 ms for queued requests).
  const from = purge.endedAt - purge.durationMs;
  const window = samples.filter(([at]) => at >= from && at <= purge.endedAt + 100).map(([, ms]) => ms);
  return {
    rowsDeleted: purge.rows,
    partitionsDropped: purge.partitionsDropped,
    daysAggregated: purge.daysAggregated,
    purgeMs: purge.durationMs,
    ingestP99WithoutPurge: baseline.p99,
    ingestP99DuringPurge: window.length ? Math.round(percentile(window, 99) * 10) / 10 : null,
    answersDuringPurge: window.length,
    ingestP99WholeRunWithPurge: withPurge.p99,
    non2xx: baseline.non2xx + withPurge.non2xx,
  };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
