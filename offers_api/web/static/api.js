// The offers API as the page calls it: a bearer token on every call, errors as data.

const TOKEN_KEY = "moby-offers.token";

export function token() {
  return window.sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  window.sessionStorage.setItem(TOKEN_KEY, value);
}

export function clearToken() {
  window.sessionStorage.removeItem(TOKEN_KEY);
}

/** Who the token says it is ({sub, role}), read from a JWT's payload for display only:
 * the API checks the signature. Null for an API key or anything unreadable. */
export function tokenClaims(value = token()) {
  const parts = (value || "").split(".");
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replaceAll("-", "+").replaceAll("_", "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(window.atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === "object" && claims ? claims : null;
  } catch {
    return null;
  }
}

/** A refused call: its status, the API's message and, for a 422 or 409, the fields. */
export class ApiError extends Error {
  constructor(status, message, fields = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields;
  }
}

/** The token was refused (401) or does not allow this (403): the page signs out. */
export class AuthError extends ApiError {
  constructor(status, message) {
    super(status, message);
    this.name = "AuthError";
  }
}

/** ``loc`` as a dotted field path without its leading "body": "offer.percent". */
export function fieldPath(loc) {
  const parts = (Array.isArray(loc) ? loc : [loc]).map(String);
  if (parts[0] === "body") parts.shift();
  return parts.join(".") || "$";
}

/** The API's ``detail`` as a message and a list of {path, msg}. */
export function describeDetail(detail, status) {
  if (typeof detail === "string") return { message: detail, fields: [] };
  if (Array.isArray(detail)) {
    const fields = detail.map((item) => ({
      path: fieldPath(item && item.loc),
      msg: String((item && item.msg) || "is not valid"),
    }));
    const message = fields.map((f) => `${f.path}: ${f.msg}`).join("; ");
    return { message: message || `HTTP ${status}`, fields };
  }
  return { message: `The API answered HTTP ${status}`, fields: [] };
}

const listeners = new Set();

/** Call ``listener(message)`` when the API refuses the token. */
export function onAuthFailure(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function authFailed(message) {
  for (const listener of listeners) listener(message);
}

/**
 * Call the API. Resolves with the parsed JSON (and the response's ETag as ``etag``
 * on objects); rejects with an ApiError. A 401 or 403 also signs out, unless
 * ``keepSignedIn`` is set (for a call that only some roles may make).
 */
export async function request(method, path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const current = options.token || token();
  if (current) headers.Authorization = `Bearer ${current}`;
  let body;
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body,
      signal: options.signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(0, "The API cannot be reached. Check the connection and try again.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const { message, fields } = describeDetail(data && data.detail, response.status);
    if (response.status === 401 || response.status === 403) {
      if (!options.keepSignedIn) authFailed(message);
      throw new AuthError(response.status, message);
    }
    throw new ApiError(response.status, message, fields);
  }
  const etag = response.headers.get("ETag");
  if (data && typeof data === "object" && !Array.isArray(data) && etag) {
    Object.defineProperty(data, "etag", { value: etag, enumerable: false });
  }
  return data;
}

export const api = {
  get: (path, options) => request("GET", path, options),
  post: (path, body, options) => request("POST", path, { ...options, body }),
  patch: (path, body, options) => request("PATCH", path, { ...options, body }),
};

/** Campaign ids go into paths: only the characters an id may have. */
export function campaignPath(id, suffix = "") {
  return `/v1/campaigns/${encodeURIComponent(id)}${suffix}`;
}
