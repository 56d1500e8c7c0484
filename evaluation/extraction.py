"""Main-text extraction quality on the article-extraction-benchmark pages.

Scores, in one run: newsdesk's HTML cleaner against trafilatura's default
(``include_comments=False``), and newsdesk's plain-text cleaner on the pages' "pasted"
text (browser select-all copy, see :mod:`evaluation.pasted_text`) against no cleaning and
against jusText (each pasted line given to it as a paragraph). The cleaners' settings are
chosen by cross-validation (:mod:`evaluation.crossval`), with bootstrap intervals.

Metric (scrapinghub/article-extraction-benchmark ``evaluate.py``): ``\\w+`` tokens, multisets
of word 4-grams; per page TP/FP/FN are normalised by their sum; precision and recall are the
means of the per-page scores, F1 their harmonic mean; accuracy is the share of pages whose
token sequence equals the expected one.

Run: ``python -m evaluation.extraction [--data ../shared/eval]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from html import escape
from pathlib import Path
from typing import Any

import justext  # type: ignore[import-untyped]
import numpy as np
import trafilatura

from evaluation.crossval import Candidate, Rows, cross_validate
from evaluation.pasted_text import html_to_pasted_text
from workers.pipeline.clean import UnprocessableDocument, clean_document
from workers.pipeline.clean_html import THOROUGH, ExtractionSettings
from workers.pipeline.clean_text import BlockSettings

DEFAULT_DATA = Path("../shared/eval")
NGRAM = 4
_TOKEN = re.compile(r"\w+")

Counts = tuple[float, float, float]
# The settings cross-validation chooses from (the first, the plainest, wins ties): the HTML
# cleaner's trafilatura passes, and the plain-text cleaner's body-block costs.
HTML_SETTINGS = (
    THOROUGH,
    ExtractionSettings(fast=True, retry_below_words=100),
    ExtractionSettings(fast=True, retry_below_words=200),
)
TEXT_SETTINGS = (
    BlockSettings(gap_cost_chars=60, max_gap_lines=4),
    BlockSettings(gap_cost_chars=30, max_gap_lines=4),
    BlockSettings(gap_cost_chars=120, max_gap_lines=4),
    BlockSettings(gap_cost_chars=60, max_gap_lines=2),
    BlockSettings(gap_cost_chars=60, max_gap_lines=8),
)


def tokens(text: str) -> list[str]:
    """The ``\\w+`` tokens of ``text``."""
    return _TOKEN.findall(text or "")


def shingles(text: str, n: int = NGRAM) -> Counter[tuple[str, ...]]:
    """Multiset of word n-grams (a shorter text gives its one shorter tuple)."""
    words = tokens(text)
    return Counter(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)) if words)


def shingle_counts(expected: str, predicted: str) -> Counts:
    """Per-page (TP, FP, FN) over 4-gram multisets, divided by their sum."""
    truth, guess = shingles(expected), shingles(predicted)
    tp = sum((truth & guess).values())
    fp = sum((guess - truth).values())
    fn = sum((truth - guess).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def scores(pages: list[Counts], exact: list[bool]) -> dict[str, float]:
    """Precision, recall, F1 (benchmark definition) and accuracy over pages."""
    precision = _mean([_ratio(tp, fp, fn) for tp, fp, fn in pages if tp + fp > 0])
    recall = _mean([_ratio(tp, fn, fp) for tp, fp, fn in pages if tp + fn > 0])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(exact) / len(exact)
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy}


def score_predictions(expected: list[str], predicted: list[str]) -> dict[str, float]:
    """Scores of ``predicted`` texts against ``expected`` ones (same order)."""
    pages = [shingle_counts(true, guess) for true, guess in zip(expected, predicted, strict=True)]
    exact = [tokens(t) == tokens(g) for t, g in zip(expected, predicted, strict=True)]
    return scores(pages, exact)


def page_rows(expected: list[str], predicted: list[str]) -> Rows:
    """One row per page: its precision and recall (NaN where the benchmark skips the page) and
    whether its tokens match exactly; ``f1_of_rows`` turns rows into the benchmark's F1."""
    rows = []
    for truth, guess in zip(expected, predicted, strict=True):
        tp, fp, fn = shingle_counts(truth, guess)
        rows.append(
            [
                _ratio(tp, fp, fn) if tp + fp > 0 else math.nan,
                _ratio(tp, fn, fp) if tp + fn > 0 else math.nan,
                float(tokens(truth) == tokens(guess)),
            ]
        )
    return np.array(rows)


def f1_of_rows(rows: Rows) -> float:
    """The benchmark's F1 of a set of page rows (harmonic mean of mean P and mean R)."""
    precision, recall = _nanmean(rows[:, 0]), _nanmean(rows[:, 1])
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def evaluate_extraction(data_dir: Path = DEFAULT_DATA) -> dict[str, object]:
    """All extraction scores on ``data_dir/extraction-dev`` (or ``data_dir`` itself): plain
    figures of each system, and the cross-validated choice of the cleaners' settings."""
    pages = load_pages(data_dir)
    expected = [body for _, body in pages.values()]
    htmls = [html for html, _ in pages.values()]
    pasted = [html_to_pasted_text(html) for html in htmls]
    html_texts, html_ms = _timed(htmls, lambda html: _cleaned(html, "text/html"))
    text_texts, text_ms = _timed(pasted, lambda text: _cleaned(text, "text/plain"))
    baseline = [trafilatura.extract(html, include_comments=False) or "" for html in htmls]
    justext_texts = [justext_paragraphs(text) for text in pasted]
    html_candidates = [
        Candidate(
            f"fast={s.fast}, retry below {s.retry_below_words} words",
            page_rows(expected, [_cleaned(h, "text/html", html_settings=s) for h in htmls]),
        )
        for s in HTML_SETTINGS
    ]
    text_candidates = [
        Candidate(
            f"gap cost {b.gap_cost_chars}, max gap {b.max_gap_lines}",
            page_rows(expected, [_cleaned(t, "text/plain", text_settings=b) for t in pasted]),
        )
        for b in TEXT_SETTINGS
    ]
    html_baselines = {"trafilatura": page_rows(expected, baseline)}
    text_baselines = {
        "no_cleaning": page_rows(expected, pasted),
        "justext": page_rows(expected, justext_texts),
    }
    return {
        "documents": len(pages),
        "html": {
            "newsdesk": score_predictions(expected, html_texts),
            "trafilatura": score_predictions(expected, baseline),
        },
        "pasted_text": {
            "newsdesk": score_predictions(expected, text_texts),
            "no_cleaning": score_predictions(expected, pasted),
            "justext": score_predictions(expected, justext_texts),
        },
        "cv": {
            f"{task} {name}": cross_validate(
                candidates, statistic, count=len(pages), baselines=baselines, select=f1_of_rows
            )
            for task, candidates, baselines in (
                ("html", html_candidates, html_baselines),
                ("pasted text", text_candidates, text_baselines),
            )
            for name, statistic in (
                ("F1", f1_of_rows),
                ("precision", lambda rows: _nanmean(rows[:, 0])),
                ("recall", lambda rows: _nanmean(rows[:, 1])),
            )
        },
        "median_ms": {"clean_html": html_ms, "clean_text": text_ms},
    }


def justext_paragraphs(text: str) -> str:
    """jusText (English stop words, its default settings) over pasted text, each line given
    to it as a paragraph: the good paragraphs, one a line."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return ""
    page = "<html><body>" + "".join(f"<p>{escape(line)}</p>" for line in lines) + "</body></html>"
    paragraphs = justext.justext(page.encode("utf-8"), justext.get_stoplist("English"))
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def load_pages(data_dir: Path) -> dict[str, tuple[str, str]]:
    """``{id: (html, expected body)}`` of the benchmark set under ``data_dir``."""
    root = data_dir / "extraction-dev" if (data_dir / "extraction-dev").is_dir() else data_dir
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages: dict[str, tuple[str, str]] = {}
    for page_id, entry in sorted(truth.items()):
        with gzip.open(root / "html" / f"{page_id}.html.gz", "rt", encoding="utf-8") as file:
            pages[page_id] = (file.read(), entry.get("articleBody", ""))
    return pages


def main(argv: list[str] | None = None) -> None:
    """Print the score table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="evaluation data dir")
    parser.add_argument("--json", action="store_true", help="print the raw JSON instead")
    args = parser.parse_args(argv)
    result = evaluate_extraction(args.data)
    print(json.dumps(result, indent=2) if args.json else format_table(result))


def format_table(result: dict[str, object]) -> str:
    """The scores as an aligned text table."""
    rows = [f"documents: {result['documents']}", f"{'':28} {'P':>6} {'R':>6} {'F1':>6} {'Acc':>6}"]
    for task in ("html", "pasted_text"):
        systems = result[task]
        assert isinstance(systems, dict)
        for name, metric in systems.items():
            values = " ".join(f"{metric[key]:6.3f}" for key in ("precision", "recall", "f1"))
            rows.append(f"{task + ' / ' + name:28} {values} {metric['accuracy']:6.3f}")
    rows.append(f"median ms: {result['median_ms']}")
    return "\n".join(rows)


def _cleaned(content: str, content_type: str, **settings: Any) -> str:
    """newsdesk's cleaned text, or "" when the cleaner finds nothing."""
    try:
        return clean_document(content=content, content_type=content_type, **settings).text
    except UnprocessableDocument:
        return ""


def _timed(items: Iterable[str], function: Callable[[str], str]) -> tuple[list[str], float]:
    """``function`` applied to each item, and the median time per item in milliseconds."""
    outputs: list[str] = []
    durations: list[float] = []
    for item in items:
        started = time.perf_counter()
        outputs.append(function(item))
        durations.append(time.perf_counter() - started)
    return outputs, round(statistics.median(durations) * 1000, 2)


def _nanmean(values: Rows) -> float:
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else 0.0


def _mean(values: list[float]) -> float:
    """Mean of ``values``; 0 when there are none (no page with a prediction, say)."""
    return statistics.mean(values) if values else 0.0


def _ratio(tp: float, wrong: float, other: float) -> float:
    """Benchmark precision (``wrong`` = FP) or recall (``wrong`` = FN) of one page."""
    if wrong == other == 0:
        return 1.0
    if tp == wrong == 0:
        return 0.0
    return tp / (tp + wrong)


if __name__ == "__main__":
    main()
