// What every data route asks of a request before anything else: is it a write
// from another site (403 cross_site), and whose session is it (the session's
// own viewer id, or 401 no_viewer / 503 auth_unavailable).
import type { IncomingMessage } from "node:http";
import { AuthUnavailableError, isRefusal, type ViewerResolver } from "../auth/session.js";
import { isCrossSiteWrite } from "../contract/index.js";
import type { RequestScope } from "./endpoint.js";
import { ContractError } from "./errors.js";

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** POST and DELETE from another site's page are refused before anything is read. */
export function assertSameSiteWrite(req: IncomingMessage, allowedOrigins: readonly string[]): void {
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  const crossSite = isCrossSiteWrite(
    {
      method: req.method ?? "",
      secFetchSite: header(req, "sec-fetch-site"),
      origin: header(req, "origin"),
      host: header(req, "x-forwarded-host") ?? header(req, "host"),
      scheme: tls ? "https" : header(req, "x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase(),
    },
    allowedOrigins,
  );
  if (crossSite) throw new ContractError("cross_site");
}

// Names that reach a loopback-bound server legitimately; anything else is a DNS-rebinding page.
const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;

/**
 * A development server bound to loopback answers only requests addressed to a
 * loopback name: a page on another site whose DNS name was re-pointed at
 * 127.0.0.1 (DNS rebinding) would otherwise pass as same-origin.
 */
export function assertLoopbackHost(req: IncomingMessage): void {
  if (!LOOPBACK_HOST.test(header(req, "host") ?? "")) throw new ContractError("cross_site");
}

/** The session's viewer id, exactly as the session states it (not yet hashed: the use cases hash it). */
export async function sessionViewer(resolve: ViewerResolver, req: IncomingMessage, scope: RequestScope): Promise<string> {
  let viewer = resolve(req.headers);
  if (viewer instanceof Promise) {
    // Only a session not known yet is waited for (a cached one is answered at once);
    // meanwhile a deadline blames the session's source, not the store.
    scope.waitingOnSession = true;
    try {
      viewer = await viewer;
    } catch (err) {
      // The session source is down: retry later, it is not a refusal.
      if (err instanceof AuthUnavailableError) throw new ContractError("auth_unavailable", 1);
      throw err;
    } finally {
      scope.waitingOnSession = false;
    }
  }
  if (isRefusal(viewer)) throw new ContractError("no_viewer", undefined, viewer.refused);
  return viewer;
}
