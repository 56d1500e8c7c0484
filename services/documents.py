"""The API's side of the document record: accept, read and cancel documents."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from contracts.documents import DocumentOptions, DocumentView
from records.codec import utc_now
from records.layout import Keys
from records.store import AsyncRecordStore
from records.transitions import (
    CancelOutcome,
    NewDocument,
    plan_cancel,
    plan_create,
    tombstone_value,
)
from records.view import document_view
from records.writes import Plan, SetValue
from services.durability import needs_waitaof
from services.errors import IdempotencyKeyReused
from services.settings import ApiSettings


@dataclass(frozen=True)
class Created:
    """A stored document: new, or the one an earlier request with the same key created."""

    doc_id: str
    replayed: bool = False


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(content: str, content_type: str, options: DocumentOptions) -> str:
    """What makes two submissions the same document (for Idempotency-Key replays)."""
    return _digest(f"{content_type}\0{options.model_dump_json()}\0{content}")


class DocumentService:
    """Creates, reads and cancels documents; Redis is the source of truth."""

    def __init__(
        self, redis: Redis, settings: ApiSettings, *, wait_for_disk: bool | None = False
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self.policy = settings.policy()
        self.records = AsyncRecordStore(redis, self.keys, self.policy)
        # Strict durability on a Redis that fsyncs only every second: wait for the AOF fsync
        # (WAITAOF, Redis 7.2+) before answering. None: not known yet (Redis was down).
        self.wait_for_disk = wait_for_disk

    async def create(self, document: NewDocument, *, idempotency_key: str | None = None) -> Created:
        """Store the record and its content and queue its first stage, in one MULTI.

        With an ``idempotency_key`` seen before, nothing is written and the document it created
        is returned (``replayed``); the same key with another document raises
        ``IdempotencyKeyReused``.
        """
        created = await self._store(document, idempotency_key)
        if self.wait_for_disk is None:
            self.wait_for_disk = await needs_waitaof(self.redis, self.settings)
        if self.wait_for_disk and not created.replayed:
            await self._wait_for_disk()
        return created

    async def _wait_for_disk(self) -> None:
        timeout_ms = int(self.settings.redis_timeout_seconds * 1000)
        local, _ = await self.redis.execute_command("WAITAOF", 1, 0, timeout_ms)  # type: ignore[no-untyped-call]
        if int(local) < 1:
            raise RedisTimeoutError("Redis did not confirm the write on disk in time")

    async def _store(self, document: NewDocument, idempotency_key: str | None) -> Created:
        plan = plan_create(self.keys, self.policy, document, now=utc_now())
        if idempotency_key is None:
            await self.records.apply(plan.writes)
            return Created(document.doc_id)
        key = self.keys.idempotency(_digest(f"{document.owner}\0{idempotency_key}"))
        entry = f"{document.doc_id}:{fingerprint(document.content, document.content_type, document.options)}"

        def decide(read: list[Any]) -> Plan[Created]:
            earlier = read[0].decode() if isinstance(read[0], bytes) else read[0]
            if earlier is None:
                ttl = self.settings.idempotency_ttl_seconds
                return Plan(Created(document.doc_id), [SetValue(key, entry, ttl), *plan.writes])
            if earlier == entry:
                return Plan(Created(document.doc_id))  # our own MULTI landed, its reply was lost
            earlier_id, _, earlier_print = earlier.partition(":")
            if earlier_print != entry.partition(":")[2]:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used for a document with other content "
                    "or options; use a new key for a new document"
                )
            return Plan(Created(earlier_id, replayed=True))

        return await self.records.watched([key], decide)

    async def view(self, doc_id: str, *, owner: str) -> DocumentView | None:
        """The document as its owner sees it, or None (no such document, or another's)."""
        record, outputs = await self.records.read_with_outputs(doc_id)
        if record is None or record.owner != owner:
            return None
        return document_view(record, outputs)

    async def is_gone(self, doc_id: str, *, owner: str) -> bool:
        """True when the id belonged to one of ``owner``'s documents that expired or was
        deleted (another key's expired document is simply unknown)."""
        found = await self.redis.get(self.keys.tombstone(doc_id))
        return found is not None and found == tombstone_value(owner).encode()

    async def cancel(self, doc_id: str, *, owner: str) -> CancelOutcome:
        """Cancel an unfinished document, or delete a finished one."""

        def decide(read: Any) -> Plan[CancelOutcome]:
            if read is not None and read.owner != owner:
                read = None
            return plan_cancel(self.keys, self.policy, read, doc_id=doc_id, now=utc_now())

        return await self.records.transition(doc_id, decide)
