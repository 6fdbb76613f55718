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
   * The step between axis ticks: 1, 2 or 5 × 10ⁿ (counts are whole, so at
   * least 1), giving about `target` intervals up to `max`.
   */
  function niceStep(max, target) {
    var raw = max / target;
    var power = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
    var m = raw / power;
    return Math.max(1, (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power);
  }

  /**
   * Draws one stacked bar per day into `container`: `series` is [{name, values}]
   * with one value per day (0 or null draws nothing), coloured in order. The
   * drawing is as wide in SVG units as the container is in CSS pixels, so its
   * labels keep their CSS size (11 px) on a phone instead of shrinking with a
   * fixed-width drawing; it is redrawn when the window's width changes.
   */
  function stackedBars(container, days, series, label) {
    charts.set(container, [days, series, label]);
    var totals = days.map(function (_, d) {
      var sum = 0;
      series.forEach(function (s) { sum += s.values[d] || 0; });
      return sum;
    });
    var W = Math.max(240, Math.floor(container.clientWidth - 24)); // the container's padding: 12 px a side
    var H = W < 480 ? 180 : 220, bottom = 22, top = 10;
    var step = niceStep(Math.max(1, Math.max.apply(null, totals)), W < 480 ? 3 : 4);
    var max = step * Math.max(1, Math.ceil(Math.max.apply(null, totals) / step));
    var left = 10 + 7 * String(max).length; // room for the widest tick label
    var slot = (W - left) / days.length, bar = Math.max(1, slot * 0.7);
    var svg = el("svg:svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "aria-label": label });
    for (var tick = 0; tick <= max; tick += step) {
      var y = top + (H - top - bottom) * (1 - tick / max);
      svg.append(el("svg:line", { x1: left, x2: W, y1: y, y2: y, stroke: "#e4e7ec" }));
      svg.append(el("svg:text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "y-tick" }, tick));
    }
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
    });
    // Day labels ("MM-DD", about 36 px at 11 px): every `every`-th day and the
    // last, centred under their bars (the last one kept inside the drawing);
    // placed from the right, any that would touch its right neighbour is left out.
    var LABEL = 36;
    var every = Math.ceil(days.length / Math.max(2, Math.floor((W - left) / (LABEL + 12))));
    var rightEdge = Infinity;
    for (var d = days.length - 1; d >= 0; d--) {
      if (d % every !== 0 && d !== days.length - 1) continue;
      var mid = left + d * slot + slot / 2;
      var anchorEnd = mid + LABEL / 2 > W;
      var from = anchorEnd ? W - LABEL : mid - LABEL / 2;
      if (from + LABEL + 6 > rightEdge) continue;
      rightEdge = from;
      svg.append(el("svg:text", { x: anchorEnd ? W : mid, y: H - 6, "text-anchor": anchorEnd ? "end" : "middle", class: "x-tick" }, days[d].slice(5)));
    }
    container.replaceChildren(svg);
  }

  // Every chart drawn, redrawn at its container's new width (once per frame).
  var charts = new Map();
  var pending = false;
  window.addEventListener("resize", function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      charts.forEach(function (args, container) {
        if (container.isConnected) stackedBars(container, args[0], args[1], args[2]);
      });
    });
  });

  window.tallyChart = { el: el, color: color, stackedBars: stackedBars, niceStep: niceStep };
})();
