"""The bare-throughput harness runs a checkout's stage functions in a fresh interpreter."""

from __future__ import annotations

import json

from evaluation.bare import REPO, STAGES, measure

TEXT = (
    "The council approved the new budget on Tuesday after a long debate about schools.\n\n"
    "Mayor Jane Smith said the plan would fund three new schools in Springfield."
)


def test_measure_reports_throughput_and_stage_figures_as_json() -> None:
    corpus = [
        {"content": TEXT, "content_type": "text/plain"},
        {"content": f"<html><body><p>{TEXT}</p></body></html>", "content_type": "text/html"},
        {"content": "Menu\nShare", "content_type": "text/plain"},
    ]
    result = measure(REPO, corpus, processes=(1, 2))
    assert json.loads(json.dumps(result)) == result
    assert result["repo"] == str(REPO)
    assert set(result["docs_per_second"]) == {"1", "2"}
    assert all(v > 0 for v in result["docs_per_second"].values())
    assert result["refused"] == 1, "the page of navigation alone is refused, not a crash"
    assert set(result["stage_median_ms"]) == set(STAGES)
    assert all(v > 0 for v in result["stage_median_ms"].values())
    assert result["cpu_ms_per_document"] > 0
    assert result["process_cpu_ms_per_document"] >= result["cpu_ms_per_document"] * 0.9
