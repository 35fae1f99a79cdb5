// The JSON API as the page uses it: every request carries the saved key (if any), every
// failure becomes an ApiError with OpenAI's {code, message, param} and, unless the caller
// asks for quiet, a banner.

import { showError } from "./notify.js";

const KEY_STORAGE = "troupe.apiKey";
export const DEFAULT_POLL_MS = 1000;

export class ApiError extends Error {
  constructor(status, code, message, param = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function saveApiKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

function authHeaders(extra) {
  const headers = new Headers(extra || {});
  const key = apiKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  return headers;
}

/** The server's `openai-poll-after-ms`, or null when it sent none. */
function pollAfter(response) {
  const value = Number.parseInt(response.headers.get("openai-poll-after-ms") || "", 10);
  return Number.isFinite(value) && value > 0 ? value : null;
}

async function errorOf(response) {
  const text = await response.text().catch(() => "");
  try {
    const { error } = JSON.parse(text);
    if (error && error.code) {
      return new ApiError(response.status, error.code, error.message || "", error.param ?? null);
    }
  } catch {
    // not JSON: a proxy's page, say; its first words still say something
  }
  const detail = text.trim().slice(0, 200) || response.statusText;
  return new ApiError(response.status, `http_${response.status}`, detail);
}

async function send(path, init, quiet) {
  let response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    const why = `the server could not be reached (${cause.message})`;
    const error = new ApiError(0, "network_error", why);
    if (!quiet) showError(error);
    throw error;
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (!quiet) showError(error);
    throw error;
  }
  return response;
}

/**
 * One API call. `json` or `form` is the body. Resolves to {body, status, pollAfterMs};
 * rejects with an ApiError (already shown as a banner unless `quiet`).
 */
export async function api(path, { method = "GET", json, form, headers, quiet = false } = {}) {
  const init = { method, headers: authHeaders(headers) };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers.set("Content-Type", "application/json");
  } else if (form !== undefined) {
    init.body = form;
  }
  const response = await send(path, init, quiet);
  const body = response.status === 204 ? null : await response.json();
  return { body, status: response.status, pollAfterMs: pollAfter(response) };
}

/**
 * Bytes that need the key (a video, a thumbnail) as an object URL for <video>/<img>,
 * since those elements cannot send an Authorization header themselves.
 */
export async function blobUrl(path, { quiet = false } = {}) {
  const response = await send(path, { headers: authHeaders() }, quiet);
  return URL.createObjectURL(await response.blob());
}

/** Every page of a list route, up to `maxPages`, as one array. */
export async function listAll(path, { limit = 100, maxPages = 5, quiet = false } = {}) {
  const items = [];
  let after = null;
  for (let page = 0; page < maxPages; page += 1) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (after) query.set("after", after);
    const { body } = await api(`${path}?${query}`, { quiet });
    items.push(...body.data);
    if (!body.has_more || !body.last_id) break;
    after = body.last_id;
  }
  return items;
}
