// Small DOM helpers shared by every page. Text always goes through textContent (never innerHTML
// with server data), so a task title or an output cannot inject markup.

/** h("a", {href: "#/x", class: "btn", onclick: fn}, "text", child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = Array.isArray(v) ? v.filter(Boolean).join(" ") : v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (v === true) el.setAttribute(k, "");
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the content of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Task and step states (reference §3): the colour family of each.
const STATE_CLASS = {
  DONE: "ok", TODO: "idle", RUNNING: "run", BLOCKED: "warn", CANCELLED: "muted", WONTFIX: "muted",
  WAITING: "wait", PRUNE: "muted", CLIENT_ERROR: "err", SERVER_ERROR: "err", FATAL_ERROR: "err",
  TO_RETRY: "warn", AFTERRUN_ERROR: "err", EXPANDED: "idle", CRASHED: "err", BLOCKED_BADREQUEST: "err",
  BLOCKED_DEADLOCK: "err", BLOCKED_MAXRETRY: "err", BLOCKED_TOCHECK: "warn", BLOCKED_FATAL: "err",
  TO_AUTORUN: "idle", AUTORUNNING: "run", PAUSED: "warn", RETRY: "warn", ERROR: "err",
  BLOCKED_MAXRETRIES: "err", TO_AUTORUN_DELAYED: "idle", DELAYED: "idle", RETRY_NOW: "warn",
};

export function stateClass(state) {
  return STATE_CLASS[state] || "custom";
}

// Custom states (a template's own): a stable colour per name, in hues no builtin family uses (no green, blue,
// amber, red, purple or grey: a custom state must not pass for DONE, RUNNING, an error or WAITING).
const CUSTOM_COLOURS = ["#0e7c86", "#b0307a", "#6b7a12", "#8a4b14", "#2f6f7e", "#a8325e"];

export function customStateColour(state) {
  let x = 2166136261;
  for (const c of String(state)) x = Math.imul(x ^ c.codePointAt(0), 16777619) >>> 0;
  return CUSTOM_COLOURS[x % CUSTOM_COLOURS.length];
}

export function stateBadge(state) {
  const cls = stateClass(state);
  const badge = h("span", { class: `badge state-${cls}`, dataset: { state } }, state || "—");
  if (cls === "custom" && state) badge.style.background = customStateColour(state);
  return badge;
}

export function fmtDate(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 1971) return "—";
  return d.toLocaleString();
}

export function fmtRelative(value) {
  if (!value) return "";
  const d = new Date(value);
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (Number.isNaN(s)) return "";
  const abs = Math.abs(s);
  const unit = abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.round(abs / 60), "min"] : abs < 86400
    ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), "d"];
  return s >= 0 ? `${unit[0]} ${unit[1]} ago` : `in ${unit[0]} ${unit[1]}`;
}

/** Pretty JSON in a <pre>, for outputs, configurations, metadata. */
export function jsonBlock(value, attrs = {}) {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return h("pre", { class: "json", ...attrs }, text ?? "null");
}

/** "this task" → "This task". */
function capital(text) {
  return text ? `${text[0].toUpperCase()}${text.slice(1)}` : text;
}

/**
 * A clear message for an ApiError (401/403/404/lost connection/other): a human sentence, with the server's own
 * text (µTask's API errors, e.g. "sql: no rows in result set") as a small detail. A lost connection gets a
 * Retry button (it dispatches `utask:retry`: app.js renders the page again, and retries by itself too).
 */
export function errorView(err, what = "this page") {
  const status = err && err.status;
  const serverText = err && err.message ? err.message : String(err);
  let title = "Something went wrong";
  let text = serverText;
  let detail = "";
  if (status === 0) {
    title = "Connection lost — retrying…";
    text = "The server can't be reached. This page loads by itself as soon as it answers again.";
  } else if (status === 401) title = "Sign-in required";
  else if (status === 403) {
    title = "Not allowed";
    text = `You are not allowed to see ${what}.`;
    detail = serverText;
  } else if (status === 404) {
    title = "Not found";
    text = `${capital(what)} does not exist, or was deleted.`;
    detail = serverText;
  }
  const retry = status === 0 ? h("p", { class: "actions" },
    h("button", { type: "button", class: "btn primary retry",
      onclick: () => window.dispatchEvent(new CustomEvent("utask:retry")) }, "Retry"),
    h("a", { class: "btn", href: "#/tasks" }, "Back to the tasks")) : null;
  return h("section", { class: "error-view", role: "alert", dataset: { status: String(status ?? "") } },
    h("h2", {}, title), h("p", {}, text),
    detail ? h("p", { class: "error-detail" }, h("small", {}, "Details: ", h("code", {}, detail))) : null,
    retry || h("p", {}, h("a", { href: "#/tasks" }, "Back to the tasks")));
}

/** A short-lived notice at the bottom of the screen. kind: "info" | "error" */
export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const el = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

/** A labelled form field: label + control + hint + error slot (filled by showFieldError). */
export function field({ id, label, control, hint, required }) {
  control.id = id;
  const err = h("div", { class: "field-error", id: `${id}-error`, role: "alert" });
  const hintEl = hint ? h("div", { class: "hint", id: `${id}-hint` }, hint) : null;
  control.setAttribute("aria-describedby", [hintEl && `${id}-hint`, `${id}-error`].filter(Boolean).join(" "));
  return h("div", { class: "field", dataset: { field: id } },
    h("label", { for: id }, label, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    control, hintEl, err);
}

export function showFieldError(form, id, message) {
  const slot = form.querySelector(`#${CSS.escape(id)}-error`);
  const control = form.querySelector(`#${CSS.escape(id)}`);
  if (slot) slot.textContent = message || "";
  if (control) control.toggleAttribute("aria-invalid", Boolean(message));
  return Boolean(slot);
}

export function clearFieldErrors(form) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
}

let appName = "µTask";
let titleParts = [];

/** The configured application name (`application_name` of utask-cfg): the tab titles end with it. */
export function setAppName(name) {
  if (!name || name === appName) return;
  appName = name;
  document.title = [...titleParts, appName].join(" · ");
}

export function getAppName() {
  return appName;
}

export function setTitle(...parts) {
  titleParts = parts.filter(Boolean);
  document.title = [...titleParts, appName].join(" · ");
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Like h() for SVG elements (charts, graphs): attributes are set as they are, text through textContent. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** fn, called once `ms` after the last of a burst of calls; `.cancel()` drops a pending call. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** A small "done/total" progress bar (steps of a task). */
export function progressBar(done, total) {
  const d = Number(done) || 0;
  const t = Number(total) || 0;
  const pct = t > 0 ? Math.min(100, Math.round((d / t) * 100)) : 0;
  return h("span", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(t),
    "aria-valuenow": String(d), "aria-label": `${d} of ${t} steps done`, title: `${d} of ${t} steps done` },
  h("span", { class: "progress-track" }, h("span", { class: "progress-fill", style: { width: `${pct}%` } })),
  h("span", { class: "progress-text" }, `${d}/${t}`));
}
