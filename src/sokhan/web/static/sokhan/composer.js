// The composer's conveniences. The page works without this file: every channel's fields are
// shown, the check runs when the form is submitted, and drafts are saved with "Save draft".
//
// With it: only the chosen channels' fields are shown; each channel's text follows the main
// text until someone edits that channel's text; and the form is saved as a draft a few seconds
// after each change (never scheduled or submitted). The first save creates the post; the page
// then switches to editing that post, so later saves update it instead of making another.
// Until the server has the text, a copy stays in this browser (localStorage) and is offered back
// when the page is opened again, so a refused save or a closed tab loses nothing.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form) return;
  var mainText = form.querySelector("[data-main-text]");
  var status = document.getElementById("autosave-status");
  var postId = form.querySelector("input[name='post_id']");
  var autosaveUrl = form.getAttribute("data-autosave-url");
  var AUTOSAVE_DELAY = 2500;
  var timer = null;
  var saving = false;
  var again = false;
  var dirty = false;
  var submitting = false;

  // ---- a copy of the typed text in this browser until the server has it
  var backupKeys = ["sokhan-composer:" + window.location.pathname];
  var restore = document.getElementById("composer-restore");

  function fields() {
    return form.querySelectorAll("textarea[name], input[name]:not([type]), input[type='text'][name]");
  }

  function backup() {
    var values = {};
    fields().forEach(function (el) { values[el.name] = el.value; });
    values.channels = Array.prototype.map.call(
      form.querySelectorAll("[data-channel-choice]:checked"), function (box) { return box.value; });
    try { window.localStorage.setItem(backupKeys[0], JSON.stringify(values)); } catch (e) { /* storage off */ }
  }

  function forget() {
    backupKeys.forEach(function (key) {
      try { window.localStorage.removeItem(key); } catch (e) { /* storage off */ }
    });
  }

  function offerRestore() {
    var saved = null;
    try { saved = JSON.parse(window.localStorage.getItem(backupKeys[0]) || "null"); } catch (e) { saved = null; }
    if (!saved || !restore) return;
    var differs = false;
    fields().forEach(function (el) {
      if (Object.prototype.hasOwnProperty.call(saved, el.name) && saved[el.name] !== el.value) differs = true;
    });
    if (!differs) { forget(); return; }
    restore.hidden = false;
    restore.querySelector("[data-restore-apply]").addEventListener("click", function () {
      fields().forEach(function (el) {
        if (Object.prototype.hasOwnProperty.call(saved, el.name)) el.value = saved[el.name];
      });
      form.querySelectorAll("[data-channel-choice]").forEach(function (box) {
        box.checked = (saved.channels || []).indexOf(box.value) !== -1;
      });
      restore.hidden = true;
      syncChannels();
      form.querySelectorAll("fieldset.variant").forEach(markEdited);
      if (mainText) mainText.dispatchEvent(new Event("input", { bubbles: true }));
    });
    restore.querySelector("[data-restore-discard]").addEventListener("click", function () {
      restore.hidden = true;
      forget();
    });
  }

  function variantText(fieldset) {
    return fieldset.querySelector("[data-variant-text]");
  }

  // ---- channels: show the fields of chosen channels only
  function syncChannels() {
    var boxes = form.querySelectorAll("[data-channel-choice]");
    boxes.forEach(function (box) {
      var fieldset = document.getElementById("variant-c" + box.value);
      if (fieldset) fieldset.hidden = !box.checked;
    });
  }

  // ---- variant text follows the main text until edited
  function markEdited(fieldset) {
    var text = variantText(fieldset);
    if (!text) return;
    var edited = mainText && text.value !== mainText.value && text.value.trim() !== "";
    fieldset.toggleAttribute("data-edited", !!edited);
  }

  function followMainText() {
    form.querySelectorAll("fieldset.variant").forEach(function (fieldset) {
      var text = variantText(fieldset);
      if (text && !fieldset.hasAttribute("data-edited")) text.value = mainText.value;
    });
  }

  // ---- autosave
  function show(message, failed) {
    if (!status) return;
    status.textContent = message || "";
    status.classList.toggle("error", !!failed);
  }

  function switchToPost(data) {
    if (!data.post_id) return;
    if (postId && postId.value !== String(data.post_id)) {
      postId.value = String(data.post_id);
      if (data.edit_url) {
        form.setAttribute("action", data.edit_url);
        window.history.replaceState(null, "", data.edit_url);
        backupKeys.unshift("sokhan-composer:" + data.edit_url);
      }
    }
  }

  function save() {
    if (!autosaveUrl || submitting) return;
    if (saving) { again = true; return; }
    saving = true;
    dirty = false;
    var body = new FormData(form);
    body.delete("action");
    fetch(autosaveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      var data = result.data || {};
      if (data.saved) {
        switchToPost(data);
        if (!dirty) forget();
        if (data.message) show(data.message, false);
      } else if (data.empty) {
        show("", false);  // nothing typed yet: nothing to keep
      } else {
        dirty = true;
        show(data.message, true);
      }
    }).catch(function () {
      dirty = true;
    }).finally(function () {
      saving = false;
      if (again) { again = false; schedule(); }
    });
  }

  function schedule() {
    dirty = true;
    backup();
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, AUTOSAVE_DELAY);
  }

  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target === mainText) {
      followMainText();
    } else if (target.hasAttribute && target.hasAttribute("data-variant-text")) {
      markEdited(target.closest("fieldset.variant"));
    }
    schedule();
  });

  form.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-channel-choice")) syncChannels();
    schedule();
  });

  form.addEventListener("submit", function () {
    submitting = true;
    if (timer) clearTimeout(timer);
    forget();
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirty && !submitting) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  form.querySelectorAll("fieldset.variant").forEach(markEdited);
  syncChannels();
  offerRestore();
})();
