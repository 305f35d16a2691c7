// #/template/<name> — one template in full (GET /template/:name): descriptions, inputs, resolver inputs,
// variables, who may resolve, its steps as a graph and a table, and a button to create a task from it.

import { ApiError, get } from "../api.js";
import { errorView, h, jsonBlock, mount, setTitle } from "../ui.js";
import { docLink, tagChips, templateBadges } from "../template-list.js";
import { fitScale, renderGraph, setScale, setSelected } from "../graph.js";

function show(v) {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function none(text = "—") {
  return h("span", { class: "muted" }, text);
}

/** "required", "optional", "default `EUR`" or "optional, default `EUR`": an input with a default need not be given. */
function requirement(d) {
  const hasDefault = d.default !== null && d.default !== undefined;
  if (!hasDefault) return d.optional ? "optional" : h("strong", {}, "required");
  return [d.optional ? "optional, default " : "default ", h("code", {}, show(d.default))];
}

function inputsTable(defs, caption) {
  if (!defs || !defs.length) return h("p", { class: "muted" }, `No ${caption.toLowerCase()}.`);
  return h("div", { class: "table-wrap" }, h("table", { class: "stack inputs-table" },
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, ["Name", "Type", "Description", "Required / default", "Legal values", "Regex"]
      .map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, defs.map((d) => h("tr", { dataset: { input: d.name } },
      h("td", { "data-label": "Name", class: "col-title" }, h("code", {}, d.name), d.hidden ? [" ", h("span", { class: "badge state-muted" }, "hidden")] : null),
      h("td", { "data-label": "Type" }, (d.type || "string") + (d.collection ? " list" : "")),
      h("td", { "data-label": "Description" }, d.description || none()),
      h("td", { "data-label": "Required", class: "col-required" }, requirement(d)),
      h("td", { "data-label": "Legal values" }, d.legal_values && d.legal_values.length
        ? h("span", { class: "tags" }, d.legal_values.map((v) => h("code", { class: "tag" }, show(v)))) : none()),
      h("td", { "data-label": "Regex" }, d.regex ? h("code", { class: "regex" }, d.regex) : none()))))));
}

function stepsTable(steps) {
  const names = Object.keys(steps || {}).sort();
  return h("div", { class: "table-wrap" }, h("table", { class: "stack steps-table" },
    h("caption", { class: "sr-only" }, "Steps"),
    h("thead", {}, h("tr", {}, ["Step", "Action", "Depends on", "Description"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, names.map((n) => {
      const s = steps[n] || {};
      const extras = [
        s.foreach ? `foreach (${s.foreach_strategy || "parallel"})` : "",
        (s.conditions || []).length ? `${s.conditions.length} condition${s.conditions.length > 1 ? "s" : ""}` : "",
        s.pre_hook ? `pre-hook ${s.pre_hook.type}` : "",
        s.idempotent ? "idempotent" : "",
        (s.custom_states || []).length ? `custom states ${s.custom_states.join(", ")}` : "",
      ].filter(Boolean);
      return h("tr", { dataset: { step: n } },
        h("td", { "data-label": "Step", class: "col-title" }, h("code", {}, n)),
        h("td", { "data-label": "Action" }, h("code", {}, (s.action && s.action.type) || "?"),
          s.action && s.action.base_configuration ? [" (", s.action.base_configuration, ")"] : null),
        h("td", { "data-label": "Depends on" }, (s.dependencies || []).length
          ? h("span", { class: "tags" }, s.dependencies.map((d) => {
            const [step, states] = String(d).split(/:(.*)/s);
            return h("span", { class: "tag" }, step, states ? h("span", { class: "muted" }, `:${states}`) : null);
          })) : none("nothing")),
        h("td", { "data-label": "Description" }, s.description || none(), extras.length
          ? h("div", { class: "hint" }, extras.join(" · ")) : null));
    }))));
}

function people(users, groups, onlyAdmins = true) {
  const list = [...(users || []).map((u) => h("span", { class: "tag" }, u)),
    ...(groups || []).map((g) => h("span", { class: "tag group" }, `group ${g}`))];
  if (list.length) return h("span", { class: "tags" }, list);
  return none(onlyAdmins ? "nobody besides the administrators" : "the administrators");
}

export default async function render(root, params) {
  const name = params.name;
  setTitle(name, "Template");
  let tpl;
  try {
    tpl = await get(`template/${encodeURIComponent(name)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    return mount(root, errorView(e, `the template “${name}”`),
      h("p", { class: "center" }, h("a", { href: "#/templates" }, "All templates")));
  }
  const create = tpl.blocked
    ? h("span", { class: "btn", "aria-disabled": "true", title: "This template is blocked" }, "Create a task")
    : h("a", { class: "btn primary", href: `#/new?template=${encodeURIComponent(tpl.name)}`, id: "create-task" }, "Create a task");
  const steps = tpl.steps || {};
  const vars = tpl.variables || [];
  const table = stepsTable(steps);
  // The task page's graph (graph.js), without states: a node selects its row in the table below.
  const select = (n) => {
    setSelected(graph, n);
    for (const tr of table.querySelectorAll("tr[data-step]")) tr.classList.toggle("selected", tr.dataset.step === n);
    const row = table.querySelector(`tr[data-step="${CSS.escape(n)}"]`);
    if (row) row.scrollIntoView({ block: "nearest" });
  };
  const names = Object.keys(steps).sort();
  const graph = names.length ? renderGraph(names.map((n) => ({ name: n, dependencies: steps[n].dependencies || [],
    type: steps[n].action && steps[n].action.type, description: steps[n].description })), { onSelect: select }) : null;
  const graphBox = graph ? h("figure", { class: "tpl-graph" },
    h("div", { class: "graph-wrap" }, graph),
    h("figcaption", { class: "hint" }, "Each step is drawn after the steps it depends on (a label on an arrow names the "
      + "states it waits for; without one, DONE). Select a step to find it in the table.")) : h("p", { class: "muted" }, "No step.");
  const dl = (pairs) => h("dl", { class: "facts" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

  mount(root,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/templates" }, "Templates"), " / ", tpl.name),
    h("div", { class: "page-head" }, h("h1", {}, tpl.name), templateBadges(tpl), h("span", { class: "spacer" }), create),
    h("p", { class: "lead" }, tpl.description),
    tpl.long_description ? h("p", { class: "long-desc" }, tpl.long_description) : null,
    tpl.doc_link ? h("p", {}, docLink(tpl.doc_link) || h("span", {}, "Documentation: ", h("code", {}, tpl.doc_link))) : null,
    h("section", { class: "card" },
      dl([
        tpl.title_format ? ["Task title", h("code", {}, tpl.title_format)] : null,
        ["Resolvers", [people(tpl.allowed_resolver_usernames, tpl.allowed_resolver_groups, !tpl.allow_all_resolver_usernames),
          tpl.allow_all_resolver_usernames ? h("span", {}, " — and every requester may run their own task") : null]],
        ["Runs", tpl.auto_runnable && !(tpl.resolver_inputs || []).length
          ? (tpl.allow_all_resolver_usernames ? "at creation, whoever creates it" : "at creation, when a resolver or an administrator creates it")
          : "when a resolver starts it"],
        ["Runs at most", `${tpl.retry_max ?? 100} times`],
        ["Start over", tpl.allow_task_start_over ? "allowed to resolvers" : "administrators only"],
        tpl.tags ? ["Tags given to tasks", tagChips(tpl.tags)] : null,
      ])),
    h("h2", {}, "Inputs"), inputsTable(tpl.inputs, "Inputs"),
    h("h2", {}, "Resolver inputs"), inputsTable(tpl.resolver_inputs, "Resolver inputs"),
    h("h2", {}, "Variables"), vars.length
      ? h("ul", { class: "tags var-list" }, vars.map((v) => h("li", { class: "tag" }, h("code", {}, v.name),
        h("span", { class: "muted" }, v.expression ? " (expression)" : " (value)"))))
      : h("p", { class: "muted" }, "No variable."),
    h("h2", {}, `Steps (${Object.keys(steps).length})`),
    graphBox,
    table,
    tpl.result_format ? [h("h2", {}, "Result"), h("p", { class: "hint" }, "What a task gives back once DONE (before templating):"),
      jsonBlock(tpl.result_format)] : null);
  if (graph) {
    const wrap = graphBox.querySelector(".graph-wrap");
    const fit = fitScale(graph, wrap.clientWidth);
    if (fit < 1) setScale(graph, Math.max(0.6, fit));
  }
}
