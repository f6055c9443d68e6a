/* Draw process flow charts: the server writes Graphviz DOT into a JSON script element named by
   data-flowchart; viz.js (WebAssembly, loaded from static/vendor) lays it out as SVG. */
(function () {
  "use strict";

  function draw(container, viz) {
    var source = document.getElementById(container.getAttribute("data-flowchart"));
    if (!source) return;
    var dot = JSON.parse(source.textContent);
    var svg = viz.renderSVGElement(dot);
    container.replaceChildren(svg);
    container.setAttribute("data-rendered", "true");
  }

  function fail(container, error) {
    var p = document.createElement("p");
    p.className = "flowchart-error";
    p.textContent = String(error && error.message ? error.message : error);
    container.replaceChildren(p);
    container.setAttribute("data-rendered", "error");
  }

  function start() {
    var containers = document.querySelectorAll("[data-flowchart]");
    if (!containers.length) return;
    if (typeof Viz === "undefined") {
      containers.forEach(function (c) { fail(c, "viz.js is not loaded"); });
      return;
    }
    Viz.instance().then(function (viz) {
      containers.forEach(function (c) {
        try { draw(c, viz); } catch (error) { fail(c, error); }
      });
    }, function (error) {
      containers.forEach(function (c) { fail(c, error); });
    });
  }

  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
  // The designer swaps its block (and the DOT with it) after each edit: draw the new chart.
  document.addEventListener("htmx:afterSettle", start);
})();
