// One document's page: its stages as they happen (from the event stream, else by long-polling),
// then its result; cancelling or deleting it.

import { $, el, formatTime, setText } from "./dom.js";
import { ApiError, api, readEvents } from "./api.js";
import { renderResult } from "./result.js";

const POLL_WAIT_SECONDS = 5;
export const FINISHED = new Set(["completed", "failed", "cancelled"]);
const STAGES = [
  ["clean", "Cleaning"],
  ["entities", "Entities"],
  ["summarize", "Summary and keywords"],
];
const STAGE_STATES = {
  pending: ["waiting", "·"],
  running: ["running", "…"],
  completed: ["done", "✓"],
  skipped: ["skipped", "–"],
  failed: ["failed", "✗"],
  cancelled: ["cancelled", "✗"],
};

let following = null; // the AbortController of the document being followed
let changed = () => {}; // called when a document finished or was deleted

// -- progress --------------------------------------------------------------------------------

function renderStages(stages) {
  const list = $("stages");
  if (!list.children.length) {
    for (const [stage, name] of STAGES) {
      list.append(el("li", { "data-stage": stage, "data-state": "pending" },
        el("span", { className: "stage-icon", "aria-hidden": "true" }),
        el("span", { className: "stage-name", text: name }),
        el("span", { className: "stage-state" }),
        el("span", { className: "stage-time" })));
      updateStage(stage, { status: "pending" });
    }
  }
  for (const [stage, view] of Object.entries(stages || {})) updateStage(stage, view);
}

function updateStage(stage, view) {
  const item = $("stages").querySelector(`[data-stage="${CSS.escape(stage)}"]`);
  if (!item) return;
  const state = view.status || "pending";
  const [word, icon] = STAGE_STATES[state] || [state, "?"];
  item.dataset.state = state;
  item.querySelector(".stage-icon").textContent = icon;
  const attempt = view.attempts > 1 ? ` (attempt ${view.attempts})` : "";
  item.querySelector(".stage-state").textContent = `${word}${attempt}`;
  const time = typeof view.duration_ms === "number" ? `${view.duration_ms.toFixed(0)} ms` : "";
  item.querySelector(".stage-time").textContent = time;
}

function statusLine(status, runningStage) {
  if (status === "completed") return "Completed.";
  if (status === "failed") return "Failed.";
  if (status === "cancelled") return "Cancelled.";
  const running = STAGES.find(([stage]) => stage === runningStage);
  if (running) return `${running[1]}: running…`;
  return status === "queued" ? "Queued…" : "Processing…";
}

// The status (also on the section as data-status) and its line in the live region.
function showStatus(status, line) {
  $("document").dataset.status = status;
  setText("status-line", line);
  const button = $("delete-button");
  button.hidden = false;
  button.textContent = FINISHED.has(status) ? "Delete this document" : "Cancel";
}

function titleOf(view) {
  const result = view.result || {};
  return (view.options && view.options.title) || (result.clean && result.clean.title)
    || "Untitled document";
}

function renderView(view) {
  const title = titleOf(view);
  setText("doc-title", title);
  document.title = `${title} · newsdesk`;
  setText("doc-meta", `${view.content_type} · submitted ${formatTime(view.created_at)} · ${view.id}`);
  renderStages(view.stages);
  const running = Object.entries(view.stages || {}).find(([, s]) => s.status === "running");
  showStatus(view.status, statusLine(view.status, running && running[0]));
  const error = view.error;
  const where = error && error.stage ? `, stage ${error.stage}` : "";
  setText("doc-error", error ? `${error.message} (${error.code}${where})` : "");
  if (view.result) renderResult(view.result);
}

function showDocumentError(error) {
  const gone = error instanceof ApiError && error.status === 410;
  $("document").dataset.status = gone ? "gone" : "error";
  setText("status-line", gone ? "This document was deleted or has expired."
    : "Could not load this document.");
  setText("doc-error", error.message);
  $("delete-button").hidden = true;
}

// -- following -------------------------------------------------------------------------------

// One event of the stream: stage changes are shown; the final "document" event is returned.
function onEvent(kind, data) {
  if (kind === "document") {
    if (data.stages && data.status) return data;
    throw new Error("the stream ended without the document");
  }
  if (kind === "stage" && data.stage) {
    updateStage(data.stage, { status: data.stage_status, attempts: data.attempt });
  }
  if (data.status && !FINISHED.has(data.status)) {
    const running = data.stage_status === "running" ? data.stage : null;
    showStatus(data.status, statusLine(data.status, running));
  }
  return null;
}

async function longPoll(id, signal) {
  let pause = 1000;
  for (;;) {
    let view;
    try {
      view = await api(`/v1/documents/${id}?wait=${POLL_WAIT_SECONDS}`, { signal });
    } catch (error) {
      if (error.name === "AbortError" || (error instanceof ApiError && error.status < 500)) {
        throw error;
      }
      setText("status-line", "Connection lost; trying again…");
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 10000);
      continue;
    }
    pause = 1000;
    renderView(view);
    if (FINISHED.has(view.status)) return view;
  }
}

// The finished document: from the event stream, or by long-polling when the stream fails
// (a proxy that buffers it, a connection that breaks).
async function follow(id, signal) {
  try {
    const view = await readEvents(`/v1/documents/${id}/events`, { signal, onEvent });
    if (view) return view;
  } catch (error) {
    if (error.name === "AbortError") throw error;
    if (error instanceof ApiError && [401, 404, 410].includes(error.status)) throw error;
  }
  $("document").dataset.transport = "long-poll";
  return longPoll(id, signal);
}

export function stopFollowing() {
  if (following) following.abort();
  following = null;
}

// Shows one document. A document just submitted is followed at once (its event stream starts
// with "queued"); any other is read first, and followed only while unfinished.
export async function showDocument(id, { focus = false, submitted = null } = {}) {
  stopFollowing();
  const controller = new AbortController();
  following = controller;
  $("intake").hidden = true;
  const section = $("document");
  section.hidden = false;
  section.dataset.id = id;
  section.dataset.status = "loading";
  delete section.dataset.transport;
  $("result").hidden = true;
  $("stages").replaceChildren();
  $("delete-button").hidden = true;
  setText("doc-title", submitted ? submitted.title || "Untitled document" : "Document");
  setText("doc-meta", id);
  setText("doc-error", "");
  setText("status-line", submitted ? "Submitted." : "Loading…");
  if (submitted) renderStages({});
  if (focus) {
    $("doc-title").tabIndex = -1;
    $("doc-title").focus();
  }
  const { signal } = controller;
  try {
    let view = submitted ? null : await api(`/v1/documents/${id}`, { signal });
    if (signal.aborted) return;
    if (view) renderView(view);
    if (!view || !FINISHED.has(view.status)) {
      view = await follow(id, signal);
      if (signal.aborted) return;
      renderView(view);
      changed();
    }
  } catch (error) {
    if (!signal.aborted) showDocumentError(error);
  }
}

// The delete (or, while unfinished, cancel) button; onChange runs when a document finished or
// was deleted.
export function wireDocument({ onChange }) {
  changed = onChange;
  $("delete-button").addEventListener("click", async () => {
    const id = $("document").dataset.id;
    const question = FINISHED.has($("document").dataset.status)
      ? "Delete this document's content and results?"
      : "Stop processing this document?";
    if (!id || !window.confirm(question)) return;
    try {
      await api(`/v1/documents/${id}`, { method: "DELETE" });
    } catch (error) {
      setText("doc-error", error.message);
      return;
    }
    changed();
    showDocument(id);
  });
}
