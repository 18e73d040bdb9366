/* Switchboard's page script: the glue between htmx, the REST API and the live stream.
 *
 * - Every state-changing request carries the session's CSRF token (X-CSRF-Token).
 * - A system or partner admin's page names the tenant it shows (`meta switchboard-tenant`):
 *   every request it makes carries it as X-Switchboard-Tenant (10 R3), so the page keeps
 *   acting in its tenant even if another tab chose a different one meanwhile.
 * - Refusals (problem documents) are shown as a sentence in the message area.
 * - Live regions: an element with `data-live="task.offered user.acw_started"` is refreshed
 *   (its own hx-get) when such an event arrives on the event stream; optional
 *   `data-live-users`, `data-live-tasks`, `data-live-services` narrow it to events
 *   naming one of those ids. Refreshes are debounced per region.
 * - Clocks: `data-countdown-to` / `data-since` (epoch ms) tick every second,
 *   corrected for the difference between this computer's clock and the server's.
 * - Keyboard: Alt+<key> presses the first visible button with `data-shortcut="<key>"`.
 * See docs/web.md.
 */
(function () {
  "use strict";

  const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
  const REFRESH_DELAY_MS = 120;
  const MESSAGE_MS = 9000;

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function chosenTenant() {
    const meta = document.querySelector('meta[name="switchboard-tenant"]');
    return meta ? meta.content : "";
  }

  // ------------------------------------------------------------------ messages

  function showMessage(text, kind) {
    const area = document.getElementById("messages");
    if (!area || !text) return;
    const box = document.createElement("div");
    box.className = "message message-" + (kind || "error");
    const span = document.createElement("span");
    span.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "message-close";
    close.setAttribute("aria-label", "Dismiss message");
    close.textContent = "×";
    close.addEventListener("click", function () { box.remove(); });
    box.append(span, close);
    area.append(box);
    while (area.children.length > 3) area.firstElementChild.remove();
    window.setTimeout(function () { box.remove(); }, MESSAGE_MS);
  }

  function problemText(xhr) {
    const type = xhr.getResponseHeader("content-type") || "";
    const body = xhr.responseText || "";
    if (type.includes("json")) {
      try {
        const problem = JSON.parse(body);
        const details = (problem.errors || [])
          .map(function (e) { return e.message; })
          .filter(function (m) { return m && m !== problem.detail; });
        return [problem.detail || problem.title].concat(details).join(" ");
      } catch (ignored) { /* fall through */ }
    }
    if (type.includes("html")) {
      const doc = new DOMParser().parseFromString(body, "text/html");
      const text = (doc.body.textContent || "").trim();
      if (text) return text;
    }
    return "The request failed (HTTP " + xhr.status + ").";
  }

  // ------------------------------------------------------------------ requests

  document.addEventListener("htmx:configRequest", function (event) {
    const detail = event.detail;
    if (UNSAFE.has(detail.verb.toUpperCase())) {
      detail.headers["X-CSRF-Token"] = csrfToken();
    }
    const tenant = chosenTenant();
    if (tenant) detail.headers["X-Switchboard-Tenant"] = tenant;
  });

  /* Request bodies as the API's JSON. Fields named `x[]` are lists (also with one
   * value, or none: `data-lists="x y"` on the form names lists that may be empty);
   * an empty field is null; typed `hx-vals` keep their JSON types. */
  let htmxApi = null;
  htmx.defineExtension("sb-json", {
    init: function (api) { htmxApi = api; },
    onEvent: function (name, event) {
      if (name === "htmx:configRequest" && UNSAFE.has(event.detail.verb.toUpperCase())) {
        event.detail.headers["Content-Type"] = "application/json";
      }
    },
    encodeParameters: function (xhr, parameters, elt) {
      xhr.overrideMimeType("text/json");
      const body = {};
      const holder = elt.closest ? elt.closest("[data-lists]") : null;
      (holder ? words(holder.dataset.lists) : []).forEach(function (name) { body[name] = []; });
      parameters.forEach(function (value, key) {
        if (key.endsWith("[]")) {
          const name = key.slice(0, -2);
          (body[name] = body[name] || []).push(value);
        } else {
          body[key] = value === "" ? null : value;
        }
      });
      const typed = htmxApi.getExpressionVars(elt);
      Object.keys(typed).forEach(function (key) { body[key] = typed[key]; });
      return JSON.stringify(body);
    },
  });

  // A button marked aria-disabled explains itself instead of sending anything.
  document.addEventListener("htmx:confirm", function (event) {
    const elt = event.detail.elt;
    if (elt && elt.getAttribute && elt.getAttribute("aria-disabled") === "true") {
      event.preventDefault();
      showMessage(elt.getAttribute("data-reason") || elt.title || "Not possible right now.", "info");
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    const elt = event.detail.elt;
    const text = problemText(event.detail.xhr);
    const form = elt && elt.closest ? elt.closest("form") : null;
    const inline = form ? form.querySelector(".form-error") : null;
    if (inline) {
      inline.textContent = text;
      inline.hidden = false;
      const retry = form.querySelector("[data-refocus]");  // e.g. the password, to type again
      if (retry) {
        retry.focus();
        if (retry.select) retry.select();
      }
    } else {
      showMessage(text, "error");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    showMessage("Switchboard did not answer; check the connection and try again.", "error");
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const detail = event.detail;
    if (!detail.successful) return;
    const elt = detail.elt;
    const go = elt.getAttribute && elt.getAttribute("data-then-go");
    if (go) {
      window.location.assign(go);
      return;
    }
    const form = elt.closest ? elt.closest("form") : null;
    const inline = form ? form.querySelector(".form-error") : null;
    if (inline) inline.hidden = true;
    if (UNSAFE.has((detail.requestConfig.verb || "").toUpperCase())) {
      // Our own change: refresh at once rather than waiting for its event.
      document.body.dispatchEvent(new CustomEvent("sb:changed"));
    }
  });

  // ------------------------------------------------------------------ live regions

  let source = null;
  let openedBefore = false;
  const wiredNames = new WeakMap();

  function words(value) {
    if (value === undefined || value === null) return null;
    return value.split(/\s+/).filter(Boolean);
  }

  function regionWants(el, name, data) {
    if (!(words(el.dataset.live) || []).includes(name)) return false;
    const users = words(el.dataset.liveUsers);
    const tasks = words(el.dataset.liveTasks);
    const services = words(el.dataset.liveServices);
    if (users === null && tasks === null && services === null) return true;
    return Boolean(
      (users && users.includes(data.user_id)) ||
      (tasks && tasks.includes(data.task_id)) ||
      (services && services.includes(data.service_id))
    );
  }

  /* Debounced, but never postponed for long: a busy queue keeps sending events, and the
   * region must still refresh at least every `delay + MAX_POSTPONE_MS`. */
  const MAX_POSTPONE_MS = 1000;

  function scheduleRefresh(el) {
    const delay = Number(el.dataset.liveDelay) || REFRESH_DELAY_MS;
    const now = Date.now();
    if (!el._sbFirst) el._sbFirst = now;
    const due = Math.min(now + delay, el._sbFirst + delay + MAX_POSTPONE_MS);
    window.clearTimeout(el._sbRefresh);
    el._sbRefresh = window.setTimeout(function () {
      el._sbFirst = 0;
      // A region swapped in meanwhile (a parent refreshed) is the same region: refresh it.
      const target = document.body.contains(el) ? el : el.id && document.getElementById(el.id);
      if (target) htmx.trigger(target, "sb:live");
    }, Math.max(0, due - now));
  }

  function refreshAll() {
    document.querySelectorAll("[data-live]").forEach(scheduleRefresh);
  }

  function onStreamEvent(event) {
    let envelope;
    try {
      envelope = JSON.parse(event.data);
    } catch (ignored) {
      return;
    }
    if (event.type === "stream.closed") {
      const reason = (envelope && envelope.reason) || "";
      if (reason !== "stopping") {
        window.location.assign("/sign-in?next=" + encodeURIComponent(location.pathname));
      }
      return;
    }
    if (event.type === "stream.overflow") {
      refreshAll();
      return;
    }
    const data = (envelope && envelope.data) || {};
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (regionWants(el, event.type, data)) scheduleRefresh(el);
    });
  }

  function liveNames() {
    const names = new Set(["stream.closed", "stream.overflow"]);
    document.querySelectorAll("[data-live]").forEach(function (el) {
      (words(el.dataset.live) || []).forEach(function (n) { names.add(n); });
    });
    return names;
  }

  function wire() {
    if (!source) return;
    let known = wiredNames.get(source);
    if (!known) {
      known = new Set();
      wiredNames.set(source, known);
    }
    liveNames().forEach(function (name) {
      if (!known.has(name)) {
        source.addEventListener(name, onStreamEvent);
        known.add(name);
      }
    });
  }

  function setLiveStatus(state, text) {
    const badge = document.getElementById("live-status");
    if (!badge) return;
    badge.dataset.state = state;
    badge.title = "Live updates: " + text;
    const label = badge.querySelector("[data-live-label]");
    if (label) label.textContent = text;
  }

  document.addEventListener("htmx:sseOpen", function (event) {
    source = event.detail.source;
    wire();
    setLiveStatus("live", "live");
    if (openedBefore) refreshAll(); // events may have been missed while disconnected
    openedBefore = true;
  });
  document.addEventListener("htmx:sseError", function () {
    setLiveStatus("down", "reconnecting…");
  });
  document.addEventListener("htmx:afterSettle", wire);

  // ------------------------------------------------------------------ dialogs

  /* A button with `data-open-dialog="id"` opens that <dialog> (its hx-get fills it);
   * closing returns the focus to the button. */
  let dialogOpener = null;
  document.addEventListener("click", function (event) {
    const opener = event.target.closest && event.target.closest("[data-open-dialog]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.openDialog);
      if (dialog && !dialog.open) {
        dialogOpener = opener.id || null;
        dialog.showModal();
      }
    }
    const closer = event.target.closest && event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });
  document.addEventListener("close", function (event) {
    if (event.target.tagName === "DIALOG" && dialogOpener) {
      const back = document.getElementById(dialogOpener);
      if (back) back.focus();
    }
  }, true);

  // ------------------------------------------------------------------ clocks

  const skewMs = (function () {
    const server = Number(document.body && document.body.dataset.serverNow);
    return server ? server - Date.now() : 0;
  })();

  function serverNow() {
    return Date.now() + skewMs;
  }

  function clock(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function tick() {
    const now = serverNow();
    document.querySelectorAll("[data-countdown-to]").forEach(function (el) {
      const to = Number(el.dataset.countdownTo);
      const left = to - now;
      const text = el.querySelector("[data-clock]") || el;
      text.textContent = clock(left + 999);
      const from = Number(el.dataset.countdownFrom);
      const bar = el.querySelector("[data-bar]");
      if (bar && from && to > from) {
        const share = Math.max(0, Math.min(1, left / (to - from)));
        bar.style.width = (share * 100).toFixed(1) + "%";
      }
      el.classList.toggle("is-urgent", left < 5000);
    });
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = clock(now - Number(el.dataset.since));
    });
  }
  window.setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("DOMContentLoaded", tick);

  // ------------------------------------------------------------------ keyboard

  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    if (!/^Key[A-Z]$/.test(event.code)) return;
    const key = event.code.slice(3).toLowerCase();
    const candidates = Array.from(document.querySelectorAll('[data-shortcut="' + key + '"]'))
      .filter(function (el) { return el.offsetParent !== null; });
    if (!candidates.length) return;
    event.preventDefault();
    const target = candidates[0];
    target.focus();
    target.click();
  });
})();
