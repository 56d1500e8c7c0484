"""Key phrases of a document: statistical, one pass over its words, no model.

Candidates are runs of one to ``MAX_PHRASE_WORDS`` words with no stop word, number-only word or
punctuation between them (as RAKE and YAKE take them). A candidate scores by how often it
occurs, how early it first occurs, how often it is capitalised mid-sentence (names), and its
length; the settings in ``KeywordWeights`` were chosen by cross-validation against the human
highlights of news articles (``make eval``). Stop-word lists are YAKE's, read from its package
data for the document's language (English for a language it has none for). A few milliseconds
per article, where running YAKE itself took about 90.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

from contracts.results import Keyword

MAX_PHRASE_WORDS = 3
_MAX_CHARS = 200_000
# A token: a word (with inner apostrophes or hyphens), or one mark that breaks a phrase.
_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*|[^\w\s]")
_WORD = re.compile(r"\w+")
_POSSESSIVE = re.compile(r"['’]s$")
# A candidate sharing at least this share of its words with a better phrase says nothing new.
_MAX_OVERLAP = 0.5


@dataclass(frozen=True)
class KeywordWeights:
    """How much early first occurrence, capitalisation and length count beside frequency."""

    position: float = 1.0
    capitals: float = 1.0
    length: float = 0.5


# Chosen by cross-validation over ``evaluation.keywords.GRID`` (capitalisation did not help).
DEFAULT_WEIGHTS = KeywordWeights(position=3.0, capitals=0.0, length=0.5)


@dataclass
class _Candidate:
    count: int = 0
    first: int = 0
    capitalised: int = 0
    forms: Counter[str] | None = None


def extract_keywords(
    text: str, *, language: str = "en", top: int = 10, weights: KeywordWeights = DEFAULT_WEIGHTS
) -> list[Keyword]:
    """Up to ``top`` distinct key phrases (1–3 words), most relevant first, scored in (0, 1]."""
    tokens = [match.group() for match in _TOKEN.finditer(text[:_MAX_CHARS])]
    if not tokens:
        return []
    candidates = _candidates(tokens, stop_words(language))
    total = len(tokens)
    ranked = sorted(
        candidates.items(),
        key=lambda item: (-_score(item[1], len(item[0]), total, weights), item[1].first),
    )
    kept: list[tuple[str, float]] = []
    for key, candidate in ranked:
        if any(_overlap(_key(" ".join(key)), _key(other)) >= _MAX_OVERLAP for other, _ in kept):
            continue
        assert candidate.forms is not None
        form = candidate.forms.most_common(1)[0][0]
        kept.append((form, _score(candidate, len(key), total, weights)))
        if len(kept) == top:
            break
    return [Keyword(text=phrase, score=score) for phrase, score in _relevance(kept)]


@cache
def stop_words(language: str) -> frozenset[str]:
    """YAKE's stop-word list for ``language`` (English when it has none), case-folded."""
    folder = resources.files("yake") / "core" / "StopwordsList"
    path = folder / f"stopwords_{language}.txt"
    if not path.is_file():
        path = folder / "stopwords_en.txt"
    return frozenset(line.strip().casefold() for line in path.read_text("utf-8").splitlines())


def _candidates(tokens: list[str], stops: frozenset[str]) -> dict[tuple[str, ...], _Candidate]:
    """Every phrase of 1–3 consecutive content words, with its statistics."""
    candidates: dict[tuple[str, ...], _Candidate] = {}
    run: list[tuple[int, str]] = []
    sentence_start = True
    for position, raw in enumerate([*tokens, "."]):
        token = _POSSESSIVE.sub("", raw) or raw
        folded = token.casefold()
        is_word = token[0].isalnum()
        if is_word and folded not in stops and not token.isdigit() and len(token) > 1:
            run.append((position, token))
            for size in range(1, min(MAX_PHRASE_WORDS, len(run)) + 1):
                words = run[-size:]
                key = tuple(w.casefold() for _, w in words)
                candidate = candidates.get(key)
                if candidate is None:
                    candidate = candidates[key] = _Candidate(first=words[0][0], forms=Counter())
                candidate.count += 1
                opening = sentence_start and words[0][0] == run[0][0]
                candidate.capitalised += int(not opening and words[0][1][0].isupper())
                assert candidate.forms is not None
                candidate.forms[" ".join(w for _, w in words)] += 1
        else:
            run = []
        if is_word:
            sentence_start = False
        elif token in ".!?":
            sentence_start = True
    return candidates


def _score(candidate: _Candidate, size: int, total: int, weights: KeywordWeights) -> float:
    frequency = math.log1p(candidate.count)
    early = 1.0 / (1.0 + weights.position * candidate.first / max(total, 1))
    capitals = 1.0 + weights.capitals * candidate.capitalised / candidate.count
    length: float = math.pow(size, weights.length)
    return frequency * early * capitals * length


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(phrase.casefold()))


def _overlap(words: tuple[str, ...], others: tuple[str, ...]) -> float:
    shared = set(words) & set(others)
    return len(shared) / max(1, min(len(set(words)), len(set(others))))


def _relevance(ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Scores mapped linearly onto [0.1, 1], best first."""
    if not ranked:
        return []
    best, worst = ranked[0][1], ranked[-1][1]
    spread = best - worst or 1.0
    return [(phrase, round(1.0 - 0.9 * (best - value) / spread, 4)) for phrase, value in ranked]
