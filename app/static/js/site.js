// Small progressive enhancements; the site works without this file.
(function () {
  "use strict";

  // After an htmx swap, move focus where a keyboard or screen-reader user expects it:
  // the first invalid field, else an element marked data-focus (a confirmation heading).
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.detail.target;
    // After an outerHTML swap the target is the old, detached element: find its successor.
    if (root && !root.isConnected) root = root.id ? document.getElementById(root.id) : null;
    if (!root || !root.querySelector) return;
    var target = root.querySelector("[aria-invalid=true]") || root.querySelector("[data-focus]");
    if (target) {
      if (!target.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
  });

  // Live character counters: <textarea data-maxlength-counter="id-of-counter">.
  function updateCounter(field) {
    var counter = document.getElementById(field.getAttribute("data-counter"));
    if (!counter) return;
    var max = parseInt(field.getAttribute("maxlength"), 10);
    var left = max - field.value.length;
    counter.textContent = left + (left > 1 ? " caractères restants" : " caractère restant");
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-counter]")) updateCounter(event.target);
  });
  document.addEventListener("htmx:load", function (event) {
    event.detail.elt.querySelectorAll && event.detail.elt.querySelectorAll("[data-counter]").forEach(updateCounter);
  });

  // Confirmations without inline script: <button data-confirm="…">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
