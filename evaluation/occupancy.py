"""How busy the worker's pool processes were during a service run, read off the records.

Each document's stages record when they started and finished. The time from a document's first
stage start to its last stage finish is pool time spent on it (compute, record writes, stage
outputs); what the wall clock holds beyond that, across the pool processes, is time a process
waited for its next document: the Celery consumer's hand-off (ack, next message, unacked
bookkeeping) or an empty queue.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

from redis import Redis

from contracts.wire import STAGE_ORDER
from records.codec import decode_record
from records.layout import Keys


@dataclass(frozen=True)
class Span:
    """One document's time in the pool: its first stage's start to its last stage's finish."""

    started: float
    finished: float


def document_spans(
    redis: Redis, keys: Keys, *, created_after: float, created_before: float
) -> list[Span]:
    """The span of every completed document created between the two times (epoch seconds)."""
    spans: list[Span] = []
    for key in redis.scan_iter(match=keys.document("*"), count=1000):
        doc_id = key.decode().removeprefix(keys.document(""))
        if ":" in doc_id:  # the document's other keys (content, outputs, events)
            continue
        record = decode_record(doc_id, redis.hgetall(key))
        if record is None or not created_after <= record.created_at.timestamp() <= created_before:
            continue
        started = record.stages[STAGE_ORDER[0]].started_at
        finished = record.stages[STAGE_ORDER[-1]].finished_at
        if started is not None and finished is not None:
            spans.append(Span(started.timestamp(), finished.timestamp()))
    return sorted(spans, key=lambda span: span.started)


def occupancy(spans: list[Span], *, processes: int) -> dict[str, float]:
    """Pool time per document, wall time per document, the share of the pool processes' wall
    time spent on documents, and, with one process, the wait between consecutive documents."""
    if not spans:
        return {}
    wall = max(span.finished for span in spans) - spans[0].started
    busy = sum(span.finished - span.started for span in spans)
    measured = {
        "pool_ms_per_document": round(busy * 1000 / len(spans), 1),
        "wall_ms_per_document": round(wall * 1000 / len(spans), 1),
        "busy_share": round(busy / (wall * processes), 3) if wall > 0 else 0.0,
    }
    if processes == 1 and len(spans) > 1:
        gaps = [after.started - before.finished for before, after in itertools.pairwise(spans)]
        measured["handoff_median_ms"] = round(statistics.median(gaps) * 1000, 2)
        measured["handoff_mean_ms"] = round(statistics.mean(gaps) * 1000, 2)
    return measured
