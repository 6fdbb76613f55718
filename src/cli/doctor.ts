// `tally doctor`: "my counts are all dropped" in one command. It reads a
// session token (or a cookie's value, or an `Authorization` header) from
// stdin, resolves it exactly as the service would under this configuration,
// and says whether it is accepted and, if not, why and what to change. It runs
// on the operator's terminal: it may print the viewer id the token names, but
// never logs anything.
import type { IncomingHttpHeaders } from "node:http";
import { AuthUnavailableError, createViewerResolver, isRefusal, type RefusalReason } from "../auth/session.js";
import type { Config } from "../config.js";
import { secretFingerprint } from "../telemetry/identity.js";

/** What each refusal means, and what to change. */
function hint(reason: RefusalReason, config: Config): string {
  const auth = config.auth;
  const key = auth.jwksUrl
    ? `a key of SESSION_JWKS_URL (${auth.jwksUrl})`
    : `SESSION_SECRET (fingerprint ${auth.secret ? secretFingerprint(auth.secret) : "none"}; the host app must sign with the same secret)`;
  const hints: Record<RefusalReason, string> = {
    no_credential: "no token was found in what was read (paste the token, `Bearer <token>`, or `<cookie name>=<value>`)",
    malformed: "it is not a token tally can read (a JWT is three base64url parts separated by dots), or it is over 8 KiB",
    bad_signature: `it was not signed with ${key}`,
    wrong_algorithm: auth.jwksUrl ? "it is signed with an algorithm other than RS/PS/ES/EdDSA (a JWKS is used)" : "it is not HS256 (SESSION_SECRET is set: tally accepts only HS256)",
    unknown_key: `no key of SESSION_JWKS_URL (${auth.jwksUrl ?? "unset"}) matches its kid`,
    expired: "its exp has passed (5 s of clock skew allowed): the host app must mint fresh tokens",
    not_yet_valid: "its nbf or iat is in the future (more than 5 s): check the host app's clock",
    wrong_issuer: `its iss is not SESSION_ISSUER (${auth.issuer ?? "unset"})`,
    wrong_audience: `its aud does not include SESSION_AUDIENCE (${auth.audience ?? "unset"})`,
    missing_claim: "it lacks exp or sub (both are required)",
    invalid_subject: "its sub is not a viewer id tally accepts: a string of 1..256 characters without control characters (never trimmed or converted)",
    introspection_refused: `AUTH_INTROSPECT_URL (${auth.introspectUrl ?? "unset"}) answered 401, 403 or 404 for it`,
    introspection_no_viewer: `AUTH_INTROSPECT_URL (${auth.introspectUrl ?? "unset"}) answered 200 without an id (a JSON {"id": "…"} is needed)`,
  };
  return hints[reason];
}

/** The request headers a pasted value stands for, as the proxy would forward it. */
function headersOf(input: string, config: Config): IncomingHttpHeaders {
  if (/^bearer\s/i.test(input)) return { authorization: input };
  const cookie = `${config.auth.cookieName}=`;
  if (input.startsWith(cookie) || input.includes(`; ${cookie}`)) return { cookie: input };
  // A bare value: a JWT as the session cookie would carry it (and as a bearer token); an opaque session as the cookie.
  return config.auth.mode === "jwt" ? { authorization: `Bearer ${input}` } : { cookie: `${cookie}${input}` };
}

export interface Diagnosis {
  accepted: boolean;
  lines: string[];
}

export async function diagnose(input: string, config: Config): Promise<Diagnosis> {
  const mode = config.auth.mode === "jwt" ? `AUTH_MODE=jwt, ${config.auth.jwksUrl ? "keys from SESSION_JWKS_URL" : "HS256 with SESSION_SECRET"}` : "AUTH_MODE=introspect";
  try {
    const resolved = await createViewerResolver(config)(headersOf(input.trim(), config));
    if (!isRefusal(resolved)) return { accepted: true, lines: [`accepted (${mode}): viewer id ${JSON.stringify(resolved)}`] };
    return { accepted: false, lines: [`refused (${mode}): ${resolved.refused}`, `  ${hint(resolved.refused, config)}`] };
  } catch (err) {
    if (err instanceof AuthUnavailableError) return { accepted: false, lines: [`cannot tell (${mode}): ${err.message}; tally would answer 503 auth_unavailable`] };
    throw err;
  }
}
