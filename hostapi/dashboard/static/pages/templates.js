// #/templates — every template the caller may list (GET /template; admins also see hidden ones), with a
// search box (kept in the hash as `q`, without new history entries).

import { h, mount, setTitle } from "../ui.js";
import { allTemplates, docLink, matches, replaceQuery, tagChips, templateBadges } from "../template-list.js";

export default async function render(root, _params, ctx) {
  setTitle("Templates");
  const templates = await allTemplates(ctx.meta);
  const search = h("input", { id: "tpl-search", type: "search", value: ctx.query.get("q") || "",
    placeholder: "Name, description, tag…", autocomplete: "off", "aria-controls": "tpl-table" });
  const count = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const rows = templates.map((t) => [t, h("tr", { dataset: { name: t.name } },
    h("td", { "data-label": "Template", class: "col-title" },
      h("a", { href: `#/template/${encodeURIComponent(t.name)}` }, t.name), " ", templateBadges(t)),
    h("td", { "data-label": "Description" }, t.description, t.doc_link ? [" ", docLink(t.doc_link, "doc")] : null),
    h("td", { "data-label": "Tags" }, tagChips(t.tags) || h("span", { class: "muted" }, "—")),
    h("td", { "data-label": "Inputs" }, String((t.inputs || []).length)),
    h("td", { "data-label": "" }, t.blocked ? h("span", { class: "muted" }, "blocked")
      : h("a", { class: "btn small", href: `#/new?template=${encodeURIComponent(t.name)}`,
        "aria-label": `Create a ${t.name} task` }, "New task")))]);
  const empty = h("p", { class: "empty card", hidden: true });
  const filter = () => {
    let shown = 0;
    for (const [t, tr] of rows) {
      tr.hidden = !matches(t, search.value);
      if (!tr.hidden) shown += 1;
    }
    count.textContent = `${shown} of ${templates.length} template${templates.length === 1 ? "" : "s"}`;
    empty.hidden = shown > 0;
    empty.textContent = templates.length ? `No template matches “${search.value}”.` : "No template is available to you.";
    replaceQuery("/templates", { q: search.value });
  };
  search.addEventListener("input", filter);
  mount(root,
    h("div", { class: "page-head" }, h("h1", {}, "Templates")),
    h("div", { class: "field search" }, h("label", { for: "tpl-search" }, "Search templates"), search),
    count,
    h("div", { class: "table-wrap" }, h("table", { class: "stack", id: "tpl-table" },
      h("thead", {}, h("tr", {}, ["Template", "Description", "Tags", "Inputs", ""].map((c) =>
        h("th", { scope: "col" }, c || h("span", { class: "sr-only" }, "Actions"))))),
      h("tbody", {}, rows.map(([, tr]) => tr)))),
    empty);
  filter();
}
