// #/new — create a task: pick a template (searchable), then a form generated from its inputs (input-form.js:
// string/password/number/bool, regex, legal_values, collection, optional, default; pre-filled from the URL),
// plus watchers, tags, a delay and a comment. POST /task; the server is the judge of every value: its 400
// message is shown next to the input it names, anything else in a form-level alert.

import { ApiError, get, post } from "../api.js";
import { focusFirstError, inputForm } from "../input-form.js";
import { clearFieldErrors, errorView, field, h, mount, setTitle, showFieldError, toast } from "../ui.js";
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
  const fields = inputForm(defs, { idOf: (_, i) => `in-${i}`, initial: (def) => prefilled(ctx.query, def) });

  const watchers = h("input", { name: "watchers", autocomplete: "off", placeholder: "alice, bob" });
  const watcherGroups = h("input", { name: "watcher_groups", autocomplete: "off" });
  const resolvers = h("input", { name: "resolvers", autocomplete: "off" });
  const tags = tagsEditor("opt-tags");
  const delay = h("input", { type: "datetime-local", name: "delay" });
  const comment = h("textarea", { name: "comment", rows: 3 });
  const tplTags = tagText(tpl.tags);
  const options = h("details", { class: "more options" },
    h("summary", {}, "Watchers, tags, delay, comment"),
    field({ id: "opt-watchers", label: "Watchers", control: watchers,
      hint: "Usernames that may follow the task, separated by commas" }),
    field({ id: "opt-watcher-groups", label: "Watcher groups", control: watcherGroups, hint: "Groups, separated by commas" }),
    ctx.meta.user_is_admin ? field({ id: "opt-resolvers", label: "Resolvers", control: resolvers,
      hint: "Usernames that may run the task besides the template's resolvers (admins and template owners only)" }) : null,
    h("fieldset", { class: "field group", id: "opt-tags-group", "aria-describedby": "opt-tags-hint opt-tags-group-error" },
      h("legend", {}, "Tags"), tags.el,
      h("div", { class: "hint", id: "opt-tags-hint" }, tplTags.length
        ? `The template adds ${tplTags.join(", ")}; a tag of the same key given here wins.` : "Key/value labels to find the task later."),
      h("div", { class: "field-error", id: "opt-tags-group-error", role: "alert" })),
    field({ id: "opt-delay", label: "Start after", control: delay,
      hint: "Leave empty to start at once. Delays the automatic run until then." }),
    field({ id: "opt-comment", label: "Comment", control: comment,
      hint: "Added to the task as its first comment (3 characters at least)" }));

  const alert = h("div", { class: "form-alert", role: "alert", id: "form-alert", tabindex: "-1" });
  const submit = h("button", { type: "submit", class: "btn primary", disabled: Boolean(tpl.blocked) }, "Create the task");
  const formEl = h("form", { class: "card task-form", novalidate: true, "aria-labelledby": "new-title" },
    tpl.blocked ? h("p", { class: "form-alert static", role: "note" },
      "This template is blocked: no task can be created from it.") : null,
    alert,
    defs.length ? h("h2", {}, "Inputs") : h("p", { class: "muted" }, "This template has no input."),
    fields.element,
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

  const fail = (fieldId, message) => {
    options.open = true;
    showFieldError(formEl, fieldId, message);
  };

  formEl.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    clearFieldErrors(formEl);
    alert.textContent = "";
    const { values: input, ok } = fields.read();
    let invalid = !ok;
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
      fail("opt-tags-group", t.error);
    } else if (!t.skip) body.tags = t.value;
    if (delay.value) {
      const secs = Math.round((new Date(delay.value).getTime() - Date.now()) / 1000);
      if (!Number.isFinite(secs) || secs <= 0) {
        invalid = true;
        fail("opt-delay", "Choose a time in the future (or leave it empty to start at once).");
      } else body.delay = `${secs}s`;
    }
    if (comment.value.trim()) body.comment = comment.value;
    if (invalid) {
      alert.textContent = "The task was not created: check the fields marked below.";
      return focusFirstError(formEl);
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
      if (fields.showError(message)) {
        alert.textContent = "The task was not created: the server refused a value (see below).";
        return;
      }
      if (/^delay\b/.test(message)) fail("opt-delay", message);
      else if (/^Failed to create comment/.test(message)) fail("opt-comment", message);
      else if (/^tag\b/.test(message)) fail("opt-tags-group", message);
      else if (/resolver_usernames/.test(message)) fail("opt-resolvers", message);
      alert.textContent = `The task was not created: ${message}`;
      if (!focusFirstError(formEl)) alert.focus();
    }
  });

  const first = formEl.querySelector("input:not([type=hidden]), select, textarea");
  if (first && !tpl.blocked && window.matchMedia("(min-width: 641px)").matches) first.focus();
}
