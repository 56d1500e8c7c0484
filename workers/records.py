"""The document record as workers read and update it; every write is keyed by (id, stage)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from redis import Redis

from contracts import records
from contracts.documents import (
    DocumentError,
    DocumentOptions,
    DocumentStatus,
    StageState,
    StageStatus,
)
from contracts.wire import STAGE_ORDER, Keys, Stage
from workers.settings import WorkerSettings

ModelT = TypeVar("ModelT", bound=BaseModel)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DocumentSnapshot:
    """What a worker needs to know about a document before running one of its stages."""

    doc_id: str
    status: DocumentStatus
    content_type: str
    options: DocumentOptions
    stages: dict[Stage, StageState]
    attempts: dict[Stage, int]

    def current_stage(self) -> Stage | None:
        """The first stage that has not completed, or None when all have."""
        for stage in STAGE_ORDER:
            if self.stages[stage].status not in (StageStatus.COMPLETED, StageStatus.SKIPPED):
                return stage
        return None

    @property
    def finished(self) -> bool:
        """Completed or failed: nothing more will happen to it."""
        return self.status in (DocumentStatus.COMPLETED, DocumentStatus.FAILED)


class DocumentRecords:
    """Reads and writes document records; outputs are overwritten, never appended."""

    def __init__(self, redis: Redis, keys: Keys, *, result_ttl_seconds: int) -> None:
        self.redis = redis
        self.keys = keys
        self.result_ttl_seconds = result_ttl_seconds

    def snapshot(self, doc_id: str) -> DocumentSnapshot | None:
        """The record's state, or None when the document does not exist (or expired)."""
        raw = self.redis.hgetall(self.keys.document(doc_id))
        if not raw:
            return None
        record = {_text(k): _text(v) for k, v in raw.items()}
        return DocumentSnapshot(
            doc_id=doc_id,
            status=DocumentStatus(record[records.STATUS]),
            content_type=record[records.CONTENT_TYPE],
            options=DocumentOptions.model_validate_json(record[records.OPTIONS]),
            stages={
                stage: StageState.model_validate_json(record[records.stage_field(stage)])
                for stage in STAGE_ORDER
            },
            attempts={
                stage: int(record.get(records.attempts_field(stage), 0)) for stage in STAGE_ORDER
            },
        )

    def content(self, doc_id: str) -> str:
        """The document's content as submitted."""
        raw = self.redis.get(self.keys.content(doc_id))
        if raw is None:
            raise LookupError(f"document {doc_id} has no stored content")
        return _text(raw)

    def output(self, doc_id: str, stage: Stage, model: type[ModelT]) -> ModelT:
        """A finished stage's output."""
        raw = self.redis.get(self.keys.output(doc_id, stage))
        if raw is None:
            raise LookupError(f"document {doc_id} has no {stage.value} output")
        return model.model_validate_json(raw)

    def begin_stage(self, doc_id: str, stage: Stage) -> int:
        """Mark the stage running and count the attempt; returns the attempt number."""
        now = utc_now()
        state = StageState(status=StageStatus.RUNNING, started_at=now)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.keys.document(doc_id), records.attempts_field(stage), 1)
            pipe.hset(
                self.keys.document(doc_id),
                mapping={
                    records.stage_field(stage): state.model_dump_json(),
                    records.STATUS: DocumentStatus.PROCESSING.value,
                    records.UPDATED_AT: now.isoformat(),
                },
            )
            pipe.zadd(self.keys.pending, {doc_id: now.timestamp()})
            attempts, *_ = pipe.execute()
        return int(attempts)

    def complete_stage(
        self, doc_id: str, stage: Stage, output: BaseModel, *, started_at: datetime, last: bool
    ) -> None:
        """Store the output and mark the stage done, in one MULTI; the last one ends the document."""
        now = utc_now()
        state = StageState(
            status=StageStatus.COMPLETED,
            started_at=started_at,
            finished_at=now,
            duration_ms=round((now - started_at).total_seconds() * 1000, 3),
        )
        fields: dict[Any, str] = {
            records.stage_field(stage): state.model_dump_json(),
            records.UPDATED_AT: now.isoformat(),
        }
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.output(doc_id, stage), output.model_dump_json())
            if last:
                fields[records.STATUS] = DocumentStatus.COMPLETED.value
                fields[records.COMPLETED_AT] = now.isoformat()
                pipe.hset(self.keys.document(doc_id), mapping=fields)
                self._retire(pipe, doc_id)
            else:
                pipe.hset(self.keys.document(doc_id), mapping=fields)
                pipe.zadd(self.keys.pending, {doc_id: now.timestamp()})
            pipe.execute()

    def fail_document(self, doc_id: str, stage: Stage, *, code: str, message: str) -> None:
        """Mark the document failed in ``stage`` with a readable reason; it will not be retried."""
        now = utc_now()
        snapshot = self.snapshot(doc_id)
        started = snapshot.stages[stage].started_at if snapshot else None
        state = StageState(
            status=StageStatus.FAILED, started_at=started, finished_at=now, error=message
        )
        error = DocumentError(code=code, message=message, stage=stage.value)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.document(doc_id),
                mapping={
                    records.STATUS: DocumentStatus.FAILED.value,
                    records.ERROR: error.model_dump_json(),
                    records.stage_field(stage): state.model_dump_json(),
                    records.UPDATED_AT: now.isoformat(),
                },
            )
            self._retire(pipe, doc_id)
            pipe.execute()

    def touch_pending(self, doc_id: str) -> None:
        """Note that the document's current stage was (re)queued just now."""
        self.redis.zadd(self.keys.pending, {doc_id: utc_now().timestamp()})

    def pending_since(self, *, before: datetime, limit: int = 500) -> list[tuple[str, datetime]]:
        """Unfinished documents whose stage last moved before ``before``, with that time."""
        raw: list[tuple[bytes, float]] = self.redis.zrangebyscore(  # type: ignore[assignment]
            self.keys.pending, "-inf", before.timestamp(), start=0, num=limit, withscores=True
        )
        return [(_text(item), datetime.fromtimestamp(score, UTC)) for item, score in raw]

    def forget_pending(self, doc_id: str) -> None:
        """Drop an id from the pending set (its record is gone or finished)."""
        self.redis.zrem(self.keys.pending, doc_id)

    def _retire(self, pipe: Any, doc_id: str) -> None:
        """Finished: leave the pending set, expire after the retention, leave a tombstone."""
        ttl = self.result_ttl_seconds
        pipe.zrem(self.keys.pending, doc_id)
        for key in self.keys.all_for(doc_id):
            pipe.expire(key, ttl)
        pipe.set(self.keys.tombstone(doc_id), "1", ex=ttl + 30 * 24 * 3600)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def open_records(settings: WorkerSettings) -> DocumentRecords:
    """A record store on its own connection pool (create one per process, after any fork)."""
    redis = Redis.from_url(
        settings.redis_url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=10
    )
    return DocumentRecords(
        redis, Keys(settings.key_prefix), result_ttl_seconds=settings.result_ttl_seconds
    )
