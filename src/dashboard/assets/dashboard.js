// tally dev dashboard: reads the viewer's own summary (same session as the app)
// and draws counts, the catalog's rates and a per-day stacked bar chart in SVG.
// Works both at the service's /dashboard and behind the host app's proxy
// (/api/telemetry/dashboard): data comes from the sibling /summary route.
"use strict";
(function () {
  var catalog = JSON.parse(document.getElementById("tally-catalog").textContent);
  var base = location.pathname.replace(/\/dashboard\/?$/, "");
  var statusEl = document.getElementById("status");
  var content = document.getElementById("content");
  var el = window.tallyChart.el;
  var color = window.tallyChart.color;

  function show(message) {
    statusEl.textContent = message;
    statusEl.hidden = false;
    content.hidden = true;
  }

  function rateText(num, den) {
    return den === 0 ? "\u2014" : ((100 * num) / den).toFixed(1) + " %";
  }

  function renderCounts(counts) {
    var body = document.querySelector("#counts tbody");
    body.replaceChildren();
    catalog.events.forEach(function (e, i) {
      var tr = el("tr", { "data-event": e.name });
      var name = el("td", { title: e.description });
      // Set through the CSSOM: the page's CSP (style-src 'self') blocks style attributes.
      var swatch = el("span", { class: "swatch" });
      swatch.style.background = color(i);
      name.append(swatch, e.name);
      tr.append(name, el("td", { class: "num count" }, counts[e.name] || 0));
      body.append(tr);
    });
  }

  function renderRates(counts) {
    var body = document.querySelector("#rates tbody");
    body.replaceChildren();
    catalog.rates.forEach(function (r) {
      var tr = el("tr", { "data-rate": r.name });
      tr.append(
        el("td", {}, r.name.replace(/_/g, " ")),
        el("td", {}, r.numerator + " / " + r.denominator),
        el("td", { class: "num value" }, rateText(counts[r.numerator] || 0, counts[r.denominator] || 0)),
      );
      body.append(tr);
    });
  }

  function renderChart(series) {
    var rows = catalog.events.map(function (e) { return { name: e.name, values: series.counts[e.name] || [] }; });
    window.tallyChart.stackedBars(document.getElementById("chart"), series.days, rows, "Counts per day");
  }

  function load(days) {
    document.querySelectorAll(".toggle button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-days") === String(days)));
    });
    statusEl.textContent = "Loading…";
    fetch(base + "/summary?days=" + days + "&series=day", { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (res) {
        return res.json().then(
          function (body) { return { status: res.status, body: body }; },
          function () { return { status: res.status, body: null }; },
        );
      })
      .then(function (r) {
        if (r.status === 401) return show("No session: sign in to the app to see your counts.");
        if (r.body && r.body.error === "telemetry_disabled") return show("Telemetry is switched off (TELEMETRY_ENABLED).");
        if (r.status !== 200 || !r.body || !r.body.ok) return show("Could not load counts (" + r.status + ").");
        statusEl.hidden = true;
        content.hidden = false;
        document.body.setAttribute("data-days", String(r.body.days));
        renderCounts(r.body.counts);
        renderRates(r.body.counts);
        renderChart(r.body.series);
      })
      .catch(function () { show("Could not reach tally."); });
  }

  document.querySelectorAll(".toggle button").forEach(function (b) {
    b.addEventListener("click", function () { load(Number(b.getAttribute("data-days"))); });
  });
  load(7);
})();
