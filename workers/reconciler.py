"""The reconciler: queues again the stages whose worker died or whose message was lost.

Every unfinished document sits in the pending set, scored by when the reconciler must look at
it next:
* a running stage — at the end of its lease. Its worker renews the lease every
  ``lease_seconds / 4`` while it is alive, so a lease that ran out means the process died
  (SIGKILL, OOM, hard time limit, a node that went away): the stage is queued again.
* a queued stage — ``queued_check_seconds`` after its message was queued. Queues are FIFO
  lists, so the message is known to be gone when the queue is empty, or when a message queued
  after it has already been started; then it is queued again. Otherwise it is still waiting
  behind others, and is looked at again later (after as long as it has waited, at most
  ``max_recheck_seconds``).
A duplicate of a stage is refused by the record's guards, and the attempt cap stops a poison
document from looping. After Redis was unreachable or restarted, every pending document is
looked at at once, since queued messages may have gone with the outage.

The reconciler needs neither Celery nor any model: messages are written by the record layer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import cast

from redis.exceptions import RedisError

from contracts.wire import STAGE_ORDER, Stage
from records.codec import utc_now
from records.store import NotARecord, RecordContention, RecordStore
from records.transitions import QueueProbe, RequeueOutcome, plan_requeue

log = logging.getLogger("newsdesk.reconciler")
PASS_SIZE = 500
MAX_BATCHES_PER_PASS = 20
# Messages may be queued by hosts whose clocks differ this much; a message counts as passed by
# a later one only when that one was queued more than this after it.
CLOCK_TOLERANCE_SECONDS = 1.0


@dataclass(frozen=True)
class QueueState:
    """What one pass saw of the stage queues: which are empty, how far workers have got."""

    empty: frozenset[Stage]
    progress: dict[Stage, float]

    def probe(self, stage: Stage, queued_at: float | None) -> QueueProbe:
        """Whether the stage's message (queued at ``queued_at``) may still be in its queue."""
        if stage in self.empty or queued_at is None:
            return QueueProbe(message_queued=False)
        passed = self.progress.get(stage, float("-inf")) > queued_at + CLOCK_TOLERANCE_SECONDS
        return QueueProbe(message_queued=not passed)


def queue_state(store: RecordStore) -> QueueState:
    """Queue lengths and worker progress, read once per pass."""
    with store.redis.pipeline(transaction=False) as pipe:
        for stage in STAGE_ORDER:
            pipe.llen(store.keys.queue(stage))
        pipe.zrange(store.keys.progress, 0, -1, withscores=True)
        *lengths, progress = pipe.execute()
    known = {stage.value: stage for stage in STAGE_ORDER}
    return QueueState(
        empty=frozenset(s for s, n in zip(STAGE_ORDER, lengths, strict=True) if n == 0),
        progress={known[m.decode()]: score for m, score in progress if m.decode() in known},
    )


@dataclass
class PassReport:
    """What one pass did: how many documents it looked at, which stages it queued again."""

    looked: int = 0
    requeued: list[tuple[str, Stage]] = field(default_factory=list)


def reconcile_once(store: RecordStore, *, limit: int = PASS_SIZE) -> PassReport:
    """One pass over (at most ``limit``) documents due for a look."""
    now = utc_now()
    due = cast(
        list[bytes],
        store.redis.zrangebyscore(store.keys.pending, "-inf", now.timestamp(), 0, limit),
    )
    report = PassReport(looked=len(due))
    if not due:
        return report
    queues = queue_state(store)
    for member in due:
        doc_id = member.decode(errors="replace")
        try:
            outcome, stage = _reconcile(store, doc_id, queues)
        except NotARecord:
            log.error(
                "a pending entry has no readable record; dropped it", extra={"doc_id": doc_id}
            )
            store.redis.zrem(store.keys.pending, member)
            continue
        except RecordContention:
            continue  # it is moving: someone is working on it
        if outcome == RequeueOutcome.REQUEUED and stage is not None:
            report.requeued.append((doc_id, stage))
        elif outcome == RequeueOutcome.QUARANTINED:
            log.error("the stored record cannot be read; failed it", extra={"doc_id": doc_id})
    return report


def _reconcile(
    store: RecordStore, doc_id: str, queues: QueueState
) -> tuple[RequeueOutcome, Stage | None]:
    record = store.read(doc_id)
    probe = None
    if record is not None and (stage := record.current_stage()) is not None:
        probe = queues.probe(stage, record.stages[stage].queued_at)

    outcome, stage = store.transition(doc_id, lambda current: plan_requeue(
        store.keys, store.policy, current, doc_id=doc_id, probe=probe, now=utc_now()))  # fmt: skip
    if outcome == RequeueOutcome.REQUEUED and stage is not None:
        state = record.stages[stage] if record is not None else None
        why = (
            "its worker stopped renewing the lease"
            if state and state.run
            else "its message was lost"
        )
        log.warning("queued again: %s", why, extra={"doc_id": doc_id, "stage": stage.value})
    return outcome, stage


class Reconciler:
    """Reconciles in passes; after Redis was unreachable or restarted, every pending document
    is made due at once, since queued messages may have been lost with the outage."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self.run_id: str | None = None
        self.outage = False

    def run_pass(self) -> list[tuple[str, Stage]]:
        """One pass (repeated while a full pass was due); an outage seen earlier expedites
        everything first."""
        try:
            run_id = self.server_run_id()
            if self.outage or (self.run_id is not None and run_id != self.run_id):
                moved = self.expedite_all()
                log.warning(
                    "Redis was unreachable or restarted: %d pending documents re-checked", moved
                )
            self.run_id, self.outage = run_id, False
            requeued: list[tuple[str, Stage]] = []
            for _ in range(MAX_BATCHES_PER_PASS):
                report = reconcile_once(self.store)
                requeued += report.requeued
                if report.looked < PASS_SIZE:
                    break
            return requeued
        except (RedisError, OSError):
            self.outage = True
            raise

    def server_run_id(self) -> str:
        """The Redis server's run id: it changes when the server restarts."""
        info = self.store.redis.info("server")
        return str(info.get("run_id", ""))

    def expedite_all(self) -> int:
        """Make every pending document due now; returns how many were moved forward."""
        moment = utc_now().timestamp()
        pending = self.store.keys.pending
        later: list[bytes] = self.store.redis.zrangebyscore(pending, f"({moment}", "+inf")  # type: ignore[assignment]
        for start in range(0, len(later), 1000):
            self.store.redis.zadd(
                pending, dict.fromkeys(later[start : start + 1000], moment), xx=True
            )
        return len(later)


def run_reconciler(store: RecordStore, *, interval: float, stop: threading.Event) -> None:
    """Reconcile every ``interval`` seconds until ``stop`` is set; survives outages."""
    reconciler = Reconciler(store)
    log.info("reconciler started (every %gs)", interval)
    while not stop.is_set():
        try:
            reconciler.run_pass()
        except (RedisError, OSError) as exc:
            log.warning("reconciler: storage unreachable, will try again: %s", exc)
        except Exception:
            log.exception("reconciler pass failed")
        stop.wait(interval)
