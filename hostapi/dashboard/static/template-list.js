// Templates for the pages that list or pick them (#/templates, #/new): every page of GET /template
// (µTask pages by name with `last`), a search matcher, and the safe doc link.

import { get } from "./api.js";
import { h } from "./ui.js";

const PAGE = 1000;
let cache = null; // {at, user, list}

/** Every template the caller may list (admins also get hidden ones), cached for 30 s. */
export async function allTemplates(meta) {
  const user = meta ? meta.username : "";
  if (cache && cache.user === user && Date.now() - cache.at < 30_000) return cache.list;
  const list = [];
  let last;
  for (let i = 0; i < 50; i += 1) {
    const page = (await get("template", { query: { page_size: PAGE, last } })) || [];
    list.push(...page);
    if (page.length < PAGE) break;
    last = page[page.length - 1].name;
  }
  cache = { at: Date.now(), user, list };
  return list;
}

export function tagText(tags) {
  return Object.entries(tags || {}).map(([k, v]) => `${k}=${v}`);
}

/** Does the template match every word of the search (name, description, long description, tags)? */
export function matches(tpl, search) {
  const words = (search || "").toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const text = [tpl.name, tpl.description, tpl.long_description, ...tagText(tpl.tags)].join(" ").toLowerCase();
  return words.every((w) => text.includes(w));
}

/** The template's doc link, only when it is an http(s) URL (never a javascript: one). */
export function docLink(url, label = "Documentation") {
  if (!url || !/^https?:\/\//i.test(url)) return null;
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "doc-link" }, label, " ↗");
}

export function templateBadges(tpl) {
  return [
    tpl.blocked ? h("span", { class: "badge state-err", title: "No task can be created from it" }, "blocked") : null,
    tpl.hidden ? h("span", { class: "badge state-muted", title: "Listed for administrators only" }, "hidden") : null,
    tpl.auto_runnable && !(tpl.resolver_inputs || []).length
      ? h("span", { class: "badge state-custom", title: "Runs at creation when the requester may run it" }, "auto-run")
      : null,
  ];
}

export function tagChips(tags) {
  const list = tagText(tags);
  if (!list.length) return null;
  return h("span", { class: "tags" }, list.map((t) => h("span", { class: "tag" }, t)));
}

/** Replace the hash's query without a new history entry nor a re-render (search boxes). */
export function replaceQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  history.replaceState(history.state, "", `#${path}${s ? `?${s}` : ""}`);
}
