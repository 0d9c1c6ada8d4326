// The inbox rule builder: rows of conditions and actions that keep the rule's JSON textarea up to
// date. The textarea is the form field the server reads, so the page works without JavaScript
// (edit the JSON by hand) and the builder never holds state the server does not see.
(function () {
  "use strict";

  var OPS = { keywords: ["any", "all", "none"], followers: ["gte", "lte"] };
  var LIST_OPS = ["in", "not_in"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function select(options, value, label) {
    var node = el("select", { "aria-label": label });
    options.forEach(function (option) {
      var item = el("option", { value: String(option.id), text: option.name });
      if (String(option.id) === String(value)) item.selected = true;
      node.appendChild(item);
    });
    return node;
  }

  function checkboxes(options, values, label, onChange) {
    var box = el("fieldset", {}, [el("legend", { text: label })]);
    var chosen = (values || []).map(String);
    options.forEach(function (option) {
      var input = el("input", { type: "checkbox", value: String(option.id) });
      input.checked = chosen.indexOf(String(option.id)) !== -1;
      input.addEventListener("change", function () {
        var picked = Array.prototype.filter.call(box.querySelectorAll("input"), function (i) { return i.checked; })
          .map(function (i) { return i.value; });
        onChange(picked);
      });
      var text = el("bdi", { text: option.name });
      box.appendChild(el("label", {}, [input, document.createTextNode(" "), text]));
    });
    return box;
  }

  function init() {
    var root = document.querySelector("[data-rule-builder]");
    var area = document.querySelector("[data-rule-definition]");
    var source = document.getElementById("rule-builder-options");
    if (!root || !area || !source) return;
    var opts = JSON.parse(source.textContent);
    var t = opts.text;
    var state;

    function opLabels(ids) {
      return ids.map(function (id) { return { id: id, name: opts.ops[id] || id }; });
    }
    function ints(values) {
      return values.map(function (v) { return parseInt(v, 10); }).filter(function (v) { return !isNaN(v); });
    }
    function save() {
      area.value = JSON.stringify(state, null, 2);
    }

    function conditionValue(cond) {
      var field = cond.field;
      if (field === "keywords") {
        var words = el("textarea", { rows: "3", dir: "auto", "aria-label": t.one_per_line, placeholder: t.one_per_line });
        words.value = (cond.value || []).join("\n");
        words.addEventListener("input", function () {
          cond.value = words.value.split("\n").map(function (w) { return w.trim(); }).filter(Boolean);
          save();
        });
        return words;
      }
      if (field === "followers") {
        var number = el("input", { type: "number", min: "0", dir: "ltr", "aria-label": t.value });
        number.value = cond.value === undefined || cond.value === null ? "" : String(cond.value);
        number.addEventListener("input", function () {
          cond.value = number.value === "" ? null : parseInt(number.value, 10);
          save();
        });
        return number;
      }
      if (field === "language") {
        var codes = el("input", { type: "text", dir: "ltr", "aria-label": t.codes, placeholder: t.codes });
        codes.value = (cond.value || []).join(", ");
        codes.addEventListener("input", function () {
          cond.value = codes.value.split(/[,،\s]+/).map(function (c) { return c.trim().toLowerCase(); }).filter(Boolean);
          save();
        });
        return codes;
      }
      var choices = field === "sentiment" ? opts.sentiments : field === "type" ? opts.types : opts.channels;
      return checkboxes(choices, cond.value, t.value, function (picked) {
        cond.value = field === "channel" ? ints(picked) : picked;
        save();
      });
    }

    function actionValue(action) {
      var name = action.action;
      if (name === "tag") {
        var tag = el("input", { type: "text", dir: "auto", maxlength: "60", "aria-label": t.value });
        tag.value = action.value || "";
        tag.addEventListener("input", function () { action.value = tag.value; save(); });
        return tag;
      }
      if (name === "auto_reply") {
        var wrap = el("div");
        var text = el("textarea", { rows: "3", dir: "auto", "aria-label": t.value });
        text.value = action.value || "";
        text.addEventListener("input", function () { action.value = text.value; save(); });
        wrap.appendChild(text);
        var hint = opts.variables.map(function (v) { return "{" + v + "}"; }).join(" ");
        wrap.appendChild(el("p", { "class": "helptext", dir: "ltr", text: t.variables + " " + hint }));
        return wrap;
      }
      if (name === "priority") {
        if (!action.value) action.value = opts.priorities[0].id;
        var priority = select(opts.priorities, action.value, t.value);
        priority.addEventListener("change", function () { action.value = priority.value; save(); });
        return priority;
      }
      if (name === "assign") {
        var value = action.value || {};
        var who = el("select", { "aria-label": t.value });
        who.appendChild(el("option", { value: "", text: t.nobody }));
        [["user", t.member, opts.members], ["team", t.team, opts.teams]].forEach(function (group) {
          var optgroup = el("optgroup", { label: group[1] });
          group[2].forEach(function (option) {
            var item = el("option", { value: group[0] + ":" + option.id, text: option.name });
            if (String(value[group[0]]) === String(option.id)) item.selected = true;
            optgroup.appendChild(item);
          });
          who.appendChild(optgroup);
        });
        who.addEventListener("change", function () {
          var parts = who.value.split(":");
          action.value = {};
          if (parts.length === 2) action.value[parts[0]] = parseInt(parts[1], 10);
          save();
        });
        return who;
      }
      if (name === "notify") {
        return checkboxes(opts.members, action.value, t.value, function (picked) {
          action.value = ints(picked);
          save();
        });
      }
      action.value = null;
      return el("p", { "class": "muted", text: t.no_value });
    }

    function conditionRow(cond, index) {
      var row = el("fieldset", { "class": "panel rule-row", "data-condition": String(index) });
      row.appendChild(el("legend", { text: t.condition + " " + (index + 1) }));
      var field = select(opts.fields, cond.field, t.field);
      var ops = OPS[cond.field] || LIST_OPS;
      if (ops.indexOf(cond.op) === -1) cond.op = ops[0];
      var op = select(opLabels(ops), cond.op, t.op);
      field.addEventListener("change", function () {
        cond.field = field.value;
        cond.op = (OPS[cond.field] || LIST_OPS)[0];
        cond.value = cond.field === "followers" ? 0 : [];
        save();
        render();
      });
      op.addEventListener("change", function () { cond.op = op.value; save(); });
      var remove = el("button", { type: "button", "class": "secondary small", text: t.remove });
      remove.addEventListener("click", function () { state.conditions.splice(index, 1); save(); render(); });
      [field, op, conditionValue(cond), remove].forEach(function (node) { row.appendChild(node); });
      return row;
    }

    function actionRow(action, index) {
      var row = el("fieldset", { "class": "panel rule-row", "data-action": String(index) });
      row.appendChild(el("legend", { text: t.action + " " + (index + 1) }));
      var name = select(opts.actions, action.action, t.action);
      name.addEventListener("change", function () {
        action.action = name.value;
        action.value = name.value === "notify" ? [] : name.value === "assign" ? {} : "";
        save();
        render();
      });
      var remove = el("button", { type: "button", "class": "secondary small", text: t.remove });
      remove.addEventListener("click", function () { state.actions.splice(index, 1); save(); render(); });
      [name, actionValue(action), remove].forEach(function (node) { row.appendChild(node); });
      return row;
    }

    function render() {
      root.textContent = "";
      var conditions = el("section", {}, [el("h2", { text: t.conditions })]);
      state.conditions.forEach(function (cond, i) { conditions.appendChild(conditionRow(cond, i)); });
      var addCondition = el("button", { type: "button", "class": "secondary", text: t.add_condition });
      addCondition.addEventListener("click", function () {
        state.conditions.push({ field: "keywords", op: "any", value: [] });
        save();
        render();
      });
      conditions.appendChild(addCondition);
      var actions = el("section", {}, [el("h2", { text: t.actions })]);
      state.actions.forEach(function (action, i) { actions.appendChild(actionRow(action, i)); });
      var addAction = el("button", { type: "button", "class": "secondary", text: t.add_action });
      addAction.addEventListener("click", function () {
        state.actions.push({ action: "tag", value: "" });
        save();
        render();
      });
      actions.appendChild(addAction);
      root.appendChild(conditions);
      root.appendChild(actions);
      save();
    }

    function load() {
      try {
        var parsed = JSON.parse(area.value || "{}");
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return false;
        state = {
          conditions: Array.isArray(parsed.conditions) ? parsed.conditions : [],
          actions: Array.isArray(parsed.actions) ? parsed.actions : []
        };
        return true;
      } catch (error) {
        return false;
      }
    }

    // JSON the builder cannot read (typed by hand) stays in the textarea for the server to judge.
    if (!load()) return;
    root.hidden = false;
    var details = document.getElementById("rule-json");
    if (details && !document.getElementById("rule-errors")) details.open = false;
    render();
    area.addEventListener("change", function () { if (load()) render(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
