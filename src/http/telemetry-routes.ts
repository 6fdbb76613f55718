// The data endpoints: POST /ingest, GET /summary, DELETE /me. This is the ingest
// path: kill switch -> session -> body -> validation -> group commit (one
// tally_ingest call for the requests of the same ~2 ms) -> 200 after commit.
import { Router } from "express";
import type { Logger } from "pino";
import type { Catalog } from "../catalog/catalog.js";
import { zeroFilledCounts, zeroFilledSeries } from "../catalog/counts.js";
import type { Db } from "../store/prisma.js";
import { createIngestBatcher } from "../store/ingest-batcher.js";
import { countsSince, dailyCountsSince, deleteViewer } from "../store/telemetry-repo.js";
import type { KeyHasher, ViewerHasher } from "../auth/viewer-id.js";
import type { ViewerResolver } from "../auth/session.js";
import { jsonBody, killSwitch, requireViewer, viewerOf } from "./middleware.js";
import { withStore } from "./store-errors.js";
import { ApiError } from "./errors.js";
import { bodyFingerprint, createIngestParser, parseDays, parseIdempotencyKey } from "./validation.js";

export interface TelemetryRouteDeps {
  db: Db;
  catalog: Catalog;
  enabled: boolean;
  /** Rows per viewer per minute (0: no budget). */
  rateLimit: number;
  /** Group commit: how long a request may wait for others, and the batch size that sends at once. */
  batching: { maxWaitMs: number; maxRows: number };
  resolveViewer: ViewerResolver;
  hashViewer: ViewerHasher;
  hashKey: KeyHasher;
  logger: Logger;
}

export function telemetryRoutes(deps: TelemetryRouteDeps): Router {
  const { db, catalog, logger } = deps;
  const router = Router();
  const disabled = killSwitch(deps.enabled);
  const viewer = requireViewer(deps.resolveViewer, deps.hashViewer);
  const parseIngest = createIngestParser(catalog);
  const batcher = createIngestBatcher(db, { rateLimit: deps.rateLimit, ...deps.batching });

  router.post("/ingest", disabled, viewer, jsonBody, async (req, res) => {
    const items = parseIngest(req.body);
    // More rows than the viewer may store in a whole minute can never be accepted: refused for good, not 429.
    if (deps.rateLimit > 0 && items.reduce((n, i) => n + i.count, 0) > deps.rateLimit) throw new ApiError("payload_too_large");
    const key = parseIdempotencyKey(req.headers["idempotency-key"]);
    // The key is kept only as a keyed hash, with the body's fingerprint (a re-used key must carry the same body).
    const request = { viewerId: viewerOf(req), key: key === null ? null : { hash: deps.hashKey(key), body: bodyFingerprint(items) }, items };
    // Answered only once the batch holding this request has committed.
    const result = await withStore(logger, () => batcher.submit(request));
    if (result.outcome === "rate_limited") throw new ApiError("rate_limited", result.retryAfter);
    if (result.outcome === "key_reused") throw new ApiError("idempotency_key_reused");
    if (result.outcome === "replayed") res.setHeader("idempotent-replayed", "true");
    res.json({ ok: true, stored: result.stored });
  });

  router.get("/summary", disabled, viewer, async (req, res) => {
    const days = parseDays(req.query.days);
    const viewerId = viewerOf(req);
    // Opt-in per-day series for the dashboard's chart: ?series=day
    if (req.query.series === "day") {
      const daily = await withStore(logger, () => dailyCountsSince(db, viewerId, days));
      // Totals from the same rows as the series, so the two always agree.
      const counts = new Map([...daily.counts].map(([event, perDay]) => [event, perDay.reduce((a, b) => a + b, 0)]));
      const series = { days: daily.days, counts: zeroFilledSeries(catalog, daily.counts, daily.days.length) };
      return void res.json({ ok: true, days, counts: zeroFilledCounts(catalog, counts), series });
    }
    const counts = await withStore(logger, () => countsSince(db, viewerId, days));
    res.json({ ok: true, days, counts: zeroFilledCounts(catalog, counts) });
  });

  // Erasure stays available with the kill switch off: a viewer's right to
  // remove their data does not depend on collection being on.
  router.delete("/me", viewer, async (req, res) => {
    const deleted = await withStore(logger, () => deleteViewer(db, viewerOf(req)));
    res.json({ ok: true, deleted });
  });

  return router;
}
