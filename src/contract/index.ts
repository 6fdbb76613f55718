// The wire contract that more than one side needs: the service validates with
// it, the emitter (@tally/client) shapes its requests with it, the proxy
// (@tally/proxy) checks headers with it. No imports, no runtime dependencies:
// the two packages bundle this file into their own builds, so there is one
// source and no copies.

/** The default catalog's event names (src/catalog/default-catalog.ts describes each). */
export const DEFAULT_EVENT_NAMES = [
  "suggestion_shown",
  "suggestion_accepted",
  "suggestion_skipped",
  "suggestion_edited",
  "suggestion_undo",
  "embeddings_opt_in",
  "embeddings_opt_out",
] as const;

/** An event of the default catalog; with your own catalog, pass your own union to the emitter. */
export type DefaultEventName = (typeof DEFAULT_EVENT_NAMES)[number];

/** Most items one `{"events": [...]}` body may carry. */
export const BATCH_MAX_ITEMS = 25;

/** A count is clamped to COUNT_MIN..COUNT_MAX; absent, it is COUNT_MIN. */
export const COUNT_MIN = 1;
export const COUNT_MAX = 50;

/** Clamps an integer count to COUNT_MIN..COUNT_MAX. */
export const clampCount = (n: number): number => Math.min(COUNT_MAX, Math.max(COUNT_MIN, n));

/** Largest ingest body the service reads, in bytes. */
export const BODY_LIMIT_BYTES = 4 * 1024;

/** A request id a client may choose: a plain token (anything else is replaced by a new UUID). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** An Idempotency-Key: a plain token of 1..128 characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Every error code of the HTTP contract, with its status. */
export const ERROR_STATUS = {
  invalid_body: 400,
  invalid_event: 400,
  invalid_count: 400,
  invalid_days: 400,
  no_viewer: 401,
  not_found: 404,
  telemetry_disabled: 404,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  store_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Every error answer's body. */
export interface ErrorBody {
  ok: false;
  error: ErrorCode;
}
