// createApp(deps): the whole HTTP surface, built from injected parts. It never
// listens (server.ts does) so tests run it in-process with supertest.
import express, { type Express } from "express";
import type { Logger } from "pino";
import type { ViewerResolver } from "./auth/session.js";
import type { KeyHasher, ViewerHasher } from "./auth/viewer-id.js";
import type { Catalog } from "./catalog/catalog.js";
import type { Config } from "./config.js";
import { dashboardRoutes } from "./dashboard/routes.js";
import { errorHandler, notFound } from "./http/errors.js";
import { refuseCrossSiteWrites, requestDeadline } from "./http/middleware.js";
import { opsRoutes } from "./http/ops-routes.js";
import { telemetryRoutes } from "./http/telemetry-routes.js";
import { httpLogger } from "./logger.js";
import type { Db } from "./store/prisma.js";

export interface AppDeps {
  config: Config;
  catalog: Catalog;
  db: Db;
  resolveViewer: ViewerResolver;
  hashViewer: ViewerHasher;
  hashKey: KeyHasher;
  logger: Logger;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // Client addresses are never read, so no proxy is trusted to supply one.
  app.set("trust proxy", false);

  app.use(httpLogger(deps.logger));
  app.use(requestDeadline(deps.config.requestTimeoutMs));
  app.use((_req, res, next) => {
    res.setHeader("cache-control", "no-store");
    res.setHeader("x-content-type-options", "nosniff");
    next();
  });
  app.use(refuseCrossSiteWrites(deps.config.allowedOrigins));
  app.use(opsRoutes(deps));
  app.use(
    telemetryRoutes({
      db: deps.db,
      catalog: deps.catalog,
      enabled: deps.config.telemetry.enabled,
      rateLimit: deps.config.telemetry.rateLimit,
      batching: deps.config.ingestBatching,
      resolveViewer: deps.resolveViewer,
      hashViewer: deps.hashViewer,
      hashKey: deps.hashKey,
      logger: deps.logger,
    }),
  );
  // The dev dashboard does not exist in production: not even its routes.
  if (!deps.config.isProduction) app.use(dashboardRoutes(deps.catalog));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
