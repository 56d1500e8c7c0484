"""The reconciler: re-queues documents whose stage stopped moving, so nothing accepted is lost.

Celery's Redis transport can lose a message (a crash inside kombu's fetch window, a Redis
restart within the AOF fsync second) and a worker can die mid-stage. The document record is the
source of truth: any unfinished document whose current stage has not moved for longer than it
possibly could is queued again. Stages are idempotent (outputs keyed by id and stage) and the
attempt cap stops a poison document from looping.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from contracts.documents import StageStatus
from contracts.wire import Stage
from workers.dispatch import send_stage
from workers.records import DocumentRecords, open_records, utc_now
from workers.settings import WorkerSettings

log = logging.getLogger("newsdesk.reconciler")


def stall_threshold(settings: WorkerSettings, stage: Stage, status: StageStatus) -> float:
    """Seconds after which a stage in ``status`` is considered lost."""
    if status == StageStatus.RUNNING:
        return settings.hard_limit(stage) + settings.stall_margin_seconds
    return settings.queued_stall_seconds


def reconcile_once(
    *, records: DocumentRecords, app: Celery, settings: WorkerSettings, now: datetime | None = None
) -> list[tuple[str, Stage]]:
    """One pass: re-queue every stalled document; returns the (id, stage) pairs re-queued."""
    now = now or utc_now()
    shortest = min(
        min(
            stall_threshold(settings, stage, status)
            for status in (StageStatus.RUNNING, StageStatus.PENDING)
        )
        for stage in Stage
    )
    requeued: list[tuple[str, Stage]] = []
    for doc_id, moved_at in records.pending_since(before=now - timedelta(seconds=shortest)):
        snapshot = records.snapshot(doc_id)
        if snapshot is None or snapshot.finished:
            records.forget_pending(doc_id)
            continue
        stage = snapshot.current_stage()
        if stage is None:
            continue
        status = snapshot.stages[stage].status
        if (now - moved_at).total_seconds() < stall_threshold(settings, stage, status):
            continue
        send_stage(app, doc_id=doc_id, stage=stage)
        records.touch_pending(doc_id)
        log.warning(
            "doc=%s stage=%s was %s and stalled since %s: queued again",
            doc_id,
            stage,
            status,
            moved_at.isoformat(),
        )
        requeued.append((doc_id, stage))
    return requeued


def run_reconciler(app: Celery, settings: WorkerSettings, *, stop: threading.Event) -> None:
    """Reconcile every ``reconcile_interval_seconds`` until ``stop`` is set; survives Redis outages."""
    records = open_records(settings)
    log.info("reconciler started (every %gs)", settings.reconcile_interval_seconds)
    while not stop.is_set():
        try:
            reconcile_once(records=records, app=app, settings=settings)
        except (RedisError, OperationalError, OSError) as exc:
            log.warning("reconciler: storage unreachable, will try again: %s", exc)
        except Exception:
            log.exception("reconciler pass failed")
        stop.wait(settings.reconcile_interval_seconds)
