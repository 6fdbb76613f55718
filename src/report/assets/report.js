// tally report page: asks for the report token once (kept in this tab's
// sessionStorage only), reads GET /report with it and draws the events, the
// rates and a per-day stacked bar chart in SVG. Suppressed cells (fewer than
// K viewers) arrive as null and are shown as "<K", never guessed; days still
// in progress are named, with no figures.
"use strict";
(function () {
  var base = location.pathname.replace(/\/report\/page\/?$/, "");
  var statusEl = document.getElementById("status");
  var content = document.getElementById("content");
  var login = document.getElementById("login");
  var el = window.tallyChart.el;
  var color = window.tallyChart.color;
  var KEY = "tally-report-token";
  var days = 30;

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
      swatch.style.background = color(i);
      label.append(swatch, name);
      tr.append(
        label,
        el("td", { class: "num count" + (e.count === null ? " hidden" : "") }, e.count === null ? hidden : e.count),
        el("td", { class: "num viewers" + (e.viewerDays === null ? " hidden" : "") }, e.viewerDays === null ? hidden : e.viewerDays),
      );
      body.append(tr);
    });
  }

  function renderRates(report, hidden) {
    var body = document.querySelector("#rates tbody");
    body.replaceChildren();
    Object.keys(report.rates).forEach(function (name) {
      var v = report.rates[name];
      var text = v !== null ? (100 * v).toFixed(1) + " %" : report.suppressedRates.indexOf(name) >= 0 ? hidden : "\u2014";
      var tr = el("tr", { "data-rate": name });
      tr.append(el("td", {}, name.replace(/_/g, " ")), el("td", { class: "num value" + (text === hidden ? " hidden" : "") }, text));
      body.append(tr);
    });
  }

  function renderChart(report) {
    var rows = Object.keys(report.events).map(function (name) { return { name: name, values: report.series.counts[name] }; });
    window.tallyChart.stackedBars(document.getElementById("chart"), report.series.days, rows, "Counts per day across viewers");
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
          report.from + " to " + report.to + " (closed UTC days; " +
          (report.inProgress.length ? report.inProgress.join(", ") : "today") + " in progress, not shown)" +
          ". A day's figure resting on fewer than " + report.minViewers + " viewers is shown as " + hidden +
          " and left out of every total; each viewer counts at most " + report.maxPerViewer + " a day per event" +
          (report.epsilon !== null ? "; figures carry noise (\u03b5 " + report.epsilon + " per cell)" : "") + ".";
        renderEvents(report, hidden);
        renderRates(report, hidden);
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
