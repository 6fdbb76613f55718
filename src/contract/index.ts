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

/**
 * A request id a client may choose: a UUID, or a W3C trace id (32 lowercase
 * hex digits, not all zero). Neither shape can carry a name or a phone number;
 * anything else is replaced by a new UUID, by the service and by the proxy.
 */
export const REQUEST_ID_PATTERN = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(?!0{32})[0-9a-f]{32})$/;

/** An Idempotency-Key: a plain token of 1..128 characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Every error code of the HTTP contract, with its status. */
export const ERROR_STATUS = {
  invalid_body: 400,
  invalid_event: 400,
  invalid_count: 400,
  invalid_days: 400,
  invalid_range: 400,
  no_viewer: 401,
  unauthorized: 401,
  cross_site: 403,
  not_found: 404,
  telemetry_disabled: 404,
  request_timeout: 408,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal: 500,
  store_unavailable: 503,
  auth_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** What the cross-site rule reads of a request; header values as the request has them. */
export interface WriteOrigin {
  method: string;
  secFetchSite: string | null | undefined;
  origin: string | null | undefined;
  /** X-Forwarded-Host when a proxy in front set it, else Host. */
  host: string | null | undefined;
  /** "https" when the request is known to have come over TLS (X-Forwarded-Proto, or the socket); then an http: Origin is foreign. */
  scheme?: string | null | undefined;
}

/**
 * Whether a write (POST or DELETE) comes from another site, to be refused with
 * 403 cross_site: its Sec-Fetch-Site is `cross-site`, or it carries an Origin
 * that is neither this host nor one of `allowedOrigins`. Requests without an
 * Origin (non-browser clients, the proxy) and reads are never cross-site here.
 * A browser cannot forge Host or X-Forwarded-Host on a request another site
 * makes without a preflight, which tally never grants.
 */
export function isCrossSiteWrite(req: WriteOrigin, allowedOrigins: readonly string[]): boolean {
  if (req.method !== "POST" && req.method !== "DELETE") return false;
  const origin = req.origin ?? undefined;
  if (origin !== undefined && allowedOrigins.includes(origin)) return false;
  if (req.secFetchSite === "cross-site") return true;
  if (origin === undefined) return false;
  const host = req.host?.split(",")[0]?.trim().toLowerCase();
  try {
    const url = new URL(origin);
    const wrongScheme = req.scheme === "https" ? url.protocol !== "https:" : url.protocol !== "http:" && url.protocol !== "https:";
    return !host || wrongScheme || url.host !== host;
  } catch {
    return true; // "null" (sandboxed frames, file: pages) and garbage
  }
}
