// Applies prisma/migrations/<timestamp>_<name>/migration.sql in order and records
// them in `_prisma_migrations` exactly as `prisma migrate deploy` would, so the two
// stay interchangeable. (Prisma's own runner needs its schema-engine binary, which
// cannot be installed everywhere tally is built; see README "Migrations".)
// A Postgres advisory lock serialises concurrent starts of several replicas.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { CONNECT_TIMEOUT_MS, DatabaseUnreachableError } from "./database.js";

/** Shared by every tally process; an arbitrary constant ("tally-mig"). */
const MIGRATION_LOCK_KEY = 0x74616c6c796d6967n;

export const defaultMigrationsDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../prisma/migrations",
);

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

export function readMigrations(dir = defaultMigrationsDir): Migration[] {
  if (!existsSync(dir)) throw new MigrationError(`migrations folder not found: ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
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

/** Applies every pending migration. Safe to run twice and from several processes at once. */
export async function migrate(databaseUrl: string, dir = defaultMigrationsDir): Promise<MigrateResult> {
  const migrations = readMigrations(dir);
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
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<{
        migration_name: string;
        checksum: string;
        finished_at: Date | null;
        rolled_back_at: Date | null;
      }>(`SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`);
      const done = new Map<string, string>();
      for (const r of rows) {
        if (r.rolled_back_at) continue;
        if (!r.finished_at) {
          throw new MigrationError(
            `migration ${r.migration_name} failed earlier and was not rolled back; resolve it before migrating`,
          );
        }
        done.set(r.migration_name, r.checksum);
      }
      const result: MigrateResult = { applied: [], alreadyApplied: [] };
      for (const m of migrations) {
        const recorded = done.get(m.name);
        if (recorded !== undefined) {
          if (recorded !== m.checksum) {
            throw new MigrationError(`migration ${m.name} was changed after it was applied (checksum differs)`);
          }
          result.alreadyApplied.push(m.name);
          continue;
        }
        // One transaction per migration: a failure leaves neither schema changes nor a record.
        await client.query("BEGIN");
        try {
          await client.query(m.sql);
          await client.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
             VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
            [randomUUID(), m.checksum, m.name],
          );
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {});
          throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
        }
        result.applied.push(m.name);
      }
      return result;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY.toString()]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}
