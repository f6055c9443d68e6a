/* Insights pages: ECharts charts and viz.js process maps. No inline scripts (the CSP forbids
   them): the server writes each chart's ECharts option and each map's Graphviz DOT into a
   <script type="application/json"> element named by data-echarts / data-insights-dot. */
(function () {
  "use strict";

  var charts = [];
  var vizReady = null;

  function readJson(id) {
    var source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }

  function fail(el, error) {
    var p = document.createElement("p");
    p.className = "flowchart-error";
    p.textContent = String(error && error.message ? error.message : error);
    el.replaceChildren(p);
    el.setAttribute("data-rendered", "error");
  }

  function drawCharts(root) {
    // Charts whose element an htmx swap removed (the live page every few seconds) are let go.
    charts = charts.filter(function (c) {
      if (c.getDom().isConnected) return true;
      c.dispose();
      return false;
    });
    root.querySelectorAll("[data-echarts]").forEach(function (el) {
      if (el.hasAttribute("data-rendered")) return;
      if (typeof echarts === "undefined") return fail(el, "ECharts is not loaded");
      var option = readJson(el.getAttribute("data-echarts"));
      if (!option) return;
      try {
        var chart = echarts.init(el);
        chart.setOption(option);
        el.chart = chart;
        charts.push(chart);
        el.setAttribute("data-rendered", "true");
      } catch (error) { fail(el, error); }
    });
  }

  function viz() {
    if (!vizReady) vizReady = Viz.instance();
    return vizReady;
  }

  function drawMaps(root) {
    var maps = root.querySelectorAll("[data-insights-dot]");
    if (!maps.length) return;
    if (typeof Viz === "undefined") {
      maps.forEach(function (el) { fail(el, "viz.js is not loaded"); });
      return;
    }
    viz().then(function (v) {
      maps.forEach(function (el) {
        try {
          var svg = v.renderSVGElement(readJson(el.getAttribute("data-insights-dot")));
          svg.removeAttribute("width");
          svg.removeAttribute("height");
          el.replaceChildren(svg);
          el.setAttribute("data-rendered", "true");
        } catch (error) { fail(el, error); }
      });
    }, function (error) { maps.forEach(function (el) { fail(el, error); }); });
  }

  function start() {
    drawCharts(document);
    drawMaps(document);

    // Period switches: a button names the chart box and the option to show in it.
    document.addEventListener("click", function (event) {
      var button = event.target instanceof Element ? event.target.closest("[data-chart-option]") : null;
      if (!button) return;
      var box = document.getElementById(button.getAttribute("data-chart-target"));
      var option = readJson(button.getAttribute("data-chart-option"));
      if (!box || !box.chart || !option) return;
      box.chart.setOption(option, true);
      button.parentElement.querySelectorAll("[data-chart-option]").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
    });

    // Range sliders show their value next to them.
    document.addEventListener("input", function (event) {
      var input = event.target;
      if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-output")) return;
      var out = document.getElementById(input.getAttribute("data-output"));
      if (out) out.textContent = input.value + "%";
    });

    // The process map is redrawn after htmx swapped it in.
    document.body.addEventListener("htmx:afterSettle", function (event) {
      drawMaps(event.target);
      drawCharts(event.target);
    });

    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
    });
  }

  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
