"""Paragraph and sentence boundaries as character offsets into a cleaned text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from spacy.language import Language

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True, slots=True)
class TextSpan:
    """A half-open character range ``[start, end)`` of a text."""

    start: int
    end: int


def split_paragraphs(text: str) -> list[TextSpan]:
    """Blank-line separated blocks of ``text``, trimmed of surrounding white space."""
    spans: list[TextSpan] = []
    position = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        span = _trimmed(text, position, end)
        if span is not None:
            spans.append(span)
        if match:
            position = match.end()
    return spans


def split_sentences(nlp: Language, text: str) -> list[TextSpan]:
    """Sentences of ``text``; a sentence never crosses a paragraph break.

    The statistical splitter ignores blank lines, so paragraphs are split first and each
    is segmented on its own; only the ``senter`` component runs.
    """
    paragraphs = split_paragraphs(text)
    sentences: list[TextSpan] = []
    with nlp.select_pipes(enable=["senter"]):
        docs = nlp.pipe(text[p.start : p.end] for p in paragraphs)
        for paragraph, doc in zip(paragraphs, docs, strict=True):
            for sent in doc.sents:
                span = _trimmed(
                    text, paragraph.start + sent.start_char, paragraph.start + sent.end_char
                )
                if span is not None:
                    sentences.append(span)
    return sentences


def iter_paragraph_texts(text: str, paragraphs: list[TextSpan]) -> Iterator[str]:
    """The text of each paragraph span, in order."""
    for span in paragraphs:
        yield text[span.start : span.end]


def _trimmed(text: str, start: int, end: int) -> TextSpan | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return TextSpan(start, end) if end > start else None
