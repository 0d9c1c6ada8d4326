// The saved-reply editor: warn while typing about {variables} Sokhan does not know (they are
// left in the text as written). The server shows the same warning after saving.
(function () {
  "use strict";

  function init() {
    var form = document.getElementById("saved-reply-form");
    var warning = document.getElementById("reply-variable-warning");
    if (!form || !warning) return;
    var text = form.querySelector("textarea[name=text]");
    if (!text) return;
    var known = (form.getAttribute("data-variables") || "").split(",");
    var prefix = warning.getAttribute("data-warning-template") || "";
    text.addEventListener("input", function () {
      var unknown = [];
      var pattern = /\{([\p{L}\p{N}_]+)\}/gu;
      var match;
      while ((match = pattern.exec(text.value)) !== null) {
        if (known.indexOf(match[1]) === -1 && unknown.indexOf(match[1]) === -1) unknown.push(match[1]);
      }
      warning.hidden = unknown.length === 0;
      if (unknown.length) {
        warning.textContent = prefix + " " + unknown.map(function (n) { return "{" + n + "}"; }).join(", ");
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
