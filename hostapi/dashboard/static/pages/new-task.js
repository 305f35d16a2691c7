// #/new — create a task: pick a template (searchable), then a form generated from its inputs
// (reference §2: string/password/number/bool, regex, legal_values, collection, optional, default), plus
// watchers, tags, a delay and a comment. POST /task; the server is the judge of every value: its 400
// message is shown next to the input it names, anything else in a form-level alert.

import { ApiError, get, post } from "../api.js";
import { clearFieldErrors, errorView, h, mount, setTitle, showFieldError, toast } from "../ui.js";
import { allTemplates, docLink, matches, replaceQuery, tagChips, tagText, templateBadges } from "../template-list.js";

export default async function render(root, _params, ctx) {
  const name = ctx.query.get("template");
  if (!name) return picker(root, ctx);
  return form(root, name, ctx);
}

// -- template picker ----------------------------------------------------------------------------------------

async function picker(root, ctx) {
  setTitle("New task");
  const templates = await allTemplates(ctx.meta);
  const search = h("input", { id: "pick-search", type: "search", value: ctx.query.get("q") || "",
    placeholder: "Name, description, tag…", autocomplete: "off", "aria-controls": "pick-list" });
  const count = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const list = h("ul", { class: "pick-list", id: "pick-list" });
  const items = templates.map((t) => {
    const body = [
      h("span", { class: "pick-name" }, t.name, " ", templateBadges(t)),
      h("span", { class: "pick-desc" }, t.description),
    ];
    const main = t.blocked
      ? h("div", { class: "pick-main disabled", "aria-disabled": "true", title: "Blocked: no task can be created from it" }, body)
      : h("a", { class: "pick-main", href: `#/new?template=${encodeURIComponent(t.name)}` }, body);
    const li = h("li", { class: "pick card", dataset: { name: t.name } }, main,
      h("div", { class: "pick-extra" },
        tagChips(t.tags),
        t.long_description ? h("details", {}, h("summary", {}, "More"), h("p", { class: "long-desc" }, t.long_description)) : null,
        docLink(t.doc_link),
        h("a", { href: `#/template/${encodeURIComponent(t.name)}` }, "Template details")));
    return [t, li];
  });
  const filter = () => {
    let shown = 0;
    for (const [t, li] of items) {
      const ok = matches(t, search.value);
      li.hidden = !ok;
      if (ok) shown += 1;
    }
    count.textContent = !templates.length ? "No template is available to you."
      : shown ? `${shown} template${shown === 1 ? "" : "s"}` : `No template matches “${search.value}”.`;
    replaceQuery("/new", { q: search.value });
  };
  search.addEventListener("input", filter);
  mount(list, items.map(([, li]) => li));
  mount(root,
    h("div", { class: "page-head" }, h("h1", {}, "New task")),
    h("p", {}, "Choose the template of the task."),
    h("div", { class: "field search" }, h("label", { for: "pick-search" }, "Search templates"), search),
    count, list);
  filter();
  if (window.matchMedia("(min-width: 641px)").matches) search.focus(); // no keyboard popping up on a phone
}

// -- the form -----------------------------------------------------------------------------------------------

const FAILED_PREFIX = /^Failed to create new Task: /;
const NAMED_INPUT = /(?:Missing input|Invalid input|Invalid value|Input) '([^']*)'/;

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function show(v) {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** "*" when the input must be given, "(optional)" when it may be left out; `kind` adds e.g. "a list". */
function markers(def, kind = "") {
  const required = !def.optional && (def.default === null || def.default === undefined);
  const note = [def.optional ? "optional" : "", kind].filter(Boolean).join(", ");
  return [required ? h("span", { class: "req", title: "required" }, " *") : null,
    note ? h("span", { class: "opt" }, ` (${note})`) : null];
}

function inputLabel(def, forId) {
  return h("label", { for: forId }, def.name, markers(def));
}

function hintOf(def) {
  const parts = [];
  if (def.description) parts.push(h("span", {}, def.description));
  if (def.regex) parts.push(h("span", { class: "regex" }, "Must match ", h("code", {}, def.regex)));
  if (def.default !== null && def.default !== undefined) parts.push(h("span", {}, "Default: ", h("code", {}, show(def.default))));
  return parts.length ? parts : null;
}

function fieldBox(id, def, label, control, { group = false, check = false } = {}) {
  const hint = hintOf(def);
  const hintEl = hint ? h("div", { class: "hint", id: `${id}-hint` }, hint) : null;
  const err = h("div", { class: "field-error", id: `${id}-error`, role: "alert" });
  const described = [hintEl && `${id}-hint`, `${id}-error`].filter(Boolean).join(" ");
  if (group) {
    return h("fieldset", { class: "field group", id, "aria-describedby": described, dataset: { input: def.name } },
      h("legend", {}, label), control, hintEl, err);
  }
  control.id = id;
  control.setAttribute("aria-describedby", described);
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
  return h("input", { type: t === "password" ? "password" : "text", value: value ?? "", autocomplete: t === "password" ? "new-password" : "off",
    spellcheck: "false", ...attrs });
}

/** Read one scalar control: {skip} for an empty one, {value}, or {error} (a number that is not one). */
function readScalar(def, el) {
  const t = def.type || "string";
  if (t === "bool") return { value: el.value === "true" };
  if (t === "number") {
    if (el.validity && el.validity.badInput) return { error: "Enter a number." };
    if (el.value.trim() === "") return { skip: true };
    const n = Number(el.value);
    return Number.isFinite(n) ? { value: n } : { error: "Enter a number." };
  }
  return el.value === "" ? { skip: true } : { value: el.value };
}

/** One input of the template → {el, read(), id}; `initial` (the default unless the URL gives one) fills it. */
function inputField(def, id, initial = def.default) {
  const label = (forId) => inputLabel(def, forId);
  const legal = Array.isArray(def.legal_values) && def.legal_values.length ? def.legal_values : null;
  const dflt = def.default;
  const init = initial;

  if (legal && def.collection) {
    const chosen = Array.isArray(init) ? init : [];
    const boxes = legal.map((v, k) => h("input", { type: "checkbox", id: `${id}-opt-${k}`, name: id, value: String(k),
      checked: chosen.some((c) => same(c, v)) }));
    const grid = h("div", { class: "checks" }, legal.map((v, k) =>
      h("label", { class: "check", for: `${id}-opt-${k}` }, boxes[k], show(v))));
    return {
      id,
      el: fieldBox(id, def, h("span", {}, def.name, markers(def, "choose any")), grid, { group: true }),
      read() {
        const values = legal.filter((_, k) => boxes[k].checked);
        return values.length ? { value: values } : { skip: true };
      },
    };
  }

  if (legal) {
    const sel = h("select", { name: id });
    const hasDefault = dflt !== null && dflt !== undefined;
    if (!hasDefault || def.optional) sel.append(h("option", { value: "" }, def.optional ? "— none —" : "— choose —"));
    legal.forEach((v, k) => sel.append(h("option", { value: String(k), selected: same(v, init) }, show(v))));
    return {
      id,
      el: fieldBox(id, def, label(id), sel),
      read: () => (sel.value === "" ? { skip: true } : { value: legal[Number(sel.value)] }),
    };
  }

  if (def.collection) {
    const rows = h("div", { class: "list-rows" });
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
    const renumber = () => [...rows.children].forEach((row, i) => {
      row.querySelector(".list-item").setAttribute("aria-label", `${def.name}, item ${i + 1}`);
      row.querySelector("button").setAttribute("aria-label", `Remove ${def.name} item ${i + 1}`);
    });
    const add = h("button", { type: "button", class: "btn small", id: `${id}-add` }, "+ Add an item");
    add.addEventListener("click", () => addRow(def.type === "bool" ? false : "", true));
    (Array.isArray(init) && init.length ? init : [def.type === "bool" ? false : ""]).forEach((v) => addRow(v, false));
    return {
      id,
      el: fieldBox(id, def, h("span", {}, def.name, markers(def, "a list")),
        h("div", { class: "list-editor" }, rows, add), { group: true }),
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

  if (def.type === "bool") {
    const hasDefault = dflt !== null && dflt !== undefined;
    if (def.optional && !hasDefault) {
      const sel = h("select", { name: id },
        h("option", { value: "" }, "— not set —"), h("option", { value: "true", selected: init === true }, "Yes (true)"),
        h("option", { value: "false", selected: init === false }, "No (false)"));
      return { id, el: fieldBox(id, def, label(id), sel),
        read: () => (sel.value === "" ? { skip: true } : { value: sel.value === "true" }) };
    }
    const box = h("input", { type: "checkbox", name: id, checked: init === true });
    return { id, el: fieldBox(id, def, label(id), box, { check: true }), read: () => ({ value: box.checked }) };
  }

  const ctl = scalarControl(def, init === null || init === undefined ? "" : init, { name: id });
  return { id, el: fieldBox(id, def, label(id), ctl), read: () => readScalar(def, ctl) };
}

function listOf(text) {
  const list = text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  return list.length ? list : undefined;
}

/** Key/value rows for the task's tags. */
function tagsEditor(id) {
  const rows = h("div", { class: "list-rows" });
  const add = h("button", { type: "button", class: "btn small", id: `${id}-add` }, "+ Add a tag");
  const addRow = (focus) => {
    const n = rows.children.length + 1;
    const key = h("input", { class: "tag-key", "aria-label": `Tag ${n} key`, placeholder: "key", autocomplete: "off" });
    const value = h("input", { class: "tag-value", "aria-label": `Tag ${n} value`, placeholder: "value", autocomplete: "off" });
    const remove = h("button", { type: "button", class: "btn small", "aria-label": `Remove tag ${n}` }, "Remove");
    const row = h("div", { class: "list-row" }, key, h("span", { "aria-hidden": "true" }, "="), value, remove);
    remove.addEventListener("click", () => {
      row.remove();
      add.focus();
    });
    rows.append(row);
    if (focus) key.focus();
  };
  add.addEventListener("click", () => addRow(true));
  return {
    el: h("div", { class: "list-editor", id }, rows, add),
    read() {
      const tags = {};
      for (const row of rows.children) {
        const k = row.querySelector(".tag-key").value.trim();
        const v = row.querySelector(".tag-value").value;
        if (!k && !v) continue;
        if (!k) return { error: "A tag needs a key." };
        tags[k] = v;
      }
      return Object.keys(tags).length ? { value: tags } : { skip: true };
    },
  };
}

/** `#/new?template=t&input.<name>=<value>` pre-fills an input (e.g. to re-create a task): text as it is for
 *  string/password inputs, JSON for the others (`input.replicas=3`, `input.zones=["a","b"]`). */
function prefilled(query, def) {
  const raw = query.get(`input.${def.name}`);
  if (raw === null) return def.default;
  const t = def.type || "string";
  if ((t === "string" || t === "password") && !def.collection) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return def.collection ? [raw] : raw;
  }
}

async function form(root, name, ctx) {
  setTitle("New task", name);
  let tpl;
  try {
    tpl = await get(`template/${encodeURIComponent(name)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    return mount(root, errorView(e, `the template “${name}”`),
      h("p", { class: "center" }, h("a", { href: "#/new" }, "Choose another template")));
  }
  const defs = tpl.inputs || [];
  const fields = defs.map((def, i) => inputField(def, `in-${i}`, prefilled(ctx.query, def)));
  const byName = new Map(defs.map((def, i) => [def.name, fields[i]]));
  const visible = fields.filter((_, i) => !defs[i].hidden);
  const hidden = fields.filter((_, i) => defs[i].hidden);
  const hiddenBox = hidden.length
    ? h("details", { class: "more" }, h("summary", {}, `Inputs the template hides (${hidden.length})`), hidden.map((f) => f.el))
    : null;

  const watchers = h("input", { name: "watchers", autocomplete: "off", placeholder: "alice, bob" });
  const watcherGroups = h("input", { name: "watcher_groups", autocomplete: "off" });
  const resolvers = h("input", { name: "resolvers", autocomplete: "off" });
  const tags = tagsEditor("opt-tags");
  const delay = h("input", { type: "datetime-local", name: "delay" });
  const comment = h("textarea", { name: "comment", rows: 3 });
  const simple = (id, label, control, hint) => {
    control.id = id;
    const hintEl = hint ? h("div", { class: "hint", id: `${id}-hint` }, hint) : null;
    control.setAttribute("aria-describedby", [hintEl && `${id}-hint`, `${id}-error`].filter(Boolean).join(" "));
    return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl,
      h("div", { class: "field-error", id: `${id}-error`, role: "alert" }));
  };
  const tplTags = tagText(tpl.tags);
  const options = h("details", { class: "more options" },
    h("summary", {}, "Watchers, tags, delay, comment"),
    simple("opt-watchers", "Watchers", watchers, "Usernames that may follow the task, separated by commas"),
    simple("opt-watcher-groups", "Watcher groups", watcherGroups, "Groups, separated by commas"),
    ctx.meta.user_is_admin ? simple("opt-resolvers", "Resolvers", resolvers,
      "Usernames that may run the task besides the template's resolvers (admins and template owners only)") : null,
    h("fieldset", { class: "field group", id: "opt-tags-group", "aria-describedby": "opt-tags-hint opt-tags-group-error" },
      h("legend", {}, "Tags"), tags.el,
      h("div", { class: "hint", id: "opt-tags-hint" }, tplTags.length
        ? `The template adds ${tplTags.join(", ")}; a tag of the same key given here wins.` : "Key/value labels to find the task later."),
      h("div", { class: "field-error", id: "opt-tags-group-error", role: "alert" })),
    simple("opt-delay", "Start after", delay, "Leave empty to start at once. Delays the automatic run until then."),
    simple("opt-comment", "Comment", comment, "Added to the task as its first comment (3 characters at least)"));

  const alert = h("div", { class: "form-alert", role: "alert", id: "form-alert", tabindex: "-1" });
  const submit = h("button", { type: "submit", class: "btn primary", disabled: Boolean(tpl.blocked) }, "Create the task");
  const formEl = h("form", { class: "card task-form", novalidate: true, "aria-labelledby": "new-title" },
    tpl.blocked ? h("p", { class: "form-alert static", role: "note" },
      "This template is blocked: no task can be created from it.") : null,
    alert,
    defs.length ? h("h2", {}, "Inputs") : h("p", { class: "muted" }, "This template has no input."),
    visible.map((f) => f.el),
    hiddenBox,
    options,
    h("div", { class: "actions form-actions" }, submit, h("a", { class: "btn", href: "#/new" }, "Choose another template")));

  mount(root,
    h("div", { class: "page-head" },
      h("h1", { id: "new-title" }, "New task: ", h("span", { class: "tpl-name" }, tpl.name)), templateBadges(tpl)),
    h("div", { class: "tpl-intro" },
      h("p", {}, tpl.description),
      tpl.long_description ? h("details", {}, h("summary", {}, "More about this template"),
        h("p", { class: "long-desc" }, tpl.long_description)) : null,
      h("p", { class: "actions" }, docLink(tpl.doc_link),
        h("a", { href: `#/template/${encodeURIComponent(tpl.name)}` }, "Template details"))),
    formEl);

  const fail = (fieldId, message, container) => {
    if (container && !container.open) container.open = true;
    showFieldError(formEl, fieldId, message);
  };
  const focusFirstError = () => {
    const bad = formEl.querySelector("[aria-invalid]");
    if (!bad) return;
    const details = bad.closest("details");
    if (details) details.open = true;
    (bad.matches("fieldset") ? bad.querySelector("input, select, textarea, button") : bad).focus();
  };

  formEl.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    clearFieldErrors(formEl);
    alert.textContent = "";
    const input = {};
    let invalid = false;
    defs.forEach((def, i) => {
      const r = fields[i].read();
      if (r.error) {
        invalid = true;
        fail(fields[i].id, r.error, def.hidden ? hiddenBox : null);
      } else if (!r.skip) input[def.name] = r.value;
    });
    const body = { template_name: tpl.name, input };
    const w = listOf(watchers.value);
    if (w) body.watcher_usernames = w;
    const wg = listOf(watcherGroups.value);
    if (wg) body.watcher_groups = wg;
    const rs = ctx.meta.user_is_admin ? listOf(resolvers.value) : undefined;
    if (rs) body.resolver_usernames = rs;
    const t = tags.read();
    if (t.error) {
      invalid = true;
      fail("opt-tags-group", t.error, options);
    } else if (!t.skip) body.tags = t.value;
    if (delay.value) {
      const secs = Math.round((new Date(delay.value).getTime() - Date.now()) / 1000);
      if (!Number.isFinite(secs) || secs <= 0) {
        invalid = true;
        fail("opt-delay", "Choose a time in the future (or leave it empty to start at once).", options);
      } else body.delay = `${secs}s`;
    }
    if (comment.value.trim()) body.comment = comment.value;
    if (invalid) {
      alert.textContent = "The task was not created: check the fields marked below.";
      return focusFirstError();
    }
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    try {
      const task = await post("task", body);
      toast(`Task created: ${task.title || task.id}`);
      ctx.navigate(`#/task/${encodeURIComponent(task.id)}`);
    } catch (e) {
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
      if (e instanceof ApiError && e.status === 401) return;
      const message = e.message || String(e);
      const m = message.match(NAMED_INPUT);
      const target = m && byName.get(m[1]);
      if (target) {
        const def = defs[fields.indexOf(target)];
        fail(target.id, message.replace(FAILED_PREFIX, ""), def.hidden ? hiddenBox : null);
        alert.textContent = "The task was not created: the server refused a value (see below).";
        return focusFirstError();
      }
      if (/^delay\b/.test(message)) fail("opt-delay", message, options);
      else if (/^Failed to create comment/.test(message)) fail("opt-comment", message, options);
      else if (/^tag\b/.test(message)) fail("opt-tags-group", message, options);
      else if (/resolver_usernames/.test(message)) fail("opt-resolvers", message, options);
      alert.textContent = `The task was not created: ${message}`;
      if (formEl.querySelector("[aria-invalid]")) focusFirstError();
      else alert.focus();
    }
  });

  const first = formEl.querySelector("input:not([type=hidden]), select, textarea");
  if (first && !tpl.blocked && window.matchMedia("(min-width: 641px)").matches) first.focus();
}
