"""Batches: up to 1,000 documents in one request, each validated on its own.

The accepted items are stored and queued in one MULTI together with the batch record, so a
batch is either wholly accepted (every valid item stored and queued) or not at all; rejected
items get their own problem. An Idempotency-Key on the request replays the same answer.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError

from contracts.documents import (
    MAX_BATCH_ITEMS,
    BatchAccepted,
    BatchItemResult,
    BatchView,
    DocumentStatus,
    DocumentSubmission,
    Problem,
)
from records.codec import decode_record, encode_time, utc_now
from records.store import AsyncRecordStore
from records.transitions import NewDocument, plan_create
from records.writes import Expire, HashSet, Plan, SetValue, Write
from services.errors import IdempotencyKeyReused, InvalidDocument, describe_validation_errors

NDJSON_MEDIA_TYPE = "application/x-ndjson"


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch: a valid submission, or the problem that rejects it."""

    index: int
    submission: DocumentSubmission | None
    problem: str | None = None


def parse_batch(body: bytes, media_type: str) -> list[BatchItem]:
    """The items of a JSON array or an NDJSON body, each validated on its own."""
    raw_items = list(_ndjson_items(body) if media_type == NDJSON_MEDIA_TYPE else _json_items(body))
    if not raw_items:
        raise InvalidDocument("body: a batch needs at least one document")
    if len(raw_items) > MAX_BATCH_ITEMS:
        raise InvalidDocument(
            f"body: a batch holds at most {MAX_BATCH_ITEMS} documents, not {len(raw_items)}"
        )
    items = []
    for index, raw in enumerate(raw_items):
        if isinstance(raw, InvalidDocument):
            items.append(BatchItem(index, None, raw.detail))
            continue
        try:
            submission = DocumentSubmission.model_validate(raw)
        except ValidationError as exc:
            items.append(BatchItem(index, None, describe_validation_errors(list(exc.errors()))))
            continue
        if not submission.content.strip():
            items.append(BatchItem(index, None, "content: must not be empty or only white space"))
            continue
        items.append(BatchItem(index, submission))
    return items


def _json_items(body: bytes) -> Iterator[Any]:
    try:
        parsed = json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidDocument(f"body: not valid JSON ({exc})") from exc
    if not isinstance(parsed, list):
        raise InvalidDocument("body: a batch is a JSON array of documents (or NDJSON)")
    yield from parsed


def _ndjson_items(body: bytes) -> Iterator[Any]:
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            yield InvalidDocument(f"line {number}: not valid JSON ({exc})")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


class BatchService:
    """Creates and reads batches."""

    def __init__(
        self,
        records: AsyncRecordStore,
        *,
        idempotency_ttl: int,
        ensure_on_disk: Callable[[], Awaitable[None]],
    ) -> None:
        self.ensure_on_disk = ensure_on_disk  # strict durability: waits for the fsync
        self.redis = records.redis
        self.keys = records.keys
        self.policy = records.policy
        self.records = records
        self.idempotency_ttl = idempotency_ttl

    async def create(
        self,
        items: list[BatchItem],
        problems: dict[int, str],
        *,
        owner: str,
        fingerprint: str,
        idempotency_key: str | None,
    ) -> tuple[BatchAccepted, bool]:
        """Store every accepted item and the batch in one MULTI; (answer, replayed)."""
        batch_id, now = uuid.uuid4().hex, utc_now()
        results: list[BatchItemResult] = []
        writes: list[Write] = []
        for item in items:
            problem = item.problem or problems.get(item.index)
            if item.submission is None or problem is not None:
                results.append(BatchItemResult(index=item.index, status=422, problem=Problem(
                    title="Unprocessable Content", status=422, detail=problem or "invalid",
                    code="invalid_document")))  # fmt: skip
                continue
            doc_id = uuid.uuid4().hex
            document = NewDocument(doc_id=doc_id, content=item.submission.content,
                                   content_type=item.submission.content_type,
                                   options=item.submission.options(), owner=owner,
                                   batch_id=batch_id)  # fmt: skip
            writes += plan_create(self.keys, self.policy, document, now=now).writes
            results.append(BatchItemResult(index=item.index, status=202, id=doc_id))
        accepted = sum(1 for r in results if r.status == 202)
        answer = BatchAccepted(id=batch_id, accepted=accepted, rejected=len(results) - accepted,
                               items=results)  # fmt: skip
        key = self.keys.batch(batch_id)
        ttl = self.policy.result_ttl_seconds + self.policy.tombstone_extra_seconds
        writes += [
            HashSet(key, {"owner": owner, "created_at": encode_time(now),
                          "answer": answer.model_dump_json()}),
            Expire(key, ttl),
        ]  # fmt: skip
        if idempotency_key is None:
            await self.records.apply(writes)
            await self.ensure_on_disk()
            return answer, False
        idem = self.keys.idempotency(_digest(f"batch\0{owner}\0{idempotency_key}"))
        entry = f"{batch_id}:{fingerprint}"

        def decide(read: list[Any]) -> Plan[tuple[str, bool]]:
            earlier = read[0].decode() if isinstance(read[0], bytes) else read[0]
            if earlier is None:
                return Plan(
                    (batch_id, False), [SetValue(idem, entry, self.idempotency_ttl), *writes]
                )
            if earlier == entry:
                return Plan((batch_id, False))
            earlier_id, _, earlier_print = earlier.partition(":")
            if earlier_print != fingerprint:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used for a batch with other content; "
                    "use a new key for a new batch"
                )
            return Plan((earlier_id, True))

        found_id, replayed = await self.records.watched([idem], decide)
        if not replayed:
            await self.ensure_on_disk()
            return answer, False
        stored = await self.redis.hget(self.keys.batch(found_id), "answer")
        if stored is None:
            raise InvalidDocument("this Idempotency-Key's batch has expired; use a new key")
        return BatchAccepted.model_validate_json(stored), True

    async def view(self, batch_id: str, *, owner: str) -> BatchView | None:
        """Counts by status and the item ids, or None (no such batch, or another's)."""
        raw = cast(dict[bytes, bytes], await self.redis.hgetall(self.keys.batch(batch_id)))
        if not raw or raw.get(b"owner", b"").decode() != owner:
            return None
        answer = BatchAccepted.model_validate_json(raw[b"answer"])
        ids = [item.id for item in answer.items]
        async with self.redis.pipeline(transaction=False) as pipe:
            for doc_id in ids:
                if doc_id is not None:
                    pipe.hgetall(self.keys.document(doc_id))
            records = await pipe.execute()
        counts = {status.value: 0 for status in DocumentStatus}
        counts["expired"] = 0
        present = iter(records)
        for doc_id in ids:
            if doc_id is None:
                continue
            record = decode_record(doc_id, next(present))
            counts["expired" if record is None else record.visible_status().value] += 1
        counts["rejected"] = answer.rejected
        return BatchView(id=batch_id, created_at=raw[b"created_at"].decode(), total=len(ids),
                         counts=counts, items=ids)  # fmt: skip


def fingerprint_of(body: bytes, media_type: str) -> str:
    return _digest(f"{media_type}\0") + hashlib.sha256(body).hexdigest()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
