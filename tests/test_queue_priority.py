"""A worker takes later stages first: a document in progress finishes before a new one starts."""

from __future__ import annotations

from workers.broker import StagePriorityCycle


def test_the_worker_reads_its_queues_latest_stage_first_and_other_queues_last() -> None:
    cycle = StagePriorityCycle()
    cycle.update(["clean", "webhooks", "entities", "summarize"])
    assert cycle.consume(4) == ["summarize", "entities", "clean", "webhooks"]
    cycle.rotate("summarize")
    assert cycle.consume(4) == ["summarize", "entities", "clean", "webhooks"]
    cycle.update(["clean"])
    assert cycle.consume(1) == ["clean"]
