// The step panel of the task page: everything GET /resolution/:id says about one step (configuration,
// output, metadata, error, logs, state, tries, last run, children…), and the admin's "edit step state" control.

import { put } from "./api.js";
import { parseDependency, stateColours } from "./graph.js";
import { fmtDate, fmtRelative, h, jsonBlock, stateBadge, toast } from "./ui.js";

// The states a person sets on a step of a PAUSED resolution (PUT /resolution/:id/step/:name/state, reference
// §5.2), plus the step's custom states. The route also takes every other builtin name, but those are the
// engine's own bookkeeping or no state at all: ANY (a dependency wildcard), EXPANDED (a foreach parent with
// children), RETRY_NOW (within a run), AFTERRUN_ERROR (a failed check), RUNNING and CRASHED (an execution).
export const SETTABLE_STEP_STATES = ["TODO", "DONE", "PRUNE", "TO_RETRY", "WAITING", "CLIENT_ERROR",
  "SERVER_ERROR", "FATAL_ERROR"];

// The step's `error` is an error in these states (else a message: a custom state's, a waiting step's…).
const ERROR_STATES = ["CLIENT_ERROR", "SERVER_ERROR", "FATAL_ERROR", "TO_RETRY", "AFTERRUN_ERROR", "CRASHED"];
const FINISHED_RESOLUTION = ["DONE", "CANCELLED"];

const present = (v) => v !== undefined && v !== null && !(typeof v === "object" && !Array.isArray(v)
  && Object.keys(v).length === 0);

function row(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function dateValue(value) {
  const text = fmtDate(value);
  if (text === "—") return "never";
  return h("time", { datetime: value, title: text }, `${text} (${fmtRelative(value)})`);
}

function section(title, ...content) {
  return h("section", { class: "panel-section" }, h("h3", {}, title), ...content);
}

function dependencyChips(step, steps, onSelect) {
  const deps = step.dependencies || [];
  if (!deps.length) return "none (runs first)";
  return h("ul", { class: "chips" }, deps.map((d) => {
    const { name, states } = parseDependency(d);
    const other = steps[name];
    const label = states.length === 1 && states[0] === "DONE" ? name : `${name}: ${states.join(" or ")}`;
    return h("li", {}, other
      ? h("button", { type: "button", class: "chip link-chip", onclick: () => onSelect(name),
        title: `${name} is ${other.state || "TODO"}` }, label, " ", stateBadge(other.state || "TODO"))
      : h("span", { class: "chip" }, label));
  }));
}

function childrenTable(step, steps, onSelect) {
  const live = Array.isArray(step.children_steps) ? step.children_steps : [];
  if (live.length) {
    return h("div", { class: "table-wrap" }, h("table", { class: "children-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Child"), h("th", {}, "Item"), h("th", {}, "State"))),
      h("tbody", {}, live.map((name) => {
        const c = steps[name] || {};
        return h("tr", { dataset: { child: name } },
          h("td", {}, h("button", { type: "button", class: "link", onclick: () => onSelect(name) }, name)),
          h("td", {}, c.item === undefined ? "—" : h("code", {}, JSON.stringify(c.item))),
          h("td", {}, stateBadge(c.state || "TODO")));
      }))));
  }
  if (Array.isArray(step.children) && step.children.length) {
    return h("div", { class: "table-wrap" }, h("table", { class: "children-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Item"), h("th", {}, "State"), h("th", {}, "Output"))),
      h("tbody", {}, step.children.map((c, i) => h("tr", {},
        h("td", {}, String(i)),
        h("td", {}, c.metadata && "iterator" in c.metadata ? h("code", {}, JSON.stringify(c.metadata.iterator)) : "—"),
        h("td", {}, stateBadge(c.state)),
        h("td", {}, c.output === undefined ? "—" : h("code", { class: "clip" }, JSON.stringify(c.output))))))));
  }
  return null;
}

// What the step's last execution logged (ctx.logger) and printed ("OUTPUT " lines): GET /resolution/:id
// has `logs` only when there are some (and not for callers who do not see outputs).
function logsSection(step) {
  if (!Array.isArray(step.logs) || !step.logs.length) return null;
  return section("Logs", h("pre", { class: "step-logs", tabindex: "0", "aria-label": "Log lines of the last execution" },
    step.logs.join("\n")));
}

/** Why the step's state can't be edited now, and what can be done instead. */
function notPausedHint(resolution, rights) {
  const rs = resolution.state;
  let text;
  if (FINISHED_RESOLUTION.includes(rs)) {
    text = `This resolution is ${rs}: its steps can no longer be changed.`
      + (rights.startOver ? " To run the task again, start it over (Start over, above)." : "");
  } else if (rs === "RUNNING") {
    text = "The resolution is running: a step's state can be changed once the run is over and the resolution "
      + `is paused${rights.forcePause ? " (or force pause it, above)" : ""}.`;
  } else {
    text = `To change this step's state, pause the resolution first (a step state can only be changed while it is `
      + `PAUSED; it is ${rs}).`;
  }
  return h("p", { class: "hint state-editor-hint" }, text);
}

function stateEditor(name, step, resolution, onChanged, rights = {}) {
  if (resolution.state !== "PAUSED") return notPausedHint(resolution, rights);
  const allowed = [...new Set([...SETTABLE_STEP_STATES, ...(step.custom_states || [])])];
  const current = step.state || "TODO";
  const select = h("select", { id: "step-state-select" },
    allowed.includes(current) ? null : h("option", { value: "", selected: true, disabled: true }, `${current} (current)`),
    allowed.map((s) => h("option", { value: s, selected: s === current }, s)));
  const button = h("button", { type: "submit", class: "btn" }, "Set state");
  const form = h("form", { class: "state-editor", "aria-label": "Edit step state" },
    h("h3", {}, h("label", { for: "step-state-select" }, "Edit step state")),
    h("div", { class: "inline" }, select, button),
    h("div", { class: "hint" }, "The states a step can be given, and this step's custom states. Run the resolution "
      + "again to go on (e.g. set TODO, then Run)."));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!select.value) return toast("Choose the step's new state first.", "error");
    button.disabled = true;
    try {
      await put(`resolution/${resolution.id}/step/${encodeURIComponent(name)}/state`, { state: select.value });
      toast(`Step ${name} set to ${select.value}.`);
      onChanged();
    } catch (e) {
      toast(e.message, "error");
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/**
 * The panel for step `name` of `resolution`. ctx: {rights, parentOf: Map(child → parent), onSelect(name),
 * onChanged()}.
 */
export function renderStepPanel(name, resolution, ctx) {
  const steps = (resolution && resolution.steps) || {};
  const step = steps[name];
  if (!step) {
    return h("div", { class: "panel-empty" },
      h("p", {}, name ? `Step “${name}” is not in this resolution any more (a foreach parent folds its children into its own result when they are done).`
        : "Select a step in the graph or the list to see its configuration, output, metadata and error."));
  }
  const action = step.action || {};
  const { stroke } = stateColours(step.state);
  const parent = ctx.parentOf.get(name);
  const hiddenOutputs = !ctx.rights.seesOutputs;
  const tries = step.try_count ? `${step.try_count}` : "0";
  const running = step.state === "RUNNING";
  const isError = ERROR_STATES.includes(step.state);
  const maxRetries = step.max_retries !== undefined && step.max_retries !== null
    ? ` (max retries ${step.max_retries < 0 ? "unlimited" : step.max_retries})` : "";
  const facts = [
    ...row("State", stateBadge(step.state || "TODO")),
    ...row("Action", h("code", {}, action.type || "—"),
      action.base_configuration ? ` (base configuration ${action.base_configuration})` : ""),
    ...row("Tries", tries, maxRetries, running
      ? h("span", { class: "running-now" }, ` · try ${(Number(step.try_count) || 0) + 1} running now`) : ""),
    ...row("Last run", running ? h("span", { class: "running-now" }, "running now") : dateValue(step.last_run),
      running && fmtDate(step.last_run) !== "—" ? [" (before: ", dateValue(step.last_run), ")"] : ""),
    ...row("Depends on", dependencyChips(step, steps, ctx.onSelect)),
  ];
  if (parent) facts.push(...row("Foreach child of", h("button", { type: "button", class: "link", onclick: () => ctx.onSelect(parent) }, parent)));
  if (step.item !== undefined && step.item !== null) facts.push(...row("Item", h("code", {}, JSON.stringify(step.item))));
  if (step.foreach) facts.push(...row("Foreach", h("code", {}, step.foreach), step.foreach_strategy ? ` (${step.foreach_strategy})` : ""));
  if (step.custom_states && step.custom_states.length) facts.push(...row("Custom states", step.custom_states.join(", ")));
  if (step.retry_pattern) facts.push(...row("Retry pattern", step.retry_pattern));
  if (step.execution_delay) facts.push(...row("Execution delay", `${step.execution_delay / 1e9} s`));
  if (step.resources && step.resources.length) facts.push(...row("Resources", step.resources.join(", ")));
  if (step.tags && Object.keys(step.tags).length) facts.push(...row("Tags", Object.entries(step.tags).map(([k, v]) => `${k}=${v}`).join(", ")));

  const hiddenNote = h("p", { class: "muted" }, "Hidden: only the task's resolvers and admins see step outputs and metadata.");
  const children = childrenTable(step, steps, ctx.onSelect);
  return h("article", { class: "step-panel-body", dataset: { step: name, state: step.state || "TODO" },
    style: { borderTopColor: stroke } },
  h("header", { class: "panel-head" },
    h("h2", { id: "step-panel-title" }, name, " ", stateBadge(step.state || "TODO")),
    step.description ? h("p", { class: "muted" }, step.description) : null),
  step.error ? h("div", { class: isError ? "step-error" : "step-message", role: "note" },
    h("strong", {}, isError ? "Error: " : "Message: "), step.error) : null,
  h("dl", { class: "facts" }, facts),
  children ? section(`Children (${(step.children_steps || step.children).length})`, children) : null,
  section("Output", hiddenOutputs && step.output === null ? hiddenNote
    : present(step.output) ? jsonBlock(step.output, { class: "json step-output" }) : h("p", { class: "muted" }, "No output yet.")),
  section("Metadata", hiddenOutputs && step.metadata === null ? hiddenNote
    : present(step.metadata) ? jsonBlock(step.metadata, { class: "json step-metadata" }) : h("p", { class: "muted" }, "None.")),
  logsSection(step),
  section("Configuration",
    present(action.configuration) ? jsonBlock(action.configuration, { class: "json step-configuration" })
      : h("p", { class: "muted" }, "None."),
    step.pre_hook ? h("details", {}, h("summary", {}, `Pre-hook (${step.pre_hook.type})`), jsonBlock(step.pre_hook)) : null,
    step.conditions && step.conditions.length
      ? h("details", {}, h("summary", {}, `Conditions (${step.conditions.length})`), jsonBlock(step.conditions)) : null,
    step.json_schema ? h("details", {}, h("summary", {}, "JSON schema"), jsonBlock(step.json_schema)) : null),
  ctx.rights.changeStepState ? h("section", { class: "panel-section" }, stateEditor(name, step, resolution, ctx.onChanged, ctx.rights)) : null);
}
