// POST /ingest's use case for one request: validate it, hash what is kept,
// hand it to the group commit (ingest-commit.ts), and answer from its outcome.
import type { ErrorCode } from "../contract/index.js";
import type { IngestOutcomeName } from "../store/ingest.js";
import { rowsOf } from "./batch-plan.js";
import { TelemetryError } from "./errors.js";
import type { Bindings, Hasher, ViewerKeys } from "./identity.js";
import type { IngestBatcher } from "./ingest-commit.js";
import type { TelemetryMetrics } from "./metrics.js";
import { bodyFingerprint, parseIdempotencyKey, type EventCount } from "./validation.js";

/** The outcomes that refuse a request, and the contract's error each is answered with. */
const REFUSED: Record<Exclude<IngestOutcomeName, "stored" | "replayed">, ErrorCode> = {
  rate_limited: "rate_limited",
  key_reused: "idempotency_key_reused",
  erased: "erased",
  session_mismatch: "session_mismatch",
};

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
  if (outcome.outcome === "stored" || outcome.outcome === "replayed") return { stored: outcome.stored, replayed: outcome.outcome === "replayed" };
  throw new TelemetryError(REFUSED[outcome.outcome], outcome.outcome === "rate_limited" ? outcome.retryAfter : undefined);
}
