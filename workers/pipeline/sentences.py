"""Paragraph and sentence boundaries as character offsets into a cleaned text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# The longest block handed to spaCy at once (its own limit is 1,000,000 characters).
MAX_BLOCK_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class TextSpan:
    """A half-open character range ``[start, end)`` of a text."""

    start: int
    end: int


def split_paragraphs(text: str, *, max_chars: int = MAX_BLOCK_CHARS) -> list[TextSpan]:
    """Blank-line separated blocks of ``text``, trimmed; a block longer than ``max_chars`` is
    cut at white space (at a line break when there is one) so the models never see more."""
    spans: list[TextSpan] = []
    position = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        span = _trimmed(text, position, end)
        if span is not None:
            spans.extend(_bounded(text, span, max_chars))
        if match:
            position = match.end()
    return spans


def _bounded(text: str, span: TextSpan, max_chars: int) -> list[TextSpan]:
    pieces: list[TextSpan] = []
    start = span.start
    while span.end - start > max_chars:
        limit = start + max_chars
        cut = text.rfind("\n", start + 1, limit)
        if cut == -1:
            cut = text.rfind(" ", start + 1, limit)
        if cut == -1:
            cut = limit
        piece = _trimmed(text, start, cut)
        if piece is not None:
            pieces.append(piece)
        start = cut
    last = _trimmed(text, start, span.end)
    if last is not None:
        pieces.append(last)
    return pieces


def split_sentences(nlp: Language, text: str) -> list[TextSpan]:
    """Sentences of ``text``; a sentence never crosses a paragraph break.

    The statistical splitter ignores blank lines, so paragraphs are split first and each
    is segmented on its own; only the ``senter`` component runs.
    """
    return [
        span
        for offset, doc in paragraph_docs(nlp, text, components=("senter",))
        for span in doc_sentences(text, offset, doc)
    ]


def doc_sentences(text: str, offset: int, doc: Doc) -> Iterator[TextSpan]:
    """The sentences ``senter`` marked in one paragraph's doc, as trimmed spans of ``text``."""
    for sent in doc.sents:
        span = _trimmed(text, offset + sent.start_char, offset + sent.end_char)
        if span is not None:
            yield span


def paragraph_docs(
    nlp: Language, text: str, *, components: tuple[str, ...]
) -> Iterator[tuple[int, Doc]]:
    """Each paragraph of ``text`` run through only ``components`` (one pass), with its start
    offset."""
    paragraphs = split_paragraphs(text)
    with nlp.select_pipes(enable=list(components)):
        docs = nlp.pipe(text[p.start : p.end] for p in paragraphs)
        for paragraph, doc in zip(paragraphs, docs, strict=True):
            yield paragraph.start, doc


def _trimmed(text: str, start: int, end: int) -> TextSpan | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return TextSpan(start, end) if end > start else None
