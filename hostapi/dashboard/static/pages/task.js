// #/task/<id> — one task: header, actions (only those the user's rights allow), the resolution's steps as a
// live graph (or a list on narrow screens) with a step panel, manual-input forms, resolver inputs, result,
// comments and the audit trail. Live: SSE `GET /task/{id}/events` (task / resolution / gone / error),
// else polling every 2 s while the task is not finished (api.js `stream` falls back by itself).

import { ApiError, get, post, stream } from "../api.js";
import { fitScale, layoutGraph, parseDependency, renderGraph, renderLegend, setScale, setSelected,
  updateGraph } from "../graph.js";
import { auditSection, commentsSection } from "../task-activity.js";
import { inputForm, submitInputs } from "../input-form.js";
import { confirmDialog } from "../task-dialogs.js";
import { renderStepPanel } from "../task-panel.js";
import { mayAnswer, resolverNames, taskRights } from "../task-rights.js";
import { errorView, fmtDate, fmtRelative, h, jsonBlock, mount, setTitle, stateBadge, toast } from "../ui.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FINISHED = ["DONE", "CANCELLED", "WONTFIX"];
const POLL_MS = 2000;
const IDLE_POLL_MS = 15000; // a finished task still changes (comments, start over): now and then
const NARROW = window.matchMedia("(max-width: 700px)");

export default async function render(root, { id }, ctx) {
  setTitle("Task");
  if (!UUID.test(id)) {
    setTitle("Not found");
    mount(root, errorView(new ApiError(404, `“${id}” is not a task id.`), "this task"));
    return null;
  }
  let first;
  try {
    first = await get(`task/${id}`);
  } catch (e) {
    if (e.status === 401) throw e;
    setTitle(e.status === 403 ? "Not allowed" : e.status === 404 ? "Not found" : "Error");
    mount(root, errorView(e, "this task"));
    return null;
  }
  const page = new TaskPage(root, id, ctx);
  try {
    await page.start(first);
  } catch (e) {
    page.close(); // app.js shows the error
    throw e;
  }
  return () => page.close();
}

class TaskPage {
  constructor(root, id, ctx) {
    this.root = root;
    this.id = id;
    this.ctx = ctx;
    this.meta = ctx.meta;
    this.task = null;
    this.resolution = null;
    this.template = null;
    this.rights = null;
    this.selected = ctx.query.get("step") || null;
    this.view = ctx.query.get("view") || (NARROW.matches ? "list" : "graph");
    this.keys = {};
    this.lastFetch = 0;
    this.closed = false;
    this.status = "";
    this.build();
  }

  // -- skeleton (built once; sections refresh themselves) ------------------------------------------------------
  build() {
    this.notice = h("div", { class: "page-notice", role: "alert", hidden: true });
    this.header = h("section", { class: "card task-head", "aria-labelledby": "task-title" });
    this.actions = h("div", { class: "actions task-actions", role: "toolbar", "aria-label": "Task actions" });
    this.resolveBox = h("div", { class: "resolve-box" });
    this.inputsBox = h("div", { class: "inputs-box" });

    this.graphScroll = h("div", { class: "graph-scroll", tabindex: "0", "aria-label": "Step graph, scrollable" });
    this.list = h("ol", { class: "step-list", "aria-label": "Steps" });
    this.legend = h("div", { class: "legend-box" });
    this.zoomBar = h("div", { class: "zoom-bar" },
      h("button", { type: "button", class: "btn small", "aria-label": "Zoom out", onclick: () => this.zoom(1 / 1.25) }, "−"),
      h("button", { type: "button", class: "btn small", "aria-label": "Zoom in", onclick: () => this.zoom(1.25) }, "+"),
      h("button", { type: "button", class: "btn small", onclick: () => this.zoom(0) }, "Fit"));
    this.viewGraph = h("button", { type: "button", class: "btn small", onclick: () => this.setView("graph") }, "Graph");
    this.viewList = h("button", { type: "button", class: "btn small", onclick: () => this.setView("list") }, "List");
    this.stepsSummary = h("span", { class: "muted" });
    this.stepsCard = h("section", { class: "card steps-card", "aria-labelledby": "steps-title" },
      h("div", { class: "card-head" }, h("h2", { id: "steps-title" }, "Steps"), this.stepsSummary,
        h("span", { class: "spacer" }), this.zoomBar,
        h("div", { class: "segmented", role: "group", "aria-label": "Show the steps as" }, this.viewGraph, this.viewList)),
      this.graphScroll, this.list, this.legend);
    this.panel = h("aside", { class: "card step-panel", "aria-labelledby": "step-panel-title", "aria-live": "polite" });
    this.noResolution = h("section", { class: "card no-resolution", hidden: true });
    this.workArea = h("div", { class: "work-area" }, this.stepsCard, this.panel);

    this.errorsBox = h("div", {});
    this.resultBox = h("section", { class: "card result-card", "aria-labelledby": "result-title" });
    this.comments = commentsSection(this.id, this.meta, () => this.refresh());
    this.audit = auditSection();
    mount(this.root, this.notice, this.header, this.actions, this.errorsBox, this.inputsBox, this.resolveBox,
      this.noResolution, this.workArea, this.resultBox, this.comments.element, this.audit.element);
    this.onNarrow = () => {
      if (!this.ctx.query.get("view")) this.setView(NARROW.matches ? "list" : "graph");
    };
    NARROW.addEventListener("change", this.onNarrow);
    // Any call that fails to reach the server (the stream, a poll, an action): say so, keep the data, retry.
    this.onConnection = (ev) => {
      if (ev.detail === "lost") this.connectionLost();
      else if (ev.detail === "ok" && this.notice.dataset.kind === "lost") this.showNotice("");
    };
    window.addEventListener("utask:connection", this.onConnection);
  }

  connectionLost() {
    if (this.closed || this.ended) return;
    this.showNotice("Connection lost — retrying… (the page keeps the last data it received)", "lost");
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(async () => {
      this.retryTimer = null;
      try {
        await this.refresh(); // a success dispatches "ok", which hides the notice
      } catch {
        /* dispatched "lost" again: the next retry is scheduled */
      }
    }, 3000);
  }

  async start(task) {
    try {
      this.template = await get(`template/${encodeURIComponent(task.template_name)}`);
    } catch (e) {
      if (e.status === 401) throw e;
      this.template = null; // rights then only come from the task itself
    }
    let resolution = null;
    if (task.resolution) resolution = await this.loadResolution(task.resolution);
    this.apply(task, resolution, { first: true });
    this.loadAudit();
    this.live = stream(`task/${this.id}/events`, {
      pollInterval: POLL_MS,
      onEvent: (name, data) => this.onEvent(name, data),
      poll: () => this.poll(),
      onStatus: (s) => this.setStatus(s),
    });
  }

  close() {
    this.closed = true;
    if (this.live) this.live.close();
    clearTimeout(this.auditTimer);
    clearTimeout(this.retryTimer);
    NARROW.removeEventListener("change", this.onNarrow);
    window.removeEventListener("utask:connection", this.onConnection);
  }

  // -- data ------------------------------------------------------------------------------------------------------
  async loadResolution(resolutionId) {
    try {
      return await get(`resolution/${resolutionId}`);
    } catch (e) {
      if (e.status === 0 || e.status === 401) throw e;
      return null; // read with the task's rights: should not happen; the page still shows the task
    }
  }

  async refresh() {
    let task;
    try {
      task = await get(`task/${this.id}`);
    } catch (e) {
      if (e.status === 404) return this.gone();
      if (e.status === 403) return this.lostAccess(e.message);
      throw e;
    }
    const resolution = task.resolution ? await this.loadResolution(task.resolution) : null;
    this.apply(task, resolution);
    this.scheduleAudit();
  }

  async poll() {
    if (this.closed || this.ended) return;
    const finished = this.task && FINISHED.includes(this.task.state);
    if (finished && Date.now() - this.lastFetch < IDLE_POLL_MS) return;
    await this.refresh();
  }

  async onEvent(name, data) {
    try {
      await this.handleEvent(name, data);
    } catch (e) {
      // the stream goes on; a lost connection is reported by the call that failed
      if (e && e.status !== 0 && e.status !== 401) toast(e.message || String(e), "error");
    }
  }

  async handleEvent(name, data) {
    if (this.closed || this.ended) return;
    if (name === "task") {
      let resolution = this.resolution;
      if (data.resolution && (!resolution || resolution.id !== data.resolution)) {
        resolution = await this.loadResolution(data.resolution);
      } else if (!data.resolution) resolution = null;
      this.apply(data, resolution);
      this.scheduleAudit();
    } else if (name === "resolution") {
      if (this.task && data && data.id === this.task.resolution) this.apply(this.task, data);
      this.scheduleAudit();
    } else if (name === "gone") {
      this.gone();
    } else if (name === "error") {
      if (data && data.status === 403) this.lostAccess(data.error);
      else if (data && data.status === 404) this.gone();
    }
  }

  scheduleAudit() {
    if (this.auditTimer) return; // at most one reload of the audit trail per 800 ms while events flow
    this.auditTimer = setTimeout(() => {
      this.auditTimer = null;
      this.loadAudit();
    }, 800);
  }

  async loadAudit() {
    if (this.closed) return;
    try {
      this.audit.update(await get(`task/${this.id}/audit`));
    } catch (e) {
      if (e.status !== 0) this.audit.showError(e);
    }
  }

  gone() {
    this.ended = true;
    if (this.live) this.live.close();
    this.showNotice("This task was deleted: what you see is its last known state.", "gone");
  }

  lostAccess(message) {
    this.ended = true;
    if (this.live) this.live.close();
    this.showNotice(`Not allowed: you can no longer see this task. ${message || ""}`.trim(), "forbidden");
  }

  showNotice(text, kind) {
    this.notice.hidden = !text;
    this.notice.textContent = text || "";
    this.notice.dataset.kind = kind || "";
  }

  setStatus(status) {
    if (this.ended) return;
    this.status = status;
    if (status === "lost") this.connectionLost();
    else if (this.notice.dataset.kind === "lost") this.showNotice("");
    this.paintLive();
  }

  paintLive() {
    const el = this.header.querySelector(".live");
    if (!el) return;
    const finished = this.task && FINISHED.includes(this.task.state);
    const text = { live: "● Live", polling: finished ? "Finished · refreshed now and then" : "Auto-refresh every 2 s",
      lost: "Connection lost — retrying…" }[this.status] || "";
    el.textContent = text;
    el.dataset.status = this.status;
  }

  // -- rendering -----------------------------------------------------------------------------------------------
  apply(task, resolution, { first = false } = {}) {
    if (this.closed) return;
    this.lastFetch = Date.now();
    const taskKey = JSON.stringify(task);
    const resKey = JSON.stringify(resolution);
    if (!first && taskKey === this.keys.task && resKey === this.keys.resolution) return;
    this.keys.task = taskKey;
    this.keys.resolution = resKey;
    this.task = task;
    this.resolution = resolution;
    this.rights = taskRights(this.meta, task, this.template, resolution);
    setTitle(task.title || "Task", "Task");
    if (first && !this.selected) this.selected = this.interestingStep();
    this.renderHeader();
    this.renderActions();
    this.renderErrors();
    this.renderResolve();
    this.renderInputs();
    this.renderSteps();
    this.renderPanel();
    this.renderResult();
    this.comments.update(task, this.rights);
  }

  interestingStep() {
    const steps = (this.resolution && this.resolution.steps) || {};
    const pick = (pred) => Object.keys(steps).find((n) => pred(steps[n]));
    return pick((s) => /ERROR|CRASHED/.test(s.state || "")) || pick((s) => s.state === "WAITING") || null;
  }

  renderHeader() {
    const t = this.task;
    const r = this.resolution;
    const done = Number(t.steps_done) || 0;
    const total = Number(t.steps_total) || 0;
    const pct = total ? Math.round((100 * done) / total) : 0;
    const people = (names) => (names && names.length ? names.join(", ") : "—");
    const tags = Object.entries(t.tags || {});
    const resolver = r ? r.resolver_username : t.resolver_username;
    const waitingFor = resolverNames(t, this.template);
    const fact = (label, ...value) => [h("dt", {}, label), h("dd", {}, ...value)];
    const inputOpen = Boolean(this.header.querySelector(".task-input[open]"));
    // A delayed task (POST /task with `delay`): its resolution waits for next_retry to start, not to retry.
    const delayed = t.state === "DELAYED" || Boolean(r && r.state === "TO_AUTORUN_DELAYED");
    mount(this.header,
      h("div", { class: "title-row" },
        h("h1", { id: "task-title" }, t.title || "(untitled task)"),
        h("span", { class: "task-state", dataset: { state: t.state } }, stateBadge(t.state)),
        h("span", { class: "spacer" }),
        h("span", { class: "live", role: "status" })),
      h("div", { class: "progress-row" },
        h("div", { class: "task-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(total),
          "aria-valuenow": String(done), "aria-label": "Steps done" },
        h("div", { class: "task-progress-fill", style: { width: `${pct}%` } })),
        h("span", { class: "progress-text" }, `${done} / ${total} steps done`)),
      h("dl", { class: "facts task-facts" },
        fact("Template", h("a", { href: `#/template/${encodeURIComponent(t.template_name)}` }, t.template_name)),
        fact("Requester", t.requester_username || "—"),
        fact("Watchers", people([...(t.watcher_usernames || []), ...(t.watcher_groups || []).map((g) => `group ${g}`)])),
        fact("Resolver", resolver || h("span", { class: "muted" }, waitingFor.length ? `not yet (can resolve: ${waitingFor.join(", ")})` : "not yet")),
        fact("Resolution", r ? [stateBadge(r.state), h("span", { class: "muted" }, ` run ${r.run_count} of max ${r.run_max}`)]
          : h("span", { class: "muted" }, t.resolution ? "not readable" : "none yet")),
        fact("Created", h("time", { datetime: t.created, title: fmtRelative(t.created) }, fmtDate(t.created))),
        fact("Last activity", h("time", { datetime: t.last_activity, title: fmtDate(t.last_activity) }, fmtRelative(t.last_activity) || fmtDate(t.last_activity))),
        r && r.next_retry && !FINISHED.includes(t.state) && new Date(r.next_retry).getFullYear() > 1971
          ? fact(delayed ? "Starts at" : "Next retry", h("time", { datetime: r.next_retry, title: fmtRelative(r.next_retry) },
            fmtDate(r.next_retry))) : null,
        t.batch ? fact("Batch", h("a", { href: `#/tasks?batch=${encodeURIComponent(t.batch)}` }, t.batch.slice(0, 8))) : null,
        fact("Tags", tags.length ? h("ul", { class: "tags" }, tags.map(([k, v]) => h("li", { class: "tag" }, `${k}=${v}`)))
          : h("span", { class: "muted" }, "none")),
        fact("You are", this.rights.roles.length ? this.rights.roles.join(", ") : h("span", { class: "muted" }, "—"))),
      h("details", { class: "task-input", open: inputOpen }, h("summary", {}, "Task input"), jsonBlock(t.input ?? {})));
    this.paintLive();
  }

  renderErrors() {
    const errors = this.task.errors || [];
    mount(this.errorsBox, errors.length ? h("section", { class: "card blocked-errors", role: "note" },
      h("h2", {}, "Why it is blocked"),
      h("ul", {}, errors.map((e) => h("li", {}, h("strong", {}, e.step || this.stepOfError(e.error)), ": ", e.error)))) : null);
  }

  /** The server names a blocking step by its description: a step without one is found by its error. */
  stepOfError(error) {
    const steps = (this.resolution && this.resolution.steps) || {};
    return Object.keys(steps).find((n) => steps[n].state === "CLIENT_ERROR" && steps[n].error === error) || "a step";
  }

  // -- actions ---------------------------------------------------------------------------------------------------
  renderActions() {
    const r = this.rights;
    const res = this.resolution;
    const key = JSON.stringify([r, this.task.state, res && res.state]);
    if (key === this.keys.actions) return;
    this.keys.actions = key;
    const btn = (label, cls, fn, title) => h("button", { type: "button", class: ["btn", cls], title,
      dataset: { action: label.toLowerCase().replace(/\s+/g, "-") }, onclick: (ev) => this.act(ev.currentTarget, fn) }, label);
    const buttons = [];
    if (r.run) buttons.push(btn("Run", "primary", () => this.simple("run", "Run started.")));
    if (r.pause) buttons.push(btn("Pause", "", () => this.simple("pause", "Resolution paused.")));
    if (r.forcePause) buttons.push(btn("Force pause", "", () => this.forcePause(), "Admins only: pause a RUNNING resolution"));
    if (r.extend) buttons.push(btn("Extend", "", () => this.simple("extend", "More runs granted.")));
    if (r.startOver) buttons.push(btn("Start over", "", () => this.startOver()));
    if (r.cancel) buttons.push(btn("Cancel", "danger", () => this.cancel()));
    if (r.wontfix) buttons.push(btn("Won't fix", "danger", () => this.wontfix()));
    buttons.push(h("button", { type: "button", class: "btn quiet", onclick: (ev) => this.act(ev.currentTarget, () => this.refresh()) }, "Refresh"));
    const why = buttons.length === 1 ? this.whyNoActions() : null;
    mount(this.actions, buttons, why ? h("span", { class: "muted why" }, why) : null);
  }

  whyNoActions() {
    const t = this.task;
    const res = this.resolution;
    if (FINISHED.includes(t.state)) return `This task is ${t.state}: nothing left to do.`;
    if (res && res.state === "RUNNING") return "The resolution is running.";
    if (!this.rights.admin && !this.rights.manager) {
      const who = resolverNames(t, this.template);
      return `Only the task's resolvers${who.length ? ` (${who.join(", ")})` : ""} and admins can act on it.`;
    }
    return "";
  }

  async act(button, fn) {
    button.disabled = true;
    try {
      await fn();
    } catch (e) {
      if (e && e.status === 401) return;
      toast(e && e.message ? e.message : String(e), "error");
    } finally {
      button.disabled = false;
    }
  }

  async simple(verb, message) {
    await post(`resolution/${this.resolution.id}/${verb}`);
    toast(message);
    await this.refreshSoon();
  }

  async refreshSoon() {
    await this.refresh();
    // the engine goes on in the background: catch its first moves even without the stream
    setTimeout(() => !this.closed && this.refresh().catch(() => {}), 700);
  }

  async forcePause() {
    await confirmDialog({
      title: "Force pause this running resolution?",
      message: "Only for a resolution stuck in RUNNING: steps already running are not stopped.",
      confirmLabel: "Force pause", danger: true,
      onConfirm: async () => {
        await post(`resolution/${this.resolution.id}/pause`, undefined, { query: { force: "true" } });
        toast("Resolution paused (forced).");
      },
      closeOnError: true,
    }) && this.refreshSoon();
  }

  async cancel() {
    const ok = await confirmDialog({
      title: "Cancel this task?",
      message: "The resolution stops for good and the task becomes CANCELLED. It can only be started over afterwards "
        + "(if its template allows it).",
      confirmLabel: "Cancel the task", danger: true,
      onConfirm: () => post(`resolution/${this.resolution.id}/cancel`), closeOnError: true,
    });
    if (ok) {
      toast("Task cancelled.");
      await this.refreshSoon();
    }
  }

  async wontfix() {
    const ok = await confirmDialog({
      title: "Mark this task as won't fix?",
      message: "The task becomes WONTFIX and can no longer be resolved.",
      confirmLabel: "Won't fix", danger: true,
      onConfirm: () => post(`task/${this.id}/wontfix`), closeOnError: true,
    });
    if (ok) {
      toast("Task marked WONTFIX.");
      await this.refreshSoon();
    }
  }

  resolverDefinitions() {
    return this.task.resolver_inputs || (this.template && this.template.resolver_inputs) || [];
  }

  async startOver() {
    const defs = this.resolverDefinitions();
    const fields = defs.length ? inputForm(defs, { prefix: "startover" }) : null;
    const ok = await confirmDialog({
      title: "Start this task over?",
      message: "The current resolution and all its step results are deleted, and a new resolution runs from the first step.",
      body: fields ? h("div", {}, h("p", { class: "muted" }, "Resolver inputs of the new resolution:"), fields.element) : null,
      confirmLabel: "Start over", danger: true,
      // with resolver inputs, the dialog stays open on an error so that the value can be fixed
      closeOnError: !fields,
      onConfirm: async (_form, errorSlot) => {
        const read = fields ? fields.read() : { values: null, ok: true };
        if (!read.ok) throw new Error("Check the fields marked above.");
        try {
          await post("resolution", { task_id: this.id, start_over: true, ...(fields ? { resolver_inputs: read.values } : {}) });
        } catch (e) {
          if (fields && fields.showError(e.message)) errorSlot.textContent = "The server refused a value (see above).";
          throw e;
        }
      },
    });
    if (ok) {
      toast("Started over: a new resolution runs.");
      await this.refreshSoon();
    }
  }

  // -- resolution creation (resolver inputs) ---------------------------------------------------------------------
  renderResolve() {
    const t = this.task;
    const needs = !t.resolution && !FINISHED.includes(t.state);
    const key = JSON.stringify([needs, this.rights.resolve, this.resolverDefinitions()]);
    if (key === this.keys.resolve) return;
    this.keys.resolve = key;
    if (!needs) {
      mount(this.resolveBox);
      return;
    }
    const who = resolverNames(t, this.template);
    if (!this.rights.resolve) {
      mount(this.resolveBox, h("section", { class: "card resolve-card", "aria-labelledby": "resolve-title" },
        h("h2", { id: "resolve-title" }, "Waiting for a resolver"),
        h("p", { class: "why-not" }, `This task has not been started yet. Only its resolvers${who.length ? ` (${who.join(", ")})` : ""} `
          + "and admins can start it: you are not one of them.")));
      return;
    }
    const defs = this.resolverDefinitions();
    const fields = inputForm(defs, { prefix: "ri" });
    const submit = h("button", { type: "submit", class: "btn primary" }, defs.length ? "Start the resolution" : "Resolve");
    const formError = h("p", { class: "field-error", role: "alert" });
    const form = h("form", { class: "card resolve-card", id: "resolve-form", "aria-labelledby": "resolve-title", novalidate: true },
      h("h2", { id: "resolve-title" }, "Start the resolution"),
      h("p", { class: "muted" }, defs.length
        ? "This template needs resolver inputs before it runs. The run starts as soon as the resolution is created."
        : "Create the resolution of this task: it runs at once, with you as its resolver."),
      fields.element, formError, h("div", { class: "actions" }, submit));
    submitInputs(form, fields, formError, submit, async (values) => {
      await post("resolution", { task_id: this.id, resolver_inputs: values });
      toast("Resolution created: it runs now.");
      await this.refreshSoon();
    });
    mount(this.resolveBox, form);
  }

  // -- manual-input steps ------------------------------------------------------------------------------------
  waitingInputs() {
    const steps = (this.resolution && this.resolution.steps) || {};
    return Object.entries(steps).filter(([, s]) => s.action && s.action.type === "input" && s.state === "WAITING");
  }

  renderInputs() {
    const waiting = this.waitingInputs();
    const key = JSON.stringify([waiting.map(([n, s]) => [n, s.metadata, s.action.configuration]), this.rights.manager,
      this.rights.admin, this.resolution && this.resolution.state]);
    if (key === this.keys.inputs) return;
    this.keys.inputs = key;
    mount(this.inputsBox, waiting.map(([name, step]) => this.inputCard(name, step)));
  }

  inputCard(name, step) {
    // The form the engine rendered (the WAITING step's metadata: shown to managers, admins and the users the
    // step names). Others only have the step's configuration, the template's text: a message or a description
    // written with template actions ("{{.input.subject}}") is not what the form says, so it is not shown.
    const meta = step.metadata && typeof step.metadata === "object" ? step.metadata : null;
    const conf = step.action.configuration || {};
    const plain = (v) => typeof v === "string" && !v.includes("{{");
    const list = (v) => (Array.isArray(v) ? v : []);
    const form = meta ? {
      message: typeof meta.message === "string" ? meta.message : "",
      inputs: list(meta.inputs),
      allowed_usernames: list(meta.allowed_usernames),
      allowed_groups: list(meta.allowed_groups),
    } : {
      message: conf.message === undefined || conf.message === null || plain(conf.message) ? conf.message || "" : null,
      inputs: list(conf.inputs).filter((d) => d && plain(d.name))
        .map((d) => ({ ...d, description: plain(d.description) ? d.description : "" })),
      allowed_usernames: list(conf.allowed_usernames).filter(plain),
      allowed_groups: list(conf.allowed_groups).filter(plain),
    };
    const titleId = `input-title-${name}`.replace(/[^A-Za-z0-9_-]/g, "_");
    const card = h("section", { class: "card input-card", "aria-labelledby": titleId, dataset: { step: name } },
      h("h2", { id: titleId }, "Input needed: ", h("code", {}, name)),
      form.message ? h("p", { class: "input-message" }, form.message) : null,
      form.message === null ? h("p", { class: "input-message muted", dataset: { hidden: "rendered" } },
        "The message of this form is written from the task's data: only the people it asks, the task's resolvers "
        + "and admins can read it.") : null);
    const who = [...form.allowed_usernames, ...form.allowed_groups.map((g) => `group ${g}`)];
    if (meta && meta.answer) {
      card.append(h("p", {}, `Answered by ${meta.answer.answered_by || "someone"}: the resolution goes on.`));
      return card;
    }
    if (!mayAnswer(this.rights, form)) {
      card.append(h("p", { class: "why-not", role: "note" },
        `You can't answer this form: only ${who.length ? who.join(", ") : "the people it names"}, the task's resolvers and admins can. `
        + `You are signed in as ${this.rights.user || "nobody"}.`),
      form.inputs.length ? h("details", {}, h("summary", {}, "Questions asked"),
        h("ul", {}, form.inputs.map((d) => h("li", {}, h("strong", {}, d.name), d.description ? ` — ${d.description}` : "")))) : null);
      return card;
    }
    const fields = inputForm(form.inputs, { prefix: `mi-${name}` });
    const submit = h("button", { type: "submit", class: "btn primary" }, "Send the answer");
    const formError = h("p", { class: "field-error", role: "alert" });
    const el = h("form", { class: "input-form", novalidate: true }, fields.element, formError, h("div", { class: "actions" }, submit),
      who.length ? h("p", { class: "hint" }, `Asked to: ${who.join(", ")} (and the task's resolvers, admins).`) : null);
    submitInputs(el, fields, formError, submit, async (values) => {
      const out = await post(`resolution/${this.resolution.id}/step/${encodeURIComponent(name)}/input`, { values });
      toast(out && out.resumed ? "Answer recorded: the resolution goes on." : "Answer recorded.");
      this.keys.inputs = null;
      await this.refreshSoon();
    }, (e) => {
      if (e.status === 403) toast(e.message, "error");
    });
    card.append(el);
    return card;
  }

  // -- steps: graph / list, panel -----------------------------------------------------------------------------
  graphModel() {
    const steps = (this.resolution && this.resolution.steps) || {};
    const parentOf = new Map();
    for (const [name, s] of Object.entries(steps)) {
      for (const c of [...(s.children_steps || []), ...Object.keys(s.children_steps_map || {})]) parentOf.set(c, name);
    }
    const nodes = Object.entries(steps).filter(([n]) => !parentOf.has(n)).map(([name, s]) => {
      let children;
      if (Array.isArray(s.children_steps) && s.children_steps.length) {
        children = s.children_steps.map((c) => ({ name: c, state: (steps[c] && steps[c].state) || "TODO" }));
      } else if (Array.isArray(s.children) && s.children.length) {
        children = s.children.map((c, i) => ({ name: `${name}-${i}`, state: c.state }));
      }
      return { name, state: s.state || "TODO", type: s.action && s.action.type, description: s.description,
        dependencies: (s.dependencies || []).filter((d) => !parentOf.has(parseDependency(d).name)), children };
    });
    return { nodes, parentOf, steps };
  }

  renderSteps() {
    const hasRes = Boolean(this.resolution && this.resolution.steps);
    this.workArea.hidden = !hasRes;
    this.noResolution.hidden = hasRes || !this.task.resolution;
    if (!hasRes) {
      mount(this.noResolution, h("p", { class: "muted" }, "The resolution of this task can't be shown."));
      return;
    }
    const { nodes, parentOf } = this.graphModel();
    this.parentOf = parentOf;
    if (this.selected && parentOf.has(this.selected) && !this.resolution.steps[this.selected]) {
      this.selected = parentOf.get(this.selected);
    }
    const counts = new Map();
    for (const n of nodes) counts.set(n.state, (counts.get(n.state) || 0) + 1);
    this.stepsSummary.textContent = `${nodes.length} steps: ${[...counts].map(([s, c]) => `${c} ${s}`).join(", ")}`;

    const onSelect = (name) => this.select(name);
    if (!this.svg) {
      this.svg = renderGraph(nodes, { onSelect, selected: this.selected });
      this.graphScroll.append(this.svg);
      requestAnimationFrame(() => this.autoFit());
    } else {
      const before = this.svg;
      this.svg = updateGraph(this.svg, nodes, { onSelect, selected: this.selected });
      if (this.svg !== before) requestAnimationFrame(() => this.autoFit(true));
    }
    this.renderList(nodes);
    const states = [...nodes.map((n) => n.state), ...nodes.flatMap((n) => (n.children || []).map((c) => c.state))];
    mount(this.legend, renderLegend(states));
    this.paintView();
  }

  renderList(nodes) {
    const layout = layoutGraph(nodes);
    const order = layout.nodes.slice().sort((a, b) => a.y - b.y || a.x - b.x);
    const key = JSON.stringify(order.map((n) => [n.step.name, n.step.state, n.step.children]));
    if (key !== this.keys.list) {
      this.keys.list = key;
      mount(this.list, order.map(({ step }) => {
        const kids = step.children || [];
        const done = kids.filter((c) => c.state === "DONE").length;
        return h("li", {}, h("button", { type: "button", class: "step-item", dataset: { step: step.name, state: step.state },
          onclick: () => this.select(step.name) },
        h("span", { class: "step-item-name" }, step.name),
        stateBadge(step.state),
        h("span", { class: "step-item-type muted" }, step.type || ""),
        kids.length ? h("span", { class: "step-item-children muted" }, `${done}/${kids.length} children done`) : null,
        (step.dependencies || []).length ? h("span", { class: "step-item-deps muted" }, `after ${step.dependencies.join(", ")}`) : null));
      }));
    }
    for (const b of this.list.querySelectorAll(".step-item")) {
      b.setAttribute("aria-pressed", b.dataset.step === this.selected ? "true" : "false");
    }
  }

  select(name) {
    this.selected = name;
    if (this.svg) setSelected(this.svg, name);
    for (const b of this.list.querySelectorAll(".step-item")) {
      b.setAttribute("aria-pressed", b.dataset.step === name ? "true" : "false");
    }
    this.keys.panel = null;
    this.renderPanel();
    const q = new URLSearchParams(this.ctx.query);
    q.set("step", name);
    history.replaceState(null, "", `#/task/${encodeURIComponent(this.id)}?${q}`);
    if (NARROW.matches || this.view === "list") {
      const rect = this.panel.getBoundingClientRect();
      if (rect.top > window.innerHeight - 80 || rect.top < 0) this.panel.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  }

  renderPanel() {
    if (!this.resolution || !this.resolution.steps) return;
    const step = this.selected ? this.resolution.steps[this.selected] : null;
    const key = JSON.stringify([this.selected, step, this.resolution.state, this.rights.changeStepState, this.rights.seesOutputs]);
    if (key === this.keys.panel) return;
    this.keys.panel = key;
    mount(this.panel, renderStepPanel(this.selected, this.resolution, {
      rights: this.rights, parentOf: this.parentOf || new Map(), onSelect: (n) => this.select(n),
      onChanged: () => this.refreshSoon(),
    }));
  }

  setView(view) {
    this.view = view;
    this.paintView();
    if (view === "graph") this.autoFit(); // reading clientWidth lays the shown box out synchronously
  }

  paintView() {
    const graph = this.view === "graph";
    this.graphScroll.hidden = !graph;
    this.zoomBar.hidden = !graph;
    this.list.hidden = graph;
    this.viewGraph.setAttribute("aria-pressed", String(graph));
    this.viewList.setAttribute("aria-pressed", String(!graph));
  }

  autoFit(keepUserZoom = false) {
    if (!this.svg || this.graphScroll.hidden) return;
    if (keepUserZoom && this.userZoomed) return;
    setScale(this.svg, fitScale(this.svg, this.graphScroll.clientWidth));
  }

  zoom(factor) {
    if (!this.svg) return;
    if (!factor) {
      this.userZoomed = false;
      this.autoFit();
      return;
    }
    this.userZoomed = true;
    setScale(this.svg, (Number(this.svg.dataset.scale) || 1) * factor);
  }

  renderResult() {
    const t = this.task;
    const key = JSON.stringify([t.result, t.state]);
    if (key === this.keys.result) return;
    this.keys.result = key;
    const has = t.result !== undefined && t.result !== null;
    mount(this.resultBox,
      h("h2", { id: "result-title" }, "Result"),
      has ? [t.state !== "DONE" ? h("p", { class: "hint" }, "Rendered when the task is DONE; until then, the template's result format.") : null,
        jsonBlock(t.result, { class: "json task-result" })]
        : h("p", { class: "muted" }, "This task has no result."));
  }
}
