/* ServiceLoop page behaviour. No inline scripts: the Content-Security-Policy forbids them. */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  onReady(function () {
    document.documentElement.classList.add("js");

    // Selects marked data-autosubmit submit their form on change (language switch, queue filters).
    document.addEventListener("change", function (event) {
      var el = event.target;
      if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
        if (el.form.requestSubmit) el.form.requestSubmit();
        else el.form.submit();
      }
    });

    // Buttons marked data-confirm ask before their form is sent.
    document.addEventListener("click", function (event) {
      var el = event.target instanceof Element ? event.target.closest("[data-confirm]") : null;
      if (el && !window.confirm(el.getAttribute("data-confirm"))) event.preventDefault();
    });

    // Show the names of the files picked in a multiple-file input.
    document.addEventListener("change", function (event) {
      var input = event.target;
      if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
      var out = input.parentElement && input.parentElement.querySelector(".file-names");
      if (!out || !input.files) return;
      out.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
    });
  });
})();
