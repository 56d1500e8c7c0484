// newsdesk's page: submit an article, follow its stages, read the result; recent documents; the
// API key. Framework-free ES modules served as they are. Document content is untrusted: it only
// ever reaches the page as text, never as markup.

import { $, el, formatTime, setText } from "./dom.js";
import { ApiError, api, auth, keepKey, storedKey } from "./api.js";
import { showDocument, stopFollowing, wireDocument } from "./document.js";
import { wireArticle } from "./result.js";

const RECENT_LIMIT = 20;
const CONTENT_HINT = "Paste an article, or drop an .html or .txt file here.";

// -- API key ---------------------------------------------------------------------------------

function showKeyState() {
  setText("key-state", storedKey() ? "saved" : "none");
}

function askForKey(message) {
  $("key-panel").open = true;
  setText("key-state", storedKey() ? "refused" : "needed");
  setText("key-note", storedKey() ? `The saved key was refused: ${message}` : message);
}

function wireKey() {
  showKeyState();
  auth.addEventListener("unauthorized", (event) => askForKey(event.detail));
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const kept = keepKey($("key-input").value.trim());
    $("key-input").value = "";
    $("key-panel").open = !kept;
    showKeyState();
    setText("key-note", kept ? "" : "This browser refused to keep the key.");
    setText("form-error", "");
    route();
  });
  $("key-forget").addEventListener("click", () => {
    keepKey("");
    showKeyState();
    setText("key-note", "");
    refreshRecent();
  });
}

// -- submitting ------------------------------------------------------------------------------

function looksLikeHtml(text) {
  return /^\s*(<!doctype html|<html[\s>])/i.test(text);
}

function setFormat(type) {
  for (const radio of document.querySelectorAll('input[name="content_type"]')) {
    radio.checked = radio.value === type;
  }
}

async function loadFile(file) {
  if (!file) return;
  const isHtml = /\.html?$/i.test(file.name) || file.type === "text/html";
  try {
    $("content").value = await file.text();
  } catch {
    setText("form-error", `Could not read ${file.name}.`);
    return;
  }
  setFormat(isHtml || looksLikeHtml($("content").value) ? "text/html" : "text/plain");
  setText("form-error", "");
  setText("content-hint", `Loaded ${file.name} (${file.size.toLocaleString()} bytes).`);
}

async function submit(form) {
  const content = $("content");
  if (!content.value.trim()) {
    setText("form-error", "Paste an article or choose a file first.");
    content.focus();
    return;
  }
  const body = {
    content: content.value,
    content_type: form.querySelector('input[name="content_type"]:checked').value,
  };
  const title = $("title-input").value.trim();
  if (title) body.title = title;
  const button = $("submit-button");
  button.disabled = true;
  setText("form-error", "");
  try {
    const accepted = await api("/v1/documents", { method: "POST", body });
    history.pushState(null, "", `/d/${accepted.id}`);
    form.reset();
    setText("content-hint", CONTENT_HINT);
    refreshRecent();
    showDocument(accepted.id, { focus: true, submitted: { title } });
  } catch (error) {
    setText("form-error", error.message);
    if (error instanceof ApiError && error.status === 401) $("key-input").focus();
  } finally {
    button.disabled = false;
  }
}

function wireIntake() {
  const form = $("submit-form");
  const content = $("content");
  content.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  content.addEventListener("input", () => {
    if (looksLikeHtml(content.value)) setFormat("text/html");
  });
  $("file-input").addEventListener("change", (event) => loadFile(event.target.files[0]));
  // A file dropped anywhere on the form is read; one dropped elsewhere must not replace the
  // page (the browser's default is to open it).
  const zone = $("drop-zone");
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => event.preventDefault());
  }
  form.addEventListener("dragover", () => zone.classList.add("dragging"));
  form.addEventListener("dragleave", (event) => {
    if (!form.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  form.addEventListener("drop", (event) => {
    zone.classList.remove("dragging");
    loadFile(event.dataTransfer && event.dataTransfer.files[0]);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(form);
  });
}

// -- recent documents ------------------------------------------------------------------------

let recentRequest = 0;

async function refreshRecent() {
  const request = ++recentRequest;
  const list = $("recent-list");
  let page;
  try {
    page = await api(`/v1/documents?limit=${RECENT_LIMIT}`);
  } catch (error) {
    if (request !== recentRequest) return;
    list.replaceChildren();
    const needsKey = error instanceof ApiError && error.status === 401;
    setText("recent-note", needsKey ? `Enter an API key to see your documents (${error.message}).`
      : `Could not load the list: ${error.message}`);
    return;
  }
  if (request !== recentRequest) return;
  const current = $("document").hidden ? null : $("document").dataset.id;
  setText("recent-note", page.items.length ? "" : "No documents yet.");
  list.replaceChildren(...page.items.map((item) => el("li", { "data-id": item.id },
    el("a", { href: `/d/${item.id}`, "aria-current": item.id === current ? "page" : null,
      text: item.title || `Untitled ${item.id.slice(0, 8)}` }),
    el("span", { className: "recent-facts" },
      el("span", { className: "badge", "data-status": item.status, text: item.status }),
      " ",
      el("time", { datetime: item.created_at, text: formatTime(item.created_at) })))));
}

// -- routing: / is the form, /d/{id} a document -----------------------------------------------

function documentIdFromPath() {
  const match = /^\/d\/([0-9a-f]{32})\/?$/.exec(window.location.pathname);
  return match ? match[1] : null;
}

function route() {
  const id = documentIdFromPath();
  if (id) {
    showDocument(id);
  } else {
    stopFollowing();
    $("document").hidden = true;
    $("intake").hidden = false;
    document.title = "newsdesk";
  }
  refreshRecent();
}

wireKey();
wireIntake();
wireArticle();
wireDocument({ onChange: refreshRecent });
$("recent-refresh").addEventListener("click", refreshRecent);
window.addEventListener("popstate", route);
route();
document.documentElement.dataset.ready = "true";
