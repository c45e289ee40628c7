// The one door to the server: the session's token, JSON requests, errors in words.
//
// The token (an API key or a JWT) lives in sessionStorage only: it is sent in the
// Authorization header and never put in a URL, a log line or localStorage, and it is gone
// when the tab closes.

const TOKEN_KEY = "bkgdb.admin.token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// An error answer of the API ({"error": {code, message, detail}}), or a failure to reach it.
export class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  // True when the endpoint does not exist on this server (yet): 404 "no such route" or 501.
  get unavailable() {
    return (this.status === 404 && this.code === "NOT_FOUND" && /no such route/.test(this.message))
      || this.status === 405 || this.status === 501;
  }
}

// Every error in words: code, HTTP status, message and, for syntax errors, the position.
export function describe(err) {
  if (!(err instanceof ApiError)) return `Unexpected error: ${err && err.message ? err.message : err}`;
  if (err.status === 0) return err.message;
  let text = `${err.code} (HTTP ${err.status}): ${err.message}`;
  const d = err.detail;
  if (d && typeof d === "object" && !Array.isArray(d)) {
    if (d.line !== undefined && d.col !== undefined) text += ` — at line ${d.line}, column ${d.col}`;
    if (d.retry_after !== undefined) text += ` — retry in ${Math.ceil(d.retry_after)} s`;
    if (d.head_lsn !== undefined) text += ` — the head LSN is ${d.head_lsn}`;
  } else if (Array.isArray(d) && d.length) {
    text += " — " + d.map((x) => (x && x.message ? `${x.key || ""} ${x.message}`.trim() : JSON.stringify(x))).join("; ");
  }
  return text;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const info = body && body.error;
  if (info && info.code) return new ApiError(response.status, info.code, info.message || "", info.detail);
  if (response.status === 404) return new ApiError(404, "NOT_FOUND", "no such route");
  return new ApiError(response.status, `HTTP_${response.status}`, response.statusText || "request failed");
}

// fetch with the session's token (JSON `body`, or `rawBody` bytes of `contentType`); throws ApiError (status 0 when the server cannot be reached).
export async function send(method, path, { body, rawBody, contentType, token, accept, signal, headers: extra } = {}) {
  const headers = { Accept: accept || "application/json", ...extra };
  const bearer = token === undefined ? getToken() : token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (rawBody !== undefined) headers["Content-Type"] = contentType || "application/octet-stream";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: rawBody !== undefined ? rawBody : body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "NETWORK", `The server did not answer (${err && err.message ? err.message : err}). Is bkgdb serve running?`);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function json(method, path, options = {}) {
  const response = await send(method, path, options);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export const api = {
  get: (path, options) => json("GET", path, options),
  post: (path, body, options = {}) => json("POST", path, { ...options, body }),
  del: (path, options) => json("DELETE", path, options),
  text: async (path, options) => (await send("GET", path, { ...options, accept: "text/plain" })).text(),
  query: (sql, extra = {}, options) => json("POST", "/query", { ...options, body: { sql, ...extra } }),
};

// What the token says about its holder, for the header line (never sent anywhere).
export function principalOf(token) {
  const key = /^bkg_(admin|namespace)_/.exec(token);
  if (key) return { kind: key[1], label: `${key[1]} key ${token.slice(0, 18)}…` };
  const parts = token.split(".");
  if (parts.length === 3) {
    try {
      const claims = JSON.parse(atob(parts[1].replace(/-/g, "+").replace(/_/g, "/")));
      const role = claims.role || "user";
      const words = [role, claims.sub, claims.ns ? `in ${claims.ns}` : null, "(JWT)"];
      return { kind: role === "admin" ? "admin" : "user", label: words.filter(Boolean).join(" ") };
    } catch {
      return { kind: "unknown", label: "token" };
    }
  }
  return { kind: "unknown", label: "token" };
}
