// Unauthenticated, data-free routes: liveness, readiness, the privacy manifest.
import { Router } from "express";
import type { Catalog } from "../catalog/catalog.js";
import type { Config } from "../config.js";
import { buildManifest } from "../privacy/manifest.js";
import type { Db } from "../store/prisma.js";
import { ping } from "../store/telemetry-repo.js";
import { StoreUnavailableError } from "./errors.js";

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

  router.get("/explain", async (_req, res) => {
    res.json({ ok: true, ...(await buildManifest(deps.config, deps.catalog, deps.db)) });
  });

  return router;
}
