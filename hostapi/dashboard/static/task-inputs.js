// Forms generated from input definitions (reference §2.1: type string/password/bool/number, regex,
// legal_values, collection, optional, default, hidden), for the resolver inputs of a resolution and the
// manual-input steps. The server validates: its message names the input (`Invalid input 'x': …`,
// `Missing input 'x'`), and the message goes next to that field.

import { clearFieldErrors, field, h, showFieldError } from "./ui.js";

const NAMED_INPUT = /(?:Missing input|Invalid input|Invalid value|Input) '([^']*)'/;

function text(v) {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function describe(def) {
  const parts = [];
  if (def.description) parts.push(def.description);
  if (def.collection) parts.push("one value per line");
  if (def.regex) parts.push(`must match ${def.regex}`);
  if (def.default !== null && def.default !== undefined && def.default !== "") parts.push(`default: ${text(def.default)}`);
  return parts.join(" — ");
}

function controlFor(def) {
  const type = def.type || "string";
  const dflt = def.default;
  if (def.collection) {
    const value = Array.isArray(dflt) ? dflt.map(text).join("\n") : "";
    return h("textarea", { name: def.name, rows: 3, value });
  }
  if (Array.isArray(def.legal_values) && def.legal_values.length) {
    const select = h("select", { name: def.name },
      h("option", { value: "" }, def.optional || (dflt !== null && dflt !== undefined) ? "— (none / default)" : "— choose —"),
      def.legal_values.map((v, i) => h("option", { value: String(i) }, text(v))));
    const at = def.legal_values.findIndex((v) => JSON.stringify(v) === JSON.stringify(dflt));
    if (at >= 0) select.value = String(at);
    return select;
  }
  if (type === "bool") {
    const select = h("select", { name: def.name },
      h("option", { value: "" }, "— (none / default)"), h("option", { value: "true" }, "true"),
      h("option", { value: "false" }, "false"));
    if (dflt === true || dflt === false) select.value = String(dflt);
    return select;
  }
  if (type === "number") {
    return h("input", { name: def.name, type: "number", step: "any", inputmode: "decimal", value: text(dflt) });
  }
  return h("input", { name: def.name, type: type === "password" ? "password" : "text", value: text(dflt),
    autocomplete: type === "password" ? "new-password" : "off" });
}

function parseOne(def, raw) {
  const type = def.type || "string";
  const v = raw.trim();
  if (type === "number") {
    const n = Number(v);
    return v !== "" && Number.isFinite(n) ? n : raw; // the server names a bad number
  }
  if (type === "bool") return v === "true" ? true : v === "false" ? false : raw;
  return raw;
}

/**
 * Fields for `definitions` with ids `${prefix}-${name}`. Returns {element, values(), showError(message)}:
 * values() gives the JSON map to send (empty fields left out: the server applies defaults/optional);
 * showError(message) puts a server message next to the input it names (true if one was found).
 */
export function inputFields(definitions, prefix) {
  const defs = (definitions || []).filter((d) => d && d.name);
  const controls = new Map();
  const shown = [];
  const hidden = [];
  for (const def of defs) {
    const id = `${prefix}-${def.name}`.replace(/[^A-Za-z0-9_-]/g, "_");
    const control = controlFor(def);
    const required = !def.optional && (def.default === null || def.default === undefined || def.default === "");
    if (required && !(control instanceof HTMLSelectElement)) control.required = true;
    controls.set(def.name, { def, control, id });
    const el = field({ id, label: def.name, control, hint: describe(def) || null, required });
    (def.hidden ? hidden : shown).push(el);
  }
  const element = h("div", { class: "input-fields" }, shown,
    hidden.length ? h("details", { class: "hidden-inputs" }, h("summary", {}, `${hidden.length} more input(s)`), hidden)
      : null);
  return {
    element,
    names: [...controls.keys()],
    values() {
      const out = {};
      for (const [name, { def, control }] of controls) {
        if (control instanceof HTMLSelectElement && Array.isArray(def.legal_values) && def.legal_values.length) {
          if (control.value !== "") out[name] = def.legal_values[Number(control.value)];
          continue;
        }
        const raw = control.value;
        if (raw.trim() === "") continue;
        out[name] = def.collection
          ? raw.split(/\r?\n/).filter((l) => l.trim() !== "").map((l) => parseOne(def, l))
          : parseOne(def, raw);
      }
      return out;
    },
    showError(form, message) {
      clearFieldErrors(form);
      const m = NAMED_INPUT.exec(message || "");
      const entry = m && controls.get(m[1]);
      if (!entry) return false;
      showFieldError(form, entry.id, message);
      const details = entry.control.closest("details");
      if (details) details.open = true;
      entry.control.focus();
      return true;
    },
  };
}
