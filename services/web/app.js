// newsdesk's page: submit an article, follow its stages, read the result.
// Framework-free and served as is. Document content is untrusted: it only ever reaches the page
// as text nodes (textContent), never as markup.
"use strict";

(() => {
  const KEY_STORAGE = "newsdesk.apiKey";
  const POLL_WAIT_SECONDS = 5;
  const RECENT_LIMIT = 20;
  const TOP_ENTITIES = 12;
  const FINISHED = new Set(["completed", "failed", "cancelled"]);
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
  // Entity labels (spaCy's): [short tag shown after each mention, name in the legend].
  const LABELS = {
    PERSON: ["person", "Person"],
    ORG: ["org", "Organisation"],
    GPE: ["place", "Country, city or state"],
    LOC: ["location", "Other location"],
    NORP: ["group", "Nationality, religious or political group"],
    FAC: ["facility", "Building, airport, road, bridge"],
    EVENT: ["event", "Event"],
    PRODUCT: ["product", "Product"],
    WORK_OF_ART: ["work", "Title of a work"],
    LAW: ["law", "Law or treaty"],
    LANGUAGE: ["language", "Language"],
    DATE: ["date", "Date"],
    TIME: ["time", "Time"],
    PERCENT: ["percent", "Percentage"],
    MONEY: ["money", "Money"],
    QUANTITY: ["quantity", "Quantity"],
    ORDINAL: ["ordinal", "Ordinal"],
    CARDINAL: ["number", "Number"],
  };

  const $ = (id) => document.getElementById(id);

  // -- small DOM helpers (text only) ---------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function setText(id, text) {
    const node = $(id);
    if (node.textContent !== text) node.textContent = text;
  }

  function labelInfo(label) {
    const [tag, name] = LABELS[label] || [label.toLowerCase(), label];
    return { tag, name };
  }

  function formatTime(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
  }

  // -- the API -------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || `the server answered ${status}`);
      this.status = status;
      this.problem = problem;
    }
  }

  function storedKey() {
    try {
      return localStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return "";
    }
  }

  function authHeaders() {
    const key = storedKey();
    return key ? { Authorization: `Bearer ${key}` } : {};
  }

  async function problemOf(response) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  async function api(path, { method = "GET", body, signal } = {}) {
    const headers = { Accept: "application/json", ...authHeaders() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
    if (!response.ok) {
      const error = new ApiError(response.status, await problemOf(response));
      if (response.status === 401) askForKey(error.message);
      throw error;
    }
    return response.status === 204 ? null : response.json();
  }

  // -- API key -------------------------------------------------------------------------------

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
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("key-input").value.trim();
      try {
        if (key) localStorage.setItem(KEY_STORAGE, key);
        else localStorage.removeItem(KEY_STORAGE);
      } catch {
        // storage refused (private mode): the key is not kept
      }
      $("key-input").value = "";
      $("key-panel").open = false;
      showKeyState();
      setText("key-note", "");
      setText("form-error", "");
      route();
    });
    $("key-forget").addEventListener("click", () => {
      try {
        localStorage.removeItem(KEY_STORAGE);
      } catch {
        // nothing stored
      }
      showKeyState();
      setText("key-note", "");
      refreshRecent();
    });
  }

  // -- code points and UTF-16 ----------------------------------------------------------------

  // Offsets from the API count Unicode code points (Python string indices); JavaScript strings
  // are indexed by UTF-16 code units, where a character outside the Basic Multilingual Plane
  // (most emoji) takes two. Returns a Map from each wanted code-point offset to its UTF-16
  // offset; offsets past the end of the text are left out.
  function utf16Offsets(text, codePointOffsets) {
    const wanted = [...new Set(codePointOffsets)].sort((a, b) => a - b);
    const found = new Map();
    let point = 0;
    let unit = 0;
    for (const target of wanted) {
      while (point < target && unit < text.length) {
        unit += text.codePointAt(unit) > 0xffff ? 2 : 1;
        point += 1;
      }
      if (point === target) found.set(target, unit);
    }
    return found;
  }

  // Spans whose offsets select exactly their text, in UTF-16 units, sorted and not overlapping
  // one another (a span overlapping an earlier one is dropped and counted).
  function placeSpans(text, spans) {
    const offsets = utf16Offsets(text, spans.flatMap((span) => [span.start, span.end]));
    const placed = [];
    let dropped = 0;
    for (const span of spans) {
      const start = offsets.get(span.start);
      const end = offsets.get(span.end);
      const exact = start !== undefined && end !== undefined && start < end
        && text.slice(start, end) === span.text;
      if (exact) placed.push({ ...span, start, end });
      else dropped += 1;
    }
    placed.sort((a, b) => a.start - b.start || a.end - b.end);
    const kept = [];
    for (const span of placed) {
      if (kept.length && span.start < kept[kept.length - 1].end) dropped += 1;
      else kept.push(span);
    }
    return { spans: kept, dropped };
  }

  // -- the highlighted text ------------------------------------------------------------------

  // Builds the cleaned text with entity mentions (spans) and summary sentences (marks). A mention
  // is always one element; a sentence mark is split where a mention crosses its edge (the mention
  // then holds the marked part), so the marks of one sentence, read in order, give its text.
  function highlightedText(text, mentions, sentences, entityByMention) {
    const fragment = document.createDocumentFragment();
    let sentenceIndex = 0;
    let openMark = null;
    let openSentence = null;
    const firstPieces = new Set();

    function markFor(sentence) {
      const mark = el("mark", {
        className: "summary",
        "data-sentence": sentence.index,
      });
      if (!firstPieces.has(sentence.index)) {
        firstPieces.add(sentence.index);
        mark.id = `sentence-${sentence.index}`;
        mark.tabIndex = -1;
        mark.dataset.n = String(sentence.index + 1);
      }
      return mark;
    }

    // [start, end, sentence or null] pieces of [start, end), cut at sentence edges.
    function cut(start, end) {
      const pieces = [];
      let at = start;
      while (at < end) {
        while (sentenceIndex < sentences.length && sentences[sentenceIndex].end <= at) {
          sentenceIndex += 1;
        }
        const sentence = sentences[sentenceIndex];
        if (!sentence || sentence.start >= end) {
          pieces.push([at, end, null]);
          break;
        }
        if (sentence.start > at) {
          pieces.push([at, sentence.start, null]);
          at = sentence.start;
        }
        const stop = Math.min(end, sentence.end);
        pieces.push([at, stop, sentence]);
        at = stop;
      }
      return pieces;
    }

    function put(node, sentence) {
      if (sentence === null) {
        openMark = null;
        openSentence = null;
        fragment.append(node);
        return;
      }
      if (openMark === null || openSentence !== sentence) {
        openMark = markFor(sentence);
        openSentence = sentence;
        fragment.append(openMark);
      }
      openMark.append(node);
    }

    function plain(start, end) {
      for (const [from, to, sentence] of cut(start, end)) {
        put(document.createTextNode(text.slice(from, to)), sentence);
      }
    }

    let at = 0;
    for (const mention of mentions) {
      plain(at, mention.start);
      const entity = entityByMention.get(mention.index);
      const { tag } = labelInfo(mention.label);
      const span = el("span", {
        className: "ent",
        "data-mention": mention.index,
        "data-label": mention.label,
        "data-tag": tag,
        "data-entity": entity ? entity.index : null,
        tabindex: "-1",
        "aria-describedby": "entity-tip",
      });
      const pieces = cut(mention.start, mention.end);
      if (pieces.length === 1) {
        span.textContent = text.slice(mention.start, mention.end);
        put(span, pieces[0][2]);
      } else {
        for (const [from, to, sentence] of pieces) {
          const part = document.createTextNode(text.slice(from, to));
          if (sentence === null) {
            span.append(part);
          } else {
            const mark = markFor(sentence);
            mark.append(part);
            span.append(mark);
          }
        }
        put(span, null);
      }
      at = mention.end;
    }
    plain(at, text.length);
    return fragment;
  }

  // -- entity tooltip and keyboard movement --------------------------------------------------

  let shownEntities = [];

  function tipText(mention) {
    const entity = shownEntities[Number(mention.dataset.entity)];
    const { name: type } = labelInfo(mention.dataset.label);
    if (!entity) return [mention.textContent, type, "not grouped into an entity"];
    const times = entity.count === 1 ? "once" : `${entity.count} times`;
    return [entity.name, type, `mentioned ${times} · salience ${entity.salience.toFixed(2)}`];
  }

  function showTip(mention) {
    const tip = $("entity-tip");
    const [name, type, detail] = tipText(mention);
    tip.replaceChildren(
      el("strong", { className: "tip-name", text: name }),
      el("span", { className: "tip-type", text: type }),
      el("span", { className: "tip-detail", text: detail }),
    );
    tip.dataset.mention = mention.dataset.mention;
    tip.hidden = false;
    const box = mention.getBoundingClientRect();
    const width = tip.offsetWidth;
    const room = document.documentElement.clientWidth;
    const left = Math.max(4, Math.min(box.left, room - width - 4));
    tip.style.left = `${left + window.scrollX}px`;
    tip.style.top = `${box.bottom + window.scrollY + 6}px`;
  }

  function hideTip() {
    $("entity-tip").hidden = true;
  }

  function wireArticle() {
    const article = $("article");
    article.addEventListener("mouseover", (event) => {
      const mention = event.target.closest(".ent");
      if (mention) showTip(mention);
    });
    article.addEventListener("mouseout", (event) => {
      const mention = event.target.closest(".ent");
      if (mention && !mention.contains(event.relatedTarget) && document.activeElement !== mention) {
        hideTip();
      }
    });
    article.addEventListener("focusin", (event) => {
      const mention = event.target.closest(".ent");
      if (!mention) return;
      for (const other of article.querySelectorAll('.ent[tabindex="0"]')) other.tabIndex = -1;
      mention.tabIndex = 0;
      showTip(mention);
    });
    article.addEventListener("focusout", hideTip);
    article.addEventListener("keydown", (event) => {
      const mention = event.target.closest(".ent");
      if (!mention) return;
      if (event.key === "Escape") {
        hideTip();
        return;
      }
      const all = [...article.querySelectorAll(".ent:not([data-off])")];
      const here = all.indexOf(mention);
      const moves = {
        ArrowRight: here + 1,
        ArrowDown: here + 1,
        ArrowLeft: here - 1,
        ArrowUp: here - 1,
        Home: 0,
        End: all.length - 1,
      };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const next = all[Math.max(0, Math.min(all.length - 1, moves[event.key]))];
      if (next) next.focus();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") hideTip();
    });
  }

  // -- rendering a document ------------------------------------------------------------------

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

  function statusLine(view) {
    if (view.status === "completed") return "Completed.";
    if (view.status === "failed") return "Failed.";
    if (view.status === "cancelled") return "Cancelled.";
    const running = STAGES.find(([stage]) => view.stages && view.stages[stage]
      && view.stages[stage].status === "running");
    if (running) return `${running[1]}: running…`;
    return view.status === "queued" ? "Queued…" : "Processing…";
  }

  function showStatus(status, line) {
    $("document").dataset.status = status;
    setText("status-line", line);
    const deleteButton = $("delete-button");
    deleteButton.hidden = false;
    deleteButton.textContent = FINISHED.has(status) ? "Delete this document" : "Cancel";
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
    showStatus(view.status, statusLine(view));
    const error = view.error;
    setText("doc-error", error ? `${error.message} (${error.code}${error.stage ? `, stage ${error.stage}` : ""})` : "");
    if (view.result) renderResult(view.result);
  }

  function renderResult(result) {
    $("result").hidden = false;
    const clean = result.clean;
    const text = clean ? clean.text : "";
    const entities = result.entities || { mentions: [], entities: [] };
    const summary = result.summary || { sentences: [] };

    const entityByMention = new Map();
    shownEntities = entities.entities.map((entity, index) => ({ ...entity, index }));
    for (const entity of shownEntities) {
      for (const mention of entity.mentions) entityByMention.set(mention, entity);
    }
    const mentions = placeSpans(text, entities.mentions.map((m, index) => ({ ...m, index })));
    const sentences = placeSpans(text, summary.sentences.map((s, index) => ({ ...s, index })));

    const article = $("article");
    article.replaceChildren(highlightedText(text, mentions.spans, sentences.spans, entityByMention));
    const code = result.language && result.language.code;
    if (code && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(code)) article.lang = code;
    const first = article.querySelector(".ent");
    if (first) first.tabIndex = 0;
    else article.tabIndex = 0;
    const dropped = mentions.dropped + sentences.dropped;
    $("highlight-note").hidden = dropped === 0;
    setText("highlight-note", dropped ? `${dropped} marks did not match the text and are not shown.` : "");

    renderLegend(mentions.spans);
    renderEntities(entities);
    renderSummary(summary.sentences);
    renderKeywords(result.keywords);
    renderAbout(result);
  }

  function renderLegend(mentions) {
    const counts = new Map();
    for (const mention of mentions) counts.set(mention.label, (counts.get(mention.label) || 0) + 1);
    const legend = $("legend");
    legend.replaceChildren();
    for (const [label, count] of [...counts].sort((a, b) => b[1] - a[1])) {
      const { tag, name } = labelInfo(label);
      const box = el("input", { type: "checkbox", checked: true, "data-label": label });
      box.addEventListener("change", () => {
        for (const mention of $("article").querySelectorAll(".ent")) {
          if (mention.dataset.label === label) mention.toggleAttribute("data-off", !box.checked);
        }
      });
      legend.append(el("label", { className: "legend-item", "data-label": label },
        box,
        el("span", { className: "swatch", "data-label": label, text: tag }),
        el("span", { className: "legend-name", text: `${name} (${count})` })));
    }
    if (!counts.size) legend.append(el("span", { className: "hint", text: "No entities found." }));
  }

  function focusMention(index) {
    const mention = $("article").querySelector(`.ent[data-mention="${index}"]`);
    if (mention) {
      mention.removeAttribute("data-off");
      mention.focus();
      mention.scrollIntoView({ block: "center" });
      showTip(mention);
    }
  }

  function entityItem(entity) {
    const { tag, name } = labelInfo(entity.label);
    const show = el("button", { type: "button", className: "quiet small", text: "Show",
      "aria-label": `Show ${entity.name} in the text` });
    show.addEventListener("click", () => focusMention(entity.mentions[0]));
    return el("li", { "data-label": entity.label },
      el("span", { className: "entity-name", text: entity.name }),
      el("span", { className: "swatch", "data-label": entity.label, text: tag, title: name }),
      el("span", { className: "entity-facts",
        text: `×${entity.count} · salience ${entity.salience.toFixed(2)}` }),
      entity.mentions.length ? show : null);
  }

  // The most salient entities, then the rest folded away.
  function renderEntities(entities) {
    const list = $("entity-list");
    const more = $("entity-more");
    list.replaceChildren();
    if (entities.skipped) list.append(el("li", { className: "hint", text: entities.skipped }));
    const top = entities.entities.slice(0, TOP_ENTITIES);
    const rest = entities.entities.slice(TOP_ENTITIES);
    list.append(...top.map(entityItem));
    more.hidden = rest.length === 0;
    setText("entity-more-count", String(rest.length));
    $("entity-more-list").replaceChildren(...rest.map(entityItem));
    if (!entities.entities.length && !entities.skipped) {
      list.append(el("li", { className: "hint", text: "No entities found." }));
    }
  }

  function renderSummary(sentences) {
    const list = $("summary-list");
    list.replaceChildren();
    sentences.forEach((sentence, index) => {
      const show = el("button", { type: "button", className: "quiet small", text: "In the text",
        "aria-label": `Show sentence ${index + 1} in the text` });
      show.addEventListener("click", () => {
        const mark = $(`sentence-${index}`);
        if (mark) {
          mark.scrollIntoView({ block: "center" });
          mark.focus();
        }
      });
      list.append(el("li", { "data-sentence": index },
        el("span", { className: "sentence-text", text: sentence.text }), " ", show));
    });
    if (!sentences.length) list.append(el("li", { className: "hint", text: "No summary yet." }));
  }

  function renderKeywords(keywords) {
    const list = $("keyword-list");
    list.replaceChildren();
    for (const keyword of keywords || []) {
      list.append(el("li", { title: `score ${keyword.score.toFixed(2)}` },
        el("span", { className: "keyword", text: keyword.text }),
        el("span", { className: "keyword-score", text: keyword.score.toFixed(2) })));
    }
  }

  function renderAbout(result) {
    const about = $("about");
    about.replaceChildren();
    const clean = result.clean || {};
    const language = result.language;
    const rows = [
      ["Title", clean.title],
      ["Author", clean.author],
      ["Date", clean.date],
      ["Site", clean.site],
      ["Language", language
        ? `${language.code} (${Math.round(language.confidence * 100)}% confidence, ${language.source})`
        : null],
      ["Length", clean.text ? `${[...clean.text].length} characters` : null],
    ];
    for (const [name, value] of rows) {
      if (value) about.append(el("dt", { text: name }), el("dd", { text: value, "data-field": name.toLowerCase() }));
    }
    const warnings = $("warnings");
    warnings.replaceChildren(...(result.warnings || []).map((w) => el("li", { text: w })));
    const removed = clean.removed || [];
    setText("removed-count", String(removed.length));
    $("removed-list").replaceChildren(...removed.map((line) => el("li", { text: line })));
  }

  // -- following a document ------------------------------------------------------------------

  let following = null;

  function showDocumentError(error) {
    if (error.name === "AbortError") return;
    const gone = error instanceof ApiError && error.status === 410;
    $("document").dataset.status = gone ? "gone" : "error";
    setText("status-line", gone ? "This document was deleted or has expired." : "Could not load this document.");
    setText("doc-error", error.message);
    $("delete-button").hidden = true;
  }

  // Reads the Server-Sent Events stream with fetch (so the API key can be sent as a header).
  // Returns the finished document, or null when the stream ended without it.
  async function followEvents(id, signal) {
    const response = await fetch(`/v1/documents/${id}/events`, {
      headers: { Accept: "text/event-stream", ...authHeaders() },
      signal,
      cache: "no-store",
    });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    if (!response.body) return null;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = { kind: "message", data: [] };
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
            const finished = handleEvent(event);
            if (finished) return finished;
            event = { kind: "message", data: [] };
          } else if (!line.startsWith(":")) {
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const content = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") event.kind = content;
            else if (field === "data") event.data.push(content);
          }
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  function handleEvent(event) {
    if (!event.data.length) return null;
    let data;
    try {
      data = JSON.parse(event.data.join("\n"));
    } catch {
      return null;
    }
    if (event.kind === "document") {
      if (data.stages && data.status) return data;
      throw new Error("the stream ended without the document");
    }
    if (event.kind === "stage" && data.stage) {
      updateStage(data.stage, { status: data.stage_status, attempts: data.attempt });
    }
    if (data.status && !FINISHED.has(data.status)) {
      const running = data.stage_status === "running" && STAGES.find(([s]) => s === data.stage);
      showStatus(data.status, running ? `${running[1]}: running…` : statusLine({ status: data.status }));
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
        if (error instanceof ApiError && error.status < 500) throw error;
        if (error.name === "AbortError") throw error;
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

  async function follow(id, signal) {
    try {
      const view = await followEvents(id, signal);
      if (view) return view;
    } catch (error) {
      if (error.name === "AbortError") throw error;
      if (error instanceof ApiError && [401, 404, 410].includes(error.status)) throw error;
    }
    $("document").dataset.transport = "long-poll";
    return longPoll(id, signal);
  }

  // Shows one document. A document just submitted is followed at once (its event stream starts
  // with "queued"); any other is read first, and followed only while unfinished.
  async function showDocument(id, { focus = false, submitted = null } = {}) {
    if (following) following.abort();
    const controller = new AbortController();
    following = controller;
    $("intake").hidden = true;
    const section = $("document");
    section.hidden = false;
    section.dataset.id = id;
    delete section.dataset.transport;
    $("result").hidden = true;
    $("stages").replaceChildren();
    setText("doc-title", submitted ? submitted.title || "Untitled document" : "Document");
    setText("doc-meta", id);
    setText("doc-error", "");
    $("delete-button").hidden = true;
    $("document").dataset.status = "loading";
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
        refreshRecent();
      }
    } catch (error) {
      if (!signal.aborted) showDocumentError(error);
    }
  }

  function wireDelete() {
    $("delete-button").addEventListener("click", async () => {
      const id = $("document").dataset.id;
      const finished = FINISHED.has($("document").dataset.status);
      const question = finished
        ? "Delete this document's content and results?"
        : "Stop processing this document?";
      if (!id || !window.confirm(question)) return;
      try {
        await api(`/v1/documents/${id}`, { method: "DELETE" });
      } catch (error) {
        setText("doc-error", error.message);
        return;
      }
      refreshRecent();
      showDocument(id);
    });
  }

  // -- submitting ----------------------------------------------------------------------------

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
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = content.value;
      if (!text.trim()) {
        setText("form-error", "Paste an article or choose a file first.");
        content.focus();
        return;
      }
      const body = {
        content: text,
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
        setText("content-hint", "Paste an article, or drop an .html or .txt file here.");
        refreshRecent();
        showDocument(accepted.id, { focus: true, submitted: { title } });
      } catch (error) {
        setText("form-error", error.message);
        if (error instanceof ApiError && error.status === 401) $("key-input").focus();
      } finally {
        button.disabled = false;
      }
    });
  }

  // -- recent documents ----------------------------------------------------------------------

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

  // -- routing -------------------------------------------------------------------------------

  function documentIdFromPath() {
    const match = /^\/d\/([0-9a-f]{32})\/?$/.exec(window.location.pathname);
    return match ? match[1] : null;
  }

  function route() {
    const id = documentIdFromPath();
    if (id) {
      showDocument(id);
    } else {
      if (following) following.abort();
      following = null;
      $("document").hidden = true;
      $("intake").hidden = false;
      document.title = "newsdesk";
    }
    refreshRecent();
  }

  function start() {
    wireKey();
    wireIntake();
    wireArticle();
    wireDelete();
    $("recent-refresh").addEventListener("click", refreshRecent);
    window.addEventListener("popstate", route);
    route();
    document.documentElement.dataset.ready = "true";
  }

  start();
})();
