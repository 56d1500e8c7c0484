"""The clean stage: main text and metadata of an HTML page or a plain-text document.

``clean_document`` is pure (no I/O; ``url`` is only passed on to trafilatura's metadata
heuristics) and returns a :class:`CleanResult` whose text is NFC-normalised, has no
leading, trailing or repeated blank lines, and keeps paragraph breaks as one blank line.

* HTML goes through :mod:`workers.pipeline.clean_html` (trafilatura plus a line filter);
  every extracted block becomes a paragraph.
* Plain text goes through :mod:`workers.pipeline.clean_text` (a line classifier).

In both cases the title is metadata: it is returned in ``title`` and never repeated at
the start of ``text``. ``removed`` lists what was dropped (bounded, truncated).
"""

from __future__ import annotations

import re
import unicodedata

from contracts.results import CleanResult
from workers.pipeline.clean_boilerplate import byline_author
from workers.pipeline.clean_html import DEFAULT_SETTINGS, ExtractionSettings, extract_html
from workers.pipeline.clean_text import BlockSettings, clean_plain_text
from workers.pipeline.errors import UnprocessableDocument

__all__ = [
    "UnprocessableDocument",
    "clean_document",
    "normalize_text",
    "without_control_characters",
]

HTML = "text/html"
PLAIN_TEXT = "text/plain"
MAX_REMOVED_ENTRIES = 100
MAX_REMOVED_CHARS = 200

_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_INVISIBLE = re.compile(r"[\u200b\u2060\ufeff\u00ad]")
# Line and paragraph separators other than "\n" (vertical tab, form feed, NEL, U+2028/9).
_LINE_SEPARATOR = re.compile(r"[\x0b\x0c\x85\u2028]")
_PARAGRAPH_SEPARATOR = "\u2029"
# Control characters (C0 but tab and line breaks, DEL, C1) never belong to text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Zero-width (non-)joiners shape emoji sequences (👨‍👩‍👧) and Arabic or Indic words; beside a
# space, an ASCII character or a text edge they join nothing and are dropped.
_IDLE_JOINER = re.compile(r"(?<![^\s\x00-\x7f])[\u200c\u200d]|[\u200c\u200d](?![^\s\x00-\x7f])")


def clean_document(
    *,
    content: str,
    content_type: str,
    url: str | None = None,
    html_settings: ExtractionSettings = DEFAULT_SETTINGS,
    text_settings: BlockSettings | None = None,
) -> CleanResult:
    """Main text and metadata of ``content`` ("text/html" or "text/plain")."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    content = without_control_characters(content)
    if media_type == HTML:
        return _clean_html(content, url, html_settings)
    if media_type == PLAIN_TEXT:
        return _clean_text(content, text_settings)
    raise UnprocessableDocument(f"unsupported content type {content_type!r}")


def normalize_text(text: str) -> str:
    """NFC, no control or idle zero-width characters, one space for runs of spaces/tabs,
    stripped lines, at most one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _IDLE_JOINER.sub("", _INVISIBLE.sub("", without_control_characters(text)))
    lines = (_HORIZONTAL_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def without_control_characters(text: str) -> str:
    """``text`` with line separators as "\n" and no other control character (NUL, C1...)."""
    text = _LINE_SEPARATOR.sub("\n", text).replace(_PARAGRAPH_SEPARATOR, "\n\n")
    return _CONTROL.sub("", text)


def _clean_html(content: str, url: str | None, settings: ExtractionSettings) -> CleanResult:
    """Clean an HTML page; every extracted block becomes one paragraph."""
    extraction = extract_html(content, url, settings=settings)
    text = normalize_text(extraction.text.replace("\n", "\n\n")) if extraction else ""
    if extraction is None or not text:
        raise UnprocessableDocument("no main text could be extracted from the HTML page")
    return CleanResult(
        text=text,
        title=_optional(extraction.title),
        author=_optional(extraction.author),
        date=extraction.date,
        site=_optional(extraction.site),
        removed=_bounded(extraction.removed),
    )


def _clean_text(content: str, settings: BlockSettings | None) -> CleanResult:
    """Clean plain text; the title line found above the body is returned apart."""
    cleaned = clean_plain_text(normalize_text(content), block=settings)
    if not cleaned.text:
        raise UnprocessableDocument("no body text found in the plain-text document")
    authors = (byline_author(line) for line in cleaned.removed)
    return CleanResult(
        text=normalize_text(cleaned.text),
        title=cleaned.title,
        author=next((name for name in authors if name), None),
        removed=_bounded(cleaned.removed),
    )


def _optional(value: str | None) -> str | None:
    """``value`` normalised to one line, or ``None`` if empty."""
    if value is None:
        return None
    return " ".join(normalize_text(value).split()) or None


def _bounded(removed: list[str]) -> list[str]:
    """At most ``MAX_REMOVED_ENTRIES`` entries of at most ``MAX_REMOVED_CHARS`` characters."""
    return [entry[:MAX_REMOVED_CHARS] for entry in removed[:MAX_REMOVED_ENTRIES]]
