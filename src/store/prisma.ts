// Builds the one PrismaClient of a process, on a pg pool we own so that pool
// errors (a restarted database, terminated connections) are logged, not fatal.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { Logger } from "pino";
import { PrismaClient } from "../generated/prisma/client.js";

export type Db = PrismaClient;

export interface StoreOptions {
  databaseUrl: string;
  poolSize: number;
  /** Statements running longer are cancelled by the server (default 10 s). */
  statementTimeoutMs?: number;
  logger?: Logger;
}

export interface StoreConnection {
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function connectStore({ databaseUrl, poolSize, statementTimeoutMs = 10_000, logger }: StoreOptions): StoreConnection {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    application_name: "tally",
    // Fail fast while the database is away: requests get 503, not a hang.
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    // A statement stuck longer than this is cancelled by the server.
    statement_timeout: statementTimeoutMs,
  });
  // Without this listener an idle client's error (database restart,
  // pg_terminate_backend) would be an uncaught 'error' event and kill the process.
  pool.on("error", (err) => logger?.warn({ err: { message: err.message } }, "database connection lost"));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: false }) });
  let closed = false;
  return {
    prisma,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
