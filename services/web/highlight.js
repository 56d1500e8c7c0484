// The cleaned text with its marks: entity mentions and summary sentences, placed at the API's
// offsets.

import { el } from "./dom.js";

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

export function labelInfo(label) {
  const [tag, name] = LABELS[label] || [label.toLowerCase(), label];
  return { tag, name };
}

// -- code points and UTF-16 ----------------------------------------------------------------

// Offsets from the API count Unicode code points (Python string indices); JavaScript strings
// are indexed by UTF-16 code units, where a character outside the Basic Multilingual Plane
// (most emoji) takes two. Returns a Map from each wanted code-point offset to its UTF-16
// offset; offsets past the end of the text are left out.
export function utf16Offsets(text, codePointOffsets) {
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
export function placeSpans(text, spans) {
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
export function highlightedText(text, mentions, sentences, entityByMention) {
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
