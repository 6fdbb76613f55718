// The schema runner, at start and with `tally migrate`, under one advisory lock
// (several replicas may start at once), offline (no Prisma engine needed):
//
// 1. Migrations — prisma/migrations/<timestamp>_<name>/migration.sql, table
//    changes only — applied in order, one transaction each, and recorded in
//    `_prisma_migrations` exactly as `prisma migrate deploy` does, so the two
//    stay interchangeable. (Prisma's own runner needs its schema-engine binary,
//    which cannot be installed everywhere tally is built.)
// 2. SQL functions — prisma/functions/<name>.sql, one file per function, the
//    live definition — applied whenever the file's checksum differs from the
//    one recorded in `_tally_functions`: every existing version of the
//    function is dropped (a changed signature must not leave an old overload)
//    and the file's CREATE OR REPLACE runs, in one transaction. A tally_*
//    function that no longer has a file is dropped. tally_lock_space (the
//    advisory-lock spaces) is generated from src/store/locks.ts, not a file.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { CONNECT_TIMEOUT_MS, DatabaseUnreachableError } from "./database.js";
import { LOCK_SPACE_FUNCTION, MIGRATION_LOCK, MIGRATION_LOCK_WAIT_MS_DEFAULT } from "./locks.js";

const MIGRATION_LOCK_TIMEOUT_MS = 10_000;
const MIGRATION_STATEMENT_TIMEOUT_MS = 300_000;

/** Waits for the migration lock at most `waitMs` (another replica may be migrating), then gives up. */
async function acquireMigrationLock(client: pg.Client, waitMs: number): Promise<void> {
  const until = Date.now() + waitMs;
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [MIGRATION_LOCK.toString()]);
    if (rows[0]?.ok) return;
    if (Date.now() >= until) {
      throw new MigrationError(`another process has been migrating this database for ${Math.round(waitMs / 1000)} s; try again when it has finished`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const PRISMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../prisma");
const defaultMigrationsDir = path.join(PRISMA_DIR, "migrations");
const defaultFunctionsDir = path.join(PRISMA_DIR, "functions");

/**
 * Checksums these migrations had in earlier versions with the same effect on
 * the schema (the first three when they also held the SQL functions, before
 * those moved to prisma/functions/). A database migrated then is recognised,
 * and its record updated to today's checksum.
 */
const LEGACY_CHECKSUMS: Record<string, readonly string[]> = {
  "20261122000000_init": ["9338a432a0a5eb6144bc5abc1b48e3e64f2b346ed336da4016c9287c6ac5e7a8"],
  "20261122010000_idempotency_rate_limits": ["086ffd4531abbaa49a35193d89da8f6170dabb62581e275a7d1bc8ff6ea8e08f"],
  "20261122020000_daily_rollup": ["503b979a5456d7e2d071aa6487dc8c1579ed85ce4607ca18f7f999628661fc28"],
  // Before it lifted its statement timeout and re-analyzed (same columns, same collation).
  "20261202000000_bytewise_ids": ["be3d8383ca97a02252419fa3097837f183d28416dec7d05dc6f80313a8494208"],
};

/** What a database migrated by an earlier version still lacks, run once when its record is updated. */
const LEGACY_CATCH_UP: Record<string, string> = {
  // The earlier version changed the columns' type without re-analyzing: their statistics were dropped.
  "20261202000000_bytewise_ids": `ANALYZE "telemetry_event", "telemetry_daily", "telemetry_idempotency", "telemetry_rate_window", "telemetry_erasure", "telemetry_aggregate"`,
};

export interface SqlFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
  /** Function files (re)applied because they were new or changed. */
  functions: string[];
  /** Functions dropped because their file is gone. */
  functionsDropped: string[];
}

export interface MigrateOptions {
  /** How long to wait for another process's migration before giving up (default 60 s). */
  lockWaitMs?: number;
  migrationsDir?: string;
  /** null: leave functions alone (only for tests that rebuild an old schema). */
  functionsDir?: string | null;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

const checksum = (sql: string) => createHash("sha256").update(sql).digest("hex");

export function readMigrations(dir = defaultMigrationsDir): SqlFile[] {
  if (!existsSync(dir)) throw new MigrationError(`migrations folder not found: ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: checksum(sql) };
    });
}

export function readFunctions(dir = defaultFunctionsDir): SqlFile[] {
  if (!existsSync(dir)) throw new MigrationError(`functions folder not found: ${dir}`);
  const files = readdirSync(dir)
    .filter((f) => /^tally_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const sql = readFileSync(path.join(dir, f), "utf8");
      return { name: f.slice(0, -4), sql, checksum: checksum(sql) };
    });
  // The lock spaces, generated from src/store/locks.ts: first, the others take them.
  return [{ name: "tally_lock_space", sql: LOCK_SPACE_FUNCTION, checksum: checksum(LOCK_SPACE_FUNCTION) }, ...files];
}

// The table as `prisma migrate deploy` creates it.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

const CREATE_FUNCTIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_tally_functions" (
    "name"        VARCHAR(63) PRIMARY KEY NOT NULL,
    "checksum"    VARCHAR(64) NOT NULL,
    "applied_at"  TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

/** One transaction: `work`, or nothing. */
async function transaction(client: pg.Client, what: string, work: () => Promise<void>): Promise<void> {
  await client.query("BEGIN");
  try {
    await work();
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw new MigrationError(`${what} failed: ${(err as Error).message}`);
  }
}

async function applyMigrations(client: pg.Client, migrations: SqlFile[], result: MigrateResult): Promise<void> {
  await client.query(CREATE_MIGRATIONS_TABLE);
  const { rows } = await client.query<{ id: string; migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null }>(
    `SELECT id, migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`,
  );
  const done = new Map<string, { id: string; checksum: string }>();
  for (const r of rows) {
    if (r.rolled_back_at) continue;
    if (!r.finished_at) {
      throw new MigrationError(`migration ${r.migration_name} failed earlier and was not rolled back; resolve it before migrating`);
    }
    done.set(r.migration_name, r);
  }
  for (const m of migrations) {
    const recorded = done.get(m.name);
    if (recorded !== undefined) {
      if (recorded.checksum !== m.checksum) {
        if (!LEGACY_CHECKSUMS[m.name]?.includes(recorded.checksum)) {
          throw new MigrationError(`migration ${m.name} was changed after it was applied (checksum differs)`);
        }
        const catchUp = LEGACY_CATCH_UP[m.name];
        if (catchUp) await client.query(catchUp);
        await client.query(`UPDATE "_prisma_migrations" SET checksum = $1 WHERE id = $2`, [m.checksum, recorded.id]);
      }
      result.alreadyApplied.push(m.name);
      continue;
    }
    await transaction(client, `migration ${m.name}`, async () => {
      await client.query(m.sql);
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
        [randomUUID(), m.checksum, m.name],
      );
    });
    result.applied.push(m.name);
  }
}

const DROP_FUNCTION = `
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.proname = $name$__NAME__$name$ AND p.pronamespace = current_schema()::regnamespace
    LOOP
        EXECUTE format('DROP FUNCTION %s', f);
    END LOOP;
END $$`;

async function applyFunctions(client: pg.Client, functions: SqlFile[], result: MigrateResult): Promise<void> {
  await client.query(CREATE_FUNCTIONS_TABLE);
  const { rows } = await client.query<{ name: string; checksum: string; exists: boolean }>(
    `SELECT f.name, f.checksum,
            EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = f.name AND p.pronamespace = current_schema()::regnamespace) AS exists
     FROM "_tally_functions" f`,
  );
  const recorded = new Map(rows.map((r) => [r.name, r]));
  for (const f of functions) {
    const r = recorded.get(f.name);
    if (r && r.checksum === f.checksum && r.exists) continue;
    await transaction(client, `function ${f.name}`, async () => {
      await client.query(DROP_FUNCTION.replace("__NAME__", f.name)); // the name is a checked file name: tally_[a-z0-9_]+
      await client.query(f.sql);
      await client.query(
        `INSERT INTO "_tally_functions" (name, checksum) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()`,
        [f.name, f.checksum],
      );
    });
    result.functions.push(f.name);
  }
  // A tally_* function without a file (removed, or left by an old migration) is dropped.
  const { rows: stale } = await client.query<{ name: string }>(
    `SELECT DISTINCT p.proname AS name FROM pg_proc p
     WHERE p.proname LIKE 'tally\\_%' AND p.pronamespace = current_schema()::regnamespace AND NOT (p.proname = ANY ($1::text[]))`,
    [functions.map((f) => f.name)],
  );
  for (const { name } of stale) {
    await transaction(client, `dropping function ${name}`, async () => {
      await client.query(DROP_FUNCTION.replace("__NAME__", name));
      await client.query(`DELETE FROM "_tally_functions" WHERE name = $1`, [name]);
    });
    result.functionsDropped.push(name);
  }
}

/** Applies pending migrations, then changed functions. Safe to run twice and from several processes at once. */
export async function migrate(databaseUrl: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = readMigrations(opts.migrationsDir ?? defaultMigrationsDir);
  const functionsDir = opts.functionsDir === undefined ? defaultFunctionsDir : opts.functionsDir;
  const functions = functionsDir ? readFunctions(functionsDir) : null;
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: "tally-migrate",
    // A port that accepts and never answers must not hang start-up.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  client.on("error", () => {}); // surfaced by the failing query instead
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new DatabaseUnreachableError(databaseUrl, err);
  }
  try {
    await acquireMigrationLock(client, opts.lockWaitMs ?? MIGRATION_LOCK_WAIT_MS_DEFAULT);
    // A migration that would queue behind live traffic for a table lock gives up
    // (and is retried at the next start) instead of holding every query behind it.
    await client.query(`SET lock_timeout = ${MIGRATION_LOCK_TIMEOUT_MS}; SET statement_timeout = ${MIGRATION_STATEMENT_TIMEOUT_MS}`);
    try {
      const result: MigrateResult = { applied: [], alreadyApplied: [], functions: [], functionsDropped: [] };
      await applyMigrations(client, migrations, result);
      if (functions) await applyFunctions(client, functions, result);
      return result;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK.toString()]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}
