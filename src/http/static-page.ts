// The pages tally serves (the dev dashboard, the report page) and their
// assets: everything from this process, nothing from a CDN, each answer with
// the same strict Content-Security-Policy (scripts, styles and fetches from
// this origin only; no inline script, no framing).
import { readFileSync } from "node:fs";
import type { Express } from "express";
import { endpoint, type EndpointContext } from "./endpoint.js";

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Where the pages' files are, from dist/ and src/ alike. */
export const PAGE_ASSETS = {
  dashboard: new URL("../../src/dashboard/assets/", import.meta.url),
  report: new URL("../../src/report/assets/", import.meta.url),
} as const;

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** GET `path` answers `body` (read once, at registration) with its type and the CSP. */
export function servePage(app: Express, ctx: EndpointContext, path: string, body: string, kind: keyof typeof TYPES): void {
  const type = TYPES[kind]!;
  app.get(path, endpoint(ctx, path, () => ({ body, type, headers: { "content-security-policy": PAGE_CSP } })));
}

/** GET `path` answers the file `name` from `folder`. */
export function serveAsset(app: Express, ctx: EndpointContext, path: string, folder: URL, name: string): void {
  servePage(app, ctx, path, readFileSync(new URL(name, folder), "utf8"), name.slice(name.lastIndexOf(".") + 1));
}
