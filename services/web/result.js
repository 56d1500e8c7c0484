// A finished (or partly finished) document's result: the highlighted text with its legend and
// entity tooltips, the summary, entities, keywords, language and what cleaning removed.

import { $, el, setText } from "./dom.js";
import { highlightedText, labelInfo, placeSpans } from "./highlight.js";

const TOP_ENTITIES = 12;

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

export function wireArticle() {
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

export function renderResult(result) {
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
