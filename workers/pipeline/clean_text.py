"""Cleaning plain text (e.g. a page pasted from a browser) with a jusText-like line classifier.

Each line is classified: *boilerplate* (navigation, prompts, captions, bylines, dates…),
*prose* (long, sentence-like) or *short* (anything else: headings, list items, link titles).
The article body is the densest run of prose lines (short or boilerplate lines between them
are tolerated up to a small gap); inside it prose and short lines are kept, boilerplate
dropped; everything outside it is dropped. The title is the nearest title-like short line
above the body; it is returned apart and never repeated in the text.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from workers.pipeline.clean_boilerplate import (
    ends_like_sentence,
    is_boilerplate_line,
    is_dateline,
    word_count,
)

# Lines between two prose lines that still keep them in one block, and what each non-prose line
# inside the body costs, in prose characters (both cross-validated in ``make eval``).
MAX_GAP_LINES = 8
GAP_COST_CHARS = 60
# A prose line: this many words and a sentence end, or this many words in any case.
MIN_PROSE_WORDS = 10
MIN_RUN_ON_WORDS = 30
# Scripts without spaces between words (CJK): characters instead of words.
MIN_PROSE_CJK_CHARS = 40
# How far above the body a title is looked for, and how long it may be.
TITLE_LOOKBACK_LINES = 12
TITLE_WORDS = range(2, 31)
# Runs of this many short lines inside the body are link lists, not subheadings.
MIN_LINK_LIST_LINES = 4

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


class LineKind(enum.Enum):
    """What a line looks like on its own."""

    BOILERPLATE = "boilerplate"
    PROSE = "prose"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class TextLine:
    """One non-blank line: its text, whether a blank line preceded it, and its kind."""

    text: str
    starts_paragraph: bool
    kind: LineKind


@dataclass(frozen=True, slots=True)
class CleanedText:
    """The body text, the title found above it (if any) and the dropped lines."""

    text: str
    title: str | None
    removed: list[str]


@dataclass(frozen=True, slots=True)
class BlockSettings:
    """What a non-prose line inside the body costs, and how many in a row end the body."""

    gap_cost_chars: int = GAP_COST_CHARS
    max_gap_lines: int = MAX_GAP_LINES


def clean_plain_text(text: str, *, block: BlockSettings | None = None) -> CleanedText:
    """Body, title and dropped lines of normalised plain ``text`` (see the module docstring)."""
    lines = split_lines(text)
    start, end = densest_block(lines, block or BlockSettings())
    kept = _kept_indices(lines, start, end)
    title_index = _title_index(lines, start)
    title = lines[title_index].text if title_index is not None else None
    removed = [line.text for i, line in enumerate(lines) if i not in kept and i != title_index]
    body = _join([lines[i] for i in sorted(kept)], _has_paragraphs(lines))
    return CleanedText(text=body, title=title, removed=removed)


def split_lines(text: str) -> list[TextLine]:
    """The non-blank lines of ``text`` with their paragraph starts and kinds."""
    lines: list[TextLine] = []
    after_blank = True
    for raw in text.split("\n"):
        stripped = raw.strip()
        if not stripped:
            after_blank = True
            continue
        lines.append(TextLine(stripped, after_blank, classify_line(stripped)))
        after_blank = False
    return lines


def classify_line(line: str) -> LineKind:
    """The kind of one stripped line, judged on its own."""
    if is_boilerplate_line(line) or is_dateline(line):
        return LineKind.BOILERPLATE
    return LineKind.PROSE if is_prose(line) else LineKind.SHORT


def is_prose(line: str) -> bool:
    """Whether ``line`` reads like body text: long enough, sentence-like, not cut short."""
    if line.endswith(("...", "…")) and word_count(line, up_to=MIN_RUN_ON_WORDS) < MIN_RUN_ON_WORDS:
        return False
    if len(_CJK.findall(line)) >= MIN_PROSE_CJK_CHARS:
        return True
    words = word_count(line, up_to=MIN_RUN_ON_WORDS)
    return words >= MIN_RUN_ON_WORDS or (words >= MIN_PROSE_WORDS and ends_like_sentence(line))


def densest_block(lines: list[TextLine], block: BlockSettings | None = None) -> tuple[int, int]:
    """``[start, end)`` of the lines whose prose characters, less gap costs, are highest.

    A maximum-sum run (Kadane) where each prose line is worth its length and every other
    line costs ``GAP_COST_CHARS``; more than ``MAX_GAP_LINES`` in a row end a run.
    """
    block = block or BlockSettings()
    best, best_score = (0, 0), 0
    start, score, gap = 0, 0, 0
    for i, line in enumerate(lines):
        if line.kind is not LineKind.PROSE:
            gap += 1
            score -= block.gap_cost_chars
            continue
        if score <= 0 or gap > block.max_gap_lines:
            start, score = i, 0
        gap = 0
        score += len(line.text)
        if score > best_score:
            best, best_score = (start, i + 1), score
    return best


def _kept_indices(lines: list[TextLine], start: int, end: int) -> set[int]:
    """Prose and short lines of the block, without boilerplate and link lists."""
    kept: set[int] = set()
    short_run: list[int] = []
    for i in range(start, end):
        kind = lines[i].kind
        if kind is LineKind.SHORT:
            short_run.append(i)
            continue
        if len(short_run) < MIN_LINK_LIST_LINES:
            kept.update(short_run)
        short_run = []
        if kind is LineKind.PROSE:
            kept.add(i)
    return kept


def _title_index(lines: list[TextLine], body_start: int) -> int | None:
    """The nearest title-like short line above the body, if any."""
    for i in range(body_start - 1, max(-1, body_start - 1 - TITLE_LOOKBACK_LINES), -1):
        line = lines[i]
        if line.kind is LineKind.SHORT and _looks_like_title(line.text):
            return i
    return None


def _looks_like_title(line: str) -> bool:
    """A headline: a few words, not ending like a sentence with a full stop."""
    return word_count(line) in TITLE_WORDS and not line.rstrip().endswith(".")


def _has_paragraphs(lines: list[TextLine]) -> bool:
    """Whether the input separated paragraphs by blank lines (else every line is one)."""
    return any(line.starts_paragraph for line in lines[1:])


def _join(lines: list[TextLine], has_paragraphs: bool) -> str:
    """Kept lines joined: a blank line before each paragraph, a line break inside one."""
    parts: list[str] = []
    for i, line in enumerate(lines):
        if i:
            parts.append("\n\n" if not has_paragraphs or line.starts_paragraph else "\n")
        parts.append(line.text)
    return "".join(parts)
