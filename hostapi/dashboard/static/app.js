// The dashboard shell: sign-in, hash routing (µTask's URLs: #/task/<id>), connection status (a page that
// could not load for want of a server is shown as "Connection lost — retrying…" and loads by itself again).
// Each page is a module in pages/ whose default export is
//   async render(root, params, ctx) -> optional cleanup function
// with ctx = {meta, query, navigate(hash)}; meta is GET /meta (username, user_is_admin, …).

import { ApiError, CREDENTIALS_KEY, get, signIn, signOut, credentials } from "./api.js";
import { errorView, getAppName, h, mount, setAppName, setTitle } from "./ui.js";

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
let routedHash = null; // the hash of the page shown (an in-page anchor such as #main puts it back)
const RETRY_MS = 5000;

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
  routedHash = null;
  const shown = document.getElementById("login-error");
  if (shown && main.contains(shown)) { // already there (another address while signed out): keep what is typed
    if (message) shown.textContent = message;
    return;
  }
  const user = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "login-password", name: "password", type: "password",
    autocomplete: "current-password", required: true });
  const remember = h("input", { id: "login-remember", name: "remember", type: "checkbox",
    "aria-describedby": "login-remember-hint" });
  const error = h("p", { class: "field-error", role: "alert", id: "login-error" }, message || "");
  const form = h("form", { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, `Sign in to ${getAppName()}`),
    h("p", { class: "muted" }, "Use your µTask account (the same as the API's basic authentication)."),
    h("div", { class: "field" }, h("label", { for: "login-username" }, "Username"), user),
    h("div", { class: "field" }, h("label", { for: "login-password" }, "Password"), pass),
    h("div", { class: "field field-check" },
      h("div", { class: "check-row" }, remember, h("label", { for: "login-remember" }, "Keep me signed in on this browser")),
      h("div", { class: "hint", id: "login-remember-hint" },
        "Every tab of this browser then uses this sign-in until you sign out. Leave it off on a shared computer.")),
    error,
    h("button", { type: "submit", class: "btn primary" }, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    signIn(user.value, pass.value, remember.checked);
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
    if (session && session.application_name) setAppName(session.application_name);
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
  if (meta.application_name) {
    document.getElementById("brand").textContent = meta.application_name;
    setAppName(meta.application_name);
  }
  return meta;
}

/** A page that could not load because the server can't be reached: said so, retried (see connection()). */
function connectionLostView() {
  setTitle("Connection lost");
  window.dispatchEvent(new CustomEvent("utask:connection", { detail: "lost" }));
  mount(main, errorView(new ApiError(0, "")));
}

/** A failed `import()` of a page: the browser's TypeError ("Failed to fetch dynamically imported module"). */
function unreachable(e) {
  return (e instanceof ApiError && e.status === 0) || (e instanceof TypeError && /import|fetch/i.test(e.message));
}

/** "#main" (the skip link) and other in-page anchors are not pages: focus the element, keep the page. */
function inPageAnchor() {
  const raw = window.location.hash.replace(/^#/, "");
  if (!raw || raw.startsWith("/")) return false;
  const target = document.getElementById(decodeURIComponent(raw));
  if (!target) return false;
  history.replaceState(history.state, "", routedHash || "#/");
  if (routedHash === null) return false; // no page shown yet (opened at #main): the home page, then
  focusTarget(target);
  return true;
}

function focusTarget(target) {
  if (!target.hasAttribute("tabindex") && !target.matches("a, button, input, select, textarea")) {
    target.setAttribute("tabindex", "-1");
  }
  target.focus({ preventScroll: true });
  target.scrollIntoView({ block: "start" });
}

async function route() {
  if (inPageAnchor()) return;
  const token = ++renderToken;
  routedHash = window.location.hash;
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
      if (unreachable(e)) return connectionLostView();
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
      if (unreachable(e)) return connectionLostView();
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

// -- connection: the badge, and retries while the server can't be reached -------------------------------------
// Every API call reports "lost" or "ok" (api.js). While lost, the server is asked every RETRY_MS (and at once when
// the browser says it is online again); the first answer — of that probe, a page's poll or its live stream
// reconnecting — clears the badge and renders again a page that could not load.
let retryTimer = null;

function showingLostPage() {
  return Boolean(main.querySelector('.error-view[data-status="0"]'));
}

async function probe() {
  retryTimer = null;
  try {
    await get("unsecured/mon/ping");
  } catch {
    /* api.js dispatched "ok" on any answer (even an error status), else "lost": the next probe is scheduled */
  }
}

function connection(status) {
  const el = document.getElementById("connection");
  const was = el.dataset.status;
  el.dataset.status = status;
  el.textContent = status === "lost" ? "Connection lost — retrying…" : "";
  if (status === "lost") {
    if (!retryTimer) retryTimer = setTimeout(probe, RETRY_MS);
    return;
  }
  clearTimeout(retryTimer);
  retryTimer = null;
  if (was === "lost" && showingLostPage()) route();
}

window.addEventListener("utask:connection", (ev) => connection(ev.detail));
window.addEventListener("utask:retry", () => route());
window.addEventListener("online", () => {
  if (document.getElementById("connection").dataset.status === "lost") {
    clearTimeout(retryTimer);
    probe();
  }
});

// -- the skip link, signing out, other tabs ---------------------------------------------------------------------
document.querySelector("a.skip").addEventListener("click", (ev) => {
  ev.preventDefault(); // "#main" is not a page address
  focusTarget(main);
});

function signedOut(message) {
  meta = null;
  document.getElementById("whoami").textContent = "";
  document.getElementById("logout").hidden = true;
  loginView(message);
}

document.getElementById("logout").addEventListener("click", () => {
  signOut();
  signedOut("Signed out.");
});

// "Keep me signed in" shares the credentials between tabs (localStorage): follow the other tabs.
window.addEventListener("storage", (ev) => {
  if (ev.key !== CREDENTIALS_KEY && ev.key !== null) return;
  if (!credentials()) {
    if (!document.getElementById("login-title")) signedOut("Signed out in another tab.");
  } else if (document.getElementById("login-title") && ev.newValue) {
    meta = null;
    route(); // signed in (and kept) in another tab
  }
});

route();
