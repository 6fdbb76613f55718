// Where the database is: DATABASE_URL, or (outside production only) an embedded
// PostgreSQL under TALLY_DATA_DIR. Shared by the server and the CLI.
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { startEmbeddedPostgres } from "./embedded-postgres.js";

export interface DatabaseLocation {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

export async function locateDatabase(config: Config, logger?: Logger): Promise<DatabaseLocation> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, stop: async () => {} };
  if (config.isProduction) throw new Error("DATABASE_URL is required in production");
  const db = await startEmbeddedPostgres(config.dataDir);
  logger?.info(
    { dataDir: config.dataDir, reused: db.reused },
    db.reused ? "using the embedded PostgreSQL already running" : "embedded PostgreSQL started (no DATABASE_URL set)",
  );
  return { url: db.url, embedded: true, stop: db.stop };
}
