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
  var colors = ["#3559e0", "#12b76a", "#f79009", "#7a5af8", "#f04438", "#06aed4", "#667085", "#dd2590"];
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

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
      swatch.style.background = colors[i % colors.length];
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
    var days = series.days;
    var totals = days.map(function (_, d) {
      var sum = 0;
      catalog.events.forEach(function (e) { sum += (series.counts[e.name] || [])[d] || 0; });
      return sum;
    });
    var max = Math.max(1, Math.max.apply(null, totals));
    var W = 900, H = 220, left = 36, bottom = 22, top = 8;
    var slot = (W - left) / days.length, bar = Math.max(2, slot * 0.7);
    var svg = el("svg:svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Counts per day" });
    [0, 0.5, 1].forEach(function (f) {
      var y = top + (H - top - bottom) * (1 - f);
      svg.append(el("svg:line", { x1: left, x2: W, y1: y, y2: y, stroke: "#e4e7ec" }));
      svg.append(el("svg:text", { x: left - 6, y: y + 3, "text-anchor": "end" }, Math.round(max * f)));
    });
    days.forEach(function (day, d) {
      var x = left + d * slot + (slot - bar) / 2;
      var y = H - bottom;
      catalog.events.forEach(function (e, i) {
        var n = (series.counts[e.name] || [])[d] || 0;
        if (!n) return;
        var h = ((H - top - bottom) * n) / max;
        y -= h;
        var rect = el("svg:rect", { x: x, y: y, width: bar, height: h, fill: colors[i % colors.length] });
        rect.append(el("svg:title", {}, day + " " + e.name + ": " + n));
        svg.append(rect);
      });
      var every = Math.ceil(days.length / 10);
      if (d % every === 0 || d === days.length - 1) {
        svg.append(el("svg:text", { x: x + bar / 2, y: H - 6, "text-anchor": "middle" }, day.slice(5)));
      }
    });
    document.getElementById("chart").replaceChildren(svg);
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
