// Where the database is: DATABASE_URL, or (outside production only) an embedded
// PostgreSQL under TALLY_DATA_DIR. Shared by the server and the CLI.
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { startEmbeddedPostgres } from "./embedded-postgres.js";

/** How long tally waits for PostgreSQL to answer a new connection before giving up (start-up, CLI). */
export const CONNECT_TIMEOUT_MS = 10_000;

/** `host:port` of a database URL: what a failure may name (never the user or password). */
function databaseAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || "5432"}`;
  } catch {
    return "(unparsable DATABASE_URL)";
  }
}

/** PostgreSQL did not answer: start-up and commands stop with this one line. */
export class DatabaseUnreachableError extends Error {
  override name = "DatabaseUnreachableError";
  constructor(url: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    const why =
      code === "ECONNREFUSED"
        ? "connection refused"
        : /timeout/i.test(String((cause as Error | null)?.message))
          ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`
          : String((cause as Error | null)?.message ?? cause).split("\n")[0];
    super(`cannot reach PostgreSQL at ${databaseAddress(url)}: ${why}`);
  }
}

export interface DatabaseLocation {
  url: string;
  /** This process owns an embedded server (started or adopted it): it must stop it, and not outlive it. */
  ownsEmbedded: boolean;
  stop(): Promise<void>;
}

export async function locateDatabase(config: Config, logger?: Logger): Promise<DatabaseLocation> {
  if (config.databaseUrl) return { url: config.databaseUrl, ownsEmbedded: false, stop: async () => {} };
  if (config.isProduction) throw new Error("DATABASE_URL is required in production");
  const db = await startEmbeddedPostgres(config.dataDir);
  const said = {
    started: "embedded PostgreSQL started (no DATABASE_URL set)",
    reused: "using the embedded PostgreSQL that another tally process is running",
    adopted: "adopted the embedded PostgreSQL left running by a process that is gone: stopping this one stops it",
  };
  logger?.info({ dataDir: config.dataDir, embedded: db.how }, said[db.how]);
  return { url: db.url, ownsEmbedded: db.how !== "reused", stop: db.stop };
}
