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

    // A sent form's buttons go quiet until the next page: a double click makes one request, not two.
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
      if (form.hasAttribute("hx-get") || form.hasAttribute("hx-post")) return;
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
          b.disabled = true;
        });
      }, 0);
    });
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return; // restored from the back/forward cache: make buttons usable
      document.querySelectorAll("form button:disabled").forEach(function (b) { b.disabled = false; });
    });

    // A refused form shows its errors where the eye is: scroll to the first one, focus its field.
    // Content loaded later (htmx) may push it down: follow it until the user scrolls themselves.
    var autoScrollY = null;
    function showFirstError(root) {
      var error = (root || document).querySelector("form .errorlist, form .form-errors");
      if (!error) return false;
      error.scrollIntoView({ block: "center" });
      autoScrollY = window.scrollY;
      var label = error.closest("label");
      var field = label ? label.querySelector("input, select, textarea") : null;
      if (field && document.activeElement !== field) field.focus({ preventScroll: true });
      return true;
    }
    showFirstError(document.querySelector("main"));
    document.addEventListener("htmx:afterSettle", function (event) {
      var swapped = event.detail && event.detail.elt;
      if (swapped instanceof Element && showFirstError(swapped.parentElement || swapped)) return;
      if (autoScrollY !== null && window.scrollY === autoScrollY) showFirstError(document.querySelector("main"));
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
