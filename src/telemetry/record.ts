// POST /ingest's use case, in two parts: recordOne validates one request and
// hands it to the group-commit batcher; createIngestCommit is what the batcher
// runs for a batch (the in-memory plan, then one call of tally_ingest, retried once
// after a deadlock or serialization failure).
import type { Logger } from "pino";
import type { Store } from "../store/connection.js";
import { classifyStoreError } from "../store/errors.js";
import { ingestBatch } from "../store/ingest.js";
import { planBatch, rowsOf, type IngestOutcome, type IngestRequest } from "./batch-plan.js";
import { createBatcher, type Batcher, type BatcherOptions } from "./batcher.js";
import { storeCall, TelemetryError } from "./errors.js";
import type { Bindings, Hasher, ViewerKeys } from "./identity.js";
import { noMetrics, type TelemetryMetrics } from "./metrics.js";
import { bodyFingerprint, parseIdempotencyKey, type EventCount } from "./validation.js";

export type IngestBatcher = Batcher<IngestRequest, IngestOutcome>;

/** Group commit: batches weighed in rows of counts (INGEST_BATCH_MAX_ROWS). */
export function createIngestBatcher(store: Store, logger: Logger, rateLimit: number, opts: BatcherOptions, metrics: TelemetryMetrics = noMetrics): IngestBatcher {
  return createBatcher(createIngestCommit(store, logger, rateLimit, metrics), opts, (request) => request.rows);
}

function createIngestCommit(store: Store, logger: Logger, rateLimit: number, metrics: TelemetryMetrics) {
  return async (requests: IngestRequest[]): Promise<IngestOutcome[]> => {
    const plan = planBatch(requests);
    const attempt = () => ingestBatch(store, plan.batch, rateLimit);
    const started = performance.now();
    const rows = await storeCall(
      logger,
      () => attempt().catch((err: unknown) => (classifyStoreError(err).kind === "transient" ? attempt() : Promise.reject(err))),
      metrics.storeError,
    );
    metrics.batchCommitted(requests.length, requests.reduce((n, r) => n + r.rows, 0), (performance.now() - started) / 1000);
    return plan.outcomes(rows);
  };
}

export interface Recorded {
  stored: number;
  /** The request's Idempotency-Key was seen before with the same body: nothing stored again. */
  replayed: boolean;
}

export interface RecordDeps {
  batcher: IngestBatcher;
  parseIngest: (body: unknown) => EventCount[];
  viewerKeys: (viewer: string) => ViewerKeys;
  bindings: Bindings;
  hashKey: Hasher;
  /** Rows per viewer per minute; 0: no budget. */
  rateLimit: number;
  metrics: TelemetryMetrics;
}

/**
 * When the request's session binding was issued (µs), or null without one. A
 * binding issued to another viewer than the session's (a shared browser: the
 * count was tracked while someone else was signed in) or malformed is refused
 * for good: session_mismatch. (Its age is checked in tally_ingest, by the
 * database's clock, the one its tombstones use.)
 */
function boundAt(deps: RecordDeps, viewerId: string, binding: unknown): number | null {
  if (binding === undefined) return null;
  const issued = typeof binding === "string" ? deps.bindings.verify(binding, viewerId) : null;
  if (issued === null) throw new TelemetryError("session_mismatch");
  return issued;
}

/**
 * Validates one ingest body, and answers once the batch that holds it has
 * committed. `binding` is the request's session binding header, if any.
 */
export async function recordOne(deps: RecordDeps, viewer: string, body: unknown, idempotencyKey: unknown, binding?: unknown): Promise<Recorded> {
  const items = deps.parseIngest(body);
  const key = parseIdempotencyKey(idempotencyKey);
  const rows = rowsOf(items);
  // More rows than a viewer may store in a whole minute can never be accepted: refused for good, not 429.
  if (deps.rateLimit > 0 && rows > deps.rateLimit) throw new TelemetryError("payload_too_large");
  const { viewerId, subject } = deps.viewerKeys(viewer);
  const outcome = await deps.batcher.submit({
    viewerId,
    subject,
    boundAt: boundAt(deps, viewerId, binding),
    // The key is kept only as a keyed hash, with the body's fingerprint (a re-used key must carry the same body).
    key: key === null ? null : { hash: deps.hashKey(key), body: bodyFingerprint(items) },
    items,
    rows,
  });
  deps.metrics.ingestRows(outcome.outcome, outcome.outcome === "stored" || outcome.outcome === "replayed" ? outcome.stored : rows);
  switch (outcome.outcome) {
    case "rate_limited":
      throw new TelemetryError("rate_limited", outcome.retryAfter);
    case "key_reused":
      throw new TelemetryError("idempotency_key_reused");
    case "erased":
    case "session_mismatch":
      throw new TelemetryError(outcome.outcome);
    default:
      return { stored: outcome.stored, replayed: outcome.outcome === "replayed" };
  }
}
