// The dashboard shell: sign-in, hash routing (µTask's URLs: #/task/<id>), connection status.
// Each page is a module in pages/ whose default export is
//   async render(root, params, ctx) -> optional cleanup function
// with ctx = {meta, query, navigate(hash)}; meta is GET /meta (username, user_is_admin, …).

import { ApiError, get, signIn, signOut, credentials } from "./api.js";
import { errorView, h, mount, setTitle } from "./ui.js";

const ROUTES = [
  [/^\/?$/, null, () => "#/tasks"],
  [/^\/tasks$/, "tasks"],
  [/^\/new$/, "new-task"],
  [/^\/task\/([^/]+)$/, "task", (m) => ({ id: decodeURIComponent(m[1]) })],
  [/^\/templates$/, "templates"],
  [/^\/template\/([^/]+)$/, "template", (m) => ({ name: decodeURIComponent(m[1]) })],
  [/^\/functions$/, "functions"],
];

const main = document.getElementById("main");
let meta = null;
let cleanup = null;
let renderToken = 0;

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?", 2);
  return { path, query: new URLSearchParams(qs || "") };
}

export function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function markNav(page) {
  for (const a of document.querySelectorAll("[data-nav]")) {
    const current = a.dataset.nav === page || (a.dataset.nav === "tasks" && page === "task")
      || (a.dataset.nav === "templates" && page === "template");
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function loginView(message) {
  setTitle("Sign in");
  markNav(null);
  const user = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "login-password", name: "password", type: "password",
    autocomplete: "current-password", required: true });
  const error = h("p", { class: "field-error", role: "alert", id: "login-error" }, message || "");
  const form = h("form", { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Sign in to µTask"),
    h("p", { class: "muted" }, "Use your µTask account (the same as the API's basic authentication)."),
    h("div", { class: "field" }, h("label", { for: "login-username" }, "Username"), user),
    h("div", { class: "field" }, h("label", { for: "login-password" }, "Password"), pass),
    error,
    h("button", { type: "submit", class: "btn primary" }, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    signIn(user.value, pass.value);
    meta = null;
    try {
      if (!(await authenticated())) {
        signOut();
        error.textContent = "Wrong username or password.";
        return;
      }
      await loadMeta();
      route();
    } catch (e) {
      signOut();
      error.textContent = e.status === 401 ? "Wrong username or password." : e.message;
    }
  });
  mount(main, form);
  user.focus();
}

/**
 * Whether the server knows who we are (typed credentials, or a trusted proxy's header), asked without
 * risking a 401 — which the browser would log as an error. True for a server without that route.
 */
async function authenticated() {
  try {
    const session = await get("unsecured/session");
    return Boolean(session && session.authenticated);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return true; // an older server: /meta will tell
    throw e;
  }
}

async function loadMeta() {
  if (!credentials() && !(await authenticated())) throw new ApiError(401, "sign-in required");
  meta = await get("meta");
  document.getElementById("whoami").textContent = meta.username
    + (meta.user_is_admin ? " (admin)" : "");
  document.getElementById("logout").hidden = !credentials();
  if (meta.application_name) document.getElementById("brand").textContent = meta.application_name;
  return meta;
}

async function route() {
  const token = ++renderToken;
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a page's cleanup must not block navigation */
    }
    cleanup = null;
  }
  const { path, query } = parseHash();
  if (!meta) {
    try {
      await loadMeta();
    } catch (e) {
      if (token !== renderToken) return;
      if (e instanceof ApiError && e.status === 401) return loginView(credentials() ? "Your session expired: sign in again." : "");
      return mount(main, errorView(e, "the dashboard"));
    }
  }
  for (const [re, page, params] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    if (!page) return navigate(params(m));
    markNav(page);
    mount(main, h("p", { class: "muted", "aria-busy": "true" }, "Loading…"));
    try {
      const mod = await import(`./pages/${page}.js`);
      if (token !== renderToken) return;
      const root = h("div", { class: `page page-${page}` });
      mount(main, root);
      const result = await mod.default(root, params ? params(m) : {}, { meta, query, navigate });
      if (token !== renderToken) {
        if (typeof result === "function") result();
        return;
      }
      cleanup = typeof result === "function" ? result : null;
    } catch (e) {
      if (token !== renderToken) return;
      if (e instanceof ApiError && e.status === 401) return loginView("Your session expired: sign in again.");
      console.warn("page failed:", e); // eslint-disable-line no-console
      mount(main, errorView(e, "this page"));
    }
    return;
  }
  markNav(null);
  setTitle("Not found");
  mount(main, errorView(new ApiError(404, ""), "this page"));
}

window.addEventListener("hashchange", route);
window.addEventListener("utask:unauthorized", () => {
  if (document.getElementById("login-title")) return; // the sign-in form reports it itself
  meta = null;
  loginView("Your session expired or your credentials were refused: sign in again.");
});
window.addEventListener("utask:connection", (ev) => {
  const el = document.getElementById("connection");
  el.dataset.status = ev.detail;
  el.textContent = ev.detail === "lost" ? "Connection lost — retrying…" : "";
});
document.getElementById("logout").addEventListener("click", () => {
  signOut();
  meta = null;
  document.getElementById("whoami").textContent = "";
  document.getElementById("logout").hidden = true;
  loginView("Signed out.");
});

route();
