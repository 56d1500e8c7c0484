"""Listing an owner's documents, newest first, with a cursor stable under concurrent inserts.

Each owner has a sorted set of document ids scored by creation time. A cursor names the last
(score, id) a page returned; the next page starts strictly after it, so documents created
meanwhile (newer, higher scores) never shift or repeat what follows. Ids whose records have
expired are dropped from the set as they are met.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from contracts.documents import DocumentStatus, DocumentSummary
from records.codec import DocumentRecord, decode_record
from records.layout import Keys

# How many ids one request may look at when a status filter skips most of them.
MAX_SCANNED = 2000
SCAN_CHUNK = 200


class BadCursor(ValueError):
    """The cursor was not one this API handed out."""


@dataclass(frozen=True)
class Position:
    """Where a page ended: the score and id of its last document."""

    score: float
    member: str

    def encode(self) -> str:
        raw = f"{self.score!r}|{self.member}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            score, member = raw.split("|", 1)
            return cls(float(score), member)
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise BadCursor("cursor: not a cursor this API handed out") from exc

    def before(self, score: float, member: str) -> bool:
        """Whether (score, member) comes after this position in newest-first order."""
        return score < self.score or (score == self.score and member < self.member)


def summary(record: DocumentRecord) -> DocumentSummary:
    return DocumentSummary(
        id=record.doc_id,
        status=record.visible_status(),
        created_at=record.created_at,
        updated_at=record.updated_at,
        content_type=record.content_type,
        title=record.options.title,
        batch_id=record.batch_id,
    )


async def list_documents(
    redis: Redis,
    keys: Keys,
    *,
    owner: str,
    status: DocumentStatus | None,
    since: float | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[DocumentSummary], str | None]:
    """One page of the owner's documents, newest first; the cursor for the next one or None."""
    index = keys.index(owner)
    position = Position.decode(cursor) if cursor else None
    floor = since if since is not None else "-inf"
    found: list[DocumentSummary] = []
    scanned = 0
    last: Position | None = position
    while len(found) < limit and scanned < MAX_SCANNED:
        top = last.score if last is not None else "+inf"
        chunk = await _scores(redis, index, top, floor)
        fresh = [(m.decode(), s) for m, s in chunk if last is None or last.before(s, m.decode())]
        if not fresh:
            return found, None
        async with redis.pipeline(transaction=False) as pipe:
            for member, _ in fresh:
                pipe.hgetall(keys.document(member))
            raw_records = await pipe.execute()
        gone = []
        for (member, score), raw in zip(fresh, raw_records, strict=True):
            scanned += 1
            last = Position(score, member)
            record = decode_record(member, raw)
            if record is None:
                gone.append(member)
            elif status is None or record.visible_status() == status:
                found.append(summary(record))
                if len(found) == limit:
                    break
        if gone:
            await redis.zrem(index, *gone)
    more = last is not None and await _any_before(redis, index, last, floor)
    return found, (last.encode() if more and last is not None else None)


async def _scores(
    redis: Redis, index: str, top: float | str, floor: float | str
) -> list[tuple[bytes, float]]:
    found = await redis.zrevrangebyscore(index, top, floor, start=0, num=SCAN_CHUNK + 1,
                                         withscores=True)  # fmt: skip
    return cast(list[tuple[bytes, float]], found)


async def _any_before(redis: Redis, index: str, position: Position, floor: float | str) -> bool:
    candidates = await _scores(redis, index, position.score, floor)
    return any(position.before(s, m.decode()) for m, s in candidates)
