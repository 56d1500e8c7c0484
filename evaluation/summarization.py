"""Measure newsdesk's extractive summaries against CNN/DailyMail highlights, beside Lead-3.

Both systems use the same sentence splitter in the same run: Lead-3 takes the first three
spans of ``split_sentences``; newsdesk ranks them with ``summarize``. Run it with
``python -m evaluation.summarization [--data PATH] [--count N]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any

from evaluation.rouge import ROUGE_TYPES, mean_percent, reference_sentences, rouge_f1
from workers.pipeline.nlp import load_nlp
from workers.pipeline.sentences import split_sentences
from workers.pipeline.summarize import summarize

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "eval" / "summarization-dev.jsonl"


def read_articles(data_file: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file (``id``, ``article``, ``reference``, ...)."""
    with data_file.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def evaluate_summarization(data_file: Path, *, count: int = 3) -> dict[str, Any]:
    """Mean ROUGE × 100 of newsdesk and Lead-3, and median per-document time in ms."""
    nlp = load_nlp()
    scores: dict[str, list[dict[str, float]]] = {"newsdesk": [], "lead3": []}
    timings: dict[str, list[float]] = {"sentences": [], "summarize": []}
    for row in read_articles(data_file):
        text = row["article"]
        reference = reference_sentences(row["reference"])
        started = time.perf_counter()
        spans = split_sentences(nlp, text)
        split_done = time.perf_counter()
        summary = summarize(text=text, sentences=spans, count=count)
        summary_done = time.perf_counter()
        timings["sentences"].append(1000 * (split_done - started))
        timings["summarize"].append(1000 * (summary_done - split_done))
        scores["newsdesk"].append(rouge_f1([s.text for s in summary.sentences], reference))
        lead = [text[span.start : span.end] for span in spans[:count]]
        scores["lead3"].append(rouge_f1(lead, reference))
    return {
        "documents": len(scores["newsdesk"]),
        "systems": {name: mean_percent(rows) for name, rows in scores.items()},
        "median_ms": {
            stage: round(median(values), 2) if values else 0.0 for stage, values in timings.items()
        },
    }


def format_table(results: dict[str, Any]) -> str:
    """A plain-text table of the systems' ROUGE figures and the stage timings."""
    header = f"{'system':<10}" + "".join(f"{name:>11}" for name in ROUGE_TYPES)
    lines = [f"documents: {results['documents']}", header]
    for system, figures in results["systems"].items():
        lines.append(f"{system:<10}" + "".join(f"{figures[name]:>11.2f}" for name in ROUGE_TYPES))
    timing = ", ".join(f"{stage} {ms:.2f}" for stage, ms in results["median_ms"].items())
    lines.append(f"median ms per document: {timing}")
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
