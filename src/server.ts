// Boot: config -> catalog -> database -> migrate -> store -> app -> listen -> cron.
// close() undoes it in reverse: cron, stop accepting, finish in-flight
// requests, close the pool, stop an embedded database.
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./app.js";
import { createViewerResolver } from "./auth/session.js";
import { createViewerHasher } from "./auth/viewer-id.js";
import { loadCatalog } from "./catalog/catalog.js";
import type { Config } from "./config.js";
import { startScheduler, type Scheduler } from "./jobs/scheduler.js";
import { locateDatabase } from "./store/database.js";
import { migrate } from "./store/migrate.js";
import { connectStore } from "./store/prisma.js";
import { ensurePartitionsAround } from "./store/telemetry-repo.js";

export interface RunningService {
  server: Server;
  port: number;
  /** Graceful stop; resolves when everything is closed. */
  close(): Promise<void>;
}

/**
 * Server timeouts derived from REQUEST_TIMEOUT_MS (default 10 s): a slow-loris
 * client must send its headers within the deadline and its whole request
 * within 1.5× it, or the socket is closed. Node only checks these every
 * connectionsCheckingInterval (30 s by default), so that is tightened too.
 */
export function serverTimeouts(requestTimeoutMs: number) {
  return {
    headersTimeout: requestTimeoutMs,
    requestTimeout: Math.ceil(requestTimeoutMs * 1.5),
    keepAliveTimeout: 5_000,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeoutMs / 4))),
  };
}

export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const catalog = loadCatalog(config.telemetry.catalogFile);
  if (config.idSecretIsDevDefault) logger.warn("TELEMETRY_ID_SECRET not set: using the fixed development secret");
  if (config.auth.secretIsDevDefault) logger.warn("SESSION_SECRET not set: using the fixed development session secret");
  if (config.auth.allowDevViewer) logger.info({ env: config.env }, "x-dev-viewer accepted (not in production)");

  const database = await locateDatabase(config, logger);
  const migrations = await migrate(database.url);
  if (migrations.applied.length > 0) logger.info({ applied: migrations.applied }, "migrations applied");

  const store = connectStore({
    databaseUrl: database.url,
    poolSize: config.databasePoolSize,
    statementTimeoutMs: config.statementTimeoutMs,
    logger,
  });
  await ensurePartitionsAround(store.prisma);
  const app = createApp({
    config,
    catalog,
    db: store.prisma,
    resolveViewer: createViewerResolver(config),
    hashViewer: createViewerHasher(config.idSecret),
    logger,
  });

  const server = createServer(serverTimeouts(config.requestTimeoutMs), app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const scheduler: Scheduler = startScheduler(
    store,
    { purgeCron: config.telemetry.purgeCron, retentionDays: config.telemetry.retentionDays },
    logger,
  );
  logger.info(
    { port, telemetryEnabled: config.telemetry.enabled, retentionDays: config.telemetry.retentionDays, auth: config.auth.mode },
    "tally listening",
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await scheduler.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve()); // stops accepting; resolves once in-flight requests finish
        server.closeIdleConnections();
        // Busy keep-alive connections would otherwise go on carrying new
        // requests: each one's next answer now closes it.
        server.on("request", (_req, res: ServerResponse) => res.setHeader("connection", "close"));
      });
      await store.close();
      await database.stop();
    })());

  return { server, port, close };
}
