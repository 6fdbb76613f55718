// tally report page: asks for the report token once (kept in this tab's
// sessionStorage only), reads GET /report with it and draws the events, the
// rates and a per-day stacked bar chart in SVG. Suppressed figures (fewer than
// K viewers) arrive as null and are shown as "<K", never guessed.
"use strict";
(function () {
  var base = location.pathname.replace(/\/report\/page\/?$/, "");
  var statusEl = document.getElementById("status");
  var content = document.getElementById("content");
  var login = document.getElementById("login");
  var colors = ["#3559e0", "#12b76a", "#f79009", "#7a5af8", "#f04438", "#06aed4", "#667085", "#dd2590"];
  var SVG = "http://www.w3.org/2000/svg";
  var KEY = "tally-report-token";
  var days = 30;

  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function show(message, askToken) {
    statusEl.textContent = message;
    statusEl.hidden = false;
    content.hidden = true;
    login.hidden = !askToken;
  }

  function renderEvents(report, hidden) {
    var body = document.querySelector("#events tbody");
    body.replaceChildren();
    Object.keys(report.events).forEach(function (name, i) {
      var e = report.events[name];
      var tr = el("tr", { "data-event": name });
      var label = el("td");
      var swatch = el("span", { class: "swatch" });
      swatch.style.background = colors[i % colors.length];
      label.append(swatch, name);
      tr.append(
        label,
        el("td", { class: "num count" + (e.count === null ? " hidden" : "") }, e.count === null ? hidden : e.count),
        el("td", { class: "num viewers" + (e.viewers === null ? " hidden" : "") }, e.viewers === null ? hidden : e.viewers),
      );
      body.append(tr);
    });
  }

  function renderRates(report) {
    var body = document.querySelector("#rates tbody");
    body.replaceChildren();
    Object.keys(report.rates).forEach(function (name) {
      var v = report.rates[name];
      var tr = el("tr", { "data-rate": name });
      tr.append(el("td", {}, name.replace(/_/g, " ")), el("td", { class: "num value" }, v === null ? "\u2014" : (100 * v).toFixed(1) + " %"));
      body.append(tr);
    });
  }

  function renderChart(report) {
    var names = Object.keys(report.events);
    var series = report.series;
    var totals = series.days.map(function (_, d) {
      var sum = 0;
      names.forEach(function (n) { sum += series.counts[n][d] || 0; });
      return sum;
    });
    var max = Math.max(1, Math.max.apply(null, totals));
    var W = 900, H = 220, left = 44, bottom = 22, top = 8;
    var slot = (W - left) / series.days.length, bar = Math.max(1, slot * 0.7);
    var svg = el("svg:svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Counts per day across viewers" });
    [0, 0.5, 1].forEach(function (f) {
      var y = top + (H - top - bottom) * (1 - f);
      svg.append(el("svg:line", { x1: left, x2: W, y1: y, y2: y, stroke: "#e4e7ec" }));
      svg.append(el("svg:text", { x: left - 6, y: y + 3, "text-anchor": "end" }, Math.round(max * f)));
    });
    var every = Math.ceil(series.days.length / 10);
    series.days.forEach(function (day, d) {
      var x = left + d * slot + (slot - bar) / 2;
      var y = H - bottom;
      names.forEach(function (n, i) {
        var v = series.counts[n][d];
        if (!v) return;
        var h = ((H - top - bottom) * v) / max;
        y -= h;
        var rect = el("svg:rect", { x: x, y: y, width: bar, height: h, fill: colors[i % colors.length] });
        rect.append(el("svg:title", {}, day + " " + n + ": " + v));
        svg.append(rect);
      });
      if (d % every === 0 || d === series.days.length - 1) {
        svg.append(el("svg:text", { x: x + bar / 2, y: H - 6, "text-anchor": "middle" }, day.slice(5)));
      }
    });
    document.getElementById("chart").replaceChildren(svg);
  }

  function load() {
    var token = sessionStorage.getItem(KEY);
    if (!token) return show("Enter the report token (REPORT_TOKEN) to see the report.", true);
    document.querySelectorAll(".toggle button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-days") === String(days)));
    });
    statusEl.textContent = "Loading…";
    fetch(base + "/report?days=" + days, { credentials: "omit", headers: { accept: "application/json", authorization: "Bearer " + token } })
      .then(function (res) {
        return res.json().then(
          function (body) { return { status: res.status, body: body }; },
          function () { return { status: res.status, body: null }; },
        );
      })
      .then(function (r) {
        if (r.status === 401) {
          sessionStorage.removeItem(KEY);
          return show("That token was refused.", true);
        }
        if (r.status !== 200 || !r.body || !r.body.ok) return show("Could not load the report (" + r.status + ").", false);
        var report = r.body;
        var hidden = "<" + report.minViewers;
        statusEl.hidden = true;
        login.hidden = true;
        content.hidden = false;
        document.body.setAttribute("data-days", String(report.series.days.length));
        document.getElementById("range").textContent =
          report.from + " to " + report.to + " (UTC). Figures resting on fewer than " + report.minViewers + " viewers are shown as " + hidden + ".";
        renderEvents(report, hidden);
        renderRates(report);
        renderChart(report);
      })
      .catch(function () { show("Could not reach tally.", false); });
  }

  login.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var value = document.getElementById("token").value.trim();
    if (value) sessionStorage.setItem(KEY, value);
    document.getElementById("token").value = "";
    load();
  });
  document.querySelectorAll(".toggle button").forEach(function (b) {
    b.addEventListener("click", function () {
      days = Number(b.getAttribute("data-days"));
      load();
    });
  });
  load();
})();
