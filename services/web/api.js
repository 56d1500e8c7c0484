// The newsdesk API as the page uses it: JSON calls and the event stream, with the API key (kept
// in this browser's local storage) sent as a bearer token.

const KEY_STORAGE = "newsdesk.apiKey";

// Fires "unauthorized" (detail: the server's explanation) whenever a call is refused a 401.
export const auth = new EventTarget();

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `the server answered ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function storedKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

// Keeps the key (or forgets it, given ""); false when the browser refuses storage.
export function keepKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
    return true;
  } catch {
    return false;
  }
}

function authHeaders() {
  const key = storedKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function refusal(response) {
  let problem = null;
  try {
    problem = await response.json();
  } catch {
    // not a problem+json body
  }
  const error = new ApiError(response.status, problem);
  if (response.status === 401) {
    auth.dispatchEvent(new CustomEvent("unauthorized", { detail: error.message }));
  }
  return error;
}

// A JSON call; the answer's body (null for 204), or an ApiError with the server's explanation.
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json", ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
  });
  if (!response.ok) throw await refusal(response);
  return response.status === 204 ? null : response.json();
}

// Reads a Server-Sent Events stream with fetch (EventSource cannot send the key), calling
// onEvent(kind, data) for each event whose data is JSON, until onEvent returns something other
// than null (returned) or the stream ends (null).
export async function readEvents(path, { signal, onEvent }) {
  const response = await fetch(path, {
    headers: { Accept: "text/event-stream", ...authHeaders() },
    signal,
    cache: "no-store",
  });
  if (!response.ok) throw await refusal(response);
  if (!response.body) return null;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let kind = "message";
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return null;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (line === "") {
          const outcome = data.length ? dispatch(onEvent, kind, data.join("\n")) : null;
          if (outcome !== null) return outcome;
          kind = "message";
          data = [];
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const content = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") kind = content;
          else if (field === "data") data.push(content);
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function dispatch(onEvent, kind, text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  const outcome = onEvent(kind, data);
  return outcome === undefined ? null : outcome;
}
