// createApp(deps): the whole HTTP surface, built from injected parts, as one
// request listener. It never listens (server.ts does), so tests run it
// in-process with supertest. The hot routes (ingest, summary, binding,
// healthz) are answered straight from node:http by an exact method-and-path
// table; everything else — other routes, other spellings of these, the
// contract's 404 — goes through Express, where every route is registered
// straight on the app, with no global middleware.
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type ErrorRequestHandler } from "express";
import type { Logger } from "pino";
import type { ViewerResolver } from "./auth/session.js";
import { isLoopback, type Config } from "./config.js";
import { registerDashboard } from "./dashboard/routes.js";
import { createDeadlines } from "./http/deadlines.js";
import { requestIdsOf, type EndpointContext } from "./http/endpoint.js";
import { errorReply, writeReply } from "./http/reply.js";
import { createRequestLog, type RequestLog } from "./http/request-log.js";
import { registerNotFound, registerRoutes } from "./http/routes.js";
import { registerReport } from "./report/routes.js";
import { assertLoopbackHost } from "./http/session.js";
import type { TelemetryService } from "./telemetry/service.js";

export interface AppDeps {
  config: Config;
  telemetry: TelemetryService;
  /** Readiness (GET /readyz): resolves when the database answers. */
  ready: () => Promise<void>;
  resolveViewer: ViewerResolver;
  logger: Logger;
  /** Where request lines go; made from config.logRequests when absent. */
  requestLog?: RequestLog;
  /** Sees every answer (the Prometheus metrics, when METRICS_PORT is set). */
  observe?: EndpointContext["observe"];
}

export function createApp(deps: AppDeps): RequestListener {
  const app = express();
  const fast = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  app.disable("x-powered-by");
  app.set("etag", false);
  // Client addresses are never read, so no proxy is trusted to supply one.
  app.set("trust proxy", false);

  const ctx: EndpointContext = {
    deadlines: createDeadlines(deps.config.requestTimeoutMs),
    requestLog: deps.requestLog ?? createRequestLog(deps.logger, deps.config.logRequests),
    logger: deps.logger,
    fast,
    trustRequestId: deps.config.trustRequestId,
    ...(deps.observe ? { observe: deps.observe } : {}),
    // A development server on loopback answers only loopback names (no DNS rebinding).
    ...(!deps.config.isProduction && isLoopback(deps.config.host) ? { guard: assertLoopbackHost } : {}),
  };
  registerRoutes(app, ctx, deps);
  // The dev dashboard does not exist in production: not even its routes.
  if (!deps.config.isProduction) registerDashboard(app, ctx, deps.telemetry.catalog);
  // The cross-viewer report exists only with a token to guard it.
  if (deps.config.reportToken) registerReport(app, ctx, deps.telemetry, deps.config.reportToken);
  registerNotFound(app, ctx);

  // What Express itself throws before a route runs (a malformed URL): a client's
  // error is invalid_body, anything else a bug (500, logged with its stack).
  const expressErrors: ErrorRequestHandler = (err, req, res, _next) => {
    if (res.headersSent) return void res.destroy();
    const status = (err as { status?: unknown } | null)?.status;
    const clientError = typeof status === "number" && status >= 400 && status < 500;
    const reply = clientError ? errorReply("invalid_body") : errorReply("internal");
    const ids = requestIdsOf(req, ctx.trustRequestId);
    writeReply(res, ids.echo, reply);
    ctx.requestLog.done({ id: ids.log, method: req.method, route: "unmatched", status: reply.status!, ms: 0, ...(clientError ? {} : { err }) });
  };
  app.use(expressErrors);
  return (req, res) => {
    const url = req.url ?? "";
    const at = url.indexOf("?");
    const route = fast.get(`${req.method} ${at < 0 ? url : url.slice(0, at)}`);
    if (route) route(req, res);
    else void app(req, res);
  };
}
