// WEB_CONCURRENCY=N (N > 1): `tally serve` as a primary and N workers behind
// one port (node:cluster), so every core serves. The primary owns what must
// exist once per machine: the embedded database (started, migrated), the
// metrics listener (the workers' series summed), the signals and the workers'
// lives. Each worker is a whole service (src/server.ts) on the shared port;
// one runs the cron schedules (the tick claims keep scheduled work once across
// replicas anyway). A worker that dies is replaced; a shutdown stops accepting
// in every worker, drains each, then stops the database.
import cluster, { type Worker } from "node:cluster";
import type { Server } from "node:http";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { migrateDatabase, StartupError } from "./runtime.js";
import { warnAboutWeakSettings } from "./server.js";
import { locateDatabase } from "./store/database.js";

/** The primary's message to the worker that runs the cron schedules. */
export const RUN_SCHEDULER = "tally:run-scheduler";
/** How long workers may take to drain before they are killed. */
const DRAIN_MS = 10_000;
/** More than this many worker deaths in a minute: something is wrong with every worker; stop. */
const MAX_RESTARTS_PER_MINUTE = 5;

export interface Primary {
  /** Stops every worker (drained), the metrics listener and an embedded database; resolves to the exit code. */
  stop(reason: string): Promise<number>;
  ownsEmbeddedDatabase: boolean;
}

export async function startPrimary(config: Config, logger: Logger): Promise<Primary> {
  warnAboutWeakSettings(config, logger);
  // The database first (an embedded one is this process's), migrated once for every worker.
  const database = await locateDatabase(config, logger);
  let metricsServer: Server | undefined;
  try {
    const migrations = await migrateDatabase({ ...config, databaseUrl: database.url }, logger);
    if (migrations.applied.length > 0 || migrations.functions.length > 0) {
      logger.info({ applied: migrations.applied, functions: migrations.functions }, "migrations applied");
    }
    if (config.metricsPort !== undefined) {
      const { startClusterMetricsServer } = await import("./metrics/prometheus.js");
      metricsServer = (await startClusterMetricsServer(config.metricsHost, config.metricsPort, logger)).server;
    }
  } catch (err) {
    await database.stop();
    throw err;
  }

  // Workers read the same environment, plus where the database is (an embedded one's URL) and the mode it implies.
  const env = { ...process.env, NODE_ENV: config.env, DATABASE_URL: database.url };
  /** The one shutdown: a second stop request (Ctrl-C during a SIGTERM's drain) waits for it, never cuts it short. */
  let stopping: Promise<number> | undefined;
  const deaths: number[] = [];
  /** The worker that runs the cron schedules (a replacement takes over from a dead one). */
  const schedulerOf = new Map<Worker, boolean>();
  const fork = (scheduler: boolean): Worker => {
    const w = cluster.fork(env);
    schedulerOf.set(w, scheduler);
    // A message to a worker whose channel has closed surfaces as an 'error' event: unhandled, it would end the primary.
    w.on("error", (err) => logger.warn({ worker: w.id, err }, "worker channel error"));
    return w;
  };
  const listening = new Promise<number>((resolve, reject) => {
    let up = 0;
    cluster.on("listening", (worker, address) => {
      if (schedulerOf.get(worker)) worker.send(RUN_SCHEDULER);
      if (++up === config.workers) resolve(address.port);
    });
    cluster.on("exit", (worker, code, signal) => {
      const scheduler = schedulerOf.get(worker) ?? false;
      schedulerOf.delete(worker);
      if (stopping) return;
      if (up < config.workers) return reject(new StartupError(`a worker stopped during start-up (${signal ?? `exit ${code}`}); its log says why`));
      const now = Date.now();
      deaths.push(now);
      while (deaths.length > 0 && deaths[0]! < now - 60_000) deaths.shift();
      logger.error({ worker: worker.id, code, signal }, "worker died: starting another");
      if (deaths.length > MAX_RESTARTS_PER_MINUTE) {
        logger.error("workers keep dying: stopping");
        void primary.stop("workers keep dying").then((c) => process.exit(c || 1));
        return;
      }
      fork(scheduler);
    });
  });
  for (let i = 0; i < config.workers; i++) fork(i === 0);

  const primary: Primary = {
    ownsEmbeddedDatabase: database.ownsEmbedded,
    stop(reason) {
      return (stopping ??= shutdown(reason));
    },
  };
  async function shutdown(reason: string): Promise<number> {
    logger.info({ signal: reason, workers: Object.keys(cluster.workers ?? {}).length }, "shutting down");
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exited = workers.map((w) => new Promise<number>((resolve) => w.once("exit", (code) => resolve(code ?? 1))));
    for (const w of workers) w.process.kill("SIGTERM"); // each drains: stops accepting, finishes, closes its pool
    const killer = setTimeout(() => workers.forEach((w) => w.process.kill("SIGKILL")), DRAIN_MS);
    const codes = await Promise.all(exited);
    clearTimeout(killer);
    metricsServer?.closeAllConnections();
    metricsServer?.close();
    await database.stop();
    return codes.some((c) => c !== 0) ? 1 : 0;
  }
  try {
    const port = await listening;
    const shown = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
    // Said at start: platforms set WEB_CONCURRENCY themselves (Heroku's Node buildpack does), and each worker has its own pool.
    const connections = config.workers * config.databasePoolSize;
    logger.info(
      { port, host: config.host, env: config.env, workers: config.workers, connections },
      `tally listening on http://${shown}:${port} (${config.env}, ${config.workers} workers from WEB_CONCURRENCY, up to ${connections} database connections)`,
    );
  } catch (err) {
    await primary.stop("start-up failed");
    throw err;
  }
  return primary;
}
