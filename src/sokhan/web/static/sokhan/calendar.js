// The publishing calendar: drag a post onto another day (or, in the week view, another hour) to
// move it. Uses native HTML5 drag and drop and posts the same form the per-item "Move" form
// posts without JavaScript; the server answers with the re-rendered calendar, swapped in place.
// Keyboard users open an item's "Move" form instead (every item is focusable).
(function () {
  "use strict";

  var dragged = null;

  function calendarRoot(node) {
    return node && node.closest ? node.closest("[data-calendar]") : null;
  }

  function dropZone(node) {
    return node && node.closest ? node.closest("[data-drop]") : null;
  }

  function clearHighlight() {
    document.querySelectorAll("[data-drop].drop-over").forEach(function (zone) {
      zone.classList.remove("drop-over");
    });
  }

  function csrfToken(item) {
    var input = item.querySelector("input[name=csrfmiddlewaretoken]") ||
      document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function move(item, zone) {
    var root = calendarRoot(zone);
    var body = document.getElementById("calendar-body");
    if (!root || !body) return;
    var data = new URLSearchParams();
    data.set("target", item.getAttribute("data-item"));
    data.set("date", zone.getAttribute("data-date"));
    if (zone.hasAttribute("data-hour")) data.set("hour", zone.getAttribute("data-hour"));
    data.set("next", root.getAttribute("data-return") || window.location.pathname + window.location.search);
    body.setAttribute("aria-busy", "true");
    fetch(root.getAttribute("data-move-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "HX-Request": "true",
        "X-CSRFToken": csrfToken(item),
        "Content-Type": "application/x-www-form-urlencoded"
      },
      body: data.toString()
    }).then(function (response) {
      return response.text().then(function (html) {
        if (!response.ok) throw new Error(html);
        body.innerHTML = html;
        if (window.htmx) window.htmx.process(body);
        var moved = document.getElementById("item-" + item.getAttribute("data-item"));
        if (moved) moved.focus();
      });
    }).catch(function () {
      window.location.reload();
    }).finally(function () {
      body.removeAttribute("aria-busy");
    });
  }

  // While an item's "Move" form is open, its fields must take text selection, not start a drag.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.matches || !details.matches("details.item-move")) return;
    var item = details.closest("[data-item][data-movable]");
    if (item) item.setAttribute("draggable", details.open ? "false" : "true");
  }, true);

  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest ? event.target.closest("[data-item][data-movable]") : null;
    if (!item || !calendarRoot(item)) return;
    dragged = item;
    item.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.getAttribute("data-item"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearHighlight();
  });

  document.addEventListener("dragover", function (event) {
    var zone = dropZone(event.target);
    if (!dragged || !zone || !calendarRoot(zone)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!zone.classList.contains("drop-over")) {
      clearHighlight();
      zone.classList.add("drop-over");
    }
  });

  document.addEventListener("dragleave", function (event) {
    var zone = dropZone(event.target);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("drop-over");
  });

  document.addEventListener("drop", function (event) {
    var zone = dropZone(event.target);
    if (!dragged || !zone || !calendarRoot(zone)) return;
    event.preventDefault();
    var item = dragged;
    clearHighlight();
    var sameDay = dropZone(item) === zone;
    if (!sameDay) move(item, zone);
  });
})();
