"""Thin executors of planned transitions: one for the workers (sync), one for the API (asyncio).

Each reads a record under WATCH, asks a planner what to do, and applies the plan's writes in
one MULTI; when the record changed meanwhile, it reads and plans again. They hold no rules of
their own: those are the planners in ``records.transitions``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import ResponseError, WatchError

from contracts.wire import STAGE_ORDER, Stage
from records.codec import DocumentRecord, decode_record
from records.layout import Keys
from records.policy import RecordPolicy, RecordSettings
from records.wire import RedisWire, script_sha
from records.writes import (
    APPLY_SCRIPT,
    GUARDED_APPLY_SCRIPT,
    Delete,
    HashDelete,
    ListRemove,
    Plan,
    ScoreRemove,
    Write,
    apply_writes,
    record_digest,
    script_arguments,
)

OutcomeT = TypeVar("OutcomeT")
APPLY_SHA = script_sha(APPLY_SCRIPT)
Planner = Callable[[DocumentRecord | None], Plan[OutcomeT]]
# A transition reads again when the record changed under it; past this, it gives up for now.
MAX_TRANSITION_TRIES = 50


class RecordContention(RuntimeError):
    """The record kept changing under a transition; try again later."""


class NotARecord(RuntimeError):
    """The record's key holds another Redis type (not written by newsdesk)."""


def _wrong_type(exc: ResponseError) -> bool:
    return str(exc).startswith("WRONGTYPE")


# Redis refuses a script at maxmemory only at its first write that may grow memory: a plan that
# begins with a deletion goes the MULTI way, which is refused whole.
_SHRINKING = (HashDelete, Delete, ScoreRemove, ListRemove)


@dataclass(frozen=True)
class Snapshot:
    """A record as Redis answered it right after a write (its fields in Redis's order) and
    their digest: the next transition of the same writer can be planned on it unread."""

    doc_id: str
    fields: dict[bytes, bytes]
    digest: str

    @classmethod
    def of(cls, doc_id: str, fields: dict[bytes, bytes]) -> Snapshot:
        return cls(doc_id, fields, record_digest(fields))

    def record(self) -> DocumentRecord | None:
        return decode_record(self.doc_id, self.fields)


class RecordStore:
    """Reads and changes document records over a blocking Redis client (workers, reconciler)."""

    def __init__(self, redis: Redis, keys: Keys, policy: RecordPolicy) -> None:
        self.redis = redis
        self.keys = keys
        self.policy = policy
        self._apply_script = redis.register_script(APPLY_SCRIPT)
        self._guarded_apply_script = redis.register_script(GUARDED_APPLY_SCRIPT)

    @classmethod
    def connect(cls, settings: RecordSettings) -> RecordStore:
        """A store on its own connection pool (create one per process, after any fork)."""
        redis = Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=5,
            socket_timeout=30,
            health_check_interval=10,
        )
        return cls(redis, Keys(settings.key_prefix), settings.policy())

    def read(self, doc_id: str) -> DocumentRecord | None:
        """The record, or None when there is none."""
        try:
            return decode_record(doc_id, self.redis.hgetall(self.keys.document(doc_id)))
        except ResponseError as exc:
            if _wrong_type(exc):
                raise NotARecord(f"{self.keys.document(doc_id)} is not a record") from exc
            raise

    def snapshot(self, doc_id: str, *, with_content: bool = False) -> tuple[Snapshot, bytes | None]:
        """The record as it is now, for ``transition_from``, and with ``with_content`` the
        submitted content, read together in one round trip (no WATCH: the guarded write checks
        the record is still this one)."""
        key = self.keys.document(doc_id)
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            if with_content:
                pipe.get(self.keys.content(doc_id))
            replies = pipe.execute(raise_on_error=False)
        for reply in replies:
            if isinstance(reply, ResponseError):
                if reply is replies[0] and _wrong_type(reply):
                    raise NotARecord(f"{key} is not a record") from reply
                raise reply
        content = cast(bytes | None, replies[1]) if with_content else None
        return Snapshot.of(doc_id, cast(dict[bytes, bytes], replies[0])), content

    def content(self, doc_id: str) -> bytes | None:
        """The submitted content, as stored."""
        return cast(bytes | None, self.redis.get(self.keys.content(doc_id)))

    def output(self, doc_id: str, stage: Stage) -> bytes | None:
        """One stage's stored output (contract JSON)."""
        return cast(bytes | None, self.redis.get(self.keys.output(doc_id, stage)))

    def apply(self, writes: Sequence[Write]) -> None:
        """Apply writes that need no reading first, atomically (one script call)."""
        self._apply_script(args=script_arguments(writes))

    def transition(self, doc_id: str, planner: Planner[OutcomeT]) -> OutcomeT:
        """Plan on a WATCHed reading of the record and apply the plan in one MULTI."""
        outcome, _ = self._watched(doc_id, planner, keep=False)
        return outcome

    def transition_kept(self, doc_id: str, planner: Planner[OutcomeT]) -> tuple[OutcomeT, Snapshot]:
        """As ``transition``, and the record as it is after the plan's writes (read in the same
        MULTI), for ``transition_from``."""
        outcome, after = self._watched(doc_id, planner, keep=True)
        return outcome, Snapshot.of(doc_id, after)

    def transition_from(
        self, snapshot: Snapshot, planner: Planner[OutcomeT]
    ) -> tuple[OutcomeT, Snapshot]:
        """Plan on ``snapshot`` and apply the plan in one script call that first checks the
        record is still exactly the snapshot (one round trip instead of three); when it changed
        meanwhile (a lease renewal, a cancellation), as ``transition_kept``."""
        plan = planner(snapshot.record())
        if not plan.writes or isinstance(plan.writes[0], _SHRINKING):
            # Nothing to write: an outcome the snapshot alone must not vouch for. Or a plan the
            # script could half-apply at maxmemory.
            return self.transition_kept(snapshot.doc_id, planner)
        key = self.keys.document(snapshot.doc_id)
        try:
            after = self._guarded_apply_script(
                keys=[key], args=[snapshot.digest, *script_arguments(plan.writes)]
            )
        except ResponseError as exc:
            if self.redis.type(key) not in (b"hash", b"none"):
                raise NotARecord(f"{key} is not a record") from exc
            raise
        if after is None:
            return self.transition_kept(snapshot.doc_id, planner)
        fields = dict(zip(after[::2], after[1::2], strict=True))
        return plan.outcome, Snapshot.of(snapshot.doc_id, fields)

    def _watched(
        self, doc_id: str, planner: Planner[OutcomeT], *, keep: bool
    ) -> tuple[OutcomeT, dict[bytes, bytes]]:
        """The outcome, and with ``keep`` the record's fields after the writes (else empty)."""
        key = self.keys.document(doc_id)
        with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_TRANSITION_TRIES):
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    read = cast(dict[bytes, bytes], pipe.hgetall(key))
                    plan = planner(decode_record(doc_id, read))
                    if not plan.writes:
                        pipe.unwatch()
                        return plan.outcome, read if keep else {}
                    pipe.multi()
                    apply_writes(pipe, plan.writes)
                    if keep:
                        pipe.hgetall(key)
                    replies = pipe.execute()
                    return plan.outcome, cast(dict[bytes, bytes], replies[-1]) if keep else {}
                except WatchError:
                    continue
                except ResponseError as exc:
                    if _wrong_type(exc):
                        raise NotARecord(f"{key} is not a record") from exc
                    raise
        raise RecordContention(f"document {doc_id} kept changing; will try again")


class AsyncRecordStore:
    """Reads and changes document records for the API: the hot paths (accept, read) over the
    pipelined ``RedisWire``, transactions that WATCH over redis-py's asyncio client."""

    def __init__(
        self, redis: AsyncRedis, wire: RedisWire, keys: Keys, policy: RecordPolicy
    ) -> None:
        self.redis = redis
        self.wire = wire
        self.keys = keys
        self.policy = policy

    async def read_with_outputs(
        self, doc_id: str
    ) -> tuple[DocumentRecord | None, dict[Stage, bytes | None]]:
        """The record and every stage's output, in one round trip."""
        raw, outputs = await asyncio.gather(
            self._hgetall(self.keys.document(doc_id)),
            self.wire.execute("MGET", *(self.keys.output(doc_id, s) for s in STAGE_ORDER)),
        )
        return decode_record(doc_id, raw), dict(zip(STAGE_ORDER, outputs, strict=True))

    async def read(self, doc_id: str) -> DocumentRecord | None:
        """The record alone, in one round trip."""
        return decode_record(doc_id, await self._hgetall(self.keys.document(doc_id)))

    async def read_fields(self, doc_id: str, *fields: str) -> list[bytes | None]:
        """Some fields of the record (HMGET), in one round trip."""
        found: list[bytes | None] = await self.wire.execute(
            "HMGET", self.keys.document(doc_id), *fields
        )
        return found

    async def apply(self, writes: Sequence[Write]) -> None:
        """Apply writes that need no reading first, atomically, in one round trip."""
        await self.wire.evalsha(APPLY_SCRIPT, APPLY_SHA, [], script_arguments(writes))

    async def _hgetall(self, key: str) -> dict[bytes, bytes]:
        try:
            flat: list[bytes] = await self.wire.execute("HGETALL", key)
        except ResponseError as exc:
            if _wrong_type(exc):
                raise NotARecord(f"{key} is not a record") from exc
            raise
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def transition(self, doc_id: str, planner: Planner[OutcomeT]) -> OutcomeT:
        """Plan on a WATCHed reading of the record and apply the plan in one MULTI."""
        return await self.watched([self.keys.document(doc_id)], lambda read: planner(
            decode_record(doc_id, read[0])))  # fmt: skip

    async def watched(
        self, keys: list[str], planner: Callable[[list[Any]], Plan[OutcomeT]]
    ) -> OutcomeT:
        """Plan on WATCHed readings of ``keys`` (hashes are read whole, other keys with GET)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_TRANSITION_TRIES):
                try:
                    await pipe.watch(*keys)
                    read = [await _read_watched(pipe, key) for key in keys]
                    plan = planner(read)
                    if not plan.writes:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return plan.outcome
                    pipe.multi()  # type: ignore[no-untyped-call]
                    apply_writes(pipe, plan.writes)
                    await pipe.execute()
                    return plan.outcome
                except WatchError:
                    continue
                except ResponseError as exc:
                    if _wrong_type(exc):
                        raise NotARecord(f"{keys[0]} is not a record") from exc
                    raise
        raise RecordContention(f"{keys[0]} kept changing; try again")


async def _read_watched(pipe: Any, key: str) -> Any:
    """A watched key's value: a hash whole, anything else as a string."""
    kind = await pipe.type(key)
    if kind in (b"hash", "hash"):
        return await pipe.hgetall(key)
    if kind in (b"none", "none"):
        return None
    return await pipe.get(key)
