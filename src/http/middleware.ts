// Request plumbing shared by the data routes: kill switch, body parsing, session.
import express, { type RequestHandler } from "express";
import type { ViewerHasher } from "../auth/viewer-id.js";
import { AuthUnavailableError, type ViewerResolver } from "../auth/session.js";
import { BODY_LIMIT_BYTES, isCrossSiteWrite } from "../contract/index.js";
import { ApiError, sendError } from "./errors.js";

declare module "express-serve-static-core" {
  interface Request {
    /** The hashed viewer id, set by requireViewer. */
    viewerId?: string;
  }
}

/**
 * A per-request deadline: whatever is slow, the client gets an answer in
 * bounded time instead of holding a connection. A request whose body has not
 * fully arrived is the client's slowness (408 request_timeout); one that has
 * is waiting on the database (503 store_unavailable). Statements are cancelled
 * by the database at half this deadline (config.statementTimeoutMs), so a 503
 * here almost never hides a commit.
 */
export function requestDeadline(ms: number): RequestHandler {
  return (req, res, next) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      if (req.complete) sendError(res, "store_unavailable", 1);
      else {
        res.setHeader("connection", "close"); // the rest of a slow body is not worth reading
        sendError(res, "request_timeout");
      }
    }, ms);
    const clear = () => clearTimeout(timer);
    res.once("finish", clear);
    res.once("close", clear);
    next();
  };
}

/** POST and DELETE from another site's page: 403 cross_site before anything else is read. */
export function refuseCrossSiteWrites(allowedOrigins: readonly string[]): RequestHandler {
  return (req, _res, next) => {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const crossSite = isCrossSiteWrite(
      { method: req.method, secFetchSite: header("sec-fetch-site"), origin: header("origin"), host: header("x-forwarded-host") ?? header("host") },
      allowedOrigins,
    );
    next(crossSite ? new ApiError("cross_site") : undefined);
  };
}

/** TELEMETRY_ENABLED=false: the data endpoints answer 404 before reading anything. */
export function killSwitch(enabled: boolean): RequestHandler {
  return (_req, _res, next) => next(enabled ? undefined : new ApiError("telemetry_disabled"));
}

/**
 * JSON bodies only, capped at BODY_LIMIT_BYTES. text/plain is accepted too so a
 * `navigator.sendBeacon` string needs no CORS preflight; it must still be JSON.
 */
export const jsonBody: RequestHandler = express.json({
  limit: BODY_LIMIT_BYTES,
  type: ["application/json", "application/*+json", "text/plain"],
  strict: false, // shape is checked by validation.ts, which answers invalid_body
});

/** Resolves the session to a viewer, stores only its keyed hash on the request. */
export function requireViewer(resolve: ViewerResolver, hash: ViewerHasher): RequestHandler {
  return async (req, _res, next) => {
    let viewer: string | null;
    try {
      viewer = await resolve(req.headers);
    } catch (err) {
      // The session source is down: retry later, it is not a refusal.
      if (err instanceof AuthUnavailableError) return next(new ApiError("auth_unavailable", 1));
      throw err;
    }
    if (!viewer) return next(new ApiError("no_viewer"));
    req.viewerId = hash(viewer);
    next();
  };
}

/** The viewer set by requireViewer; a route without it is a wiring bug. */
export function viewerOf(req: { viewerId?: string }): string {
  if (!req.viewerId) throw new Error("requireViewer must run before this handler");
  return req.viewerId;
}
