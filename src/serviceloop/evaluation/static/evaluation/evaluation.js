/* Evaluation pages: ECharts radar and trend charts. No inline script (the CSP forbids it): the
   server writes each chart's option into a <script type="application/json"> element named by the
   chart container's data-evaluation-chart attribute. */
(function () {
  "use strict";
  var charts = [];

  function draw() {
    document.querySelectorAll("[data-evaluation-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-evaluation-chart"));
      if (!source) return;
      if (typeof echarts === "undefined") {
        el.textContent = "ECharts is not loaded";
        return;
      }
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption(JSON.parse(source.textContent));
      charts.push(chart);
    });
  }

  function resize() { charts.forEach(function (c) { c.resize(); }); }

  document.addEventListener("DOMContentLoaded", function () {
    draw();
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  });
  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);
})();
