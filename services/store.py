"""The document record in Redis, as the API writes and reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import WatchError

from contracts import records
from contracts.documents import (
    ContentType,
    DocumentError,
    DocumentOptions,
    DocumentResult,
    DocumentStatus,
    DocumentView,
    StageState,
    StageView,
)
from contracts.results import CleanResult, EntitiesResult, SummarizeOutput
from contracts.wire import STAGE_ORDER, Keys, Stage
from services.settings import ApiSettings

ModelT = TypeVar("ModelT", bound=BaseModel)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class DocumentStore:
    """Creates, reads and withdraws document records; Redis is the source of truth."""

    def __init__(self, redis: Redis, keys: Keys, settings: ApiSettings) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings

    async def create(
        self, *, doc_id: str, content: str, content_type: ContentType, options: DocumentOptions
    ) -> str:
        """Store the record, its content and its pending entry in one MULTI; returns the
        record's ``updated_at``. Until ``mark_queued``, the deadline is the short publish grace:
        if the first stage is never queued, the reconciler queues it."""
        now = utc_now()
        fields: dict[Any, str] = {
            records.STATUS: DocumentStatus.QUEUED.value,
            records.CREATED_AT: now.isoformat(),
            records.UPDATED_AT: now.isoformat(),
            records.CONTENT_TYPE: content_type,
            records.OPTIONS: options.model_dump_json(),
        }
        for stage in STAGE_ORDER:
            fields[records.stage_field(stage)] = StageState().model_dump_json()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.document(doc_id), mapping=fields)
            pipe.set(self.keys.content(doc_id), content)
            deadline = now + timedelta(seconds=self.settings.publish_grace_seconds)
            pipe.zadd(self.keys.pending, {doc_id: deadline.timestamp()})
            await pipe.execute()
        return now.isoformat()

    async def mark_queued(self, doc_id: str, *, seen_updated_at: str) -> None:
        """The first stage is queued: give it the long queued deadline, unless a worker has
        already moved the record on."""
        key = self.keys.document(doc_id)
        deadline = utc_now() + timedelta(seconds=self.settings.queued_stall_seconds)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if await pipe.hget(key, records.UPDATED_AT) != seen_updated_at.encode():
                        return
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.zadd(self.keys.pending, {doc_id: deadline.timestamp()}, xx=True)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def withdraw(self, doc_id: str) -> None:
        """Remove a record that could not be queued, so it is neither processed nor shown."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*self.keys.all_for(doc_id))
            pipe.zrem(self.keys.pending, doc_id)
            await pipe.execute()

    async def read(self, doc_id: str) -> DocumentView | None:
        """The document as clients see it, or None when there is no such record."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.document(doc_id))
            pipe.mget([self.keys.output(doc_id, stage) for stage in STAGE_ORDER])
            record, outputs = await pipe.execute()
        if not record:
            return None
        return _document_view(
            doc_id, _decoded(record), dict(zip(STAGE_ORDER, outputs, strict=True))
        )

    async def is_expired(self, doc_id: str) -> bool:
        """True when the id belonged to a document whose retention ran out."""
        return bool(await self.redis.exists(self.keys.tombstone(doc_id)))


def _decoded(record: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in record.items()
    }


def _parsed(model: type[ModelT], raw: bytes | str | None) -> ModelT | None:
    return model.model_validate_json(raw) if raw else None


def _document_view(
    doc_id: str, record: dict[str, str], outputs: dict[Stage, bytes | str | None]
) -> DocumentView:
    stages = {
        stage.value: StageView(
            **StageState.model_validate_json(record[records.stage_field(stage)]).model_dump(),
            attempts=int(record.get(records.attempts_field(stage), 0)),
        )
        for stage in STAGE_ORDER
    }
    error_json = record.get(records.ERROR)
    return DocumentView(
        id=doc_id,
        status=DocumentStatus(record[records.STATUS]),
        created_at=datetime.fromisoformat(record[records.CREATED_AT]),
        updated_at=datetime.fromisoformat(record[records.UPDATED_AT]),
        content_type=record[records.CONTENT_TYPE],
        options=DocumentOptions.model_validate_json(record[records.OPTIONS]),
        stages=stages,
        result=_document_result(outputs),
        error=DocumentError.model_validate_json(error_json) if error_json else None,
    )


def _document_result(outputs: dict[Stage, bytes | str | None]) -> DocumentResult | None:
    clean = _parsed(CleanResult, outputs[Stage.CLEAN])
    entities = _parsed(EntitiesResult, outputs[Stage.ENTITIES])
    summarized = _parsed(SummarizeOutput, outputs[Stage.SUMMARIZE])
    if clean is None and entities is None and summarized is None:
        return None
    warnings = list(clean.warnings) if clean else []
    return DocumentResult(
        clean=clean,
        language=clean.language if clean else None,
        entities=entities,
        summary=summarized.summary if summarized else None,
        keywords=summarized.keywords if summarized else None,
        warnings=warnings,
    )
