"""What a reader gets from an HTML page by "select all" and "copy" in a browser.

All visible text of the page, one block element per line: scripts, styles, the head and
hidden elements (``hidden``, ``aria-hidden="true"``, inline ``display:none`` or
``visibility:hidden``) are dropped; menus, footers and everything else visible are kept.
Used to measure how well the plain-text cleaner copes with pasted pages.
"""

from __future__ import annotations

import re

import lxml.html  # type: ignore[import-untyped]
from lxml import etree

_INVISIBLE_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "meta", "link", "svg", "iframe"}
)
_INVISIBLE_TAGS |= frozenset({"object", "embed", "canvas", "select", "option", "input", "textarea"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li", "main", "nav", "ol",
        "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
        "ul", "center", "menu", "legend", "picture", "video", "audio",
    }
)  # fmt: skip
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_LINE_BREAK = "\n"


def html_to_pasted_text(html: str) -> str:
    """The visible text of ``html``, block elements on their own lines, no blank lines."""
    if not html.strip():
        return ""
    root = lxml.html.document_fromstring(html)
    chunks: list[str] = []
    _collect_visible_text(root, chunks)
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(chunks).split(_LINE_BREAK))
    return "\n".join(line for line in lines if line)


def is_hidden(element: etree._Element) -> bool:
    """Whether the browser would not render ``element`` (tag, attribute or inline style)."""
    tag = element.tag
    if not isinstance(tag, str) or tag.lower() in _INVISIBLE_TAGS:
        return True
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    if element.get("type") == "hidden":
        return True
    return bool(_HIDDEN_STYLE.search(element.get("style") or ""))


def _collect_visible_text(element: etree._Element, chunks: list[str]) -> None:
    """Append the visible text under ``element`` to ``chunks``; block elements add line breaks."""
    is_block = element.tag.lower() in _BLOCK_TAGS
    if is_block:
        chunks.append(_LINE_BREAK)
    if element.text:
        chunks.append(element.text)
    for child in element:
        if not is_hidden(child):
            _collect_visible_text(child, chunks)
        if child.tail:
            chunks.append(child.tail)
    if is_block:
        chunks.append(_LINE_BREAK)
