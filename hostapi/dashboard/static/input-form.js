// Forms generated from µTask input definitions (reference §2: {name, description, regex, legal_values,
// collection, type: string|password|number|bool, optional, default}, plus `hidden`), for every form that asks
// for them: the inputs of a new task, the resolver inputs of a resolution (or of a start over), the answer to
// a waiting `input` step. This module builds the controls, reads them back as the JSON map to send (numbers
// as JSON numbers, booleans as booleans, lists as arrays, empty fields left out so the server applies
// defaults). Before anything is sent, it marks every problem the browser can see — each required input left
// empty, each number that is not one, each text with a double quote where the server refuses it — all at once,
// in the server's words (core/templates/inputs.py); the server judges the rest (regexes…) and its 400 message
// goes next to the input it names.

import { h, showFieldError } from "./ui.js";

const NAMED_INPUT = /(?:Missing input|Invalid input|Invalid value|Input) '([^']*)'/;

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function show(v) {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function hasValue(v) {
  return v !== null && v !== undefined;
}

function legalValues(def) {
  return Array.isArray(def.legal_values) && def.legal_values.length ? def.legal_values : null;
}

function isRequired(def) {
  return !def.optional && !hasValue(def.default);
}

/** " *" when the input must be given, "(optional)" when it may be left out; `kind` adds e.g. "a list". A
 *  single control says "required" itself (aria-required); a group gets it spelled out for screen readers. */
function markers(def, kind = "", group = false) {
  const note = [def.optional ? "optional" : "", kind].filter(Boolean).join(", ");
  return [isRequired(def) ? h("span", { class: "req", title: "required", "aria-hidden": "true" }, " *") : null,
    isRequired(def) && group ? h("span", { class: "sr-only" }, " (required)") : null,
    note ? h("span", { class: "opt" }, ` (${note})`) : null];
}

function hintOf(def) {
  const parts = [];
  if (def.description) parts.push(h("span", {}, def.description));
  if (def.regex) parts.push(h("span", { class: "regex" }, "Must match ", h("code", {}, def.regex)));
  if (hasValue(def.default)) parts.push(h("span", {}, "Default: ", h("code", {}, show(def.default))));
  return parts.length ? parts : null;
}

/** The box of one input: label (or legend of a group), control, hint and error slot, tied by ids. */
function fieldBox(id, def, control, { group = false, check = false, kind = "" } = {}) {
  const hint = hintOf(def);
  const hintEl = hint ? h("div", { class: "hint", id: `${id}-hint` }, hint) : null;
  const err = h("div", { class: "field-error", id: `${id}-error`, role: "alert" });
  const described = [hintEl && `${id}-hint`, `${id}-error`].filter(Boolean).join(" ");
  if (group) {
    return h("fieldset", { class: "field group", id, "aria-describedby": described, dataset: { input: def.name } },
      h("legend", {}, def.name, markers(def, kind, true)), control, hintEl, err);
  }
  const label = h("label", { for: id }, def.name, markers(def));
  control.id = id;
  control.setAttribute("aria-describedby", described);
  if (isRequired(def) && !check) control.setAttribute("aria-required", "true");
  if (check) {
    return h("div", { class: "field field-check", dataset: { input: def.name } },
      h("div", { class: "check-row" }, control, label), hintEl, err);
  }
  return h("div", { class: "field", dataset: { input: def.name } }, label, control, hintEl, err);
}

/** A single value control (also a row of a list editor). */
function scalarControl(def, value, attrs = {}) {
  const t = def.type || "string";
  if (t === "bool") {
    return h("select", attrs,
      h("option", { value: "true", selected: value === true }, "true"),
      h("option", { value: "false", selected: value !== true }, "false"));
  }
  if (t === "number") {
    return h("input", { type: "number", step: "any", inputmode: "decimal", value: value ?? "", ...attrs });
  }
  return h("input", { type: t === "password" ? "password" : "text", value: value ?? "",
    autocomplete: t === "password" ? "new-password" : "off", spellcheck: "false", ...attrs });
}

/** Read one scalar control: {skip} for an empty one, {value}, or {error} (what the server would answer). */
function readScalar(def, el) {
  const t = def.type || "string";
  if (t === "bool") return { value: el.value === "true" };
  const notNumber = { error: `Invalid value '${def.name}': expected a number` };
  if (t === "number") {
    if (el.validity && el.validity.badInput) return notNumber;
    if (el.value.trim() === "") return { skip: true };
    const n = Number(el.value);
    return Number.isFinite(n) ? { value: n } : notNumber;
  }
  if (el.value === "") return { skip: true };
  // µTask's check of a free text (no legal values, no regex): no double quote.
  if (def.regex === undefined || def.regex === null) {
    if (el.value.includes('"')) return { error: `Invalid input '${def.name}': cannot contain double quotes` };
  }
  return { value: el.value };
}

/** A list editor (a collection without legal values): one control per item, add and remove buttons. */
function listEditor(def, id, init) {
  const empty = def.type === "bool" ? false : "";
  const rows = h("div", { class: "list-rows" });
  const add = h("button", { type: "button", class: "btn small", id: `${id}-add` }, "+ Add an item");
  const renumber = () => [...rows.children].forEach((row, i) => {
    row.querySelector(".list-item").setAttribute("aria-label", `${def.name}, item ${i + 1}`);
    row.querySelector("button").setAttribute("aria-label", `Remove ${def.name} item ${i + 1}`);
  });
  const addRow = (value, focus) => {
    const n = rows.children.length + 1;
    const ctl = scalarControl(def, value, { "aria-label": `${def.name}, item ${n}`, class: "list-item" });
    const remove = h("button", { type: "button", class: "btn small", "aria-label": `Remove ${def.name} item ${n}` }, "Remove");
    const row = h("div", { class: "list-row" }, ctl, remove);
    remove.addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      (next ? next.querySelector(".list-item") : add).focus();
    });
    rows.append(row);
    if (focus) ctl.focus();
  };
  add.addEventListener("click", () => addRow(empty, true));
  (Array.isArray(init) && init.length ? init : [empty]).forEach((v) => addRow(v, false));
  return {
    el: fieldBox(id, def, h("div", { class: "list-editor" }, rows, add), { group: true, kind: "a list" }),
    read() {
      const values = [];
      for (const ctl of rows.querySelectorAll(".list-item")) {
        const r = readScalar(def, ctl);
        if (r.error) return r;
        if (!r.skip) values.push(r.value);
      }
      return values.length ? { value: values } : { skip: true };
    },
  };
}

/** One input → {el, read()}; `init` (its default, unless the page gives another value) fills it. read()
 *  gives {value}, {skip} (left empty: not sent) or {error} (a message for the field). */
function inputField(def, id, init) {
  const legal = legalValues(def);

  if (legal && def.collection) { // choose any: checkboxes
    const chosen = Array.isArray(init) ? init : [];
    const boxes = legal.map((v, k) => h("input", { type: "checkbox", id: `${id}-opt-${k}`, name: id, value: String(k),
      checked: chosen.some((c) => same(c, v)) }));
    const grid = h("div", { class: "checks" }, legal.map((v, k) =>
      h("label", { class: "check", for: `${id}-opt-${k}` }, boxes[k], show(v))));
    return {
      el: fieldBox(id, def, grid, { group: true, kind: "choose any" }),
      read() {
        const values = legal.filter((_, k) => boxes[k].checked);
        return values.length ? { value: values } : { skip: true };
      },
    };
  }

  if (legal) { // choose one: a select, with an empty choice unless a default stands for it
    const sel = h("select", { name: id });
    if (!hasValue(def.default) || def.optional) sel.append(h("option", { value: "" }, def.optional ? "— none —" : "— choose —"));
    legal.forEach((v, k) => sel.append(h("option", { value: String(k), selected: same(v, init) }, show(v))));
    return { el: fieldBox(id, def, sel), read: () => (sel.value === "" ? { skip: true } : { value: legal[Number(sel.value)] }) };
  }

  if (def.collection) return listEditor(def, id, init);

  if (def.type === "bool") {
    if (def.optional && !hasValue(def.default)) { // three states: unset is not false
      const sel = h("select", { name: id },
        h("option", { value: "" }, "— not set —"), h("option", { value: "true", selected: init === true }, "Yes (true)"),
        h("option", { value: "false", selected: init === false }, "No (false)"));
      return { el: fieldBox(id, def, sel), read: () => (sel.value === "" ? { skip: true } : { value: sel.value === "true" }) };
    }
    const box = h("input", { type: "checkbox", name: id, checked: init === true });
    return { el: fieldBox(id, def, box, { check: true }), read: () => ({ value: box.checked }) };
  }

  const ctl = scalarControl(def, hasValue(init) ? init : "", { name: id });
  return { el: fieldBox(id, def, ctl), read: () => readScalar(def, ctl) };
}

/** What the server would refuse in what `read()` gave: a required input left out (no default, not optional). */
function checked(def, r) {
  if (r.skip && isRequired(def)) return { error: `Missing input '${def.name}'` };
  return r;
}

/** Every id a field of `def` gives to its elements, when its own id is `id`. */
function idsOf(def, id) {
  return [id, `${id}-hint`, `${id}-error`, `${id}-add`, ...(legalValues(def) || []).map((_, k) => `${id}-opt-${k}`)];
}

/** `wanted` made a valid id, with a suffix when it (or an id derived from it) is taken in this form. */
function uniqueId(wanted, def, taken) {
  const base = String(wanted).replace(/[^A-Za-z0-9_-]/g, "_");
  let id = base;
  for (let n = 2; idsOf(def, id).some((x) => taken.has(x)); n += 1) id = `${base}-${n}`;
  idsOf(def, id).forEach((x) => taken.add(x));
  return id;
}

/** Focus the first field marked invalid in `container` (a fieldset: its first control), opening the
 *  <details> around it. True if there was one. */
export function focusFirstError(container) {
  const bad = container.querySelector("[aria-invalid]");
  if (!bad) return false;
  const details = bad.closest("details");
  if (details) details.open = true;
  (bad.matches("fieldset") ? bad.querySelector("input, select, textarea, button") : bad).focus();
  return true;
}

/**
 * The fields of `definitions`. Options: `prefix` (ids are `${prefix}-${name}`) or `idOf(def, index)`;
 * `initial(def)`, the value to show first (the default by default). Ids are unique within the form.
 * Returns {element, read(), showError(message)}:
 *  - read() → {values, ok}: the map to send; it clears the previous marks of these fields, marks every field
 *    the server would refuse for a reason the browser sees (required and empty, not a number, a double quote
 *    in a free text), focuses the first one and gives ok: false;
 *  - showError(message) puts a server message next to the input it names (opening the hidden inputs if it
 *    is one of them) and focuses it: true if it named one, false to show the message elsewhere.
 */
export function inputForm(definitions, { prefix = "in", idOf = null, initial = (def) => def.default } = {}) {
  const defs = (definitions || []).filter((d) => d && d.name);
  const taken = new Set();
  const fields = defs.map((def, i) => {
    const id = uniqueId(idOf ? idOf(def, i) : `${prefix}-${def.name}`, def, taken);
    return { def, id, ...inputField(def, id, initial(def)) };
  });
  const byName = new Map(fields.map((f) => [f.def.name, f]));
  const hidden = fields.filter((f) => f.def.hidden);
  const more = hidden.length
    ? h("details", { class: "more" }, h("summary", {}, `Inputs the template hides (${hidden.length})`), hidden.map((f) => f.el))
    : null;
  const element = h("div", { class: "input-fields" }, fields.filter((f) => !f.def.hidden).map((f) => f.el), more);
  const mark = (f, message) => {
    if (message && more && f.def.hidden) more.open = true;
    showFieldError(element, f.id, message);
  };
  return {
    element,
    read() {
      const values = {};
      let ok = true;
      for (const f of fields) {
        mark(f, "");
        const r = checked(f.def, f.read());
        if (r.error) {
          ok = false;
          mark(f, r.error);
        } else if (!r.skip) values[f.def.name] = r.value;
      }
      if (!ok) focusFirstError(element);
      return { values, ok };
    },
    showError(message) {
      const m = NAMED_INPUT.exec(message || "");
      const f = m && byName.get(m[1]);
      if (!f) return false;
      mark(f, message.slice(m.index)); // "Failed to create …: " says nothing more next to the field
      focusFirstError(element);
      return true;
    },
  };
}

/**
 * Submit `form` (built around `fields`, an inputForm) with `send(values)`: every problem the browser sees is
 * marked first and nothing is sent; the server's refusal goes next to the input it names, else in
 * `formError` (a 403 also as a toast, via `onRefused`). `submit` is disabled while sending.
 */
export function submitInputs(form, fields, formError, submit, send, onRefused = null) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formError.textContent = "";
    const { values, ok } = fields.read();
    if (!ok) {
      formError.textContent = "Nothing was sent: check the fields marked above.";
      return;
    }
    submit.disabled = true;
    try {
      await send(values);
    } catch (e) {
      if (e.status === 401) return;
      if (!fields.showError(e.message)) formError.textContent = e.message;
      if (onRefused) onRefused(e);
    } finally {
      submit.disabled = false;
    }
  });
}
