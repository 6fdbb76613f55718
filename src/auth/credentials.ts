// Reading credentials from request headers, shared by every session resolver,
// and the one rule for what a viewer id is.
import type { IncomingHttpHeaders } from "node:http";
import { sessionCookie } from "../contract/index.js";

/**
 * Why a request has no viewer: the class of the refusal, for the operator's
 * log and `tally doctor` — never the credential, nor anything it claims.
 */
export type RefusalReason =
  | "no_credential"
  | "malformed"
  | "bad_signature"
  | "wrong_algorithm"
  | "unknown_key"
  | "expired"
  | "not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "missing_claim"
  | "invalid_subject"
  | "introspection_refused"
  | "introspection_no_viewer";

/** No valid session, and why. */
export interface Refusal {
  refused: RefusalReason;
}

export const refuse = (reason: RefusalReason): Refusal => ({ refused: reason });
export const isRefusal = (r: string | Refusal): r is Refusal => typeof r !== "string";

/**
 * Session -> the session's own viewer id, or a Refusal saying why there is no
 * valid session. Throws AuthUnavailableError when the answer cannot be known
 * right now (the host's introspection endpoint or the JWKS is down): that is
 * not a refusal, and the client should retry. A session already known (a
 * cached token) is answered at once, without a promise.
 */
export type ViewerResolver = (headers: IncomingHttpHeaders) => string | Refusal | Promise<string | Refusal>;

/** The session source (introspection URL, JWKS) did not answer; not the client's fault. */
export class AuthUnavailableError extends Error {
  override name = "AuthUnavailableError";
}

/** Longest viewer id accepted from any session source. */
const MAX_VIEWER_ID_LENGTH = 256;
/** Credentials longer than this are refused unread (a JWT is typically < 1 KiB). */
export const MAX_CREDENTIAL_LENGTH = 8 * 1024;

// C0 and C1 control characters, and DEL.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// A surrogate that is not half of a pair: it would be hashed (as UTF-8) like U+FFFD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A viewer id exactly as the session states it (RFC 7519 compares StringOrURI
 * values as strings): a well-formed string of 1..256 UTF-16 code units with no
 * control characters. Never trimmed, case- or Unicode-folded, or coerced from
 * another type; anything else is no viewer.
 */
export function exactViewerId(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_VIEWER_ID_LENGTH) return null;
  if (CONTROL.test(value) || LONE_SURROGATE.test(value)) return null;
  return value;
}

/**
 * The `id` of an introspection answer: a JSON string under the rules of
 * exactViewerId, or a JSON number that is a non-negative safe integer, which
 * becomes its shortest decimal form (4200 and 4.2e3 are both "4200").
 * Booleans, null, other numbers, arrays and objects are no viewer.
 */
export function introspectedViewerId(value: unknown): string | null {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? String(value) : null;
  return exactViewerId(value);
}

/**
 * A session cookie's value, by the contract's one rule (sessionCookie): exactly
 * as sent, cookie-octets only, and unambiguous — two cookies of that name with
 * different values are no session. The proxy forwards by the same rule.
 */
export function readCookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  return sessionCookie(headers.cookie, name);
}

export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (!auth) return undefined;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(auth);
  return match?.[1];
}
