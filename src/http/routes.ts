// The HTTP contract's routes, each a thin adapter from a request to one use
// case of the telemetry service (src/telemetry/service.ts). Registered straight
// on the app, ingest first: nothing runs before a route but Express's own
// routing.
import { readFileSync } from "node:fs";
import type { Express } from "express";
import type { ViewerResolver } from "../auth/session.js";
import type { Config } from "../config.js";
import { BINDING_HEADER } from "../contract/index.js";
import { ERASURE_TIMEOUT_MS, type TelemetryService } from "../telemetry/service.js";
import { readJsonBody } from "./body.js";
import { createDeadlines } from "./deadlines.js";
import { endpoint, queryOf, type EndpointContext } from "./endpoint.js";
import { ContractError } from "./errors.js";
import { buildOpenApi } from "./openapi.js";
import { assertSameSiteWrite, sessionViewer } from "./session.js";

export interface RouteDeps {
  config: Config;
  telemetry: TelemetryService;
  /** Readiness: resolves when the database answers. */
  ready: () => Promise<void>;
  resolveViewer: ViewerResolver;
}

/** How long one /explain answer is reused: it is unauthenticated, so it must not be a way to load the database. */
const EXPLAIN_CACHE_MS = 5_000;

export function registerRoutes(app: Express, ctx: EndpointContext, { config, telemetry, ready, resolveViewer }: RouteDeps): void {
  const origins = config.allowedOrigins;
  /** A hot route: on Express, and in the exact-match table served without it. */
  const hot = (method: "get" | "post", path: string, handler: ReturnType<typeof endpoint>) => {
    app[method](path, handler);
    ctx.fast?.set(`${method.toUpperCase()} ${path}`, handler);
  };

  hot(
    "post",
    "/ingest",
    endpoint(ctx, "/ingest", async (req, scope) => {
      telemetry.assertEnabled();
      assertSameSiteWrite(req, origins);
      const viewer = await sessionViewer(resolveViewer, req, scope);
      const body = await readJsonBody(req);
      // Answered only once the batch holding this request has committed.
      const { stored, replayed } = await telemetry.record(viewer, body, req.headers["idempotency-key"], req.headers[BINDING_HEADER]);
      return { body: { ok: true, stored }, ...(replayed ? { headers: { "idempotent-replayed": "true" } } : {}) };
    }),
  );

  // The emitter asks for a binding when it starts and whenever the session may
  // have changed, and sends it with every count it tracks under this session.
  hot(
    "get",
    "/binding",
    endpoint(ctx, "/binding", async (req, scope) => {
      telemetry.assertEnabled();
      const viewer = await sessionViewer(resolveViewer, req, scope);
      return { body: { ok: true, binding: await telemetry.bind(viewer) } };
    }),
  );

  hot(
    "get",
    "/summary",
    endpoint(ctx, "/summary", async (req, scope) => {
      telemetry.assertEnabled();
      const viewer = await sessionViewer(resolveViewer, req, scope);
      const query = queryOf(req);
      const summary = await telemetry.summarize(viewer, { days: query.days, series: query.series });
      return { body: { ok: true, ...summary } };
    }),
  );

  // Erasure stays available with the kill switch off: a viewer's right to
  // remove their data does not depend on collection being on. A heavy viewer
  // takes long to erase: the route waits as long as the erasure may take.
  app.delete(
    "/me",
    endpoint(
      ctx,
      "/me",
      async (req, scope) => {
        assertSameSiteWrite(req, origins);
        const viewer = await sessionViewer(resolveViewer, req, scope);
        return { body: { ok: true, deleted: (await telemetry.forget(viewer)).events } };
      },
      createDeadlines(Math.max(config.requestTimeoutMs, ERASURE_TIMEOUT_MS)),
    ),
  );

  hot("get", "/healthz", endpoint(ctx, "/healthz", () => ({ body: { ok: true } })));
  app.get(
    "/readyz",
    endpoint(ctx, "/readyz", async () => {
      await ready();
      return { body: { ok: true } };
    }),
  );

  // Built on first request (zod's JSON Schema output is not free), then served as it is.
  let openapi: string | undefined;
  app.get(
    "/openapi.json",
    endpoint(ctx, "/openapi.json", () => {
      openapi ??= JSON.stringify(
        buildOpenApi(telemetry.catalog, { ...packageInfo(), cookieName: config.auth.cookieName, reportEnabled: config.reportToken !== undefined }),
      );
      return { body: openapi, type: "application/json; charset=utf-8" };
    }),
  );

  let manifest: { at: number; body: Promise<unknown> } | undefined;
  app.get(
    "/explain",
    endpoint(ctx, "/explain", async () => {
      if (!manifest || Date.now() - manifest.at > EXPLAIN_CACHE_MS) {
        manifest = { at: Date.now(), body: telemetry.explain().then((m) => ({ ok: true, ...m })) };
      }
      return { body: await manifest.body };
    }),
  );
}

/** The package's version and licence (package.json), as the OpenAPI document's info states them. */
function packageInfo(): { version: string; license: string } {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string; license: string };
    return { version: pkg.version, license: pkg.license };
  } catch {
    return { version: "0.0.0", license: "MIT" };
  }
}

/** The last route: anything unmatched is the contract's 404. */
export function registerNotFound(app: Express, ctx: EndpointContext): void {
  app.use(
    endpoint(ctx, "unmatched", () => {
      throw new ContractError("not_found");
    }),
  );
}
