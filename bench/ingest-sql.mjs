// node bench/ingest-sql.mjs: PostgreSQL's CPU for tally_ingest alone, without
// HTTP or Node in the way — batches of 20 requests × 5 rows from 20 000 viewers,
// each with a fresh key, on a scratch database; the backend's CPU (utime +
// stime from /proc, so the server must be on this machine) per request.
//
//   node bench/ingest-sql.mjs                          as migrated (identifiers COLLATE "C")
//   node bench/ingest-sql.mjs --collation=default      the identifiers on the database's collation, as before
//   node bench/ingest-sql.mjs --collation=en-US-x-icu  …or on another (an en_US database compares like this)
//   BENCH_DATABASE_URL=postgresql://… BENCH_BATCHES=2000 node bench/ingest-sql.mjs
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { migrate } from "../dist/store/migrate.js";

const SERVER = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const BATCHES = Number(process.env.BENCH_BATCHES ?? 2000);
const PER_BATCH = 20;
const VIEWERS = 20_000;
const COLLATION = process.argv.find((a) => a.startsWith("--collation="))?.slice("--collation=".length);
if (COLLATION !== undefined && !/^[A-Za-z0-9_.-]+$/.test(COLLATION)) throw new Error(`not a collation name: ${COLLATION}`);
/** The columns migration 20261202000000_bytewise_ids made COLLATE "C", put on another collation. */
const recollate = (c) => `
  ALTER TABLE telemetry_event ALTER COLUMN viewer_id TYPE varchar(64) COLLATE "${c}", ALTER COLUMN event TYPE varchar(80) COLLATE "${c}";
  ALTER TABLE telemetry_daily ALTER COLUMN viewer_id TYPE varchar(64) COLLATE "${c}", ALTER COLUMN event TYPE varchar(80) COLLATE "${c}";
  ALTER TABLE telemetry_idempotency ALTER COLUMN viewer_id TYPE varchar(64) COLLATE "${c}", ALTER COLUMN key_hash TYPE varchar(64) COLLATE "${c}", ALTER COLUMN body_hash TYPE varchar(64) COLLATE "${c}";
  ALTER TABLE telemetry_rate_window ALTER COLUMN subject TYPE varchar(64) COLLATE "${c}";
  ALTER TABLE telemetry_erasure ALTER COLUMN subject TYPE varchar(64) COLLATE "${c}"`;

const admin = new pg.Client({ connectionString: SERVER });
await admin.connect();
const name = `tally_sqlbench_${Date.now().toString(36)}`;
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(SERVER);
url.pathname = `/${name}`;
try {
  await migrate(url.toString());
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  if (COLLATION) await c.query(recollate(COLLATION));
  await c.query("SELECT tally_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 1)");
  const h = (s) => createHash("sha256").update(s).digest("hex");
  const viewers = Array.from({ length: VIEWERS }, (_, i) => h(`v${i}`));
  const subjects = viewers.map((v) => h(`s${v}`));
  const SQL = `SELECT req, outcome, stored, retry_after FROM tally_ingest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::int[], $10::int, $11::int)`;
  const run = async (n) => {
    for (let b = 0; b < n; b++) {
      const a = { v: [], s: [], bound: [], k: [], body: [], want: [], ir: [], ie: [], ic: [] };
      for (let i = 0; i < PER_BATCH; i++) {
        const j = Math.floor(Math.random() * VIEWERS);
        a.v.push(viewers[j]);
        a.s.push(subjects[j]);
        a.bound.push(null);
        a.k.push(h(randomUUID()));
        a.body.push(h("body").slice(0, 32));
        a.want.push(5);
        a.ir.push(i + 1);
        a.ie.push("suggestion_shown");
        a.ic.push(5);
      }
      await c.query({ name: "ingest", text: SQL, values: [a.v, a.s, a.bound, a.k, a.body, a.want, a.ir, a.ie, a.ic, 600, 86_400] });
    }
  };
  await run(300); // warm: plans cached, pages in memory
  const pid = (await c.query("SELECT pg_backend_pid() AS p")).rows[0].p;
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  const [t0, w0] = [ticks(), performance.now()];
  await run(BATCHES);
  const [t1, w1] = [ticks(), performance.now()];
  await c.end();
  const requests = BATCHES * PER_BATCH;
  console.log(JSON.stringify({ collation: COLLATION ?? "C", batches: BATCHES, requestsPerBatch: PER_BATCH, rowsPerRequest: 5, msPerBatch: +((w1 - w0) / BATCHES).toFixed(2), backendCpuUsPerRequest: +(((t1 - t0) * 10_000) / requests).toFixed(1) }));
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
