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

/** How long the service remembers an Idempotency-Key, and how long a session binding is accepted. */
export const KEY_WINDOW_MS = 24 * 3_600_000;

/** A UTC day, in milliseconds. */
export const DAY_MS = 86_400_000;
/** GET /summary?days=N: N is clamped to 1..SUMMARY_MAX_DAYS (and so is the emitter's). */
export const SUMMARY_MAX_DAYS = 30;
/** GET /report: a range of at most this many UTC days (about ten years). */
export const REPORT_MAX_DAYS = 3660;
/**
 * The emitter gives a request up this long after it was first sent (or after
 * its binding was issued): an hour inside KEY_WINDOW_MS, so a retry never
 * arrives after the service has forgotten the key (which would store it twice).
 */
export const CLIENT_GIVE_UP_MS = KEY_WINDOW_MS - 3_600_000;

/**
 * The header carrying a session binding: the service's proof of which viewer
 * was signed in when a count was tracked (GET /binding issues it; the emitter
 * sends it with every request of that count). Opaque to the browser: an issue
 * time, a random nonce and a keyed MAC over the viewer, nothing that names or
 * links a viewer outside this service.
 */
export const BINDING_HEADER = "tally-binding";
/** b1.<issued, µs since the epoch, base 36>.<nonce, 8 bytes>.<MAC, 16 bytes> (base64url). */
export const BINDING_PATTERN = /^b1\.[0-9a-z]{1,12}\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{22}$/;

/** Every error code of the HTTP contract, with its status: the service's and the proxy's. No other code is ever answered. */
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
  session_mismatch: 409,
  erased: 410,
  telemetry_disabled: 404,
  request_timeout: 408,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal: 500,
  store_unavailable: 503,
  auth_unavailable: 503,
  // Answered by @tally/proxy in front of the service (the host app's route):
  method_not_allowed: 405,
  proxy_not_configured: 503,
  upstream_unavailable: 502,
  upstream_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The value of the session cookie `name` in a Cookie header, by the one rule
 * the service and the proxy share: exactly as sent (never percent-decoded, so
 * it can be forwarded as it came), made only of RFC 6265 cookie-octets, and
 * unambiguous. Several cookies of that name with different values (a sibling
 * subdomain can set one beside the app's own) are no session at all, rather
 * than a guess at which one is the app's. Absent, malformed or ambiguous:
 * undefined.
 */
export function sessionCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header || header.length > 16 * 1024) return undefined;
  let value: string | undefined;
  for (const raw of header.split(";")) {
    // "; " separates cookies: leading white space is the separator's, any other makes another name (` session =x` is not `session`).
    const part = raw.trimStart();
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq) !== name) continue;
    const v = part.slice(eq + 1).trim();
    if (!COOKIE_VALUE.test(v)) return undefined; // a quoted value included: tally's sessions are never quoted
    if (value !== undefined && value !== v) return undefined; // ambiguous
    value = v;
  }
  return value;
}

// RFC 6265 cookie-octets: no white space, quotes, commas, semicolons or backslashes.
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

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
