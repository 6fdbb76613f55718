// The operator's report: GET /report (JSON, the same body as `tally report
// --json`) and an HTML page with a per-day chart (GET /report/page and its
// assets). They exist only when REPORT_TOKEN is set; GET /report then needs
// `Authorization: Bearer <REPORT_TOKEN>`, compared in constant time. A viewer
// session never grants it: cookies are not read and a viewer's JWT is not the
// token. The page is a shell with no data in it: its script asks for the token
// and fetches /report with it. Everything is served from here (no CDN), under
// a strict CSP, like the dev dashboard.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Express } from "express";
import { bearerToken } from "../auth/credentials.js";
import { endpoint, queryOf, type EndpointContext } from "../http/endpoint.js";
import { PAGE_ASSETS, serveAsset, servePage } from "../http/static-page.js";
import { ContractError } from "../http/errors.js";
import type { TelemetryService } from "../telemetry/service.js";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** Throws 401 unauthorized unless the request carries the report token as a bearer token (read as sessions' are). */
export function reportTokenCheck(token: string): (req: IncomingMessage) => void {
  const expected = digest(token);
  return (req) => {
    const given = bearerToken(req.headers);
    // Equal-length digests: the comparison takes the same time whatever was sent.
    if (given === undefined || !timingSafeEqual(digest(given), expected)) throw new ContractError("unauthorized");
  };
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>tally — report</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="dashboard.css">
<link rel="stylesheet" href="report.css">
</head>
<body>
<header>
  <h1>tally <span class="dev">report</span></h1>
  <div class="toggle" role="group" aria-label="Range">
    <button type="button" data-days="7" aria-pressed="false">7 days</button>
    <button type="button" data-days="30" aria-pressed="true">30 days</button>
    <button type="button" data-days="90" aria-pressed="false">90 days</button>
  </div>
</header>
<main>
  <form id="login" hidden>
    <label for="token">Report token</label>
    <input id="token" type="password" autocomplete="off" required>
    <button type="submit">Show report</button>
  </form>
  <p id="status" role="status">Loading…</p>
  <section id="content" hidden>
    <p id="range"></p>
    <h2>Per day</h2>
    <div id="chart"></div>
    <div class="columns">
      <section><h2>Events</h2><table id="events"><thead><tr><th>event</th><th class="num">count</th><th class="num">viewer-days</th></tr></thead><tbody></tbody></table></section>
      <section><h2>Rates</h2><table id="rates"><thead><tr><th>rate</th><th class="num">value</th></tr></thead><tbody></tbody></table></section>
    </div>
  </section>
</main>
<footer>Counts across all viewers, closed UTC days only. A day's figure for an event resting on fewer than K distinct viewers is not shown, and no total or rate includes it.</footer>
<script src="chart.js" defer></script>
<script src="report.js" defer></script>
</body>
</html>
`;

export function registerReport(app: Express, ctx: EndpointContext, telemetry: TelemetryService, token: string): void {
  const authorize = reportTokenCheck(token);
  app.get(
    "/report",
    endpoint(ctx, "/report", async (req) => {
      authorize(req);
      const query = queryOf(req);
      return { body: { ok: true, ...(await telemetry.report({ days: query.days, from: query.from, to: query.to })) } };
    }),
  );
  servePage(app, ctx, "/report/page", PAGE, "html");
  for (const name of ["report.js", "report.css"]) serveAsset(app, ctx, `/report/${name}`, PAGE_ASSETS.report, name);
  // The chart and the base stylesheet are the dashboard's (the dashboard itself does not exist in production).
  for (const name of ["chart.js", "dashboard.css"]) serveAsset(app, ctx, `/report/${name}`, PAGE_ASSETS.dashboard, name);
}
