"""The API's side of the document record: accept, read and cancel documents."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from contracts.documents import DocumentOptions, DocumentView
from records import layout
from records.codec import DocumentRecord, encode_time, utc_now
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
from records.wire import RedisWire
from records.writes import Plan, SetValue
from services.durability import needs_waitaof
from services.errors import IdempotencyKeyReused
from services.settings import ApiSettings


@dataclass(frozen=True)
class Created:
    """A stored document: new, or the one an earlier request with the same key created."""

    doc_id: str
    replayed: bool = False


def entity_tag(updated_at: str, status: str) -> str:
    """A weak ETag that changes whenever the document's view can change."""
    return 'W/"' + hashlib.sha256(f"{updated_at}|{status}".encode()).hexdigest()[:20] + '"'


def view_etag(view: DocumentView) -> str:
    return entity_tag(encode_time(view.updated_at), view.status.value)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(content: str, content_type: str, options: DocumentOptions) -> str:
    """What makes two submissions the same document (for Idempotency-Key replays)."""
    return _digest(f"{content_type}\0{options.model_dump_json()}\0{content}")


class DocumentService:
    """Creates, reads and cancels documents; Redis is the source of truth."""

    def __init__(
        self,
        redis: Redis,
        wire: RedisWire,
        settings: ApiSettings,
        *,
        wait_for_disk: bool | None = False,
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self.policy = settings.policy()
        self.records = AsyncRecordStore(redis, wire, self.keys, self.policy)
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
        if not created.replayed:
            await self.ensure_on_disk()
        return created

    async def ensure_on_disk(self) -> None:
        """Under strict durability on a Redis that fsyncs only every second: return once every
        write made before the call is on disk. Otherwise at once.

        WAITAOF waits for the writes of its own connection only, and the writes went out on
        another one; so it follows a write of its own on the same connection: the append-only
        file is written in order, and once that write is on disk, every earlier one is too.
        """
        if self.wait_for_disk is None:
            self.wait_for_disk = await needs_waitaof(self.redis, self.settings)
        if not self.wait_for_disk:
            return
        timeout_ms = int(self.settings.redis_timeout_seconds * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(self.keys.fsync_probe)
            pipe.execute_command("WAITAOF", 1, 0, timeout_ms)
            _, (local, _) = await pipe.execute()
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

    async def record(self, doc_id: str, *, owner: str) -> DocumentRecord | None:
        """The record alone (one round trip), or None (no such document, or another's)."""
        record = await self.records.read(doc_id)
        return record if record is not None and record.owner == owner else None

    async def etag(self, doc_id: str, *, owner: str) -> str | None:
        """The document's current entity tag (one small round trip), or None."""
        raw = await self.records.read_fields(doc_id, layout.UPDATED_AT, layout.STATUS, layout.OWNER)
        updated_at, status, stored_owner = (_text(value) for value in raw)
        if updated_at is None or (stored_owner or "") != owner:
            return None
        return entity_tag(updated_at, status or "")

    async def events_after(self, doc_id: str, last_id: str | None) -> list[tuple[str, str, str]]:
        """The document's events after ``last_id`` (all when None): (id, kind, data)."""
        low = f"({last_id}" if last_id else "-"
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await self.redis.xrange(self.keys.events(doc_id), min=low, count=500),
        )
        return [
            (entry_id.decode(), fields[b"event"].decode(), fields[b"data"].decode())
            for entry_id, fields in entries
        ]

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
