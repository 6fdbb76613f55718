// The dev-only dashboard: GET /dashboard and its two assets. Not registered in
// production, so there the page and assets answer 404 like any unknown route.
// Everything is served from here (no fonts, scripts or CDNs): it works offline.
import type { Express } from "express";
import type { Catalog } from "../catalog/catalog.js";
import type { EndpointContext } from "../http/endpoint.js";
import { PAGE_ASSETS, serveAsset, servePage } from "../http/static-page.js";

const escapeJsonForHtml = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

function page(catalog: Catalog): string {
  const data = {
    events: catalog.events.map(({ name, description }) => ({ name, description })),
    rates: catalog.rates,
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>tally — your counts</title>
<link rel="stylesheet" href="dashboard/dashboard.css">
</head>
<body>
<header>
  <h1>tally <span class="dev">dev dashboard</span></h1>
  <div class="toggle" role="group" aria-label="Window">
    <button type="button" data-days="7" aria-pressed="true">7 days</button>
    <button type="button" data-days="30" aria-pressed="false">30 days</button>
  </div>
</header>
<main>
  <p id="status" role="status">Loading…</p>
  <section id="content" hidden>
    <h2>Per day</h2>
    <div id="chart"></div>
    <div class="columns">
      <section><h2>Counts</h2><table id="counts"><thead><tr><th>event</th><th class="num">count</th></tr></thead><tbody></tbody></table></section>
      <section><h2>Rates</h2><table id="rates"><thead><tr><th>rate</th><th>of</th><th class="num">value</th></tr></thead><tbody></tbody></table></section>
    </div>
  </section>
</main>
<footer>Your own counts only, from the same session as the app. Counts, never content.</footer>
<script type="application/json" id="tally-catalog">${escapeJsonForHtml(data)}</script>
<script src="dashboard/chart.js" defer></script>
<script src="dashboard/dashboard.js" defer></script>
</body>
</html>
`;
}

/** GET /dashboard and its assets, each with a strict CSP. */
export function registerDashboard(app: Express, ctx: EndpointContext, catalog: Catalog): void {
  servePage(app, ctx, "/dashboard", page(catalog), "html");
  for (const name of ["dashboard.js", "chart.js", "dashboard.css"]) serveAsset(app, ctx, `/dashboard/${name}`, PAGE_ASSETS.dashboard, name);
}
