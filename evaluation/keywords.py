"""Key-phrase quality: how well an article's key phrases cover the words of its human highlights.

The words of the top-10 phrases and the words of the reference highlights (case-folded, plural
and possessive ``s`` dropped, stop words left out) are compared as sets: an article's score is
their F1 (a list of single words cannot win on precision alone, nor long phrases on recall).
Baseline: YAKE as newsdesk ran
it before (``n=3``, top 40 deduplicated to 10). The extractor's weights are chosen on the
training folds (``evaluation.crossval``).
"""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

from evaluation.crossval import Candidate, Rows, cross_validate, mean_of
from evaluation.rouge import reference_sentences
from evaluation.summarization import read_articles
from workers.pipeline.keywords import KeywordWeights, extract_keywords, stop_words

TOP = 10
GRID = {"position": (1.0, 0.0, 3.0), "capitals": (1.0, 0.0), "length": (0.5, 0.0, 1.0)}
_WORD = re.compile(r"[^\W_]+")
STOP_WORDS = stop_words("en")


def words_of(text: str) -> set[str]:
    """Case-folded words, a final plural or possessive ``s`` dropped."""
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _WORD.findall(text.casefold())}


def word_f1(phrases: list[str], reference: set[str]) -> float:
    """F1 of the content words of ``phrases`` against the ``reference`` content words."""
    predicted = set().union(*(words_of(p) for p in phrases)) - STOP_WORDS if phrases else set()
    shared = len(predicted & reference)
    if not shared:
        return 0.0
    precision, recall = shared / len(predicted), shared / len(reference)
    return 2 * precision * recall / (precision + recall)


def yake_keywords(text: str, *, top: int = TOP) -> list[str]:
    """The phrases newsdesk took from YAKE before (the same settings and deduplication)."""
    import yake

    extractor = yake.KeywordExtractor(lan="en", n=3, top=top * 4)
    kept: list[str] = []
    for phrase, _ in extractor.extract_keywords(text[:200_000]):
        words = words_of(phrase)
        if all(
            len(words & words_of(o)) / max(1, min(len(words), len(words_of(o)))) < 0.5 for o in kept
        ):
            kept.append(phrase)
        if len(kept) == top:
            break
    return kept


def evaluate_keywords(data_file: Path) -> dict[str, Any]:
    """Cross-validated word F1 against the highlights, beside YAKE; median ms of each."""
    rows = list(read_articles(data_file))
    references = [
        words_of(" ".join(reference_sentences(r["reference"]))) - STOP_WORDS for r in rows
    ]
    timings: dict[str, list[float]] = {"newsdesk": [], "yake": []}

    def rows_of(extract: Any, timing: str | None = None) -> Rows:
        values = []
        for row, reference in zip(rows, references, strict=True):
            began = time.perf_counter()
            phrases = extract(row["article"])
            if timing:
                timings[timing].append(1000 * (time.perf_counter() - began))
            values.append([word_f1(phrases, reference)])
        return np.array(values)

    yake_rows = rows_of(yake_keywords, "yake")
    rows_of(lambda t: [k.text for k in extract_keywords(t)], "newsdesk")

    def phrases(weights: KeywordWeights) -> Any:
        return lambda text: [k.text for k in extract_keywords(text, weights=weights)]

    candidates = [
        Candidate(
            f"position={p:g}, capitals={c:g}, length={n:g}",
            rows_of(phrases(KeywordWeights(p, c, n))),
        )
        for p, c, n in itertools.product(*GRID.values())
    ]
    return {
        "documents": len(rows),
        "cv": cross_validate(candidates, mean_of(), count=len(rows), baselines={"yake": yake_rows}),
        "median_ms": {name: round(median(v), 2) for name, v in timings.items()},
    }
