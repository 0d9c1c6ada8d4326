// The inbox page: keyboard shortcuts, "more" paging in place, the list's live updates, and on an open
// conversation the presence heartbeat, saved replies and a kept reply draft.
// Everything works without JavaScript (links and forms that redirect back); this only saves reloads.
(function () {
  "use strict";

  var root = document.getElementById("inbox");
  if (!root) return;
  var list = document.getElementById("inbox-rows");
  var conversation = document.getElementById("conversation");
  var help = document.getElementById("inbox-shortcuts");
  var UPDATE_EVERY = 7000;
  var PRESENCE_EVERY = 15000;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function isTyping(node) {
    if (!node || !node.tagName) return false;
    return node.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(node.tagName);
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }

  // ---------------------------------------------------------------- moving through the list

  function rows() {
    return list ? Array.prototype.slice.call(list.querySelectorAll(".inbox-row")) : [];
  }

  function cursorIndex(items) {
    var active = document.activeElement;
    var focused = active && active.closest ? active.closest(".inbox-row") : null;
    var at = items.indexOf(focused);
    var i;
    for (i = 0; at < 0 && i < items.length; i++) if (items[i].classList.contains("cursor")) at = i;
    for (i = 0; at < 0 && i < items.length; i++) if (items[i].classList.contains("current")) at = i;
    return at;
  }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("cursor"); });
    row.classList.add("cursor");
    var link = row.querySelector("a");
    if (link) {
      link.focus();
      link.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var items = rows();
    if (!items.length) return;
    var at = cursorIndex(items);
    var next = at < 0 ? (step > 0 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, at + step));
    select(items[next]);
  }

  function openSelected() {
    var items = rows();
    var at = cursorIndex(items);
    var link = at >= 0 ? items[at].querySelector("a") : null;
    if (!link) return false;
    window.location.href = link.href;
    return true;
  }

  function focusField(id) {
    var field = document.getElementById(id);
    if (!field) return false;
    var closed = field.closest("details:not([open])");
    if (closed) closed.open = true;
    field.focus();
    return true;
  }

  function press(shortcut) {
    var button = document.querySelector('[data-shortcut="' + shortcut + '"]');
    if (!button || button.disabled) return false;
    button.click();
    return true;
  }

  function showHelp() {
    if (!help) return false;
    if (typeof help.showModal === "function") help.showModal();
    else help.setAttribute("open", "");
    return true;
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcuts-open]")) showHelp();
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (help && help.open) return;  // the dialog has its own keys (Esc closes it)
    var target = event.target;
    if (isTyping(target)) {
      if (event.key === "Escape") target.blur();
      return;
    }
    var handled;
    switch (event.key) {
      case "j": move(1); handled = true; break;
      case "k": move(-1); handled = true; break;
      case "o": handled = openSelected(); break;
      case "Enter":
        // A focused link or button does its own thing on Enter.
        if (target.closest && target.closest("a, button, summary")) return;
        handled = openSelected();
        break;
      case "r": handled = focusField("reply-text"); break;
      case "e": handled = press("e"); break;
      case "a": handled = press("a"); break;
      case "s": handled = press("s"); break;
      case "t": handled = focusField("tag-input"); break;
      case "/": handled = focusField("f-q"); break;
      case "?": handled = showHelp(); break;
      default: return;
    }
    if (handled) event.preventDefault();
  });

  // ---------------------------------------------------------------- "more" in place

  document.addEventListener("click", function (event) {
    var more = event.target.closest ? event.target.closest("a[data-more]") : null;
    if (!more || !list) return;
    event.preventDefault();
    more.setAttribute("aria-busy", "true");
    fetch(more.href + (more.href.indexOf("?") < 0 ? "?" : "&") + "partial=rows", { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var page = fragment(html);
        var first = null;
        page.querySelectorAll(".inbox-row").forEach(function (row) {
          if (document.getElementById(row.id)) return;
          list.appendChild(row);
          first = first || row;
        });
        var next = page.querySelector("#inbox-more");
        var here = document.getElementById("inbox-more");
        if (here && next) here.replaceWith(next);
        if (first) select(first);
      })
      .catch(function () { window.location.href = more.href; });
  });

  // ---------------------------------------------------------------- live updates of the list

  var since = root.getAttribute("data-since");
  var updatesUrl = root.getAttribute("data-updates-url");

  function lastOf(row) {
    var value = Date.parse(row.getAttribute("data-last") || "");
    return isNaN(value) ? 0 : value;
  }

  function place(row) {
    var when = lastOf(row);
    var items = rows().filter(function (r) { return r !== row; });
    for (var i = 0; i < items.length; i++) {
      if (lastOf(items[i]) < when) {
        list.insertBefore(row, items[i]);
        return true;
      }
    }
    // Older than everything shown: only add it at the end when there is no further page to load.
    if (document.querySelector("#inbox-more a[data-more]")) return false;
    list.appendChild(row);
    return true;
  }

  function apply(item) {
    var existing = document.getElementById("row-" + item.id);
    if (existing && Number(existing.getAttribute("data-version")) >= item.version) return;
    var row = fragment(item.html).querySelector(".inbox-row");
    if (!row) return;
    if (existing) {
      ["current", "cursor"].forEach(function (name) {
        if (existing.classList.contains(name)) row.classList.add(name);
      });
      if (existing.classList.contains("current")) row.querySelector("a").setAttribute("aria-current", "true");
      var hadFocus = existing.contains(document.activeElement);
      existing.remove();
      if (place(row) && hadFocus) row.querySelector("a").focus();
    } else {
      row.classList.add("arrived");
      place(row);
    }
    var empty = list.querySelector(".inbox-empty");
    if (empty && rows().length) empty.remove();
  }

  function drop(id) {
    var row = document.getElementById("row-" + id);
    // The open conversation stays (closing it should not pull it away under the reader).
    if (row && !row.classList.contains("current") && !row.contains(document.activeElement)) row.remove();
  }

  function poll() {
    if (document.hidden) return schedule();
    var url = updatesUrl + (updatesUrl.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(since);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || !data.ok) return;
        since = data.since;
        data.rows.forEach(apply);
        data.gone.forEach(drop);
      })
      .catch(function () { /* offline for a moment: try again next time */ })
      .then(schedule);
  }

  function schedule() {
    window.setTimeout(poll, UPDATE_EVERY);
  }

  if (list && updatesUrl && since) schedule();

  // ---------------------------------------------------------------- the open conversation

  if (!conversation) return;
  var reply = document.getElementById("reply-text");
  var replyForm = document.getElementById("reply-form");
  var presence = document.getElementById("presence");
  var notice = document.getElementById("activity-notice");
  var presenceUrl = conversation.getAttribute("data-presence-url");
  var version = Number(conversation.getAttribute("data-version"));
  var draftKey = "sokhan-inbox-draft:" + conversation.getAttribute("data-conversation");
  var lastActivity = "";

  function activity() {
    return reply && reply.value.trim() ? "replying" : "viewing";
  }

  function showPresence(others) {
    if (!presence) return;
    presence.textContent = "";
    others.forEach(function (other) {
      var template = conversation.getAttribute(other.activity === "replying" ? "data-replying" : "data-viewing");
      var item = document.createElement("span");
      item.className = "presence-item";
      item.textContent = template.replace("%(name)s", other.user);
      presence.appendChild(item);
      presence.appendChild(document.createTextNode(" "));
    });
  }

  function beat() {
    var body = new FormData();
    lastActivity = activity();
    body.set("activity", lastActivity);
    return fetch(presenceUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() }
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        showPresence(data.others || []);
        if (notice && data.version > version) notice.hidden = false;
      })
      .catch(function () { /* the next beat tries again */ });
  }

  beat();
  window.setInterval(beat, PRESENCE_EVERY);
  window.addEventListener("pagehide", function () {
    if (!navigator.sendBeacon) return;
    var body = new FormData();
    body.set("activity", "leave");
    body.set("csrfmiddlewaretoken", csrfToken());
    navigator.sendBeacon(presenceUrl, body);
  });

  if (!reply) return;

  // A reply in progress survives a reload (the "new activity" notice asks for one).
  try {
    var kept = window.sessionStorage.getItem(draftKey);
    if (kept && !reply.value.trim()) reply.value = kept;
  } catch (e) { /* storage refused: no draft keeping */ }

  reply.addEventListener("input", function () {
    try {
      if (reply.value.trim()) window.sessionStorage.setItem(draftKey, reply.value);
      else window.sessionStorage.removeItem(draftKey);
    } catch (e) { /* ignore */ }
    if (activity() !== lastActivity) beat();  // teammates see "is replying" at once
  });

  if (replyForm) {
    replyForm.addEventListener("submit", function () {
      try { window.sessionStorage.removeItem(draftKey); } catch (e) { /* ignore */ }
    });
  }

  // Saved replies: insert the filled-in text where the cursor is (the link pre-fills without a script).
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-saved-text]") : null;
    if (!link) return;
    event.preventDefault();
    var text = link.getAttribute("data-saved-text");
    var start = reply.selectionStart || 0;
    var end = reply.selectionEnd || 0;
    reply.value = reply.value.slice(0, start) + text + reply.value.slice(end);
    reply.focus();
    reply.setSelectionRange(start + text.length, start + text.length);
    reply.dispatchEvent(new Event("input", { bubbles: true }));
    var menu = link.closest("details");
    if (menu) menu.open = false;
  });
})();
