// Unauthenticated, data-free routes: liveness, readiness, the privacy manifest.
import { Router } from "express";
import type { Catalog } from "../catalog/catalog.js";
import type { Config } from "../config.js";
import { buildManifest } from "../privacy/manifest.js";
import type { Db } from "../store/prisma.js";
import { ping } from "../store/telemetry-repo.js";
import { StoreUnavailableError } from "./errors.js";

/** How long one /explain answer is reused. */
export const EXPLAIN_CACHE_MS = 5_000;

export function opsRoutes(deps: { config: Config; catalog: Catalog; db: Db }): Router {
  const router = Router();

  router.get("/healthz", (_req, res) => {
    res.json({ ok: true });
  });

  router.get("/readyz", async (_req, res) => {
    try {
      await ping(deps.db);
    } catch {
      throw new StoreUnavailableError();
    }
    res.json({ ok: true });
  });

  // Unauthenticated, so cached: a burst of calls reads the database once per EXPLAIN_CACHE_MS.
  let manifest: { at: number; body: Promise<unknown> } | undefined;
  router.get("/explain", async (_req, res) => {
    if (!manifest || Date.now() - manifest.at > EXPLAIN_CACHE_MS) {
      manifest = { at: Date.now(), body: buildManifest(deps.config, deps.catalog, deps.db).then((m) => ({ ok: true, ...m })) };
    }
    res.json(await manifest.body);
  });

  return router;
}
