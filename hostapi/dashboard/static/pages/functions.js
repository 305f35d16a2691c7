// #/functions — the functions (reusable actions, reference §1.5) from GET /function, each with its action,
// pre-hook, arguments (`{{ .function_args.x }}` in the configuration), custom states and full JSON.
// `#/functions?name=<n>` opens one; the search box filters by name or action type.

import { get } from "../api.js";
import { h, jsonBlock, mount, setTitle } from "../ui.js";
import { replaceQuery } from "../template-list.js";

const PAGE = 1000;
const ARG = /\{\{\s*\.function_args\.([A-Za-z][A-Za-z0-9_.]*)\s*\}\}/g;

function argsOf(value, out = new Set()) {
  if (typeof value === "string") for (const m of value.matchAll(ARG)) out.add(m[1]);
  else if (Array.isArray(value)) value.forEach((v) => argsOf(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => argsOf(v, out));
  return out;
}

async function allFunctions() {
  const list = [];
  let last;
  for (let i = 0; i < 50; i += 1) {
    const page = (await get("function", { query: { page_size: PAGE, last } })) || [];
    list.push(...page);
    if (page.length < PAGE) break;
    last = page[page.length - 1].name;
  }
  return list;
}

export default async function render(root, _params, ctx) {
  setTitle("Functions");
  const fns = await allFunctions();
  const open = ctx.query.get("name") || "";
  const search = h("input", { id: "fn-search", type: "search", value: ctx.query.get("q") || "",
    placeholder: "Name or action type…", autocomplete: "off", "aria-controls": "fn-list" });
  const count = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const items = fns.map((fn) => {
    const type = fn.action && fn.action.type;
    const args = [...argsOf(fn.action && fn.action.configuration)];
    const details = h("details", { class: "fn card", dataset: { name: fn.name }, open: fn.name === open },
      h("summary", {}, h("code", { class: "fn-name" }, fn.name), " ",
        h("span", { class: "muted" }, `→ ${type || "?"}`)),
      h("dl", { class: "facts" },
        h("dt", {}, "Action"), h("dd", {}, h("code", {}, type || "?")),
        h("dt", {}, "Pre-hook"), h("dd", {}, fn.pre_hook ? h("code", {}, fn.pre_hook.type) : h("span", { class: "muted" }, "none")),
        h("dt", {}, "Arguments"), h("dd", {}, args.length
          ? h("span", { class: "tags" }, args.map((a) => h("code", { class: "tag" }, a))) : h("span", { class: "muted" }, "none")),
        h("dt", {}, "Custom states"), h("dd", {}, (fn.custom_states || []).length
          ? h("span", { class: "tags" }, fn.custom_states.map((s) => h("span", { class: "tag" }, s))) : h("span", { class: "muted" }, "none")),
        h("dt", {}, "Conditions"), h("dd", {}, String((fn.conditions || []).length))),
      h("p", { class: "hint" }, "A step uses it with ", h("code", {}, `action: {type: ${fn.name}, configuration: {…}}`),
        args.length ? `; its configuration must give ${args.join(", ")}.` : "."),
      jsonBlock(fn));
    details.addEventListener("toggle", () => {
      if (details.open) replaceQuery("/functions", { q: search.value, name: fn.name });
    });
    return [fn, details];
  });
  const empty = h("p", { class: "empty card", hidden: true });
  const filter = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const [fn, el] of items) {
      const text = `${fn.name} ${fn.action && fn.action.type} ${(fn.custom_states || []).join(" ")}`.toLowerCase();
      el.hidden = !words.every((w) => text.includes(w));
      if (!el.hidden) shown += 1;
    }
    count.textContent = `${shown} of ${fns.length} function${fns.length === 1 ? "" : "s"}`;
    empty.hidden = shown > 0;
    empty.textContent = fns.length ? `No function matches “${search.value}”.`
      : "No function is loaded (they are read at startup from the functions directory).";
    replaceQuery("/functions", { q: search.value, name: open });
  };
  search.addEventListener("input", filter);
  mount(root,
    h("div", { class: "page-head" }, h("h1", {}, "Functions")),
    h("p", { class: "muted" }, "Reusable actions: a step whose action type is a function's name runs that function."),
    h("div", { class: "field search" }, h("label", { for: "fn-search" }, "Search functions"), search),
    count,
    h("div", { id: "fn-list", class: "fn-list" }, items.map(([, el]) => el)),
    empty);
  filter();
  const opened = items.find(([fn]) => fn.name === open);
  if (opened) opened[1].scrollIntoView({ block: "start" });
}
