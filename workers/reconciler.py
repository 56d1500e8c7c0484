"""The reconciler: re-queues documents whose stage missed its deadline, so nothing is lost.

Every unfinished document sits in the pending set scored by the time its current stage must
have moved by: a running stage by the end of its lease (hard limit plus a margin), a stage that
was just completed or accepted by a short publish grace, a queued stage by the queued-stall
limit. Past that, something was lost — a worker killed mid-stage, a message dropped in kombu's
fetch window or in a Redis restart, a crash between storing an output and queueing the next
stage — and the current stage is queued again. Stages are idempotent and guarded, so a
re-queued duplicate is skipped cheaply, and the attempt cap stops a poison document looping.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from contracts.wire import Stage
from workers.dispatch import send_stage
from workers.records import DocumentRecords, open_records
from workers.settings import WorkerSettings
from workers.snapshot import UnreadableRecord

log = logging.getLogger("newsdesk.reconciler")


def reconcile_once(*, records: DocumentRecords, app: Celery) -> list[tuple[str, Stage]]:
    """One pass over the overdue documents; returns the (id, stage) pairs queued again."""
    requeued: list[tuple[str, Stage]] = []
    for doc_id in records.overdue():
        try:
            snapshot = records.snapshot(doc_id)
        except UnreadableRecord as exc:
            log.error("doc=%s: %s; failing it", doc_id, exc)
            records.quarantine(doc_id, reason=str(exc))
            continue
        stage = snapshot.current_stage() if snapshot and not snapshot.finished else None
        if snapshot is None or stage is None:
            records.forget_pending(doc_id)
            continue
        send_stage(app, doc_id=doc_id, stage=stage)
        records.mark_queued(doc_id, seen_updated_at=snapshot.updated_at)
        log.warning("doc=%s stage=%s (%s) missed its deadline: queued again",
                    doc_id, stage, snapshot.stages[stage].status)  # fmt: skip
        requeued.append((doc_id, stage))
    return requeued


class Reconciler:
    """Reconciles in passes; after Redis was unreachable or restarted, every pending document
    is made due at once, since queued messages may have been lost with the outage."""

    def __init__(self, *, records: DocumentRecords, app: Celery) -> None:
        self.records = records
        self.app = app
        self.run_id: str | None = None
        self.outage = False

    def run_pass(self) -> list[tuple[str, Stage]]:
        """One pass; an outage seen by an earlier pass expedites everything first."""
        try:
            run_id = self.records.server_run_id()
            if self.outage or (self.run_id is not None and run_id != self.run_id):
                moved = self.records.expedite_all()
                log.warning(
                    "Redis was unreachable or restarted: %d pending documents re-checked", moved
                )
            self.run_id, self.outage = run_id, False
            return reconcile_once(records=self.records, app=self.app)
        except (RedisError, OperationalError, OSError):
            self.outage = True
            raise


def run_reconciler(app: Celery, settings: WorkerSettings, *, stop: threading.Event) -> None:
    """Reconcile every ``reconcile_interval_seconds`` until ``stop`` is set; survives outages."""
    reconciler = Reconciler(records=open_records(settings), app=app)
    log.info("reconciler started (every %gs)", settings.reconcile_interval_seconds)
    while not stop.is_set():
        try:
            reconciler.run_pass()
        except (RedisError, OperationalError, OSError) as exc:
            log.warning("reconciler: storage unreachable, will try again: %s", exc)
        except Exception:
            log.exception("reconciler pass failed")
        stop.wait(settings.reconcile_interval_seconds)
