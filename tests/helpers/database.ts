// A fresh, migrated database per test file, copied from the run's template.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openStore, type Store } from "../../src/store/connection.js";

export interface TestDatabase {
  url: string;
  name: string;
  /** A raw pg pool for assertions and seeding, independent of the code under test. */
  sql: pg.Pool;
  drop(): Promise<void>;
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (tests/helpers/global-setup.mjs)`);
  return value;
}

export function adminUrl(): string {
  return env("TALLY_TEST_ADMIN_URL");
}

export function urlFor(database: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** An empty database with nothing migrated (for migration tests). */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  return create(null);
}

/** A database with every migration applied (copied from the template). */
export async function createTestDatabase(): Promise<TestDatabase> {
  return create(env("TALLY_TEST_TEMPLATE"));
}

async function create(template: string | null): Promise<TestDatabase> {
  const name = `${env("TALLY_TEST_TEMPLATE").replace("_tpl_", "_f_")}_${randomBytes(4).toString("hex")}`;
  await admin(async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`);
        return;
      } catch (err) {
        // Two files copying the template at the same instant: wait and retry.
        if (attempt >= 20 || !/being accessed by other users/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });
  const url = urlFor(name);
  const sql = new pg.Pool({ connectionString: url, max: 4 });
  sql.on("error", () => {});
  return {
    url,
    name,
    sql,
    async drop() {
      await sql.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** The code under test's own store on a test database. */
export function storeFor(db: TestDatabase): Store {
  return openStore({ databaseUrl: db.url, poolSize: 4 });
}

/** Rows in telemetry_event, optionally for one stored (hashed) viewer id. */
export async function countRows(db: TestDatabase, where: { viewerId?: string; event?: string } = {}): Promise<number> {
  const { rows } = await db.sql.query<{ n: string }>(
    `SELECT count(*) AS n FROM telemetry_event
     WHERE ($1::text IS NULL OR viewer_id = $1) AND ($2::text IS NULL OR event = $2)`,
    [where.viewerId ?? null, where.event ?? null],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Inserts rows with an explicit created_at (seeding old data), creating its day
 * partition and adding them to the daily rollup in the same statement, as
 * tally_ingest does.
 */
export async function seedRows(db: TestDatabase, viewerId: string, event: string, createdAt: Date, count = 1): Promise<void> {
  const day = createdAt.toISOString().slice(0, 10);
  await db.sql.query("SELECT tally_ensure_partitions($1::date, $1::date)", [day]);
  await db.sql.query(
    `WITH rows AS (
       INSERT INTO telemetry_event (viewer_id, event, created_at)
       SELECT $1, $2, $3 FROM generate_series(1, $4))
     INSERT INTO telemetry_daily AS d (viewer_id, event, day, count)
     VALUES ($1, $2, ($3::timestamptz AT TIME ZONE 'UTC')::date, $4)
     ON CONFLICT (viewer_id, event, day) DO UPDATE SET count = d.count + EXCLUDED.count`,
    [viewerId, event, createdAt, count],
  );
}
