"""Key phrases of a document with YAKE (statistical, needs no model)."""

from __future__ import annotations

import math
import re

from contracts.results import Keyword

# YAKE ships stop-word lists for these; another language falls back to English stop words.
_YAKE_LANGUAGES = frozenset(
    "ar bg br cz da de el en es et fa fi fr hi hr hu hy id it ja lt lv nl no pl pt ro ru sk sl sv tr uk zh".split()
)
_MAX_CHARS = 200_000
_WORD = re.compile(r"\w+")
# A candidate sharing at least this share of its words with a better phrase says nothing new.
_MAX_OVERLAP = 0.5


def extract_keywords(text: str, *, language: str = "en", top: int = 10) -> list[Keyword]:
    """Up to ``top`` distinct key phrases (1–3 words), most relevant first, scored in (0, 1]."""
    import yake

    if not text.strip():
        return []
    extractor = yake.KeywordExtractor(
        lan=language if language in _YAKE_LANGUAGES else "en", n=3, top=top * 4
    )
    kept: list[tuple[str, float]] = []
    for phrase, score in extractor.extract_keywords(text[:_MAX_CHARS]):
        if not any(_overlap(phrase, other) >= _MAX_OVERLAP for other, _ in kept):
            kept.append((phrase, score))
        if len(kept) == top:
            break
    return [Keyword(text=phrase, score=score) for phrase, score in _relevance(kept)]


def _overlap(phrase: str, other: str) -> float:
    words, others = set(_WORD.findall(phrase.casefold())), set(_WORD.findall(other.casefold()))
    return len(words & others) / max(1, min(len(words), len(others)))


def _relevance(ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """YAKE's scores are lower-is-better and span orders of magnitude: map their logarithm
    linearly onto [0.1, 1], best first."""
    if not ranked:
        return []
    logs = [math.log(max(score, 1e-12)) for _, score in ranked]
    best, worst = min(logs), max(logs)
    spread = worst - best or 1.0
    return [
        (phrase, round(1.0 - 0.9 * (value - best) / spread, 4))
        for (phrase, _), value in zip(ranked, logs, strict=True)
    ]
