/* scenematch — the organisation picker: matching organisations offered as people type.
   The field works without this file: the typed name (or part of it, or the 统一社会信用代码) is
   posted and the server resolves it (web/kit/orgpicker.py). Markup: the `organisation_picker`
   macro in macros.html; suggestions come from its data-org-picker address as JSON. Listeners sit
   on the document, so fields swapped in by htmx need nothing more. */
(function () {
  "use strict";
  var DELAY_MS = 200; // wait for a pause in typing: no flashing of results for half-typed words
  var timer = null;
  var sequence = 0;

  function pickerOf(node) { return node && node.closest ? node.closest("[data-org-picker]") : null; }
  function fieldOf(picker) { return picker.querySelector("input, textarea"); }
  function listOf(picker) { return picker.querySelector(".org-suggestions"); }
  function isMultiple(picker) { return picker.hasAttribute("data-org-multiple"); }

  // In a textarea (one organisation per line) the line with the caret is the one being typed.
  function currentLine(field) {
    var value = field.value;
    var at = field.selectionStart === null ? value.length : field.selectionStart;
    var start = value.lastIndexOf("\n", at - 1) + 1;
    var end = value.indexOf("\n", at);
    return { start: start, end: end < 0 ? value.length : end };
  }
  function typed(picker) {
    var field = fieldOf(picker);
    if (!isMultiple(picker)) return field.value.trim();
    var line = currentLine(field);
    return field.value.slice(line.start, line.end).trim();
  }

  function setExpanded(picker, open) {
    var field = fieldOf(picker);
    if (field.getAttribute("role") === "combobox") field.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function close(picker) {
    var list = listOf(picker);
    list.hidden = true;
    list.textContent = "";
    setExpanded(picker, false);
    fieldOf(picker).removeAttribute("aria-activedescendant");
  }
  function show(picker, items) {
    var list = listOf(picker);
    list.textContent = "";
    if (!items.length) {
      var empty = document.createElement("li");
      empty.className = "org-empty";
      empty.textContent = "没有匹配的组织：请检查名称，或输入统一社会信用代码";
      list.appendChild(empty);
    }
    items.forEach(function (item, index) {
      var option = document.createElement("li");
      option.id = list.id + "-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.setAttribute("data-name", item.name);
      var name = document.createElement("span");
      name.className = "org-name";
      name.textContent = item.name;
      option.appendChild(name);
      if (item.detail) {
        var detail = document.createElement("small");
        detail.textContent = item.detail;
        option.appendChild(detail);
      }
      list.appendChild(option);
    });
    list.hidden = false;
    setExpanded(picker, true);
  }

  function choose(picker, name) {
    var field = fieldOf(picker);
    if (isMultiple(picker)) {
      var line = currentLine(field);
      var before = field.value.slice(0, line.start) + name;
      var rest = field.value.slice(line.end);
      field.value = before + (rest.charAt(0) === "\n" ? rest : "\n" + rest);
      field.setSelectionRange(before.length + 1, before.length + 1); // ready for the next organisation
    } else {
      field.value = name;
    }
    close(picker);
    field.focus();
  }

  function lookup(picker) {
    var q = typed(picker);
    if (!q) { close(picker); return; }
    var mine = ++sequence;
    fetch(picker.getAttribute("data-org-picker") + "?q=" + encodeURIComponent(q), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (items) {
        // Only the answer to the latest words typed is shown.
        if (items && mine === sequence && typed(picker) === q) show(picker, items);
      })
      .catch(function () { /* no suggestions; the typed name is still posted and checked */ });
  }

  document.addEventListener("input", function (event) {
    var picker = pickerOf(event.target);
    if (!picker || event.target !== fieldOf(picker)) return;
    clearTimeout(timer);
    timer = setTimeout(function () { lookup(picker); }, DELAY_MS);
  });

  document.addEventListener("keydown", function (event) {
    var picker = pickerOf(event.target);
    if (!picker || event.target !== fieldOf(picker)) return;
    var list = listOf(picker);
    if (list.hidden) return;
    var options = Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
    var current = -1;
    options.forEach(function (option, index) { if (option.getAttribute("aria-selected") === "true") current = index; });
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && options.length) {
      event.preventDefault();
      var next = event.key === "ArrowDown" ? (current + 1) % options.length : (current - 1 + options.length) % options.length;
      options.forEach(function (option, index) { option.setAttribute("aria-selected", index === next ? "true" : "false"); });
      event.target.setAttribute("aria-activedescendant", options[next].id);
      options[next].scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter" && current >= 0) {
      event.preventDefault(); // choose the highlighted organisation, don't post the form yet
      choose(picker, options[current].getAttribute("data-name"));
    } else if (event.key === "Escape" || event.key === "Tab") {
      close(picker);
    }
  });

  // Keep the focus in the field while a suggestion is pressed, so choosing it doesn't blur first.
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest && event.target.closest(".org-suggestions")) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    var option = event.target.closest ? event.target.closest(".org-suggestions [role=option]") : null;
    if (option) { choose(pickerOf(option), option.getAttribute("data-name")); return; }
    var inside = pickerOf(event.target);
    document.querySelectorAll(".org-suggestions:not([hidden])").forEach(function (list) {
      var picker = pickerOf(list);
      if (picker !== inside) close(picker);
    });
  });
})();
