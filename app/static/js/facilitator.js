// The facilitator's space: keyboard shortcuts, live-view arrows, full screen, printing,
// single submits.
// Everything here is an enhancement: each action is also a real button or link.
(function () {
  "use strict";

  function typing(element) {
    return element && (/^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName) || element.isContentEditable);
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-question]"));
  }

  // Review page: single-key shortcuts act only on the question that has the focus
  // (WCAG 2.1.4: never global, never while typing).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var row = event.target.closest && event.target.closest("[data-question]");
    var key = event.key.toLowerCase();
    if (key === "j" || key === "k") {
      var all = rows();
      if (!all.length) return;
      var index = row ? all.indexOf(row) : -1;
      var next = all[Math.max(0, Math.min(all.length - 1, index + (key === "j" ? 1 : -1)))];
      if (next) {
        next.focus();
        event.preventDefault();
      }
      return;
    }
    if (!row) return;
    var button = row.querySelector('[data-shortcut="' + key + '"]');
    if (button) {
      event.preventDefault();
      button.click();
    }
  });

  // After a row is swapped, keep the keyboard where it was: htmx restores focus on an
  // element with the same id; if that element is gone, focus the row itself.
  var lastFocusedId = null;
  var lastRowId = null;
  document.addEventListener("htmx:beforeRequest", function () {
    var active = document.activeElement;
    lastFocusedId = active && active.id ? active.id : null;
    var row = active && active.closest ? active.closest("[data-question]") : null;
    lastRowId = row ? row.id : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    // An outerHTML swap leaves event.detail.target detached: look in its replacement for
    // the first invalid field or a confirmation to focus (site.js looks in the old one).
    var old = event.detail.target;
    var root = old && old.id ? document.getElementById(old.id) : null;
    if (root && root !== old) {
      var wanted = root.querySelector("[aria-invalid=true]") || root.querySelector("[data-focus]");
      if (wanted) {
        if (!/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(wanted.tagName)) wanted.setAttribute("tabindex", "-1");
        wanted.focus();
        return;
      }
    }
    var active = document.activeElement;
    if (active && active !== document.body) return;
    var target = (lastFocusedId && document.getElementById(lastFocusedId)) ||
      (lastRowId && document.getElementById(lastRowId));
    if (target) target.focus();
  });

  // Running order: a button marked aria-disabled stays focusable but does nothing.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest('[aria-disabled="true"]');
    if (button) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Live view and running order: the arrow keys (and a presenter's clicker, which sends
  // Page Up / Page Down) press "previous" and "next", which move what the live view shows.
  var CLICKER = { PageDown: "ArrowRight", PageUp: "ArrowLeft" };
  document.addEventListener("keydown", function (event) {
    if (!document.querySelector("[data-live]") || typing(event.target)) return;
    if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return;
    var key = CLICKER[event.key] || event.key;
    var button = document.querySelector('[data-live-key="' + key + '"]');
    if (!button) return;
    event.preventDefault();
    if (button.getAttribute("aria-disabled") !== "true") button.click();
  });

  // Live view: full screen on request (hidden without JavaScript: the browser's F11 works).
  document.querySelectorAll("[data-fullscreen]").forEach(function (button) {
    if (!document.documentElement.requestFullscreen) return;
    button.hidden = false;
    button.addEventListener("click", function () { document.documentElement.requestFullscreen(); });
  });

  // Print button (hidden without JavaScript: the browser's own print works too).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // A form that must go once: disable its button after the first submit
  // (the server refuses a second send anyway).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.setAttribute("aria-disabled", "true");
    });
  });
})();
