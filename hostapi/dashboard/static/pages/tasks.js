// #/tasks — the task list: GET /task one page at a time (µTask's `last` cursor), its filters kept in the
// hash (shareable, back button), a chart of task counts per state, live updates from the list stream
// (`GET /task/events`: `changed` {ids}, `stats` {STATE: n}) with polling as a fallback.

import { ApiError, call, get, stream } from "../api.js";
import {
  debounce, errorView, fmtDate, fmtRelative, h, mount, progressBar, setTitle, stateBadge, stateClass, svg,
} from "../ui.js";

const TASK_STATES = ["TODO", "DELAYED", "RUNNING", "BLOCKED", "WAITING", "DONE", "CANCELLED", "WONTFIX"];
const PAGE_SIZES = [10, 20, 50, 100];
const DEFAULT_PAGE_SIZE = 20;
const TYPES = [
  ["own", "Mine (requested or watched)"],
  ["resolvable", "I can resolve"],
  ["all", "All tasks"],
];
const POLL_MS = 4000;

let templateNames = null; // {at, names}: the filter's template list, fetched at most once a minute
let focusAfterRender = null; // id of the filter control to focus again after a filter change re-renders

function readFilters(query) {
  const size = Number.parseInt(query.get("page_size") || "", 10);
  return {
    type: query.get("type") || "own",
    state: query.get("state") || "",
    template: query.get("template") || "",
    tags: query.getAll("tag").filter(Boolean),
    after: query.get("after") || "",
    before: query.get("before") || "",
    pageSize: size >= 10 && size <= 1000 ? size : DEFAULT_PAGE_SIZE,
    last: query.get("last") || "",
    trail: (query.get("trail") || "").split(",").filter(Boolean),
  };
}

/** The hash of a filter set; filters other than paging reset the paging unless `keepPage`. */
export function tasksHash(f) {
  const q = new URLSearchParams();
  if (f.type && f.type !== "own") q.set("type", f.type);
  if (f.state) q.set("state", f.state);
  if (f.template) q.set("template", f.template);
  for (const t of f.tags || []) q.append("tag", t);
  if (f.after) q.set("after", f.after);
  if (f.before) q.set("before", f.before);
  if (f.pageSize && f.pageSize !== DEFAULT_PAGE_SIZE) q.set("page_size", String(f.pageSize));
  if (f.last) q.set("last", f.last);
  if (f.trail && f.trail.length) q.set("trail", f.trail.join(","));
  const s = q.toString();
  return s ? `#/tasks?${s}` : "#/tasks";
}

function apiQuery(f) {
  return {
    type: f.type, state: f.state, template: f.template, tag: f.tags, after: f.after, before: f.before,
    page_size: f.pageSize, last: f.last,
  };
}

function hasFilters(f) {
  return Boolean(f.state || f.template || f.tags.length || f.after || f.before);
}

// datetime-local ("2024-05-01T10:30", local time) <-> RFC 3339 in UTC for the API and the hash.
function toRfc3339(local) {
  if (!local) return "";
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function toLocalInput(rfc) {
  if (!rfc) return "";
  const d = new Date(rfc);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

async function loadTemplateNames() {
  if (templateNames && Date.now() - templateNames.at < 60_000) return templateNames.names;
  try {
    const list = await get("template", { query: { page_size: 1000 } });
    templateNames = { at: Date.now(), names: (list || []).map((t) => t.name).sort() };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    return templateNames ? templateNames.names : [];
  }
  return templateNames.names;
}

function select(id, options, value, attrs = {}) {
  return h("select", { id, name: id, ...attrs },
    options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

function labelled(id, label, control, extra) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control, extra);
}

export default async function render(root, _params, ctx) {
  const { meta, navigate } = ctx;
  const f = readFilters(ctx.query);
  const page = f.last ? f.trail.length + 2 : 1;
  setTitle(f.state ? `${f.state} tasks` : "Tasks");

  const go = (changes, focusId) => {
    focusAfterRender = focusId || null;
    navigate(tasksHash({ ...f, last: "", trail: [], ...changes }));
  };

  // -- filters ---------------------------------------------------------------------------------------------
  const types = TYPES.filter(([v]) => v !== "all" || meta.user_is_admin || f.type === "all");
  const typeSel = select("flt-type", types, f.type);
  const stateOpts = [["", "Any state"], ...TASK_STATES.map((s) => [s, s])];
  if (f.state && !TASK_STATES.includes(f.state)) stateOpts.push([f.state, f.state]);
  const stateSel = select("flt-state", stateOpts, f.state);
  const names = await loadTemplateNames();
  const tplOpts = [["", "Any template"], ...names.map((n) => [n, n])];
  if (f.template && !names.includes(f.template)) tplOpts.push([f.template, f.template]);
  const tplSel = select("flt-template", tplOpts, f.template);
  const tagsIn = h("input", { id: "flt-tags", name: "tags", value: f.tags.join(", "), placeholder: "key=value, …",
    autocomplete: "off", "aria-describedby": "flt-tags-hint flt-tags-error" });
  const tagsErr = h("div", { class: "field-error", id: "flt-tags-error", role: "alert" });
  const afterIn = h("input", { id: "flt-after", name: "after", type: "datetime-local", value: toLocalInput(f.after) });
  const beforeIn = h("input", { id: "flt-before", name: "before", type: "datetime-local", value: toLocalInput(f.before) });

  typeSel.addEventListener("change", () => go({ type: typeSel.value }, typeSel.id));
  stateSel.addEventListener("change", () => go({ state: stateSel.value }, stateSel.id));
  tplSel.addEventListener("change", () => go({ template: tplSel.value }, tplSel.id));

  const filters = h("form", { class: "filters card", "aria-label": "Filters", novalidate: true },
    labelled("flt-type", "Show", typeSel),
    labelled("flt-state", "State", stateSel),
    labelled("flt-template", "Template", tplSel),
    labelled("flt-tags", "Tags", tagsIn, [h("div", { class: "hint", id: "flt-tags-hint" }, "key=value, comma separated"), tagsErr]),
    labelled("flt-after", "Active after", afterIn),
    labelled("flt-before", "Active before", beforeIn),
    h("div", { class: "filter-actions" },
      h("button", { type: "submit", class: "btn primary" }, "Apply"),
      hasFilters(f) ? h("a", { class: "btn", href: tasksHash({ type: f.type, pageSize: f.pageSize }) }, "Clear filters") : null));
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const tags = tagsIn.value.split(",").map((t) => t.trim()).filter(Boolean);
    const bad = tags.find((t) => !/^[^=]+=[^=]+$/.test(t));
    if (bad) {
      tagsErr.textContent = `"${bad}" is not a key=value pair.`;
      tagsIn.setAttribute("aria-invalid", "");
      tagsIn.focus();
      return;
    }
    go({ tags, after: toRfc3339(afterIn.value), before: toRfc3339(beforeIn.value) },
      document.activeElement && document.activeElement.id);
  });

  // -- chart, list, pager ------------------------------------------------------------------------------------
  const chart = h("section", { class: "card chart", "aria-labelledby": "chart-title" },
    h("h2", { id: "chart-title" }, "Tasks by state"),
    h("p", { class: "muted chart-scope" }, "Loading…"));
  const liveEl = h("span", { class: "live-status", role: "status", "aria-live": "polite" });
  const summary = h("span", { class: "muted list-summary" });
  const listBox = h("div", { class: "list-box", "aria-live": "polite", "aria-busy": "true" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });

  mount(root,
    h("div", { class: "page-head" },
      h("h1", {}, "Tasks"),
      h("span", { class: "spacer" }),
      liveEl,
      h("a", { class: "btn primary", href: f.template ? `#/new?template=${encodeURIComponent(f.template)}` : "#/new" },
        "New task")),
    h("div", { class: "tasks-top" }, filters, chart),
    h("div", { class: "list-head" }, summary),
    listBox,
    pager);

  if (focusAfterRender) {
    const el = root.querySelector(`#${CSS.escape(focusAfterRender)}`);
    if (el) el.focus();
    focusAfterRender = null;
  }

  let visible = new Set();
  let shown = null; // what the table shows, to skip re-rendering an unchanged page (polling)
  let seq = 0;
  let closed = false;
  let live = null;

  const renderList = (items, hasNext) => {
    const key = JSON.stringify([hasNext, items.map((t) => [t.id, t.title, t.state, t.steps_done, t.steps_total,
      t.last_activity, t.requester_username])]);
    if (key === shown) return;
    shown = key;
    // Keep the keyboard focus on the same link when the rows are redrawn.
    const focused = listBox.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
    visible = new Set(items.map((t) => t.id));
    listBox.removeAttribute("aria-busy");
    if (!items.length) {
      summary.textContent = "";
      mount(listBox, h("div", { class: "empty card" },
        page > 1 ? h("p", {}, "No more tasks on this page.")
          : h("p", {}, hasFilters(f) ? "No task matches these filters." : "No task yet."),
        h("p", { class: "actions" },
          page > 1 ? h("a", { class: "btn", href: tasksHash({ ...f, last: "", trail: [] }) }, "Back to the first page") : null,
          hasFilters(f) ? h("a", { class: "btn", href: tasksHash({ type: f.type, pageSize: f.pageSize }) }, "Clear the filters") : null,
          h("a", { class: "btn primary", href: f.template ? `#/new?template=${encodeURIComponent(f.template)}` : "#/new" },
            "Create a task"))));
    } else {
      const first = (page - 1) * f.pageSize + 1;
      summary.textContent = `Tasks ${first}–${first + items.length - 1}`;
      mount(listBox, h("div", { class: "table-wrap" }, h("table", { class: "task-table stack", "aria-label": "Tasks" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Title"), h("th", { scope: "col" }, "Template"), h("th", { scope: "col" }, "State"),
          h("th", { scope: "col" }, "Requester"), h("th", { scope: "col" }, "Steps"),
          h("th", { scope: "col" }, "Last activity"))),
        h("tbody", {}, items.map(taskRow)))));
      if (focused) {
        const again = [...listBox.querySelectorAll("a[href]")].find((a) => a.getAttribute("href") === focused);
        if (again) again.focus();
      }
    }
    const prev = f.last ? { ...f, last: f.trail.length ? f.trail[f.trail.length - 1] : "", trail: f.trail.slice(0, -1) } : null;
    const next = hasNext && items.length ? { ...f, last: items[items.length - 1].id, trail: f.last ? [...f.trail, f.last] : [] } : null;
    const sizeSel = select("page-size", PAGE_SIZES.concat(PAGE_SIZES.includes(f.pageSize) ? [] : [f.pageSize])
      .map((n) => [String(n), String(n)]), String(f.pageSize));
    sizeSel.addEventListener("change", () => go({ pageSize: Number(sizeSel.value) }, "page-size"));
    mount(pager,
      prev ? h("a", { class: "btn", href: tasksHash(prev), rel: "prev" }, "← Previous")
        : h("span", { class: "btn", "aria-disabled": "true" }, "← Previous"),
      h("span", { class: "page-no" }, `Page ${page}`),
      next ? h("a", { class: "btn", href: tasksHash(next), rel: "next" }, "Next →")
        : h("span", { class: "btn", "aria-disabled": "true" }, "Next →"),
      h("span", { class: "spacer" }),
      h("label", { for: "page-size" }, "Per page"), sizeSel);
  };

  const loadList = async () => {
    const mine = ++seq;
    const r = await call("GET", "task", { query: apiQuery(f) });
    if (mine !== seq || closed) return;
    const items = Array.isArray(r.data) ? r.data : [];
    const hasNext = Boolean(r.headers.get("link")) || items.length >= f.pageSize;
    renderList(items, hasNext);
  };

  const listError = (e) => {
    shown = null;
    listBox.removeAttribute("aria-busy");
    summary.textContent = "";
    mount(pager);
    if (e.status === 404 && f.last) {
      return mount(listBox, h("div", { class: "empty card", role: "alert" },
        h("p", {}, "This page no longer exists (the task it started after was deleted)."),
        h("p", {}, h("a", { class: "btn", href: tasksHash({ ...f, last: "", trail: [] }) }, "Back to the first page"))));
    }
    if (e.status === 400) {
      return mount(listBox, h("div", { class: "empty card", role: "alert" },
        h("p", {}, `The server refused these filters: ${e.message}`),
        h("p", {}, h("a", { class: "btn", href: "#/tasks" }, "Reset the filters"))));
    }
    return mount(listBox, errorView(e, "the task list"));
  };

  // Chart: counts per state from the list stream's `stats`, else GET /unsecured/stats (every task).
  const renderChart = (counts, source) => {
    const scope = source === "stream"
      ? `Counting ${(TYPES.find(([v]) => v === f.type)?.[1] || f.type).toLowerCase()}`
        + `${f.template ? `, template ${f.template}` : ""}${f.tags.length ? `, tags ${f.tags.join(", ")}` : ""}`
        + `${f.after || f.before ? " (dates not applied)" : ""}.`
      : `Every task on the server${f.tags.length ? ` with tags ${f.tags.join(", ")}` : ""}, by state.`;
    mount(chart, h("h2", { id: "chart-title" }, "Tasks by state"), h("p", { class: "muted chart-scope" }, scope),
      stateChart(counts, f, (state) => tasksHash({ ...f, state: state === f.state ? "" : state, last: "", trail: [] })));
  };
  let streamStats = false;
  const loadStats = async () => {
    if (streamStats) return;
    try {
      const data = await get("unsecured/stats", { query: { tag: f.tags } });
      if (!closed && !streamStats) renderChart((data && data.task_states) || {}, "stats");
    } catch (e) {
      if (!closed && !streamStats) mount(chart, h("h2", { id: "chart-title" }, "Tasks by state"),
        h("p", { class: "muted" }, `Counts unavailable: ${e.message}`));
    }
  };

  const refresh = debounce(() => {
    if (closed) return;
    if (!root.isConnected) return stop();
    loadList().catch((e) => {
      if (closed) return;
      if (e.status === 0) liveEl.textContent = "Connection lost — retrying…";
      else if (e.status !== 401) listError(e);
    });
  }, 300);

  const setLive = (status) => {
    liveEl.dataset.status = status;
    liveEl.textContent = status === "live" ? "● Live" : status === "polling" ? `Refreshing every ${POLL_MS / 1000} s`
      : "Connection lost — retrying…";
  };

  // "3 min ago" stays true without reloading the list.
  const clock = setInterval(() => {
    for (const t of listBox.querySelectorAll("time[datetime]")) t.textContent = fmtRelative(t.getAttribute("datetime"));
  }, 20_000);

  function stop() {
    closed = true;
    clearInterval(clock);
    refresh.cancel();
    if (live) live.close();
  }

  try {
    await loadList();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    listError(e);
  }
  loadStats();

  live = stream("task/events", {
    query: { type: f.type, state: f.state, template: f.template, tag: f.tags }, // the stream ignores paging
    pollInterval: POLL_MS,
    onStatus: setLive,
    onEvent(name, data) {
      if (closed) return;
      if (name === "changed") {
        const ids = (data && data.ids) || [];
        // The stream only reports tasks matching these filters. On the first page any of them may come to
        // the top (newest activity first); further pages refresh when one of their rows changed.
        if (!f.last || ids.some((id) => visible.has(id))) refresh();
      } else if (name === "resync") {
        refresh();
      } else if (name === "stats") {
        const counts = data && (data.task_states || data.states || data);
        if (counts && typeof counts === "object") {
          streamStats = true;
          renderChart(counts, "stream");
        }
      }
    },
    async poll() {
      if (closed) return;
      if (!root.isConnected) return stop();
      await loadList();
      await loadStats();
    },
  });

  return stop;
}

function taskRow(t) {
  const when = t.last_activity || t.created;
  return h("tr", { dataset: { id: t.id, state: t.state } },
    h("td", { class: "col-title", "data-label": "Title" },
      h("a", { href: `#/task/${encodeURIComponent(t.id)}` }, t.title || t.id)),
    h("td", { "data-label": "Template" }, h("a", { href: `#/template/${encodeURIComponent(t.template_name)}`, class: "subtle" },
      t.template_name)),
    h("td", { "data-label": "State" }, stateBadge(t.state)),
    h("td", { "data-label": "Requester" }, t.requester_username || "—"),
    h("td", { "data-label": "Steps" }, progressBar(t.steps_done, t.steps_total)),
    h("td", { "data-label": "Last activity" },
      h("time", { datetime: when, title: fmtDate(when) }, fmtRelative(when) || fmtDate(when))));
}

const CHART_ORDER = ["TODO", "DELAYED", "RUNNING", "WAITING", "BLOCKED", "DONE", "CANCELLED", "WONTFIX"];

/** Horizontal bars, one link per state (keyboard: Tab + Enter filters the list by it). */
function stateChart(counts, f, hrefFor) {
  const entries = Object.entries(counts || {}).map(([s, n]) => [s, Number(n) || 0]);
  entries.sort((a, b) => {
    const ia = CHART_ORDER.indexOf(a[0]);
    const ib = CHART_ORDER.indexOf(b[0]);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a[0].localeCompare(b[0]);
  });
  if (!entries.length) return h("p", { class: "muted" }, "No task yet.");
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const W = 340;
  const LABEL = 96;
  const COUNT = 52;
  const ROW = 24; // compact: the chart stands beside the filters, about as tall as they are
  const barMax = W - LABEL - COUNT;
  const svgEl = svg("svg", { class: "state-chart", viewBox: `0 0 ${W} ${entries.length * ROW}`, width: "100%",
    role: "group", "aria-label": "Number of tasks per state; choose one to filter the list" },
  entries.map(([state, n], i) => {
    const y = i * ROW;
    const w = n > 0 ? Math.max(2, Math.round((n / max) * barMax)) : 0;
    const selected = f.state === state;
    return svg("a", { href: hrefFor(state), class: ["bar", selected && "selected", f.state && !selected && "dimmed"],
      "aria-label": `${state}: ${n} task${n === 1 ? "" : "s"}. ${selected ? "Show every state" : `Show only ${state} tasks`}`,
      dataset: { state, count: String(n) } },
    svg("title", {}, `${state}: ${n}`),
    svg("rect", { class: "bar-hit", x: 0, y, width: W, height: ROW, fill: "transparent" }),
    svg("text", { x: LABEL - 8, y: y + ROW / 2, "text-anchor": "end", "dominant-baseline": "central", class: "bar-label" }, state),
    svg("rect", { class: "bar-track", x: LABEL, y: y + 4, width: barMax, height: ROW - 8, rx: 3 }),
    svg("rect", { class: `bar-fill state-${stateClass(state)}`, x: LABEL, y: y + 4, width: w, height: ROW - 8, rx: 3 }),
    svg("text", { x: LABEL + barMax + 8, y: y + ROW / 2, "dominant-baseline": "central", class: "bar-count" }, String(n)));
  }));
  return svgEl;
}
