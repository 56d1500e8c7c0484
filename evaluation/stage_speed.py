"""Median time per document of each stage function, on real pages, in one process."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from contracts.documents import DocumentOptions
from evaluation.extraction import load_pages
from workers.pipeline.nlp import load_nlp
from workers.pipeline.stages import run_clean, run_entities, run_summarize


def measure_stage_speed(data_dir: Path, *, limit: int | None = None) -> dict[str, Any]:
    """Run clean → entities → summarize on each HTML page; medians in ms and words per second."""
    nlp = load_nlp()
    options = DocumentOptions()
    timings: dict[str, list[float]] = {"clean": [], "entities": [], "summarize": []}
    words = 0
    pages = list(load_pages(data_dir).values())[:limit]
    for html, _ in pages:
        began = time.perf_counter()
        clean = run_clean(content=html, content_type="text/html", options=options)
        cleaned = time.perf_counter()
        analysis = run_entities(clean=clean, nlp=nlp)
        tagged = time.perf_counter()
        run_summarize(clean=clean, analysis=analysis, options=options)
        done = time.perf_counter()
        timings["clean"].append(cleaned - began)
        timings["entities"].append(tagged - cleaned)
        timings["summarize"].append(done - tagged)
        words += len(clean.text.split())
    total = sum(sum(values) for values in timings.values())
    return {
        "documents": len(pages),
        "median_ms": {stage: round(statistics.median(v) * 1000, 1) for stage, v in timings.items()},
        "words_per_second_all_stages": round(words / total) if total else 0,
    }
