"""Measure newsdesk's extractive summaries against CNN/DailyMail highlights, cross-validated.

Every system uses the same sentence splitter in the same run. Baselines: Lead-3 (the first
three spans of ``split_sentences``) and the hand-weighted ranker newsdesk used before
("ranked", ``scorer=HAND_SET, swap_margin=RANK_ONLY``). The tuned system's settings — the
sentence scorer's regularisation and the lead-anchoring swap margin — are chosen on the
training folds, and the scorer itself is fitted on them (see :mod:`evaluation.summary_model`).
Run it with ``python -m evaluation.summarization [--data PATH] [--count N]``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

from evaluation.crossval import Candidate, Rows, cross_validate, format_cv, mean_of
from evaluation.rouge import ROUGE_TYPES, mean_percent, reference_sentences, rouge_f1
from evaluation.summary_model import L2, article, fit
from workers.pipeline.nlp import load_nlp
from workers.pipeline.sentences import TextSpan, split_sentences
from workers.pipeline.summarize import (
    HAND_SET,
    RANK_ONLY,
    SentenceScorer,
    pick_sentences,
    sentence_features,
    summarize,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "eval" / "summarization-dev.jsonl"
# The settings cross-validation chooses from (plainest first: it wins ties).
REGULARISATION = (L2,)
SWAP_MARGINS = (math.inf, 0.5, 0.3, 0.2, 0.1, 0.0, RANK_ONLY)


def read_articles(data_file: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (``id``, ``article``, ``reference``, ...)."""
    with data_file.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def evaluate_summarization(data_file: Path, *, count: int = 3) -> dict[str, Any]:
    """Mean ROUGE × 100 of newsdesk (as shipped), Lead-3 and the ranker used before; the
    cross-validated comparison; median per-document time in ms."""
    nlp = load_nlp()
    rows = list(read_articles(data_file))
    texts = [row["article"] for row in rows]
    references = [reference_sentences(row["reference"]) for row in rows]
    timings: dict[str, list[float]] = {"sentences": [], "summarize": []}
    spans: list[list[TextSpan]] = []
    for text in texts:
        started = time.perf_counter()
        spans.append(split_sentences(nlp, text))
        split_done = time.perf_counter()
        summarize(text=text, sentences=spans[-1], count=count)
        timings["sentences"].append(1000 * (split_done - started))
        timings["summarize"].append(1000 * (time.perf_counter() - split_done))
    scored = _Scorer(texts, spans, references, count)
    shipped = scored.rows(lambda i: summarize(text=texts[i], sentences=spans[i], count=count))
    lead3 = scored.rows(lambda i: spans[i][:count])
    ranked = scored.rows(
        lambda i: summarize(
            text=texts[i], sentences=spans[i], count=count, scorer=HAND_SET, swap_margin=RANK_ONLY
        )
    )
    candidates = _candidates(texts, spans, references, scored)
    baselines = {"lead3": lead3, "ranked": ranked}
    return {
        "documents": len(rows),
        "systems": {
            name: mean_percent(dict(zip(ROUGE_TYPES, r, strict=False)) for r in values)
            for name, values in (("newsdesk", shipped), *baselines.items())
        },
        "cv": {
            name: cross_validate(
                candidates, mean_of(column), count=len(rows), baselines=baselines, select=mean_of(3)
            )
            for column, name in enumerate(ROUGE_TYPES)
        },
        "median_ms": {
            stage: round(median(values), 2) if values else 0.0 for stage, values in timings.items()
        },
    }


class _Scorer:
    """ROUGE rows of chosen sentences, cached: many settings choose the same sentences."""

    def __init__(
        self, texts: list[str], spans: list[list[TextSpan]], references: list[list[str]], count: int
    ) -> None:
        self.texts, self.spans, self.references, self.count = texts, spans, references, count
        self._cache: dict[tuple[int, tuple[str, ...]], list[float]] = {}

    def rows(self, choose: Callable[[int], Any]) -> Rows:
        """One row per article: ROUGE-1, -2, -Lsum F1 and their mean."""
        return np.array(
            [self.row(i, self._sentences(i, choose(i))) for i in range(len(self.texts))]
        )

    def row(self, index: int, sentences: tuple[str, ...]) -> list[float]:
        key = (index, sentences)
        if key not in self._cache:
            scores = rouge_f1(list(sentences), self.references[index])
            values = [scores[name] for name in ROUGE_TYPES]
            self._cache[key] = [*values, sum(values) / len(values)]
        return self._cache[key]

    def _sentences(self, index: int, chosen: Any) -> tuple[str, ...]:
        text = self.texts[index]
        if isinstance(chosen, list):  # spans
            return tuple(text[s.start : s.end] for s in chosen)
        return tuple(sentence.text for sentence in chosen.sentences)


def _candidates(
    texts: list[str], spans: list[list[TextSpan]], references: list[list[str]], scored: _Scorer
) -> list[Candidate]:
    """Each (regularisation, margin) setting, its scorer refitted on the training articles."""
    articles = [article(t, s, r) for t, s, r in zip(texts, spans, references, strict=True)]
    features = [sentence_features(t, s, None) for t, s in zip(texts, spans, strict=True)]

    @cache
    def scorer(train: tuple[int, ...], l2: float) -> SentenceScorer:
        return fit([articles[i] for i in train], l2=l2)

    def setting(l2: float, margin: float) -> Callable[[list[int]], Rows]:
        def rows(train: list[int]) -> Rows:
            fitted = scorer(tuple(train), l2)

            def chosen(i: int) -> list[TextSpan]:
                picked, _ = pick_sentences(
                    *features[i], count=scored.count, scorer=fitted, swap_margin=margin
                )
                return [spans[i][j] for j in sorted(picked)]

            return scored.rows(chosen)

        return rows

    return [
        Candidate(f"l2={l2:g}, margin={margin:g}", setting(l2, margin))
        for l2 in REGULARISATION
        for margin in SWAP_MARGINS
    ]


def format_table(results: dict[str, Any]) -> str:
    """The cross-validated ROUGE tables (× 100) and the stage timings."""
    lines = [f"documents: {results['documents']}"]
    for name, report in results["cv"].items():
        lines += ["", format_cv(name, report, scale=100, digits=2)]
    timing = ", ".join(f"{stage} {ms:.2f}" for stage, ms in results["median_ms"].items())
    lines.append(f"\nmedian ms per document: {timing}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: evaluate and print the table (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSON-lines data file")
    parser.add_argument("--count", type=int, default=3, help="sentences per summary")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    arguments = parser.parse_args(argv)
    results = evaluate_summarization(arguments.data, count=arguments.count)
    print(json.dumps(results, indent=2) if arguments.json else format_table(results))


if __name__ == "__main__":
    main()
