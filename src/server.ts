// Boot: the runtime (database, migrations, store, use cases) -> app -> listen
// -> cron. close() undoes it in reverse: cron, stop accepting, finish in-flight
// requests, drain the batcher, close the pool, stop an embedded database.
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./app.js";
import { createViewerResolver } from "./auth/session.js";
import type { Config } from "./config.js";
import { createRequestLog } from "./http/request-log.js";
import { createScheduler, type Scheduler } from "./jobs/scheduler.js";
import { secretFingerprint } from "./telemetry/identity.js";
import type { TelemetryService } from "./telemetry/service.js";
import { openRuntime, StartupError } from "./runtime.js";

export interface RunningService {
  server: Server;
  port: number;
  /** The Prometheus listener's port, when METRICS_PORT is set. */
  metricsPort?: number;
  /** The use cases the routes and the scheduler call. */
  telemetry: TelemetryService;
  /** This process started (or adopted) the embedded PostgreSQL it uses: it stops with this process. */
  ownsEmbeddedDatabase: boolean;
  /** Starts the cron schedules (at start, unless this is a cluster's worker: the primary asks one). Idempotent. */
  startScheduler(): void;
  /** Graceful stop; resolves when everything is closed. */
  close(): Promise<void>;
}

/**
 * Server timeouts derived from REQUEST_TIMEOUT_MS (default 10 s): a slow-loris
 * client must send its headers within the deadline and its whole request
 * within 1.5× it, or the socket is closed. Node only checks these every
 * connectionsCheckingInterval (30 s by default), so that is tightened too.
 */
function serverTimeouts(requestTimeoutMs: number) {
  return {
    headersTimeout: requestTimeoutMs,
    requestTimeout: Math.ceil(requestTimeoutMs * 1.5),
    keepAliveTimeout: 5_000,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeoutMs / 4))),
  };
}

/**
 * Says loudly, at start, whatever weakens security in this configuration: dev
 * identities, development secrets, a development server reachable from others.
 */
export function warnAboutWeakSettings(config: Config, logger: Logger): void {
  const exposed = !["127.0.0.1", "::1", "localhost"].includes(config.host);
  if (config.auth.allowDevViewer) {
    logger.warn(
      { host: config.host },
      `DEVELOPMENT IDENTITIES ARE ACCEPTED (TALLY_DEV_VIEWER=true): any client can act as any viewer with the x-dev-viewer header or the dev_viewer cookie${exposed ? `, and this server listens on ${config.host}` : ""}`,
    );
  }
  if (config.idSecretIsDevDefault) logger.warn("TELEMETRY_ID_SECRET not set: using the fixed development secret");
  if (config.auth.secretIsDevDefault) {
    logger.warn(
      exposed
        ? `SESSION_SECRET not set and listening on ${config.host}: anyone who can reach this port can mint sessions with the public development secret`
        : "SESSION_SECRET not set: using the fixed development session secret",
    );
  }
  if (config.envInferred) logger.info({ env: config.env }, `NODE_ENV not set: running as ${config.env}${config.isProduction ? " (DATABASE_URL is set)" : ""}`);
}

/** One worker of a cluster (WEB_CONCURRENCY > 1; src/cluster.ts is the primary, which tells one worker to run the schedules). */
export interface WorkerRole {
  id: number;
}

/**
 * Boots the service. `signal` aborts start-up (Ctrl-C while the embedded
 * database starts): whatever was started is stopped again before it rejects.
 * A failure (database unreachable, port in use) also stops what was started,
 * and rejects with an error of one line. As a cluster's `worker`, it shares
 * the primary's port and leaves the warnings and the metrics listener to it.
 */
export async function startService(config: Config, logger: Logger, signal?: AbortSignal, worker?: WorkerRole): Promise<RunningService> {
  if (!worker) warnAboutWeakSettings(config, logger);
  // prom-client is loaded only when metrics are asked for.
  const prometheus = config.metricsPort === undefined ? undefined : await import("./metrics/prometheus.js");
  const metrics = prometheus?.createMetrics();
  // A worker answers the primary's scrapes from the start (zeros until it serves): a scrape during its start-up must not fail.
  if (prometheus && metrics && worker) prometheus.shareWithPrimary(metrics);
  const runtime = await openRuntime(config, logger, { ...(signal ? { signal } : {}), ...(metrics ? { metrics: metrics.telemetry } : {}) });
  let metricsServer: Server | undefined;
  try {
    const requestLog = createRequestLog(logger, config.logRequests);
    const app = createApp({
      config,
      telemetry: runtime.telemetry,
      ready: runtime.operations.ready,
      resolveViewer: createViewerResolver(config),
      logger,
      requestLog,
      ...(metrics ? { observe: metrics.request } : {}),
    });
    const server = createServer(serverTimeouts(config.requestTimeoutMs), app);
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(
          err.code === "EADDRINUSE"
            ? new StartupError(`port ${config.port} on ${config.host} is already in use`)
            : err.code === "EACCES"
              ? new StartupError(`not allowed to listen on port ${config.port} on ${config.host}`)
              : err,
        ),
      );
      server.listen(config.port, config.host, () => resolve());
    });
    if (signal?.aborted) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw new StartupError("start-up interrupted");
    }
    const { port } = server.address() as AddressInfo;
    let metricsPort: number | undefined;
    if (prometheus && metrics && worker) {
      metrics.watchPool(runtime.operations.poolStats);
    } else if (prometheus && metrics && config.metricsPort !== undefined) {
      metrics.watchPool(runtime.operations.poolStats);
      const started = await prometheus.startMetricsServer(metrics, config.metricsHost, config.metricsPort, logger).catch((err: NodeJS.ErrnoException) => {
        server.close();
        throw err.code === "EADDRINUSE" ? new StartupError(`METRICS_PORT ${config.metricsPort} on ${config.metricsHost} is already in use`) : err;
      });
      metricsServer = started.server;
      metricsPort = started.port;
    }
    if (config.reportToken && !worker) logger.info("GET /report and /report/page are enabled (REPORT_TOKEN is set)");
    const scheduler: Scheduler = createScheduler(runtime.telemetry, { purgeCron: config.telemetry.purgeCron, claimTick: runtime.operations.claimTick }, logger);
    let scheduling = false;
    const startScheduler = () => {
      if (scheduling) return;
      scheduling = true;
      scheduler.start();
    };
    if (!worker) startScheduler();
    const shown = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
    logger.info(
      {
        port,
        host: config.host,
        env: config.env,
        telemetryEnabled: config.telemetry.enabled,
        retentionDays: config.telemetry.retentionDays,
        auth: config.auth.mode,
        // Which id secret this service hashes with, without the secret: `tally forget` prints the same.
        idSecretFingerprint: secretFingerprint(config.idSecret),
      },
      worker ? `worker ${worker.id} listening` : `tally listening on http://${shown}:${port} (${config.env})`,
    );

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        await scheduler.stop();
        metricsServer?.closeAllConnections(); // a scraper's keep-alive connection must not hold the shutdown
        metricsServer?.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve()); // stops accepting; resolves once in-flight requests finish
          server.closeIdleConnections();
          // Busy keep-alive connections would otherwise go on carrying new
          // requests: each one's next answer now closes it.
          server.on("request", (_req, res: ServerResponse) => res.setHeader("connection", "close"));
        });
        requestLog.flush();
        await runtime.close();
      })());

    return {
      server,
      port,
      telemetry: runtime.telemetry,
      ownsEmbeddedDatabase: runtime.ownsEmbeddedDatabase,
      ...(metricsPort !== undefined ? { metricsPort } : {}),
      startScheduler,
      close,
    };
  } catch (err) {
    metricsServer?.close();
    await runtime.close();
    throw err;
  }
}
