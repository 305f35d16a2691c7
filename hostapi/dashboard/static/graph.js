// A step graph in SVG, drawn by hand: a layered DAG layout (longest-path layering, dummy nodes for long
// edges, barycentre ordering sweeps, then isotonic placement so nodes sit above/below their neighbours).
// Independent of any page: the task page and the template page both use it.
//
//   const svg = renderGraph(steps, {onSelect(name), selected, scale})
//   svg = updateGraph(svg, steps, opts)   // same shape → states repainted in place; else redrawn
//   setSelected(svg, name)
//
// steps: [{name, state, dependencies: ["a", "b:DONE,GREEN", "c:ANY"], type, description?,
//          children?: [{name?, state}]}]   (children: a foreach parent's children, drawn inside the node)
// Every node is a <g class="g-node" data-step data-state role="button" tabindex="0">; edges are
// <path class="g-edge" data-from data-to>.

import { customStateColour, h, stateClass } from "./ui.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const NODE_W = 184;
const NODE_H = 52;
const CHILD_ROW = 20;
const GAP_X = 34;
const GAP_Y = 56;
const DUMMY_W = 14;
const MARGIN = 18;

// The colour families of ui.js's stateClass (same hues as style.css), as [stroke, fill].
const FAMILY = {
  ok: ["#1f8a4c", "#e4f3ea"], run: ["#1d5fd1", "#e4edfc"], warn: ["#b7791f", "#fbf0dc"],
  err: ["#c62828", "#fbe5e5"], wait: ["#7b4dc4", "#efe8fa"], idle: ["#8a94a6", "#f1f3f6"],
  muted: ["#a0a7b4", "#f4f5f7"],
};
function tint(hex, amount) {
  const n = parseInt(hex.slice(1), 16);
  const mix = (v) => Math.round(v + (255 - v) * amount);
  return `rgb(${mix(n >> 16)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
}

/** {stroke, fill, family} of a state: builtin families, or a stable colour per custom state. */
export function stateColours(state) {
  const family = state ? stateClass(state) : "idle";
  if (family !== "custom") {
    const [stroke, fill] = FAMILY[family] || FAMILY.idle;
    return { stroke, fill, family };
  }
  const stroke = customStateColour(state);
  return { stroke, fill: tint(stroke, 0.86), family };
}

/** "name:S1,S2" → {name, states}; a plain name means DONE (reference §5.3). */
export function parseDependency(dep) {
  const text = String(dep);
  const colon = text.indexOf(":");
  if (colon < 0) return { name: text, states: ["DONE"] };
  const states = text.slice(colon + 1).split(",").map((s) => s.trim()).filter(Boolean);
  return { name: text.slice(0, colon), states: states.length ? states : ["DONE"] };
}

const FINAL_BUILTIN = new Set(["DONE", "PRUNE"]);
const NOT_FINAL = new Set(["TODO", "WAITING", "RUNNING", "CLIENT_ERROR", "SERVER_ERROR", "FATAL_ERROR",
  "CRASHED", "TO_RETRY", "RETRY_NOW", "AFTERRUN_ERROR", "EXPANDED"]);

function isFinal(state) {
  return FINAL_BUILTIN.has(state) || (Boolean(state) && !NOT_FINAL.has(state));
}

/** Whether a dependency is met by the state of its step (ANY: the step is final). */
export function dependencySatisfied(states, state) {
  if (!state) return false;
  if (states.includes("ANY")) return isFinal(state);
  return states.includes(state);
}

// -- layout -----------------------------------------------------------------------------------------------------

function computeLayers(nodes, preds) {
  const layer = new Map();
  const visiting = new Set();
  const visit = (name) => {
    if (layer.has(name)) return layer.get(name);
    if (visiting.has(name)) return 0; // a cycle (invalid template): break it anywhere
    visiting.add(name);
    let l = 0;
    for (const p of preds.get(name) || []) l = Math.max(l, visit(p) + 1);
    visiting.delete(name);
    layer.set(name, l);
    return l;
  };
  for (const n of nodes) visit(n);
  return layer;
}

function crossings(layers, down) {
  let total = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const pos = new Map(layers[l + 1].map((n, i) => [n, i]));
    const segs = [];
    layers[l].forEach((n, i) => {
      for (const t of down.get(n) || []) if (pos.has(t)) segs.push([i, pos.get(t)]);
    });
    for (let a = 0; a < segs.length; a++) {
      for (let b = a + 1; b < segs.length; b++) {
        if ((segs[a][0] - segs[b][0]) * (segs[a][1] - segs[b][1]) < 0) total++;
      }
    }
  }
  return total;
}

function orderLayers(layers, up, down) {
  const reorder = (layer, neighbours, refLayer) => {
    const pos = new Map(refLayer.map((n, i) => [n, i]));
    const keyed = layer.map((n, i) => {
      const ns = (neighbours.get(n) || []).filter((x) => pos.has(x));
      const bary = ns.length ? ns.reduce((s, x) => s + pos.get(x), 0) / ns.length : i;
      return { n, bary, i };
    });
    keyed.sort((a, b) => a.bary - b.bary || a.i - b.i);
    return keyed.map((k) => k.n);
  };
  let best = layers.map((l) => l.slice());
  let bestCount = crossings(best, down);
  let cur = best.map((l) => l.slice());
  for (let iter = 0; iter < 12 && bestCount > 0; iter++) {
    if (iter % 2 === 0) {
      for (let l = 1; l < cur.length; l++) cur[l] = reorder(cur[l], up, cur[l - 1]);
    } else {
      for (let l = cur.length - 2; l >= 0; l--) cur[l] = reorder(cur[l], down, cur[l + 1]);
    }
    const count = crossings(cur, down);
    if (count < bestCount) {
      best = cur.map((x) => x.slice());
      bestCount = count;
    }
  }
  return best;
}

/** Isotonic placement: x as close as possible to `desired`, in order, at least `gap(i)` apart. */
function place(desired, widths) {
  const offsets = [0];
  for (let i = 1; i < desired.length; i++) offsets.push(offsets[i - 1] + (widths[i - 1] + widths[i]) / 2 + GAP_X);
  const blocks = [];
  desired.forEach((d, i) => {
    blocks.push({ n: 1, sum: d - offsets[i], last: i });
    while (blocks.length > 1) {
      const b2 = blocks[blocks.length - 1];
      const b1 = blocks[blocks.length - 2];
      if (b1.sum / b1.n <= b2.sum / b2.n) break;
      b1.sum += b2.sum;
      b1.n += b2.n;
      b1.last = b2.last;
      blocks.pop();
    }
  });
  const out = [];
  let i = 0;
  for (const b of blocks) {
    for (; i <= b.last; i++) out.push(b.sum / b.n + offsets[i]);
  }
  return out;
}

/** Positions of the nodes and routes of the edges (pure: no DOM). */
export function layoutGraph(steps) {
  const names = steps.map((s) => s.name);
  const known = new Set(names);
  const edges = [];
  const preds = new Map(names.map((n) => [n, []]));
  for (const s of steps) {
    const seen = new Set();
    for (const dep of s.dependencies || []) {
      const { name, states } = parseDependency(dep);
      if (!known.has(name) || name === s.name || seen.has(name)) continue;
      seen.add(name);
      edges.push({ from: name, to: s.name, states, any: states.includes("ANY") });
      preds.get(s.name).push(name);
    }
  }
  const layerOf = computeLayers(names, preds);
  const depth = Math.max(0, ...layerOf.values()) + 1;
  const layers = Array.from({ length: depth }, () => []);
  for (const n of names) layers[layerOf.get(n)].push(n);

  // Long edges go through one dummy node per layer they cross.
  const up = new Map();
  const down = new Map();
  const link = (a, b) => {
    if (!down.has(a)) down.set(a, []);
    if (!up.has(b)) up.set(b, []);
    down.get(a).push(b);
    up.get(b).push(a);
  };
  const dummy = new Set();
  edges.forEach((e, k) => {
    e.chain = [];
    let prev = e.from;
    const from = layerOf.get(e.from);
    let to = layerOf.get(e.to);
    if (to <= from) to = from + 1; // only on cycles
    for (let l = from + 1; l < to && l < depth; l++) {
      const d = `\u0000${k}:${l}`;
      dummy.add(d);
      layers[l].push(d);
      e.chain.push(d);
      link(prev, d);
      prev = d;
    }
    link(prev, e.to);
  });

  const ordered = orderLayers(layers, up, down);
  const hasChildren = steps.some((s) => Array.isArray(s.children) && s.children.length);
  const nodeH = NODE_H + (hasChildren ? CHILD_ROW : 0);
  const width = (n) => (dummy.has(n) ? DUMMY_W : NODE_W);
  const x = new Map();
  for (const layer of ordered) {
    place(layer.map((_, i) => i * (NODE_W + GAP_X)), layer.map(width)).forEach((v, i) => x.set(layer[i], v));
  }
  const relax = (layer, neighbours) => {
    const desired = layer.map((n) => {
      const ns = neighbours(n);
      return ns.length ? ns.reduce((s, m) => s + x.get(m), 0) / ns.length : x.get(n);
    });
    place(desired, layer.map(width)).forEach((v, i) => x.set(layer[i], v));
  };
  for (let iter = 0; iter < 8; iter++) {
    if (iter % 2 === 0) for (let l = 1; l < ordered.length; l++) relax(ordered[l], (n) => up.get(n) || []);
    else for (let l = ordered.length - 2; l >= 0; l--) relax(ordered[l], (n) => down.get(n) || []);
  }
  for (const layer of ordered) relax(layer, (n) => [...(up.get(n) || []), ...(down.get(n) || [])]);

  let minX = Infinity;
  let maxX = -Infinity;
  for (const [n, v] of x) {
    minX = Math.min(minX, v - width(n) / 2);
    maxX = Math.max(maxX, v + width(n) / 2);
  }
  if (!Number.isFinite(minX)) {
    minX = 0;
    maxX = 0;
  }
  const shift = MARGIN - minX;
  const pos = new Map();
  ordered.forEach((layer, l) => {
    for (const n of layer) pos.set(n, { x: x.get(n) + shift, y: MARGIN + l * (nodeH + GAP_Y), layer: l });
  });

  // Ports: a node's incoming (outgoing) edges spread over its top (bottom), ordered by the other end's x.
  const spread = (list, key) => {
    list.sort((a, b) => key(a) - key(b));
    const span = Math.min(NODE_W * 0.6, (list.length - 1) * 22);
    list.forEach((item, i) => {
      item.offset = list.length > 1 ? -span / 2 + (span * i) / (list.length - 1) : 0;
    });
  };
  const firstHop = (e) => pos.get(e.chain[0] || e.to).x;
  const lastHop = (e) => pos.get(e.chain[e.chain.length - 1] || e.from).x;
  for (const n of names) {
    const outs = edges.filter((e) => e.from === n).map((e) => ({ e }));
    spread(outs, (o) => firstHop(o.e));
    outs.forEach((o) => { o.e.outOffset = o.offset; });
    const ins = edges.filter((e) => e.to === n).map((e) => ({ e }));
    spread(ins, (o) => lastHop(o.e));
    ins.forEach((o) => { o.e.inOffset = o.offset; });
  }
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    const pts = [[a.x + e.outOffset, a.y + nodeH]];
    for (const d of e.chain) {
      const p = pos.get(d);
      pts.push([p.x, p.y], [p.x, p.y + nodeH]);
    }
    pts.push([b.x + e.inOffset, b.y]);
    e.points = pts;
  }
  const heightPx = MARGIN * 2 + depth * nodeH + (depth - 1) * GAP_Y;
  return {
    nodes: steps.map((s) => ({ step: s, ...pos.get(s.name) })),
    edges, width: maxX - minX + MARGIN * 2, height: heightPx, nodeH, hasChildren,
  };
}

// -- drawing ----------------------------------------------------------------------------------------------------

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

function edgePath(points) {
  let d = `M${points[0][0]},${points[0][1]}`;
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1];
    const [x1, y1] = points[i];
    if (x0 === x1) {
      d += ` L${x1},${y1}`;
      continue;
    }
    const my = (y0 + y1) / 2;
    d += ` C${x0},${my} ${x1},${my} ${x1},${y1}`;
  }
  return d;
}

function fit(text, px, size) {
  const max = Math.max(3, Math.floor(px / (size * 0.58)));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// -- text widths and edge labels ---------------------------------------------------------------------------------

let measureCtx = null;

/** The width in px of `text` drawn in the page's font (a canvas measures it: the SVG need not be shown yet). */
function textWidth(text, size, weight = 400) {
  try {
    if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
    const family = getComputedStyle(document.body || document.documentElement).fontFamily || "sans-serif";
    measureCtx.font = `${weight} ${size}px ${family}`;
    const w = measureCtx.measureText(text).width;
    if (Number.isFinite(w) && w > 0) return Math.ceil(w);
  } catch {
    /* no canvas: estimate */
  }
  return Math.ceil(text.length * size * 0.68);
}

const LABEL_SIZE = 10.5;
const LABEL_H = 15;
const LABEL_PAD = 3; // the least space kept between a label and another label or a node

/** Points along an edge drawn by edgePath (its curves sampled), with their distance from the start. */
function sampleEdge(points) {
  const out = [{ x: points[0][0], y: points[0][1], d: 0 }];
  const push = (x, y) => {
    const last = out[out.length - 1];
    out.push({ x, y, d: last.d + Math.hypot(x - last.x, y - last.y) });
  };
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1];
    const [x1, y1] = points[i];
    if (x0 === x1) {
      push(x1, y1);
      continue;
    }
    const my = (y0 + y1) / 2; // the cubic of edgePath: (x0,y0) (x0,my) (x1,my) (x1,y1)
    for (let k = 1; k <= 24; k++) {
      const t = k / 24;
      const u = 1 - t;
      push(u * u * u * x0 + 3 * u * u * t * x0 + 3 * u * t * t * x1 + t * t * t * x1,
        u * u * u * y0 + 3 * u * u * t * my + 3 * u * t * t * my + t * t * t * y1);
    }
  }
  return out;
}

function pointAt(samples, fraction) {
  const total = samples[samples.length - 1].d;
  const want = total * fraction;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i].d >= want) {
      const a = samples[i - 1];
      const b = samples[i];
      const t = b.d > a.d ? (want - a.d) / (b.d - a.d) : 0;
      return [a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t];
    }
  }
  return [samples[samples.length - 1].x, samples[samples.length - 1].y];
}

function overlaps(a, b, pad = LABEL_PAD) {
  return a.x < b.x + b.w + pad && b.x < a.x + a.w + pad && a.y < b.y + b.h + pad && b.y < a.y + a.h + pad;
}

/**
 * Where the state labels of the edges go: on their edge, away from the nodes and from each other. Each label
 * tries points along its edge (the middle first, then towards either end), and beside them; if none is free
 * (a crowded graph), the nearest free place around the middle. Labels never overlap one another.
 * Returns [{edge, text, x, y, w, h}] (x, y: the top left corner).
 */
export function placeEdgeLabels(layout, measure = textWidth) {
  const nodeBoxes = layout.nodes.map((n) => ({ x: n.x - NODE_W / 2, y: n.y, w: NODE_W, h: layout.nodeH }));
  const placed = [];
  const free = (box, avoidNodes = true) => box.x >= 1 && box.y >= 1 && box.x + box.w <= layout.width - 1
    && box.y + box.h <= layout.height - 1 && !placed.some((p) => overlaps(p, box))
    && (!avoidNodes || !nodeBoxes.some((n) => overlaps(n, box)));
  const labelled = layout.edges.filter((e) => !(e.states.length === 1 && e.states[0] === "DONE"));
  for (const e of labelled) {
    const text = fit(e.states.join(","), 150, LABEL_SIZE);
    const w = measure(text, LABEL_SIZE, 600) + 10;
    const samples = sampleEdge(e.points);
    const boxAt = ([cx, cy], dx = 0) => ({ x: cx - w / 2 + dx, y: cy - LABEL_H / 2, w, h: LABEL_H });
    let box = null;
    search: for (const f of [0.5, 0.38, 0.62, 0.26, 0.74, 0.16, 0.84]) {
      const p = pointAt(samples, f);
      for (const dx of [0, w / 2 + 4, -(w / 2 + 4)]) {
        const b = boxAt(p, dx);
        if (free(b)) {
          box = b;
          break search;
        }
      }
    }
    if (!box) { // crowded: spiral out from the middle of the edge, keeping clear of nodes if at all possible
      const mid = pointAt(samples, 0.5);
      for (const avoidNodes of [true, false]) {
        for (let r = 1; r <= 80 && !box; r++) {
          for (const [dx, dy] of [[r * 6, 0], [-r * 6, 0], [0, r * 6], [0, -r * 6], [r * 6, r * 6], [-r * 6, -r * 6],
            [r * 6, -r * 6], [-r * 6, r * 6]]) {
            const b = { ...boxAt(mid, dx), y: mid[1] - LABEL_H / 2 + dy };
            if (free(b, avoidNodes)) {
              box = b;
              break;
            }
          }
        }
        if (box) break;
      }
      if (!box) { // nowhere inside the drawing: below everything placed so far
        const bottom = Math.max(0, ...placed.map((p) => p.y + p.h));
        box = { ...boxAt(mid), y: bottom + LABEL_PAD + 1 };
      }
    }
    placed.push({ edge: e, text, ...box });
  }
  return placed;
}

let graphCounter = 0;

function shapeKey(steps) {
  return JSON.stringify(steps.map((s) => [s.name, s.dependencies || [], (s.children || []).length]));
}

function childrenSummary(children) {
  const counts = new Map();
  for (const c of children) counts.set(c.state || "TODO", (counts.get(c.state || "TODO") || 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(", ");
}

function paintNode(g, step, nodeH) {
  // Without a state (a template's steps): a plain node, the action type only.
  const state = step.state || "";
  const { stroke, fill, family } = state ? stateColours(state) : { stroke: "#8a94a6", fill: "#ffffff", family: "none" };
  if (state) g.dataset.state = state;
  else delete g.dataset.state;
  g.setAttribute("class", `g-node family-${family}${g.classList.contains("selected") ? " selected" : ""}`);
  const rect = g.querySelector(".g-box");
  rect.setAttribute("fill", fill);
  rect.setAttribute("stroke", stroke);
  g.querySelector(".g-bar").setAttribute("fill", stroke);
  const sub = g.querySelector(".g-sub");
  sub.textContent = fit([step.type, state].filter(Boolean).join(" · "), NODE_W - 22, 11.5);
  const children = step.children || [];
  const row = g.querySelector(".g-children");
  if (row) {
    row.replaceChildren();
    // The count is right-aligned inside the node; the squares (one per child, as many as fit) fill what is left.
    const done = children.filter((c) => c.state === "DONE").length;
    let count = `${done}/${children.length} done`;
    let countW = textWidth(count, 10.5);
    if (countW > NODE_W - 24 - 11 * 2) { // huge numbers: the count alone
      count = `${done}/${children.length}`;
      countW = textWidth(count, 10.5);
    }
    const max = Math.max(0, Math.floor((NODE_W - 8 - countW - 6 - 12 + 3) / 11));
    children.slice(0, max).forEach((c, i) => {
      const col = stateColours(c.state);
      row.append(svg("rect", { x: 12 + i * 11, y: nodeH - 17, width: 8, height: 8, rx: 2, fill: col.stroke },
        svg("title", {}, `${c.name || `#${i}`}: ${c.state}`)));
    });
    row.append(svg("text", { x: NODE_W - 8, y: nodeH - 9.5, class: "g-count", "text-anchor": "end" }, count));
  }
  const label = `Step ${step.name}${state ? `, ${state}` : ""}${step.type ? `, action ${step.type}` : ""}`
    + (children.length ? `, ${children.length} children: ${childrenSummary(children)}` : "");
  g.setAttribute("aria-label", label);
  g.querySelector("title").textContent = `${step.name}${step.description ? ` — ${step.description}` : ""}`
    + (state ? `\n${state}` : "")
    + (children.length ? `\nchildren: ${childrenSummary(children)}` : "");
}

function paintEdges(root, byName) {
  for (const path of root.querySelectorAll(".g-edge")) {
    const states = path.dataset.states.split(",");
    const ok = dependencySatisfied(states, byName.get(path.dataset.from)?.state);
    path.classList.toggle("met", ok);
    path.setAttribute("marker-end", `url(#${root.dataset.gid}-arrow${ok ? "-met" : ""})`);
  }
}

/** Draw the graph; returns an <svg> element (its `dataset.scale` is the zoom factor). */
export function renderGraph(steps, { onSelect, selected = null, scale = 1 } = {}) {
  const layout = layoutGraph(steps);
  const labels = placeEdgeLabels(layout);
  layout.height = Math.max(layout.height, ...labels.map((l) => l.y + l.h + 4)); // (only a crowded graph's)
  const gid = `g${++graphCounter}`;
  const root = svg("svg", {
    class: "step-graph", xmlns: SVG_NS, role: "group", "aria-label": `Step graph: ${steps.length} steps`,
    viewBox: `0 0 ${Math.max(layout.width, 10)} ${Math.max(layout.height, 10)}`,
  });
  root.dataset.gid = gid;
  root.dataset.shape = shapeKey(steps);
  root.dataset.nodeH = String(layout.nodeH);
  setScale(root, scale, layout);
  const marker = (id, colour) => svg("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
    markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }));
  root.append(svg("defs", {}, marker(`${gid}-arrow`, "#98a2b3"), marker(`${gid}-arrow-met`, "#1f8a4c")));

  const edgeLayer = svg("g", { class: "g-edges" });
  const labelLayer = svg("g", { class: "g-labels" });
  for (const e of layout.edges) {
    const path = svg("path", { class: `g-edge${e.any ? " any" : ""}`, d: edgePath(e.points), fill: "none" });
    path.dataset.from = e.from;
    path.dataset.to = e.to;
    path.dataset.states = e.states.join(",");
    path.append(svg("title", {}, `${e.to} depends on ${e.from} (${e.states.join(" or ")})`));
    edgeLayer.append(path);
  }
  for (const l of labels) {
    const label = svg("g", { class: "g-edge-label" },
      svg("title", {}, `${l.edge.to} waits for ${l.edge.from} to be ${l.edge.states.join(" or ")}`),
      svg("rect", { x: l.x, y: l.y, width: l.w, height: l.h, rx: 3 }),
      svg("text", { x: l.x + l.w / 2, y: l.y + l.h / 2, "text-anchor": "middle", "dominant-baseline": "central" }, l.text));
    label.dataset.from = l.edge.from;
    label.dataset.to = l.edge.to;
    labelLayer.append(label);
  }
  root.append(edgeLayer, labelLayer);

  const nodeLayer = svg("g", { class: "g-nodes" });
  for (const n of layout.nodes) {
    const s = n.step;
    const g = svg("g", { class: "g-node", role: "button", tabindex: "0",
      transform: `translate(${n.x - NODE_W / 2},${n.y})` });
    g.dataset.step = s.name;
    g.append(
      svg("title", {}),
      svg("rect", { class: "g-focus", x: -5, y: -5, width: NODE_W + 10, height: layout.nodeH + 10, rx: 11 }),
      svg("rect", { class: "g-box", width: NODE_W, height: layout.nodeH, rx: 7 }),
      svg("rect", { class: "g-bar", width: 5, height: layout.nodeH - 8, x: 4, y: 4, rx: 2 }),
      svg("text", { class: "g-name", x: 15, y: 22 }, fit(s.name, NODE_W - 24, 13.5)),
      svg("text", { class: "g-sub", x: 15, y: 39 }),
      layout.hasChildren && s.children && s.children.length ? svg("g", { class: "g-children" }) : null,
    );
    paintNode(g, s, layout.nodeH);
    if (onSelect) {
      g.addEventListener("click", () => onSelect(s.name));
      g.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          onSelect(s.name);
        }
      });
    }
    nodeLayer.append(g);
  }
  root.append(nodeLayer);
  paintEdges(root, new Map(steps.map((s) => [s.name, s])));
  setSelected(root, selected);
  root.__onSelect = onSelect;
  return root;
}

/** Repaint states in place when the graph keeps its shape (same steps, edges, children counts); else redraw
 *  and swap the element. Returns the element now in the document. */
export function updateGraph(root, steps, opts = {}) {
  if (root && root.dataset.shape === shapeKey(steps)) {
    const byName = new Map(steps.map((s) => [s.name, s]));
    const nodeH = Number(root.dataset.nodeH);
    for (const g of root.querySelectorAll(".g-node")) {
      const s = byName.get(g.dataset.step);
      if (s) paintNode(g, s, nodeH);
    }
    paintEdges(root, byName);
    if ("selected" in opts) setSelected(root, opts.selected);
    return root;
  }
  const fresh = renderGraph(steps, { scale: root ? Number(root.dataset.scale) || 1 : 1, ...opts });
  if (root && root.parentNode) root.replaceWith(fresh);
  return fresh;
}

export function setSelected(root, name) {
  for (const g of root.querySelectorAll(".g-node")) {
    const on = g.dataset.step === name;
    g.classList.toggle("selected", on);
    g.setAttribute("aria-pressed", on ? "true" : "false");
  }
}

/** Zoom: the drawing keeps its viewBox, its size in CSS pixels follows `scale`. */
export function setScale(root, scale, layout = null) {
  const vb = layout ? [0, 0, layout.width, layout.height] : root.getAttribute("viewBox").split(" ").map(Number);
  const s = Math.min(3, Math.max(0.25, scale));
  root.dataset.scale = String(s);
  root.setAttribute("width", String(Math.round(vb[2] * s)));
  root.setAttribute("height", String(Math.round(vb[3] * s)));
  return s;
}

/** The scale that makes the drawing fit `width` CSS pixels (never above 1). */
export function fitScale(root, width) {
  const vb = root.getAttribute("viewBox").split(" ").map(Number);
  return Math.min(1, Math.max(0.25, (width - 4) / vb[2]));
}

/** A legend for the states present (HTML). */
export function renderLegend(states, { edges = true } = {}) {
  const items = [...new Set(states.filter(Boolean))].map((s) => {
    const { stroke, fill } = stateColours(s);
    return h("li", { dataset: { state: s } },
      h("span", { class: "swatch", style: { background: fill, borderColor: stroke } },
        h("span", { class: "swatch-bar", style: { background: stroke } })), s);
  });
  const edgeItems = edges ? [
    h("li", {}, h("span", { class: "edge-sample met" }), "dependency met"),
    h("li", {}, h("span", { class: "edge-sample" }), "not met yet"),
    h("li", {}, h("span", { class: "edge-sample any" }), "ANY (runs whatever the state)"),
  ] : [];
  return h("ul", { class: "graph-legend", "aria-label": "Legend" }, items, edgeItems);
}
