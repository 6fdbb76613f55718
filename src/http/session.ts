// What every data route asks of a request before anything else: is it a write
// from another site (403 cross_site), and whose session is it (the session's
// own viewer id, or 401 no_viewer / 503 auth_unavailable).
import type { IncomingMessage } from "node:http";
import { AuthUnavailableError, type ViewerResolver } from "../auth/session.js";
import { isCrossSiteWrite } from "../contract/index.js";
import { TelemetryError } from "../telemetry/errors.js";

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** POST and DELETE from another site's page are refused before anything is read. */
export function assertSameSiteWrite(req: IncomingMessage, allowedOrigins: readonly string[]): void {
  const crossSite = isCrossSiteWrite(
    {
      method: req.method ?? "",
      secFetchSite: header(req, "sec-fetch-site"),
      origin: header(req, "origin"),
      host: header(req, "x-forwarded-host") ?? header(req, "host"),
    },
    allowedOrigins,
  );
  if (crossSite) throw new TelemetryError("cross_site");
}

/** The session's viewer id, exactly as the session states it (not yet hashed: the use cases hash it). */
export async function sessionViewer(resolve: ViewerResolver, req: IncomingMessage): Promise<string> {
  let viewer: string | null;
  try {
    viewer = await resolve(req.headers);
  } catch (err) {
    // The session source is down: retry later, it is not a refusal.
    if (err instanceof AuthUnavailableError) throw new TelemetryError("auth_unavailable", 1);
    throw err;
  }
  if (!viewer) throw new TelemetryError("no_viewer");
  return viewer;
}
