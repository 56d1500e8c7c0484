"""Fitting the summarizer's sentence scorer: logistic regression on oracle extracts.

Each article's *oracle* is the set of (at most three) sentences that, added greedily, most
raise ROUGE-1 + ROUGE-2 F1 against its human highlights (the usual labels for extractive
news summarizers). The features are ``workers.pipeline.summarize.FEATURES``; the fit is an
L2-regularised logistic regression (Newton steps, numpy only, a few milliseconds).

``python -m evaluation.summary_model [--data FILE]`` fits on every article of the file and
prints the ``SentenceScorer`` to paste into ``summarize.py`` (only weights are committed,
never the articles). ``make eval`` refits it on each training fold to cross-validate it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from rouge_score import rouge_scorer

from workers.pipeline.sentences import TextSpan
from workers.pipeline.summarize import FEATURES, SentenceScorer, sentence_features

ORACLE_SIZE = 3
L2 = 10.0
_ORACLE_SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)


@dataclass(frozen=True)
class Article:
    """What fitting and scoring need of one article: its features and oracle labels."""

    features: NDArray[np.float64]
    labels: NDArray[np.float64]


def oracle(
    sentences: Sequence[str], reference: Sequence[str], size: int = ORACLE_SIZE
) -> list[int]:
    """Indices of the greedy ROUGE-1 + ROUGE-2 oracle extract."""
    target = "\n".join(reference)
    chosen: list[int] = []
    best = 0.0
    for _ in range(size):
        gains = []
        for index in range(len(sentences)):
            if index in chosen:
                continue
            picked = "\n".join(sentences[i] for i in sorted([*chosen, index]))
            scores = _ORACLE_SCORER.score(target, picked)
            gains.append((scores["rouge1"].fmeasure + scores["rouge2"].fmeasure, index))
        if not gains:
            break
        value, index = max(gains)
        if value <= best:
            break
        best = value
        chosen.append(index)
    return sorted(chosen)


def article(text: str, spans: Sequence[TextSpan], reference: Sequence[str]) -> Article:
    """Features and oracle labels of one article."""
    features, _ = sentence_features(text, spans, None)
    sentences = [text[s.start : s.end] for s in spans]
    labels = np.zeros(len(spans))
    labels[oracle(sentences, reference)] = 1.0
    return Article(features=features, labels=labels)


def fit(articles: Sequence[Article], *, l2: float = L2) -> SentenceScorer:
    """Logistic regression of the oracle labels on the standardised features."""
    features = np.vstack([a.features for a in articles])
    labels = np.concatenate([a.labels for a in articles])
    means = features.mean(axis=0)
    scales = features.std(axis=0)
    scales[scales == 0] = 1.0
    design = np.column_stack([(features - means) / scales, np.ones(len(features))])
    weights = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(25):
        probability = 1.0 / (1.0 + np.exp(-(design @ weights)))
        gradient = design.T @ (probability - labels) + penalty * weights
        curvature = (design * (probability * (1 - probability))[:, None]).T @ design
        step = np.linalg.solve(curvature + np.diag(penalty + 1e-9), gradient)
        weights -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return SentenceScorer(
        weights=tuple(round(float(w), 4) for w in weights[:-1]),
        bias=round(float(weights[-1]), 4),
        means=tuple(round(float(m), 4) for m in means),
        scales=tuple(round(float(s), 4) for s in scales),
    )


def main(argv: list[str] | None = None) -> None:
    from evaluation.rouge import reference_sentences
    from evaluation.summarization import DEFAULT_DATA, read_articles
    from workers.pipeline.nlp import load_nlp
    from workers.pipeline.sentences import split_sentences

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSON-lines data file")
    args = parser.parse_args(argv)
    nlp = load_nlp()
    articles = [
        article(
            row["article"],
            split_sentences(nlp, row["article"]),
            reference_sentences(row["reference"]),
        )
        for row in read_articles(args.data)
    ]
    scorer = fit(articles)
    print(f"# fitted on {len(articles)} articles; features: {', '.join(FEATURES)}")
    print(f"TRAINED_SCORER = {scorer!r}")


if __name__ == "__main__":
    main()
