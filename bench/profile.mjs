// npm run bench:profile: where tally's CPU goes under the bench's ingest load.
// Starts `tally serve` on a scratch database, warms it up with one request per
// viewer, then profiles (bench/cpu-profile-hook.mjs) while it sends 20 000
// viewers' ingest requests (count=5, an Idempotency-Key each) for BENCH_DURATION
// seconds from autocannon, stops it, and prints the profile's self time grouped
// into buckets (Express, jose, pino, pg, Prisma, tally's own code, Node's HTTP,
// GC, idle …). Also prints RSS samples taken during the load.
//
//   npm run bench:profile                     the working tree's dist/
//   npm run bench:profile -- --cli=PATH       another build's dist/cli/main.js (to compare)
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { mintSessionToken } from "../dist/auth/token.js";
import { migrate } from "../dist/store/migrate.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const CLI = arg("cli") ?? path.join(ROOT, "dist/cli/main.js");
/** Node's flags in `npm start` (the V8 heap ceiling), as in bench/run.mjs. */
const START_FLAGS = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.start.match(/^node((?: --\S+)*) /)[1].trim().split(/\s+/).filter(Boolean);
/** --bare: profile the bare Express baseline instead (same load), for per-request CPU to compare. */
const BARE = process.argv.includes("--bare");
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 20_000);
// Made per run: any secret written in the repository is public, and production refuses it.
const SESSION_SECRET = randomBytes(32).toString("hex");
const ID_SECRET = randomBytes(32).toString("hex");
const SERVER = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

const BUCKETS = [
  ["(idle)", /^\(idle\)$/],
  ["(garbage collector)", /^\(garbage collector\)$/],
  ["(program)", /^\(program\)$/],
  ["express/router", /node_modules\/(express|router|path-to-regexp|finalhandler|send|depd|qs|parseurl|encodeurl|on-finished|type-is|content-type|mime-types|accepts|negotiator|fresh|range-parser|proxy-addr|forwarded|ipaddr\.js|vary|merge-descriptors|setprototypeof|statuses|http-errors)\//],
  ["jose (JWT)", /node_modules\/jose\//],
  ["pino (logging)", /node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free)\//],
  ["pg (driver)", /node_modules\/(pg|pg-pool|pg-protocol|pg-types|pg-connection-string|postgres-array|postgres-date|postgres-interval|postgres-bytea)\//],
  ["prisma", /node_modules\/@prisma\//],
  ["zod (validation)", /node_modules\/zod\//],
  ["other dependencies", /node_modules\//],
  ["tally", /\/dist\//],
  ["node:http and streams", /^node:(_http|http|net|stream|internal\/streams|internal\/http|internal\/stream_base|events|internal\/event_target|buffer|internal\/buffer)/],
  ["node:crypto", /^node:(crypto|internal\/crypto)/],
  ["node: other", /^node:|^internal\//],
];

function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (dt[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const buckets = new Map();
  for (const [id, us] of self) {
    const frame = byId.get(id).callFrame;
    const where = frame.url || frame.functionName || "(native)";
    const bucket = BUCKETS.find(([, re]) => re.test(where) || re.test(frame.functionName))?.[0] ?? "native/other";
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);
  }
  const busy = total - (buckets.get("(idle)") ?? 0);
  return [...buckets.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => ({ bucket: name, percentOfAll: Math.round((us / total) * 1000) / 10, percentOfBusy: name === "(idle)" ? null : Math.round((us / busy) * 1000) / 10 }));
}

/** The functions with the most self time: to see inside a bucket. */
function topFunctions(profile, n) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/dist\//, "dist/")}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([fn, us]) => ({ fn, percent: Math.round((us / total) * 1000) / 10 }));
}

/** --summary: profile GET /summary (7 days) instead of ingest. */
const SUMMARY = process.argv.includes("--summary");
/** --cpu-only: no profiler (it costs CPU itself), only CPU per request and RSS. */
const CPU_ONLY = process.argv.includes("--cpu-only");

/** utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat; of its main thread with `thread`). */
const CLOCK_TICKS = 100;
function cpuTicks(pid, thread = false) {
  const fields = readFileSync(thread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

async function main() {
  const name = `tally_profile_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  const profDir = mkdtempSync(path.join(os.tmpdir(), "tally-prof-"));
  try {
    await migrate(dbUrl);
    const target = BARE ? [path.join(ROOT, "bench/bare-express.mjs")] : [...START_FLAGS, CLI, "serve"];
    const profileFile = path.join(profDir, "steady.cpuprofile");
    const hook = CPU_ONLY ? [] : [`--import=${pathToFileURL(path.join(ROOT, "bench/cpu-profile-hook.mjs"))}`];
    const child = spawn(process.execPath, [...hook, ...target], {
      env: { TALLY_PROFILE_OUT: profileFile, PATH: process.env.PATH, NODE_ENV: "production", PORT: "0", HOST: "127.0.0.1", DATABASE_URL: dbUrl, SESSION_SECRET, TELEMETRY_ID_SECRET: ID_SECRET, LOG_LEVEL: "info", TELEMETRY_PURGE_CRON: "0 0 1 1 *" },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const port = await new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        const m = BARE ? /"port":(\d+)/.exec(out) : /"port":(\d+)[^\n]*"tally listening/.exec(out);
        if (m) {
          clearInterval(timer);
          resolve(Number(m[1]));
        } else if (child.exitCode !== null) reject(new Error(out));
      }, 50);
    });
    const tokens = await Promise.all(Array.from({ length: VIEWERS }, (_, i) => mintSessionToken({ secret: SESSION_SECRET, viewer: `profile-${i}`, ttlSeconds: 3_600 })));
    const rss = [];
    const sampler = setInterval(() => {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m) rss.push(Math.round(Number(m[1]) / 1024));
    }, 1_000);
    let i = 0;
    // One request from each viewer first (sessions verified once, as in steady state); not profiled.
    await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: 50,
      amount: VIEWERS,
      requests: [
        {
          method: "POST",
          path: "/ingest",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ event: "suggestion_shown", count: 1 }),
          setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` } }),
        },
      ],
    });
    const cpuBefore = cpuTicks(child.pid);
    const mainBefore = cpuTicks(child.pid, true);
    if (!CPU_ONLY) child.kill("SIGUSR2");
    // --summary: GET /summary?days=7 from the same viewers instead of ingest.
    const measured = SUMMARY
      ? { method: "GET", path: "/summary?days=7", setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` } }) }
      : {
          method: "POST",
          path: "/ingest",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ event: "suggestion_shown", count: 5 }),
          setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}`, "idempotency-key": randomUUID() } }),
        };
    const result = await autocannon({ url: `http://127.0.0.1:${port}`, connections: 50, duration: DURATION, requests: [measured] });
    const cpuUs = (cpuTicks(child.pid) - cpuBefore) * (1e6 / CLOCK_TICKS);
    const mainUs = (cpuTicks(child.pid, true) - mainBefore) * (1e6 / CLOCK_TICKS);
    clearInterval(sampler);
    const served = result.requests.total;
    const figures = `${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}; CPU per request: ${Math.round(mainUs / served)} µs on the main thread, ${Math.round(cpuUs / served)} µs in all threads`;
    if (CPU_ONLY) {
      child.kill("SIGTERM");
      await new Promise((r) => child.on("exit", r));
      console.log(`${BARE ? "bare Express" : CLI}: ${figures}`);
      console.log(`RSS during the load (MB, each second): ${rss.join(" ")}`);
      return;
    }
    child.kill("SIGUSR2");
    while (!existsSync(profileFile)) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGTERM");
    await new Promise((r) => child.on("exit", r));
    const profile = JSON.parse(readFileSync(profileFile, "utf8"));
    console.log(`${BARE ? "bare Express" : CLI}: ${figures} (with the profiler on)`);
    console.log(`RSS during the load (MB, each second): ${rss.join(" ")}`);
    console.table(summarize(profile));
    if (process.argv.includes("--top")) console.table(topFunctions(profile, Number(arg("top") ?? 25)));
  } finally {
    const c = new pg.Client({ connectionString: SERVER });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
