// The dashboard's only door to the server: the REST API, with the caller's credentials.
// Every call sends `X-Requested-With: XMLHttpRequest` so a 401 comes without `WWW-Authenticate`
// (no native browser prompt: the dashboard shows its own sign-in form).

const AUTH_KEY = "utask.authorization";

function apiBase() {
  let base = (window.UTASK && window.UTASK.apiBase) || "/";
  if (base.startsWith("___")) base = "/"; // served without placeholder substitution
  return base.endsWith("/") ? base : base + "/";
}

export const API_BASE = apiBase();

export class ApiError extends Error {
  /** status 0 means the server could not be reached. */
  constructor(status, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

// Where the credentials live: this tab only (sessionStorage, the default), or every tab of this browser
// (localStorage, "Keep me signed in on this browser"). A tab's own sign-in wins over the shared one.
// With web storage disabled (privacy settings), the credentials live in this page's memory only.
const memory = new Map();

function stored(name) {
  try {
    return window[name].getItem(AUTH_KEY);
  } catch {
    return memory.get(name) ?? null;
  }
}

function store(name, value) {
  try {
    if (value === null) window[name].removeItem(AUTH_KEY);
    else window[name].setItem(AUTH_KEY, value);
  } catch {
    if (value === null) memory.delete(name);
    else memory.set(name, value);
  }
}

export function credentials() {
  return stored("sessionStorage") || stored("localStorage");
}

/** `remember`: keep the credentials for every tab of this browser (localStorage), else for this tab only
 *  (other tabs keep what they use). */
export function signIn(username, password, remember = false) {
  const token = btoa(String.fromCharCode(...new TextEncoder().encode(`${username}:${password}`)));
  store(remember ? "localStorage" : "sessionStorage", `Basic ${token}`);
  if (remember) store("sessionStorage", null); // this tab now uses the shared credentials too
}

/** Forget the credentials in both places (signing out of one tab signs out the tabs that shared them). */
export function signOut() {
  store("sessionStorage", null);
  store("localStorage", null);
}

/** The storage key of the credentials, for `storage` events of other tabs. */
export const CREDENTIALS_KEY = AUTH_KEY;

export function url(path, query) {
  const u = new URL(API_BASE + path.replace(/^\//, ""), window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, item);
  }
  return u.toString();
}

function headers(extra = {}) {
  const h = { Accept: "application/json", "X-Requested-With": "XMLHttpRequest", ...extra };
  const auth = credentials();
  if (auth) h.Authorization = auth;
  return h;
}

/** Where the server said the problem is: the API's `{"error": "..."}`, else the status text. */
async function errorFrom(response) {
  let body = null;
  let message = `${response.status} ${response.statusText}`;
  try {
    body = await response.json();
    if (body && typeof body.error === "string") message = body.error;
  } catch {
    /* not JSON */
  }
  return new ApiError(response.status, message, body);
}

/**
 * Call the API. Resolves to `{data, headers, status}`; rejects with ApiError.
 * A 401 also dispatches `utask:unauthorized` on window (app.js shows the sign-in form).
 */
export async function call(method, path, { body, query, signal, headers: extra } = {}) {
  const init = { method, headers: headers(extra), signal, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url(path, query), init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    window.dispatchEvent(new CustomEvent("utask:connection", { detail: "lost" }));
    throw new ApiError(0, "Cannot reach the µTask server: the connection was lost. Retrying will work once it is back.");
  }
  window.dispatchEvent(new CustomEvent("utask:connection", { detail: "ok" }));
  if (!response.ok) {
    const err = await errorFrom(response);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("utask:unauthorized"));
    throw err;
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  return { data, headers: response.headers, status: response.status };
}

export const get = (path, opts) => call("GET", path, opts).then((r) => r.data);
export const post = (path, body, opts = {}) => call("POST", path, { ...opts, body }).then((r) => r.data);
export const put = (path, body, opts = {}) => call("PUT", path, { ...opts, body }).then((r) => r.data);
export const del = (path, opts) => call("DELETE", path, opts).then((r) => r.data);

/** Parse a text/event-stream body incrementally; calls onEvent(name, data) for each event. */
async function readEvents(response, onEvent, signal) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let name = "message";
  let data = [];
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let nl;
    while ((nl = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer[nl] === "\r" ? 2 : 1));
      if (line === "") {
        if (data.length) {
          const raw = data.join("\n");
          let parsed = raw;
          try {
            parsed = JSON.parse(raw);
          } catch {
            /* plain text data */
          }
          onEvent(name, parsed);
        }
        name = "message";
        data = [];
      } else if (line.startsWith(":")) {
        // comment (keep-alive)
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = val;
        else if (field === "data") data.push(val);
      }
    }
  }
}

/**
 * Live updates: a server-sent events stream read with fetch (EventSource cannot send Authorization),
 * falling back to polling when the stream is unavailable or keeps failing.
 *
 *   const live = stream("task/ID/events", {onEvent(name, data) {...}, poll: async () => {...},
 *                                          onStatus(status) {...}});   // "live" | "polling" | "lost"
 *   live.close();
 */
export function stream(path, { onEvent, poll, onStatus = () => {}, query, pollInterval = 3000 }) {
  const controller = new AbortController();
  let closed = false;
  let failures = 0;
  let pollTimer = null;

  const startPolling = () => {
    if (closed || pollTimer || !poll) return;
    onStatus("polling");
    const tick = async () => {
      if (closed) return;
      try {
        await poll();
        onStatus("polling");
      } catch (e) {
        onStatus(e && e.status === 0 ? "lost" : "polling");
      }
      if (!closed) pollTimer = setTimeout(tick, pollInterval);
    };
    pollTimer = setTimeout(tick, pollInterval);
  };

  const connect = async () => {
    while (!closed) {
      try {
        const response = await fetch(url(path, query), {
          headers: headers({ Accept: "text/event-stream" }),
          signal: controller.signal,
          credentials: "same-origin",
          cache: "no-store",
        });
        if (!response.ok) {
          if (response.status === 401) window.dispatchEvent(new CustomEvent("utask:unauthorized"));
          // No stream here (older server, proxy): polling only.
          if ([404, 405, 501].includes(response.status)) return startPolling();
          throw new ApiError(response.status, (await errorFrom(response)).message);
        }
        failures = 0;
        if (pollTimer) {
          clearTimeout(pollTimer);
          pollTimer = null;
        }
        onStatus("live");
        window.dispatchEvent(new CustomEvent("utask:connection", { detail: "ok" }));
        await readEvents(response, onEvent, controller.signal);
      } catch (e) {
        if (closed || (e && e.name === "AbortError")) return;
        if (e && e.status && e.status < 500) return startPolling(); // 403/404…: the page shows it
      }
      if (closed) return;
      failures += 1;
      onStatus("lost");
      window.dispatchEvent(new CustomEvent("utask:connection", { detail: "lost" }));
      if (failures >= 3) startPolling();
      await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** failures, 15000)));
      if (poll && !closed) {
        try {
          await poll(); // catch up on what the stream missed
        } catch {
          /* reported by the next attempt */
        }
      }
    }
  };
  connect();

  return {
    close() {
      closed = true;
      controller.abort();
      if (pollTimer) clearTimeout(pollTimer);
    },
  };
}
