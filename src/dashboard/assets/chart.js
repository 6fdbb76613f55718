// The per-day stacked bar chart (SVG) and the element helper shared by the dev
// dashboard and the report page: loaded by both before their own script.
"use strict";
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var colors = ["#3559e0", "#12b76a", "#f79009", "#7a5af8", "#f04438", "#06aed4", "#667085", "#dd2590"];

  /** An HTML element, or an SVG one for a "svg:" tag, with attributes and text. */
  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  /** The n-th series' colour. */
  function color(i) {
    return colors[i % colors.length];
  }

  /**
   * Draws one stacked bar per day into `container`: `series` is [{name, values}]
   * with one value per day (0 or null draws nothing), coloured in order.
   */
  function stackedBars(container, days, series, label) {
    var totals = days.map(function (_, d) {
      var sum = 0;
      series.forEach(function (s) { sum += s.values[d] || 0; });
      return sum;
    });
    var max = Math.max(1, Math.max.apply(null, totals));
    var W = 900, H = 220, left = 44, bottom = 22, top = 8;
    var slot = (W - left) / days.length, bar = Math.max(1, slot * 0.7);
    var svg = el("svg:svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label });
    [0, 0.5, 1].forEach(function (f) {
      var y = top + (H - top - bottom) * (1 - f);
      svg.append(el("svg:line", { x1: left, x2: W, y1: y, y2: y, stroke: "#e4e7ec" }));
      svg.append(el("svg:text", { x: left - 6, y: y + 3, "text-anchor": "end" }, Math.round(max * f)));
    });
    var every = Math.ceil(days.length / 10);
    days.forEach(function (day, d) {
      var x = left + d * slot + (slot - bar) / 2;
      var y = H - bottom;
      series.forEach(function (s, i) {
        var n = s.values[d];
        if (!n) return;
        var h = ((H - top - bottom) * n) / max;
        y -= h;
        var rect = el("svg:rect", { x: x, y: y, width: bar, height: h, fill: color(i) });
        rect.append(el("svg:title", {}, day + " " + s.name + ": " + n));
        svg.append(rect);
      });
      if (d % every === 0 || d === days.length - 1) {
        svg.append(el("svg:text", { x: x + bar / 2, y: H - 6, "text-anchor": "middle" }, day.slice(5)));
      }
    });
    container.replaceChildren(svg);
  }

  window.tallyChart = { el: el, color: color, stackedBars: stackedBars };
})();
