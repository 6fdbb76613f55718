// Session -> viewer id. One resolver per AUTH_MODE, plus the dev viewer which
// exists only when TALLY_DEV_VIEWER=true (never in production). Resolvers
// return the session's own viewer id (not yet hashed) or a Refusal saying why
// there is none; they never throw for anything a client can send
// (AuthUnavailableError is the upstream's).
import type { IncomingHttpHeaders } from "node:http";
import type { Config } from "../config.js";
import { exactViewerId, isRefusal, readCookie, type ViewerResolver } from "./credentials.js";
import { createIntrospectionResolver } from "./introspect.js";
import { createJwtResolver } from "./jwt.js";

export { AuthUnavailableError, isRefusal, type Refusal, type RefusalReason, type ViewerResolver } from "./credentials.js";

function devViewer(headers: IncomingHttpHeaders): string | null {
  const header = headers["x-dev-viewer"];
  return exactViewerId(typeof header === "string" ? header : readCookie(headers, "dev_viewer"));
}

export function createViewerResolver(config: Config): ViewerResolver {
  const session = config.auth.mode === "introspect" ? createIntrospectionResolver(config.auth) : createJwtResolver(config.auth);
  // The dev viewer is wired in only when the config allows it (TALLY_DEV_VIEWER,
  // refused in production): otherwise there is no code path to it.
  if (!config.auth.allowDevViewer) return session;
  return async (headers) => {
    const resolved = await session(headers);
    return isRefusal(resolved) ? (devViewer(headers) ?? resolved) : resolved;
  };
}
