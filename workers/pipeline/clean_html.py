"""Cleaning HTML pages: trafilatura's main text and metadata, then a boilerplate line filter.

trafilatura (precision mode, no comments) does the heavy lifting. Before it, hidden
elements and inline pop-up cards are pruned from the tree; after it, the lines it kept that
are still page furniture are dropped: the headline, standfirst and date/byline stamps
repeated at the top, prompts and captions anywhere, and link lists (a "Related"-like header
and the items under it).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import lxml.etree  # type: ignore[import-untyped]
import lxml.html  # type: ignore[import-untyped]
import trafilatura
from trafilatura.settings import Document

from workers.pipeline.clean_boilerplate import (
    ends_like_sentence,
    is_boilerplate_line,
    is_dateline,
)

# How many lines at the top may repeat the title, standfirst, byline or date.
HEAD_LINES = 4
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_PRUNE_XPATH = (
    "//*[@hidden] | //*[@aria-hidden='true'] | //*[contains(@style, 'none')]"
    " | //*[contains(@style, 'hidden')] | //p//span[.//img]"
)
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


def extract_html(html: str, url: str | None = None) -> HtmlExtraction | None:
    """Main text and metadata of ``html``; ``None`` when no text can be found."""
    tree = _parse(html)
    if tree is None:
        return None
    removed = _prune_hidden(tree)
    document = _trafilatura_document(tree, url)
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
    """The document tree of ``html``, or ``None`` if there is none."""
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None


def _prune_hidden(tree: lxml.html.HtmlElement) -> list[str]:
    """Remove hidden elements and pop-up cards inside paragraphs; describe what went."""
    removed: list[str] = []
    for element in tree.xpath(_PRUNE_XPATH):
        style = element.get("style")
        if style is not None and not _HIDDEN_STYLE.search(style):
            continue
        parent = element.getparent()
        if parent is None:
            continue
        text = " ".join(element.text_content().split())
        if text:
            removed.append(f"hidden <{element.tag}>: {text}")
        element.drop_tree()
    return removed


def _trafilatura_document(tree: lxml.html.HtmlElement, url: str | None) -> Document | None:
    """trafilatura's document (precision mode first, then its default) with some text."""
    for favor_precision in (True, False):
        document = trafilatura.bare_extraction(
            copy.deepcopy(tree) if favor_precision else tree,
            url=url,
            include_comments=False,
            favor_precision=favor_precision,
            with_metadata=True,
        )
        if isinstance(document, Document) and (document.text or "").strip():
            return document
    return None


def _fingerprint(text: str) -> str:
    """Lower-cased words of ``text``, to compare lines whatever their punctuation."""
    return _NOT_WORD.sub(" ", text.lower()).strip()
