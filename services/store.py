"""The document record in Redis, as the API writes and reads it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

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
from services.errors import IdempotencyKeyReused
from services.settings import ApiSettings

# A WATCHed transaction re-reads when its keys change under it; past this, it gives up.
MAX_TRANSACTION_TRIES = 50
ModelT = TypeVar("ModelT", bound=BaseModel)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Created:
    """A stored document: new, or the one an earlier request with the same key created."""

    doc_id: str
    updated_at: str = ""
    replayed: bool = False


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _fingerprint(content: str, content_type: str, options: DocumentOptions) -> str:
    return _digest(f"{content_type}\0{options.model_dump_json()}\0{content}")


def _replay(earlier: str, fingerprint: str) -> Created:
    doc_id, _, earlier_fingerprint = earlier.partition(":")
    if earlier_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key was already used for document {doc_id}, with other content or options"
        )
    return Created(doc_id=doc_id, replayed=True)


class DocumentStore:
    """Creates, reads and withdraws document records; Redis is the source of truth."""

    def __init__(self, redis: Redis, keys: Keys, settings: ApiSettings) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings

    async def create(
        self,
        *,
        doc_id: str,
        content: str,
        content_type: ContentType,
        options: DocumentOptions,
        idempotency_key: str | None = None,
    ) -> Created:
        """Store the record, its content and its pending entry in one MULTI.

        Until ``mark_queued`` the deadline is the short publish grace: if the first stage is
        never queued, the reconciler queues it. With an ``idempotency_key`` seen before, nothing
        is written and the document it created is returned (``replayed``); the same key with
        another document raises ``IdempotencyKeyReused``.
        """
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
        fingerprint = _fingerprint(content, content_type, options)
        idem_key = self.keys.idempotency(_digest(idempotency_key)) if idempotency_key else None
        entry = f"{doc_id}:{fingerprint}"
        created = Created(doc_id=doc_id, updated_at=now.isoformat())
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_TRANSACTION_TRIES):
                try:
                    if idem_key is not None:
                        await pipe.watch(idem_key)
                        earlier = await pipe.get(idem_key)
                        if earlier is not None and _text(earlier) == entry:
                            return created  # our own MULTI landed although its reply was lost
                        if earlier is not None:
                            return _replay(_text(earlier), fingerprint)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if idem_key is not None:
                        ttl = self.settings.idempotency_ttl_seconds
                        pipe.set(idem_key, entry, ex=ttl)
                    pipe.hset(self.keys.document(doc_id), mapping=fields)
                    pipe.set(self.keys.content(doc_id), content)
                    deadline = now + timedelta(seconds=self.settings.publish_grace_seconds)
                    pipe.zadd(self.keys.pending, {doc_id: deadline.timestamp()})
                    await pipe.execute()
                    return created
                except WatchError:
                    continue
        raise RedisError("the idempotency key kept changing under this request")

    async def mark_queued(self, doc_id: str, *, seen_updated_at: str) -> None:
        """The first stage is queued: give it the long queued deadline, unless a worker has
        already moved the record on."""
        key = self.keys.document(doc_id)
        deadline = utc_now() + timedelta(seconds=self.settings.queued_stall_seconds)
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_TRANSACTION_TRIES):
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
    return {_text(k): _text(v) for k, v in record.items()}


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


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
