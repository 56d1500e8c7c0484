"""ROUGE-1/2/Lsum F1 as the summarization benchmarks report it (``rouge-score``, stemming on)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from statistics import fmean

from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")
# CNN/DailyMail highlights arrive tokenised, one sentence after another, joined by " . ".
REFERENCE_SENTENCE_SEPARATOR = " . "

_SCORER = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def reference_sentences(reference: str) -> list[str]:
    """The highlight sentences of a CNN/DailyMail reference, without empty pieces."""
    pieces = reference.split(REFERENCE_SENTENCE_SEPARATOR)
    return [piece.strip() for piece in pieces if piece.strip()]


def rouge_f1(prediction: Sequence[str], reference: Sequence[str]) -> dict[str, float]:
    """F1 of each ROUGE type (0–1); sentences are joined by newlines, as rougeLsum needs."""
    scores = _SCORER.score("\n".join(reference), "\n".join(prediction))
    return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}


def mean_percent(per_document: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each ROUGE type over documents, × 100 and rounded to two decimals."""
    rows = list(per_document)
    if not rows:
        return {name: 0.0 for name in ROUGE_TYPES}
    return {name: round(100 * fmean(row[name] for row in rows), 2) for name in ROUGE_TYPES}
