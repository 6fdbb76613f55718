// The database connection of a process: one pg pool, shared by the hot path's
// prepared statements (sql.ts) and by the Prisma client of the cold paths.
// The Prisma client is loaded only when a cold path first needs it: its query
// compiler costs ~85 MB of memory that the ingest and summary paths never use.
import pg from "pg";
import type { Logger } from "pino";
import type { PrismaClient } from "../generated/prisma/client.js";

export interface StoreOptions {
  databaseUrl: string;
  poolSize: number;
  /** Statements running longer are cancelled by the server (default 10 s). */
  statementTimeoutMs?: number;
  logger?: Logger;
}

export interface Store {
  readonly pool: pg.Pool;
  /** The Prisma client on the same pool, built on first use. */
  prisma(): Promise<PrismaClient>;
  close(): Promise<void>;
}

export function openStore({ databaseUrl, poolSize, statementTimeoutMs = 10_000, logger }: StoreOptions): Store {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    application_name: "tally",
    // Fail fast while the database is away: requests get 503, not a hang.
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    // A statement stuck longer than this is cancelled by the server.
    statement_timeout: statementTimeoutMs,
    // No JIT: a generic plan's estimates can pass jit_above_cost, and compiling then costs
    // more than any of tally's statements runs (220 ms of 520 for a report over 10 M rows).
    options: "-c jit=off",
  });
  // Without this listener an idle client's error (database restart,
  // pg_terminate_backend) would be an uncaught 'error' event and kill the process.
  pool.on("error", (err) => logger?.warn({ err }, "database connection lost"));

  let client: Promise<PrismaClient> | undefined;
  let closed = false;
  return {
    pool,
    prisma() {
      client ??= Promise.all([import("../generated/prisma/client.js"), import("@prisma/adapter-pg")]).then(
        ([{ PrismaClient: Client }, { PrismaPg }]) => new Client({ adapter: new PrismaPg(pool, { disposeExternalPool: false }) }),
      );
      return client;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (client) await (await client).$disconnect();
      await pool.end();
    },
  };
}
