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
    announce(root, target);
  });

  // A status message that came with the swap (data-status) is read out through the page's
  // own polite live region, unless it just received the focus (then it is read anyway).
  function announce(root, focused) {
    var announcer = document.getElementById("status-announcer");
    var message = root.matches && root.matches("[data-status]") ? root : root.querySelector("[data-status]");
    if (!announcer || !message || message === focused || message.contains(focused)) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = message.textContent.trim(); }, 50);
  }

  // Live character counters: <textarea data-counter="id-of-counter" maxlength minlength>.
  // The visible count follows every key; screen readers hear it only when it crosses a
  // threshold (minimum reached, 100, 50, 20, 10 and 0 left), through the polite live
  // region named by the counter's data-announce, so typing is not drowned in speech.
  var MARKS = [100, 50, 20, 10, 0];
  // The counter's words come from the page (data-*-left, data-*-missing), in its language.
  function counterText(counter, length, min, left) {
    function say(name, n) {
      return (counter.getAttribute("data-" + name) || "").replace("{n}", n);
    }
    if (min && length < min) {
      var missing = min - length;
      return say(missing > 1 ? "many-missing" : "one-missing", missing);
    }
    if (left === 0) return say("none-left", 0);
    return say(left > 1 ? "many-left" : "one-left", left);
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
    var text = counterText(counter, length, min, left);
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

  // Inline panels: a form or a confirmation opened in place ([data-panel] on its root) by a
  // control marked [data-opens]. What the panel took the place of is kept, so "Annuler"
  // ([data-cancel]) and Escape put it back without asking the server, and focus returns to
  // the control that opened it. A panel closed by mistake reopens as it was left (what was
  // typed stays). Without this script, "Annuler" is a plain link back.
  // Nothing here is sent to the server: closing a panel only puts the page back.
  var panels = new WeakMap(); // panel element -> how to close it
  var closed = {}; // opener mark -> {panel, at}: closed panels, to reopen as they were
  var REOPEN_MS = 30 * 60 * 1000; // well within the CSRF token's life
  var marks = 0;
  var lastOpened = null; // for an Escape pressed while the focus is around it, not in it
  var refreshCallBar = function () {};

  function swapStyle(opener) {
    return (opener.getAttribute("hx-swap") || "innerHTML").split(" ")[0];
  }
  function markOf(opener) {
    if (!opener.hasAttribute("data-opener")) opener.setAttribute("data-opener", "o" + (marks += 1));
    return opener.getAttribute("data-opener");
  }
  // Copies of what a panel is about to replace (the target itself, or its children).
  function keep(target, outer) {
    if (outer) return [target.cloneNode(true)];
    return Array.prototype.map.call(target.childNodes, function (node) { return node.cloneNode(true); });
  }
  // What the opener's answer will take the place of: if a panel of ours is open there,
  // what that panel itself replaced (so "Annuler" goes back to the start, not to it).
  function keptFor(target, outer) {
    var inside = outer ? null : panelIn(target);
    var record = inside && panels.get(inside);
    if (!record) return keep(target, outer);
    panels.delete(inside);
    return record.kept;
  }
  function hasTyped(panel) {
    return Array.prototype.some.call(panel.querySelectorAll("textarea, input[type=text], input[type=email]"), function (field) {
      return field.value.trim() !== "" && !field.closest(".hp");
    });
  }
  function focusIn(panel) {
    var field = panel.querySelector("[aria-invalid=true], [autofocus], [data-focus]") ||
      panel.querySelector("input:not([type=hidden]):not([tabindex='-1']), select, textarea, button, a[href]");
    if (!field) return;
    if (!field.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(field.tagName)) {
      field.setAttribute("tabindex", "-1");
    }
    field.focus();
  }
  function targetOf(opener) {
    try {
      return document.querySelector(opener.getAttribute("hx-target"));
    } catch (error) {
      return null; // an htmx-only selector ("closest li"): not one of our openers
    }
  }
  function panelIn(root) {
    if (!root || !root.querySelector) return null;
    return root.matches("[data-panel]") ? root : root.querySelector("[data-panel]");
  }

  function closePanel(panel, quietly) {
    var record = panels.get(panel);
    if (!record) return false;
    var container = record.outer ? panel : document.getElementById(record.containerId);
    if (!container || !panel.isConnected) return false;
    panels.delete(panel);
    var restored = record.kept;
    if (record.outer) panel.replaceWith.apply(panel, restored);
    else container.replaceChildren.apply(container, restored);
    restored.forEach(function (node) {
      if (!node.querySelectorAll) return;
      // Copied while its request ran: drop htmx's state classes, let htmx wire it again.
      [node].concat(Array.prototype.slice.call(node.querySelectorAll(".htmx-request"))).forEach(function (el) {
        el.classList.remove("htmx-request");
      });
      htmx.process(node);
    });
    closed[record.mark] = { panel: panel, at: Date.now() };
    var opener = document.querySelector('[data-opener="' + record.mark + '"]');
    if (opener && !quietly) opener.focus();
    refreshCallBar();
    return true;
  }

  // Before an opener's answer is swapped in, keep what it replaces.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var opener = detail.requestConfig && detail.requestConfig.elt;
    var target = detail.target;
    if (!detail.shouldSwap || !target) return;
    if (opener && opener.hasAttribute && opener.hasAttribute("data-opens")) {
      var outer = swapStyle(opener) === "outerHTML";
      detail.xhr.panelRecord = { mark: markOf(opener), outer: outer, containerId: target.id, kept: keptFor(target, outer), opening: true };
    } else if (panels.has(target)) {
      // The panel answers itself (an error, a retry): the new one closes the same way.
      detail.xhr.panelRecord = panels.get(target);
    }
  });
  function swappedPanel(event) {
    var root = event.detail.target;
    if (root && !root.isConnected) root = root.id ? document.getElementById(root.id) : null;
    return panelIn(root);
  }
  // As soon as it is in the page (a quick Escape must find how to close it).
  document.addEventListener("htmx:afterSwap", function (event) {
    var record = event.detail.xhr && event.detail.xhr.panelRecord;
    var panel = swappedPanel(event);
    if (!record || !panel || panels.get(panel) === record) return;
    panels.set(panel, record);
    lastOpened = panel;
    // One form of a kind on the page: opening it here closes it where it was open.
    document.querySelectorAll("[data-panel]").forEach(function (other) {
      if (other !== panel && other.id === panel.id) closePanel(other, true);
    });
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var record = event.detail.xhr && event.detail.xhr.panelRecord;
    var panel = swappedPanel(event);
    if (record && record.opening && panel) {
      record.opening = false;
      // Just opened, and nothing in it took the focus: its first field does.
      if (!panel.contains(document.activeElement)) focusIn(panel);
    }
    refreshCallBar();
  });

  document.addEventListener("click", function (event) {
    var control = event.target.closest && event.target.closest("[data-cancel], [data-opens]");
    if (!control || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (control.hasAttribute("data-cancel")) {
      var panel = control.closest("[data-panel]");
      if (panel && closePanel(panel)) {
        event.preventDefault();
        event.stopPropagation();
      }
      return;
    }
    var target = targetOf(control);
    if (!target) return;
    var open = panelIn(target);
    var again = closed[control.getAttribute("data-opener")];
    if (open && !target.contains(control) && hasTyped(open)) {
      // Already open there, filled in (opened from another control): go to it, keep it.
      event.preventDefault();
      event.stopPropagation();
      focusIn(open);
    } else if (again && Date.now() - again.at < REOPEN_MS && hasTyped(again.panel)) {
      // Closed with something typed in it: it comes back as it was (else it is asked anew).
      event.preventDefault();
      event.stopPropagation();
      delete closed[control.getAttribute("data-opener")];
      var outer = swapStyle(control) === "outerHTML";
      var record = { mark: control.getAttribute("data-opener"), outer: outer, containerId: target.id, kept: keptFor(target, outer) };
      if (outer) target.replaceWith(again.panel);
      else target.replaceChildren(again.panel);
      panels.set(again.panel, record);
      lastOpened = again.panel;
      focusIn(again.panel);
      refreshCallBar();
    }
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.isComposing || event.defaultPrevented) return;
    var panel = event.target.closest && event.target.closest("[data-panel]");
    // A click on a panel's text leaves the focus on the page (or on <main>) around it.
    var around = lastOpened && lastOpened.isConnected && event.target.contains(lastOpened);
    if (!panel && around) panel = lastOpened;
    // This panel's own "Annuler", not one of a panel inside it.
    var cancel = panel && Array.prototype.find.call(panel.querySelectorAll("[data-cancel]"), function (control) {
      return control.closest("[data-panel]") === panel;
    });
    if (!cancel) return;
    event.preventDefault();
    cancel.click();
  });

  // If the place an opener fills is not on this page (the form on its own page), the
  // opener is an ordinary link.
  document.addEventListener("htmx:targetError", function (event) {
    var link = event.target;
    if (link && link.tagName === "A" && link.href) window.location.assign(link.href);
  });

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
  // htmx disabled during the request comes back: they can simply try again. The words are
  // the page's (data-failed-* on #alerts), in its language.
  var FAILED = {
    server: "Votre demande n’a pas abouti (erreur du serveur). Ce que vous avez saisi est conservé : réessayez dans un instant.",
    network: "La connexion au site est interrompue. Ce que vous avez saisi est conservé : vérifiez votre connexion, puis réessayez."
  };
  function failed(kind) {
    var region = document.getElementById("alerts");
    return (region && region.getAttribute("data-failed-" + kind)) || FAILED[kind];
  }
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
    if (!fromOurServer(event.detail.xhr)) showAlert(failed("server"));
  });
  document.addEventListener("htmx:sendError", function () { showAlert(failed("network")); });
  document.addEventListener("htmx:timeout", function () { showAlert(failed("network")); });
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
