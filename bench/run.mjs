// npm run bench: tally against a bare Express 5 server on this machine, in one
// run, alternating A B A B … so the ratio holds while the machine's speed
// drifts. Loopback only; every run is bounded in time.
//
//   npm run bench              1 M seeded rows (about 4 minutes)
//   npm run bench -- --10m     10 M seeded rows
//   BENCH_DURATION=5 BENCH_PAIRS=3 BENCH_DATABASE_URL=postgresql://… npm run bench
//
// The database: BENCH_DATABASE_URL (a server where a scratch database may be
// created), else a PostgreSQL server on 127.0.0.1:5432, else an embedded one.
// Results: a table on the terminal and JSON in bench/results/.
import autocannon from "autocannon";
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { randomUUID } from "node:crypto";
import { mintSessionToken } from "../dist/auth/token.js";
import { migrate } from "../dist/store/migrate.js";
import { createViewerHasher } from "../dist/telemetry/identity.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = path.join(ROOT, "dist/cli/main.js");
/** Node's flags in `npm start` (the V8 heap ceiling): the service is measured as it is started. */
const START_FLAGS = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.start.match(/^node((?: --\S+)*) /)[1].trim().split(/\s+/).filter(Boolean);
const BARE = path.join(ROOT, "bench/bare-express.mjs");
const RESULTS = path.join(ROOT, "bench/results");
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3);
const CONNECTIONS = 50;
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
 */
const VARIANTS = {
  shipped: {},
  "log-all": { LOG_REQUESTS: "all" },
  "small-cache": { SESSION_CACHE_SIZE: "10000" },
  "fat-rows": {},
};
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const VARIANT = arg("variant") ?? "shipped";
if (!(VARIANT in VARIANTS)) throw new Error(`unknown --variant=${VARIANT}; one of ${Object.keys(VARIANTS).join(", ")}`);
const variantEnv = VARIANTS[VARIANT];
/** --only=ingest|summary|purge|report: one part of the run (the warm-up and RSS figures always, except for report). */
const ONLY = arg("only");
if (ONLY && !["ingest", "summary", "purge", "report"].includes(ONLY)) throw new Error(`unknown --only=${ONLY}; one of ingest, summary, purge, report`);
/** The report scenario's size: 10 M rows over 30 UTC days from 20 000 viewers (BENCH_REPORT_ROWS to change). */
const REPORT_ROWS = Number(process.env.BENCH_REPORT_ROWS ?? 10_000_000);
const REPORT_TOKEN = "bench-report-token-0123456789abcdef";
const ROWS = process.argv.includes("--10m") ? 10_000_000 : 1_000_000;
const HEAVY_ROWS = 100_000; // ~24 000 of them in any 7-day window
const PURGE_DAY_ROWS = 300_000;
const SESSION_SECRET = "bench-session-secret-0123456789abcdef0123456789";
const ID_SECRET = "0123456789abcdef".repeat(4);
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
        resolve({ requests: { average: w.requests / (w.durationUs / 1e6) }, latency: { p50: ms(w.p50Us), p99: ms(w.p99Us) }, non2xx: w.non2xx, errors: w.socketErrors, timeouts: 0 });
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

/** Alternates bare and tally PAIRS times; medians of each side and of the per-pair ratios. */
async function pairs(name, bare, tally, shape) {
  const runs = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const b = figures(await load({ ...shape, url: bare.url }), shape.rows);
    const t = figures(await load({ ...shape, url: tally.url }), shape.rows);
    runs.push({ bare: b, tally: t, ratio: t.reqPerSec / b.reqPerSec });
    log(`  ${name} pair ${pair + 1}: bare ${b.reqPerSec} req/s, tally ${t.reqPerSec} req/s (p99 ${t.p99} ms)`);
  }
  const side = (k) => ({
    reqPerSec: median(runs.map((r) => r[k].reqPerSec)),
    rowsPerSec: shape.rows ? median(runs.map((r) => r[k].rowsPerSec)) : null,
    p50: median(runs.map((r) => r[k].p50)),
    p99: median(runs.map((r) => r[k].p99)),
    non2xx: runs.reduce((n, r) => n + r[k].non2xx, 0),
  });
  return { name, bare: side("bare"), tally: side("tally"), ratio: median(runs.map((r) => r.ratio)), runs };
}

// ---- main ---------------------------------------------------------------------

/**
 * GET /report?days=30 over REPORT_ROWS rows spread over the last 30 UTC days
 * (20 000 viewers, 5 events): first with nothing aggregated (every day read
 * from the rollup), then after the 29 closed days are aggregated (as the
 * hourly job leaves them). 40 sequential requests each, after 3 unmeasured.
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
    const open = await time(10); // slow by design: every day from the rollup
    log(`  every day from the rollup: p50 ${open.p50} ms, p99 ${open.p99} ms`);
    const t1 = Date.now();
    const { rows: days } = await sql.query(
      "SELECT to_char(d, 'YYYY-MM-DD') AS day FROM generate_series((now() AT TIME ZONE 'UTC')::date - 30, (now() AT TIME ZONE 'UTC')::date - 1, interval '1 day') d",
    );
    for (const { day } of days) await sql.query("SELECT * FROM tally_aggregate_day($1::date)", [day]);
    const aggregateSeconds = Math.round((Date.now() - t1) / 100) / 10;
    const aggregated = await time(40);
    log(`  ${days.length} closed days aggregated in ${aggregateSeconds} s; report p50 ${aggregated.p50} ms, p99 ${aggregated.p99} ms`);
    const rows = Number((await sql.query("SELECT count(*) AS n FROM telemetry_event")).rows[0].n);
    await sql.end();
    tally.child.kill("SIGTERM");
    return { rows, days: 30, viewers: 20_000, seedSeconds, aggregateSeconds, daysAggregated: days.length, openDays: open, aggregated, requests: 40 };
  } finally {
    await db.drop().catch(() => {});
  }
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

    const tallyLog = path.join(os.tmpdir(), `tally-bench-${process.pid}.log`);
    const tally = await startProcess(
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
        ...variantEnv,
      },
      tallyLog,
      /"port":(\d+)[^\n]*"tally listening/,
    );
    const bare = await startProcess([BARE], {}, path.join(os.tmpdir(), `bare-bench-${process.pid}.log`), /"port":(\d+)/);

    const startRssMb = await settledRss(tally.pid);
    const ingestTokens = await Promise.all(
      Array.from({ length: INGEST_VIEWERS }, (_, i) => mintSessionToken({ secret: SESSION_SECRET, viewer: `bench-ingest-${i}`, ttlSeconds: 3_600 })),
    );
    const normalTokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => mintSessionToken({ secret: SESSION_SECRET, viewer: `bench-normal-${i}`, ttlSeconds: 3_600 })),
    );
    const heavyTokens = [await mintSessionToken({ secret: SESSION_SECRET, viewer: "bench-heavy", ttlSeconds: 3_600 })];
    const ingest = (count) => ({
      path: "/ingest",
      method: "POST",
      body: JSON.stringify({ event: "suggestion_shown", count }),
      tokens: ingestTokens,
      keys: true,
      duration: DURATION,
      rows: count,
    });

    // A live service has seen its viewers before: one request from each of them
    // first (sessions verified and cached, as in steady state), then the runs.
    log(`warm-up: one request from each of the ${INGEST_VIEWERS} viewers…`);
    await load({ ...ingest(5), url: bare.url, duration: 2 });
    await load({ ...ingest(5), url: tally.url, duration: undefined, amount: INGEST_VIEWERS });

    const scenarios = [];
    const run = (part) => !ONLY || ONLY === part;
    if (run("ingest")) {
      log(`ingest (${INGEST_VIEWERS} viewers, an Idempotency-Key each, JWT auth, request logging as shipped, 50 connections)`);
      scenarios.push(await pairs("ingest count=1", bare, tally, ingest(1)));
      scenarios.push(await pairs("ingest count=5", bare, tally, ingest(5)));
    }
    const tallyPeakRssMb = rssMb(tally.pid, "VmHWM");
    let purgeResult = null;
    if (run("summary")) {
    log("summary (GET /summary, 1 connection: latency; 50 connections: throughput)");
    for (const [who, tokens] of [["normal", normalTokens], ["heavy", heavyTokens]]) {
      for (const days of [7, 30]) {
        const shape = { path: `/summary?days=${days}`, method: "GET", tokens, duration: Math.max(3, DURATION - 2) };
        scenarios.push(await pairs(`summary ${who} ${days}d, 1 conn`, bare, tally, { ...shape, connections: 1 }));
        scenarios.push(await pairs(`summary ${who} ${days}d, 50 conn`, bare, tally, shape));
      }
    }
    }
    if (run("purge")) {

    log("purge of an expired day while ingest runs (count=5, 50 connections)");
    const purgeDuration = Math.max(6, DURATION);
    const baseline = figures(await load({ ...ingest(5), url: tally.url, duration: purgeDuration }), 5);
    const samples = [];
    const during = load({
      ...ingest(5),
      url: tally.url,
      duration: purgeDuration,
      onResponse: (ms) => samples.push([performance.now(), ms]),
    });
    await sleep(2_000);
    const purge = await new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, "purge", "--json", "--days", "30"], {
        env: { PATH: process.env.PATH, NODE_ENV: "production", DATABASE_URL: db.url, SESSION_SECRET, TELEMETRY_ID_SECRET: ID_SECRET, LOG_LEVEL: "warn" },
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("exit", () => resolve({ ...JSON.parse(out), endedAt: performance.now() }));
    });
    const withPurge = figures(await during, 5);
    // Answers that completed while the purge ran (plus 100 ms for queued requests).
    const from = purge.endedAt - purge.durationMs;
    const window = samples.filter(([at]) => at >= from && at <= purge.endedAt + 100).map(([, ms]) => ms);
    purgeResult = {
      rowsDeleted: purge.rows,
      partitionsDropped: purge.partitionsDropped,
      purgeMs: purge.durationMs,
      ingestP99WithoutPurge: baseline.p99,
      ingestP99DuringPurge: window.length ? Math.round(percentile(window, 99) * 10) / 10 : null,
      answersDuringPurge: window.length,
      ingestP99WholeRunWithPurge: withPurge.p99,
      non2xx: baseline.non2xx + withPurge.non2xx,
    };
    }

    const report = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, postgres: db.version, database: server.kind },
      settings: { durationSeconds: DURATION, pairs: PAIRS, connections: CONNECTIONS, seededRows: seeded.rows, loader: LOADER, viewers: INGEST_VIEWERS },
      tallyStartRssMb: startRssMb,
      tallyPeakRssMb,
      variant: VARIANT,
      scenarios: scenarios.map(({ runs, ...s }) => ({ ...s, pairs: runs })),
      purge: purgeResult,
      report: run("report") ? await reportScenario(server.url) : null,
    };
    const file = path.join(RESULTS, `bench-${report.date.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    // latest.json (README's table) is the full run as shipped; ablations keep only their own file.
    if (VARIANT === "shipped" && !ONLY) writeFileSync(path.join(RESULTS, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);

    log("");
    log(table(report));
    log(`\nJSON: ${path.relative(ROOT, file)}`);
  } finally {
    stopAll();
    await db.drop().catch(() => {});
    await server.stop();
  }
}

function table(report) {
  const rows = [["scenario", "bare req/s", "tally req/s", "tally rows/s", "tally p50", "tally p99", "non-2xx", "tally ÷ bare"]];
  for (const s of report.scenarios) {
    rows.push([
      s.name,
      String(s.bare.reqPerSec),
      String(s.tally.reqPerSec),
      s.tally.rowsPerSec === null ? "—" : String(s.tally.rowsPerSec),
      `${s.tally.p50} ms`,
      `${s.tally.p99} ms`,
      String(s.tally.non2xx),
      `${Math.round(s.ratio * 100)} %`,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  const out = [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line)];
  const p = report.purge;
  out.push(
    "",
    `variant: ${report.variant}; tally RSS: ${report.tallyStartRssMb} MB after start, ${report.tallyPeakRssMb} MB peak under ingest load`,
    report.report
      ? `report (GET /report?days=30, ${report.report.rows.toLocaleString("en")} rows over 30 days, ${report.report.viewers} viewers): p50 ${report.report.aggregated.p50} ms, p99 ${report.report.aggregated.p99} ms with the ${report.report.daysAggregated} closed days aggregated (${report.report.aggregateSeconds} s to aggregate them); p50 ${report.report.openDays.p50} ms, p99 ${report.report.openDays.p99} ms with none aggregated`
      : "report: not run (--only)",
    p ? `purge: ${p.rowsDeleted} rows (${p.partitionsDropped} day partition(s)) in ${p.purgeMs} ms; ingest p99 ${p.ingestP99DuringPurge} ms during it (${p.answersDuringPurge} answers) vs ${p.ingestP99WithoutPurge} ms without` : "purge: not run (--only)",
    `machine: ${report.machine.cpus} × ${report.machine.cpu}, ${report.machine.memoryGb} GB, Node ${report.machine.node}, PostgreSQL ${report.machine.postgres} (${report.machine.database}); ${report.settings.seededRows.toLocaleString("en")} rows; ${report.settings.pairs} pairs × ${report.settings.durationSeconds} s; load from ${report.settings.loader}`,
  );
  return out.join("\n");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
