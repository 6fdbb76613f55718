// Session JWTs, verified with jose: HS256 with SESSION_SECRET, or asymmetric
// keys from SESSION_JWKS_URL. `exp` and `sub` are required, `sub` must be an
// exact viewer id (credentials.ts), an `iat` in the future is refused; `alg:
// none` and any algorithm other than the configured family are refused (no
// algorithm confusion).
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { Config } from "../config.js";
import { Lru } from "../lib/lru.js";
import {
  AuthUnavailableError,
  bearerToken,
  exactViewerId,
  MAX_CREDENTIAL_LENGTH,
  readCookie,
  refuse,
  type Refusal,
  type RefusalReason,
  type ViewerResolver,
} from "./credentials.js";

/**
 * Verified tokens, so a session's every request does not pay for a signature
 * check (jose's verification was 17 % of ingest CPU). Keyed by the exact token
 * string; an entry lives until the token's own expiry (with the 5 s tolerance)
 * and at most VERIFIED_TTL_MS, so a rotated JWKS key is noticed within minutes.
 * Only successes are kept; an LRU of SESSION_CACHE_SIZE entries (sized for the
 * live viewer population: a cache smaller than it misses on every request).
 */
const VERIFIED_TTL_MS = 5 * 60_000;
/** Clock skew tolerated between tally and whoever issued the session (exp, nbf, iat). */
const CLOCK_TOLERANCE_S = 5;

const ASYMMETRIC_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/** A verified token's viewer, and until when (ms since the epoch) the cache may answer for it. */
export interface VerifiedSession {
  viewer: string;
  until: number;
}

/** The class of a jose verification failure (what the operator's log says; never the token or a claim). */
function reasonOf(err: unknown): RefusalReason {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "nbf" || err.claim === "iat") return "not_yet_valid";
    if (err.claim === "iss") return "wrong_issuer";
    if (err.claim === "aud") return "wrong_audience";
    return "missing_claim";
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  if (err instanceof errors.JOSEAlgNotAllowed) return "wrong_algorithm";
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return "unknown_key";
  return "malformed";
}

/** `verified`: the cache (tests pass their own to look inside it). */
export function createJwtResolver(auth: Config["auth"], verified = new Lru<string, VerifiedSession>(auth.cacheSize)): ViewerResolver {
  let jwks: JWTVerifyGetKey | undefined;
  let secret: Promise<CryptoKey> | undefined;
  let algorithms: string[];
  if (auth.jwksUrl) {
    jwks = createRemoteJWKSet(new URL(auth.jwksUrl), { timeoutDuration: 2_000, cooldownDuration: 30_000 });
    algorithms = ASYMMETRIC_ALGS;
  } else if (auth.secret) {
    // Imported once: handing jose the raw secret would import it again on every verification.
    secret = crypto.subtle.importKey("raw", new TextEncoder().encode(auth.secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    algorithms = ["HS256"];
  } else {
    return () => refuse("no_credential");
  }
  const options = {
    algorithms,
    requiredClaims: ["exp", "sub"],
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(auth.audience ? { audience: auth.audience } : {}),
    clockTolerance: CLOCK_TOLERANCE_S,
  };
  const verify = async (token: string, now: number): Promise<string | Refusal> => {
    let payload;
    try {
      // jose's overloads differ for a static key and a key getter.
      ({ payload } = jwks ? await jwtVerify(token, jwks, options) : await jwtVerify(token, await secret!, options));
    } catch (err) {
      // The JWKS could not be fetched (down, slow, not a JWKS): not the client's fault.
      const jwksDown = err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || !(err instanceof errors.JOSEError);
      if (auth.jwksUrl && jwksDown) throw new AuthUnavailableError("the JWKS could not be fetched");
      return refuse(reasonOf(err)); // malformed, expired, wrong key or claims
    }
    // jose checks `iat` only for a maximum age: a session issued in the future is refused here.
    if (typeof payload.iat === "number" && payload.iat > now / 1000 + CLOCK_TOLERANCE_S) return refuse("not_yet_valid");
    const viewer = exactViewerId(payload.sub);
    if (!viewer) return refuse("invalid_subject");
    if (typeof payload.exp === "number") {
      verified.set(token, { viewer, until: Math.min((payload.exp + CLOCK_TOLERANCE_S) * 1000, now + VERIFIED_TTL_MS) });
    }
    return viewer;
  };
  // Not async: a token verified before is answered in the same tick.
  return (headers) => {
    const token = bearerToken(headers) ?? readCookie(headers, auth.cookieName);
    if (!token) return refuse("no_credential");
    if (token.length > MAX_CREDENTIAL_LENGTH) return refuse("malformed");
    const now = Date.now();
    const hit = verified.get(token);
    if (hit && hit.until > now) return hit.viewer;
    if (hit) verified.delete(token);
    return verify(token, now);
  };
}
