"""Cleaning HTML pages: trafilatura's main text and metadata, then a boilerplate line filter.

trafilatura (precision mode, no comments) does the heavy lifting. Before it, hidden
elements and inline pop-up cards are pruned from the tree; after it, the lines it kept that
are still page furniture are dropped: the headline, standfirst and date/byline stamps
repeated at the top, prompts and captions anywhere, and link lists (a "Related"-like header
and the items under it).

Bounds (hostile or broken pages): a page is refused with ``UnprocessableDocument`` when it
holds more than ``MAX_ELEMENTS`` elements or nests them deeper than ``MAX_DEPTH`` (libxml2's
own limit, past which it silently drops the rest of the page). Parsing is linear, our own
tree walks are single Python passes, and below these bounds no single call into lxml or
trafilatura (some of whose XPath queries grow faster than the page) holds the interpreter
for more than about a second, even on a 5 MB page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import lxml.etree  # type: ignore[import-untyped]
import lxml.html  # type: ignore[import-untyped]
import trafilatura
from trafilatura.settings import Document, set_date_params

from workers.pipeline.clean_boilerplate import (
    ends_like_sentence,
    is_boilerplate_line,
    is_dateline,
)
from workers.pipeline.errors import UnprocessableDocument

# How many lines at the top may repeat the title, standfirst, byline or date.
HEAD_LINES = 4
# On a page longer than this, dates are read from its metadata and markup only: htmldate's
# extensive search runs regular expressions over the whole page, one call of a second or more
# on a 5 MB page (on the evaluation pages, up to 1.5 MB, it found one date more in 92).
EXTENSIVE_DATE_SEARCH_MAX_CHARS = 1_000_000
# Far above any real article page (the evaluation pages hold 100 to 1,700 elements; most web
# pages fewer than 4,000).
MAX_ELEMENTS = 15_000
MAX_DEPTH = 256
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^[-•*·]\s")
_NOT_WORD = re.compile(r"\W+")


@dataclass(frozen=True, slots=True)
class HtmlExtraction:
    """Main text of a page (one paragraph a line), its metadata and the dropped lines."""

    text: str
    title: str | None
    author: str | None
    date: str | None
    site: str | None
    removed: list[str]


@dataclass(frozen=True, slots=True)
class ExtractionSettings:
    """How trafilatura is run: its fast precision mode first (``fast``: without its own
    readability and jusText comparisons), and its default mode as a second pass only when the
    first kept fewer than ``retry_below_words`` words (chosen by cross-validation)."""

    fast: bool = True
    retry_below_words: int = 100


# Precision mode with trafilatura's own comparisons, the default mode only when it found nothing.
THOROUGH = ExtractionSettings(fast=False, retry_below_words=1)
DEFAULT_SETTINGS = ExtractionSettings()


def extract_html(
    html: str, url: str | None = None, *, settings: ExtractionSettings = DEFAULT_SETTINGS
) -> HtmlExtraction | None:
    """Main text and metadata of ``html``; ``None`` when no text can be found."""
    tree = _parse(html)
    if tree is None:
        return None
    removed = _prune_hidden(tree)
    dates = set_date_params(extensive=len(html) <= EXTENSIVE_DATE_SEARCH_MAX_CHARS)
    document = _trafilatura_document(
        tree, url, favor_precision=True, fast=settings.fast, dates=dates
    )
    if _words(document) < settings.retry_below_words:
        tree = _parse(html)
        assert tree is not None
        _prune_hidden(tree)
        second = _trafilatura_document(tree, url, favor_precision=False, fast=False, dates=dates)
        if _words(second) > _words(document):
            document = second
    if document is None:
        return None
    lines, dropped = filter_lines(
        (document.text or "").split("\n"), title=document.title, intro=document.description
    )
    return HtmlExtraction(
        text="\n".join(lines),
        title=document.title or None,
        author=document.author or None,
        date=document.date or None,
        site=document.sitename or None,
        removed=removed + dropped,
    )


def filter_lines(
    lines: list[str], *, title: str | None, intro: str | None
) -> tuple[list[str], list[str]]:
    """``lines`` without page furniture; returns (kept, dropped)."""
    # A standfirst repeated at the top is dropped; a first paragraph reused as description is not.
    head_texts = (title, intro if intro and not ends_like_sentence(intro) else None)
    head_repeats = {_fingerprint(text) for text in head_texts if text}
    kept: list[str] = []
    dropped: list[str] = []
    in_link_list = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        in_link_list = in_link_list and bool(_LIST_ITEM.match(stripped))
        at_head = index < HEAD_LINES and not kept
        is_repeat = at_head and (_fingerprint(stripped) in head_repeats or is_dateline(stripped))
        if is_repeat or in_link_list or is_boilerplate_line(stripped):
            dropped.append(stripped)
            in_link_list = in_link_list or not is_repeat
            continue
        kept.append(stripped)
    return kept, dropped


def _parse(html: str) -> lxml.html.HtmlElement | None:
    """The document tree of ``html`` (``None`` if there is none), within the stated bounds."""
    if not html.strip():
        return None
    parser = lxml.html.HTMLParser()
    try:
        tree = lxml.html.document_fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None
    for error in parser.error_log:
        if error.type_name == "ERR_RESOURCE_LIMIT":  # libxml2 stopped reading the page there
            if "depth" in error.message:
                raise UnprocessableDocument(f"HTML elements nested deeper than {MAX_DEPTH} levels")
            raise UnprocessableDocument(f"the HTML parser's limits: {error.message.strip()}")
    if tree.xpath("count(//*)") > MAX_ELEMENTS:  # counted in libxml2, linear
        raise UnprocessableDocument(f"more than {MAX_ELEMENTS} HTML elements")
    return tree


def _prune_hidden(tree: lxml.html.HtmlElement) -> list[str]:
    """Remove hidden elements and pop-up cards inside paragraphs; describe what went.

    One pass over the tree (an XPath union of these tests grows quadratically in libxml2).
    """
    doomed = [element for element in tree.iter() if _is_hidden_or_card(element)]
    gone: set[lxml.html.HtmlElement] = set()
    removed: list[str] = []
    for element in doomed:
        if element.getparent() is None or any(a in gone for a in element.iterancestors()):
            continue
        gone.add(element)
        text = " ".join(element.text_content().split())
        if text:
            removed.append(f"hidden <{element.tag}>: {text}")
        element.drop_tree()
    return removed


def _is_hidden_or_card(element: lxml.html.HtmlElement) -> bool:
    """Hidden by attribute or inline style, or a span holding an image inside a paragraph."""
    if not isinstance(element.tag, str):
        return False
    style = element.get("style")
    if style is not None:  # an element styled visible is never a card
        return bool(_HIDDEN_STYLE.search(style))
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    if element.tag != "span" or next(element.iter("img"), None) is None:
        return False
    return any(ancestor.tag == "p" for ancestor in element.iterancestors())


def _trafilatura_document(
    tree: lxml.html.HtmlElement,
    url: str | None,
    *,
    favor_precision: bool,
    fast: bool,
    dates: dict[str, Any],
) -> Document | None:
    """trafilatura's document with some text, or ``None`` (the tree is consumed)."""
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        favor_precision=favor_precision,
        fast=fast,
        with_metadata=True,
        date_extraction_params=dates,
    )
    if isinstance(document, Document) and (document.text or "").strip():
        return document
    return None


def _words(document: Document | None) -> int:
    return len((document.text or "").split()) if document is not None else 0


def _fingerprint(text: str) -> str:
    """Lower-cased words of ``text``, to compare lines whatever their punctuation."""
    return _NOT_WORD.sub(" ", text.lower()).strip()
