"""The document record as workers read and change it.

Every change of state is a guarded transition: the record is WATCHed, read, checked and
written in one MULTI, so duplicate deliveries of one stage cannot both run it, and a stale
worker can never reopen a finished document. Outputs are keyed by (document, stage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel
from redis import Redis
from redis.exceptions import WatchError

from contracts import records
from contracts.documents import (
    DocumentError,
    DocumentStatus,
    StageState,
    StageStatus,
)
from contracts.wire import STAGE_ORDER, Keys, Stage
from workers.errors import MissingInput, TransientStageError
from workers.settings import WorkerSettings
from workers.snapshot import DONE, DocumentSnapshot, parse_snapshot, text_of, utc_now

ModelT = TypeVar("ModelT", bound=BaseModel)
ResultT = TypeVar("ResultT")
TOMBSTONE_EXTRA_SECONDS = 30 * 24 * 3600
# A transition re-reads the record when it changed under it; past this, it gives up for now.
MAX_TRANSITION_TRIES = 50


class BeginOutcome(StrEnum):
    """What asking to start a stage came to."""

    STARTED = "started"
    MISSING = "missing"  # no such document (withdrawn or expired)
    FINISHED = "finished"  # the document already completed or failed
    DONE = "done"  # this stage already completed: a duplicate delivery
    BUSY = "busy"  # another run holds a live lease on this stage
    NOT_READY = "not ready"  # an earlier stage has not completed


@dataclass(frozen=True)
class Begun:
    """The outcome of ``begin_stage``; ``attempt`` counts starts of the stage."""

    outcome: BeginOutcome
    attempt: int = 0
    snapshot: DocumentSnapshot | None = None


class DocumentRecords:
    """Reads and changes document records for workers and the reconciler."""

    def __init__(self, redis: Redis, keys: Keys, settings: WorkerSettings) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings

    # -- reading -------------------------------------------------------------------------------

    def snapshot(self, doc_id: str) -> DocumentSnapshot | None:
        """The record's state, or None when the document does not exist (or expired)."""
        return parse_snapshot(doc_id, self.redis.hgetall(self.keys.document(doc_id)))

    def content(self, doc_id: str) -> str:
        """The document's content as submitted."""
        raw = self.redis.get(self.keys.content(doc_id))
        if raw is None:
            raise MissingInput(f"document {doc_id} has no stored content")
        return text_of(raw)

    def output(self, doc_id: str, stage: Stage, model: type[ModelT]) -> ModelT:
        """A finished stage's output."""
        raw = self.redis.get(self.keys.output(doc_id, stage))
        if raw is None:
            raise MissingInput(f"document {doc_id} has no {stage.value} output")
        return model.model_validate_json(raw)

    # -- transitions ---------------------------------------------------------------------------

    def begin_stage(self, doc_id: str, stage: Stage, *, run: str) -> Begun:
        """Take the stage's lease for ``run`` (unique per execution), count the attempt and mark
        the stage running — unless the document's state says not to."""
        now = utc_now()
        lease = self.settings.hard_limit(stage) + self.settings.stall_margin_seconds

        def decide(snapshot: DocumentSnapshot | None, pipe: Any) -> Begun:
            if snapshot is not None and _holds(snapshot, stage, run, StageStatus.RUNNING):
                # Our own write landed although its reply was lost: we hold the lease.
                return Begun(BeginOutcome.STARTED, snapshot.attempts[stage], snapshot)
            refusal = _refusal(snapshot, stage, lease=lease, now=now)
            if refusal is not None or snapshot is None:
                return Begun(refusal or BeginOutcome.MISSING, snapshot=snapshot)
            attempt = snapshot.attempts[stage] + 1
            state = StageState(status=StageStatus.RUNNING, started_at=now)
            pipe.hset(self.keys.document(doc_id), mapping={
                records.stage_field(stage): state.model_dump_json(),
                records.attempts_field(stage): str(attempt),
                records.owner_field(stage): run,
                records.STATUS: DocumentStatus.PROCESSING.value,
                records.UPDATED_AT: now.isoformat(),
            })  # fmt: skip
            pipe.zadd(self.keys.pending, {doc_id: (now + timedelta(seconds=lease)).timestamp()})
            return Begun(BeginOutcome.STARTED, attempt=attempt, snapshot=snapshot)

        return self._transition(doc_id, decide)

    def complete_stage(
        self,
        doc_id: str,
        stage: Stage,
        output: BaseModel,
        *,
        run: str,
        started_at: datetime,
        last: bool,
        skipped: bool = False,
    ) -> str | None:
        """Store the output and mark the stage done; the last stage ends the document.

        Applies only while ``run`` holds the stage's lease. Returns the record's new
        ``updated_at``, or None when this run no longer holds it and nothing was written.
        """
        now = utc_now()
        done = StageStatus.SKIPPED if skipped else StageStatus.COMPLETED
        state = StageState(
            status=done,
            started_at=started_at,
            finished_at=now,
            duration_ms=round((now - started_at).total_seconds() * 1000, 3),
        )

        def decide(snapshot: DocumentSnapshot | None, pipe: Any) -> str | None:
            if snapshot is not None and _holds(snapshot, stage, run, done):
                return now.isoformat()  # our own write landed although its reply was lost
            if snapshot is None or snapshot.finished:
                return None
            if not _holds(snapshot, stage, run, StageStatus.RUNNING):
                return None
            fields = {
                records.stage_field(stage): state.model_dump_json(),
                records.UPDATED_AT: now.isoformat(),
            }
            pipe.set(self.keys.output(doc_id, stage), output.model_dump_json())
            if last:
                fields[records.STATUS] = DocumentStatus.COMPLETED.value
                fields[records.COMPLETED_AT] = now.isoformat()
                pipe.hset(self.keys.document(doc_id), mapping=fields)
                self._retire(pipe, doc_id)
            else:
                pipe.hset(self.keys.document(doc_id), mapping=fields)
                deadline = now + timedelta(seconds=self.settings.publish_grace_seconds)
                pipe.zadd(self.keys.pending, {doc_id: deadline.timestamp()})
            return now.isoformat()

        return self._transition(doc_id, decide)

    def fail_document(
        self, doc_id: str, stage: Stage, *, run: str, code: str, message: str
    ) -> bool:
        """Mark the document failed in ``stage`` with a readable reason, if ``run`` holds the
        stage's lease (a stale run cannot fail a document another run completed)."""
        now = utc_now()
        error = DocumentError(code=code, message=message, stage=stage.value)

        def decide(snapshot: DocumentSnapshot | None, pipe: Any) -> bool:
            if snapshot is not None and _holds(snapshot, stage, run, StageStatus.FAILED):
                return True  # our own write landed although its reply was lost
            if snapshot is None or snapshot.finished:
                return False
            if not _holds(snapshot, stage, run, StageStatus.RUNNING):
                return False
            state = StageState(
                status=StageStatus.FAILED,
                started_at=snapshot.stages[stage].started_at,
                finished_at=now,
                error=message,
            )
            pipe.hset(self.keys.document(doc_id), mapping={
                records.STATUS: DocumentStatus.FAILED.value,
                records.ERROR: error.model_dump_json(),
                records.stage_field(stage): state.model_dump_json(),
                records.UPDATED_AT: now.isoformat(),
            })  # fmt: skip
            self._retire(pipe, doc_id)
            return True

        return self._transition(doc_id, decide)

    def release_stage(self, doc_id: str, stage: Stage, *, run: str, retry_in: float) -> bool:
        """Give the lease back before a retry, so the retry may start; if the retry message is
        never delivered, the reconciler queues the stage after the publish grace."""
        now = utc_now()
        deadline = now + timedelta(seconds=retry_in + self.settings.publish_grace_seconds)

        def decide(snapshot: DocumentSnapshot | None, pipe: Any) -> bool:
            if snapshot is None or snapshot.finished:
                return False
            if not _holds(snapshot, stage, run, StageStatus.RUNNING):
                return False
            pipe.hset(self.keys.document(doc_id), mapping={
                records.stage_field(stage): StageState().model_dump_json(),
                records.UPDATED_AT: now.isoformat(),
            })  # fmt: skip
            pipe.hdel(self.keys.document(doc_id), records.owner_field(stage))
            # The attempt ended cleanly: the cap counts starts that died, not retries.
            pipe.hincrby(self.keys.document(doc_id), records.attempts_field(stage), -1)
            pipe.zadd(self.keys.pending, {doc_id: deadline.timestamp()})
            return True

        return self._transition(doc_id, decide)

    def mark_queued(self, doc_id: str, *, seen_updated_at: str) -> bool:
        """After a successful publish: give the queued stage the long deadline, unless the
        record moved on since ``seen_updated_at`` (a worker may already have started it)."""
        deadline = utc_now() + timedelta(seconds=self.settings.queued_stall_seconds)

        def decide(snapshot: DocumentSnapshot | None, pipe: Any) -> bool:
            if snapshot is None or snapshot.finished or snapshot.updated_at != seen_updated_at:
                return False
            pipe.zadd(self.keys.pending, {doc_id: deadline.timestamp()}, xx=True)
            return True

        return self._transition(doc_id, decide)

    def quarantine(self, doc_id: str, *, reason: str) -> None:
        """Fail a record that cannot be read (written by another version, or damaged), with
        plain writes that need no parsing, so clients see why instead of waiting forever."""
        error = DocumentError(code="unreadable_record", message=reason, stage=None)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.document(doc_id), mapping={
                records.STATUS: DocumentStatus.FAILED.value,
                records.ERROR: error.model_dump_json(),
                records.UPDATED_AT: utc_now().isoformat(),
            })  # fmt: skip
            self._retire(pipe, doc_id)
            pipe.execute()

    # -- the pending set -----------------------------------------------------------------------

    def overdue(self, *, now: datetime | None = None, limit: int = 500) -> list[str]:
        """Unfinished documents whose current stage is past its deadline, most overdue first."""
        moment = (now or utc_now()).timestamp()
        raw = self.redis.zrangebyscore(self.keys.pending, "-inf", moment, start=0, num=limit)
        return [text_of(item) for item in raw]  # type: ignore[arg-type]

    def expedite_all(self, *, now: datetime | None = None) -> int:
        """Make every pending document due now (after a Redis outage or restart, when queued
        messages may be gone); returns how many were moved forward."""
        moment = (now or utc_now()).timestamp()
        later: list[bytes] = self.redis.zrangebyscore(self.keys.pending, f"({moment}", "+inf")  # type: ignore[assignment]
        for start in range(0, len(later), 1000):
            batch = dict.fromkeys(later[start : start + 1000], moment)
            self.redis.zadd(self.keys.pending, batch, xx=True)
        return len(later)

    def server_run_id(self) -> str:
        """The Redis server's run id: it changes when the server restarts."""
        info: dict[str, Any] = self.redis.info("server")
        return str(info.get("run_id", ""))

    def forget_pending(self, doc_id: str) -> None:
        """Drop an id from the pending set (its record is gone, finished or unreadable)."""
        self.redis.zrem(self.keys.pending, doc_id)

    # -- internals -----------------------------------------------------------------------------

    def _transition(
        self, doc_id: str, decide: Callable[[DocumentSnapshot | None, Any], ResultT]
    ) -> ResultT:
        """Run ``decide`` on a WATCHed reading of the record and apply what it queued; read and
        decide again if the record changed meanwhile (or if EXEC's reply was lost: ``decide``
        recognises its own write)."""
        key = self.keys.document(doc_id)
        with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_TRANSITION_TRIES):
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    snapshot = parse_snapshot(doc_id, pipe.hgetall(key))
                    pipe.multi()
                    result = decide(snapshot, pipe)
                    pipe.execute()
                    return result
                except WatchError:
                    continue
        raise TransientStageError(f"document {doc_id} kept changing; will try again")

    def _retire(self, pipe: Any, doc_id: str) -> None:
        """Finished: leave the pending set, expire after the retention, leave a tombstone."""
        ttl = self.settings.result_ttl_seconds
        pipe.zrem(self.keys.pending, doc_id)
        for key in self.keys.all_for(doc_id):
            pipe.expire(key, ttl)
        pipe.set(self.keys.tombstone(doc_id), "1", ex=ttl + TOMBSTONE_EXTRA_SECONDS)


def _refusal(
    snapshot: DocumentSnapshot | None, stage: Stage, *, lease: float, now: datetime
) -> BeginOutcome | None:
    """Why a stage must not start now, or None when it may."""
    if snapshot is None:
        return BeginOutcome.MISSING
    if snapshot.finished:
        return BeginOutcome.FINISHED
    state = snapshot.stages[stage]
    if state.status in DONE:
        return BeginOutcome.DONE
    earlier = STAGE_ORDER[: STAGE_ORDER.index(stage)]
    if any(snapshot.stages[s].status not in DONE for s in earlier):
        return BeginOutcome.NOT_READY
    lease_alive = state.started_at is not None and now < state.started_at + timedelta(seconds=lease)
    if state.status == StageStatus.RUNNING and lease_alive:
        return BeginOutcome.BUSY
    return None


def _holds(snapshot: DocumentSnapshot, stage: Stage, run: str, status: StageStatus) -> bool:
    """Whether ``run`` is the stage's lease holder and the stage is in ``status``."""
    return snapshot.owners.get(stage) == run and snapshot.stages[stage].status == status


def open_records(settings: WorkerSettings) -> DocumentRecords:
    """A record store on its own connection pool (create one per process, after any fork)."""
    redis = Redis.from_url(
        settings.redis_url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=10
    )
    return DocumentRecords(redis, Keys(settings.key_prefix), settings)
