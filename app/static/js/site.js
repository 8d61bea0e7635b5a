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

  // Live character counters: <textarea data-counter="id-of-counter" maxlength minlength>.
  // The visible count follows every key; screen readers hear it only when it crosses a
  // threshold (minimum reached, 100, 50, 20, 10 and 0 left), through the polite live
  // region named by the counter's data-announce, so typing is not drowned in speech.
  var MARKS = [100, 50, 20, 10, 0];
  function counterText(length, min, left) {
    if (min && length < min) {
      var missing = min - length;
      return "Encore " + missing + (missing > 1 ? " caractères" : " caractère") + " au minimum";
    }
    return left + (left > 1 ? " caractères restants" : " caractère restant");
  }
  function counterLevel(length, min, left) {
    if (min && length < min) return "short";
    var level = 0;
    MARKS.forEach(function (mark) { if (left <= mark) level += 1; });
    return "ok" + level;
  }
  function updateCounter(field, announce) {
    var counter = document.getElementById(field.getAttribute("data-counter"));
    if (!counter) return;
    var max = parseInt(field.getAttribute("maxlength"), 10);
    var min = parseInt(field.getAttribute("minlength"), 10) || 0;
    var length = field.value.length;
    var left = Math.max(max - length, 0);
    var text = counterText(length, min, left);
    counter.textContent = text;
    var live = document.getElementById(counter.getAttribute("data-announce"));
    var level = counterLevel(length, min, left);
    if (live && announce && field.getAttribute("data-counter-level") !== level) {
      live.textContent = text;
    }
    field.setAttribute("data-counter-level", level);
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-counter]")) updateCounter(event.target, true);
  });
  document.addEventListener("htmx:load", function (event) {
    event.detail.elt.querySelectorAll && event.detail.elt.querySelectorAll("[data-counter]").forEach(function (field) {
      updateCounter(field, false);
    });
  });

  var refreshCallBar = function () {};

  // On a phone the call to register stays at hand: its bar shows once the call at the top
  // is out of view, while that call still offers "S’inscrire" (not once this browser is
  // registered, nor while the form is open). Watched again when htmx restores a page
  // from its history (the body is new then).
  var callObserver = null;
  var callInView = true;
  refreshCallBar = function () {
    var bar = document.getElementById("appel-mobile");
    if (!bar) return;
    var offered = document.querySelector("#appel-actions [data-call]");
    bar.hidden = callInView || !offered || !!document.querySelector(".registration-done");
  };
  function watchCall() {
    if (callObserver) callObserver.disconnect();
    callInView = true;
    var call = document.getElementById("appel");
    if (!call || !("IntersectionObserver" in window)) return;
    callObserver = new IntersectionObserver(function (entries) {
      callInView = entries[entries.length - 1].isIntersecting;
      refreshCallBar();
    });
    callObserver.observe(call);
  }
  watchCall();
  document.addEventListener("htmx:afterSettle", function () { refreshCallBar(); });
  document.addEventListener("htmx:historyRestore", watchCall);
  // The snapshot htmx keeps has the bar hidden; the page itself goes on as it was.
  document.addEventListener("htmx:beforeHistorySave", function () {
    var bar = document.getElementById("appel-mobile");
    if (bar) bar.hidden = true;
    window.setTimeout(refreshCallBar, 0);
  });

  // Confirmations without inline script: <button data-confirm="…">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // When an htmx request fails, say so in the page's alert region (announced to screen
  // readers). Nothing is swapped, so what the person typed stays, and the button that
  // htmx disabled during the request comes back: they can simply try again.
  var FAILED = {
    server: "Votre demande n’a pas abouti (erreur du serveur). Ce que vous avez saisi est conservé : réessayez dans un instant.",
    network: "La connexion au site est interrompue. Ce que vous avez saisi est conservé : vérifiez votre connexion, puis réessayez."
  };
  function fromOurServer(xhr) {
    return xhr && xhr.getResponseHeader("HX-Retarget") === "#alerts";
  }
  function showAlert(text) {
    var region = document.getElementById("alerts");
    if (!region) return;
    var box = document.createElement("div");
    box.className = "notice notice-error";
    box.setAttribute("role", "alert");
    var paragraph = document.createElement("p");
    paragraph.textContent = text;
    box.appendChild(paragraph);
    region.replaceChildren(box);
  }
  // Our own error answers (503, 500…) carry their French message for #alerts: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status >= 500 && fromOurServer(event.detail.xhr)) event.detail.shouldSwap = true;
  });
  document.addEventListener("htmx:responseError", function (event) {
    if (!fromOurServer(event.detail.xhr)) showAlert(FAILED.server);
  });
  document.addEventListener("htmx:sendError", function () { showAlert(FAILED.network); });
  document.addEventListener("htmx:timeout", function () { showAlert(FAILED.network); });
  // A request the person made that went well clears an old failure message (polling and
  // loading in the background do not: the message would vanish before it is read).
  document.addEventListener("htmx:afterRequest", function (event) {
    var region = document.getElementById("alerts");
    // The element that asked (htmx names a parent instead once the swap removed it).
    var source = (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
    var trigger = (source.getAttribute && source.getAttribute("hx-trigger")) || "";
    if (!event.detail.successful || !region || event.detail.target === region) return;
    if (/\b(every|load)\b/.test(trigger)) return;
    region.replaceChildren();
  });
})();
