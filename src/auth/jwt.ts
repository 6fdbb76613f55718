// Session JWTs, verified with jose: HS256 with SESSION_SECRET, or asymmetric
// keys from SESSION_JWKS_URL. `exp` and `sub` are required; `alg: none` and any
// algorithm other than the configured family are refused (no algorithm confusion).
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { Config } from "../config.js";
import { bearerToken, MAX_CREDENTIAL_LENGTH, readCookie, validViewerId, type ViewerResolver } from "./credentials.js";

const ASYMMETRIC_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

export function createJwtResolver(auth: Config["auth"]): ViewerResolver {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (auth.jwksUrl) {
    key = createRemoteJWKSet(new URL(auth.jwksUrl), { timeoutDuration: 2_000, cooldownDuration: 30_000 });
    algorithms = ASYMMETRIC_ALGS;
  } else if (auth.secret) {
    key = new TextEncoder().encode(auth.secret);
    algorithms = ["HS256"];
  } else {
    return async () => null;
  }
  const options = {
    algorithms,
    requiredClaims: ["exp", "sub"],
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(auth.audience ? { audience: auth.audience } : {}),
    clockTolerance: 5,
  };
  return async (headers) => {
    const token = bearerToken(headers) ?? readCookie(headers, auth.cookieName);
    if (!token || token.length > MAX_CREDENTIAL_LENGTH) return null;
    try {
      // jose's overloads differ for a static key and a key getter.
      const { payload } =
        key instanceof Uint8Array ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
      return validViewerId(payload.sub);
    } catch {
      return null; // malformed, expired, wrong key or claims, JWKS unreachable
    }
  };
}
