"""Planned writes: what a transition decided to change, applied inside one MULTI.

A planner returns plain values (no Redis client); ``apply_writes`` queues them on a pipeline.
The same call works for redis-py's sync and asyncio pipelines, which buffer commands alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

OutcomeT = TypeVar("OutcomeT")


@dataclass(frozen=True, slots=True)
class HashSet:
    key: str
    mapping: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class HashDelete:
    key: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetValue:
    key: str
    value: str | bytes
    ttl_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Expire:
    key: str
    seconds: int


@dataclass(frozen=True, slots=True)
class Delete:
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScoreSet:
    """ZADD; ``only_greater`` keeps the higher of the old and new score (ZADD GT)."""

    key: str
    member: str
    score: float
    only_greater: bool = False


@dataclass(frozen=True, slots=True)
class ScoreRemove:
    key: str
    member: str


@dataclass(frozen=True, slots=True)
class Push:
    """LPUSH onto a list: how a message is put on a Celery queue of the Redis transport."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ListRemove:
    """LREM: take a message that is no longer wanted off its queue."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class AppendEvent:
    """XADD with an approximate length cap."""

    key: str
    fields: Mapping[str, str]
    max_length: int


@dataclass(frozen=True, slots=True)
class Publish:
    channel: str
    message: str


@dataclass(frozen=True, slots=True)
class IncrementBy:
    key: str
    amount: int


@dataclass(frozen=True, slots=True)
class HashIncrement:
    """HINCRBY / HINCRBYFLOAT on one field of a hash."""

    key: str
    field: str
    amount: int | float


Write = (
    HashSet
    | HashDelete
    | SetValue
    | Expire
    | Delete
    | ScoreSet
    | ScoreRemove
    | Push
    | ListRemove
    | AppendEvent
    | Publish
    | IncrementBy
    | HashIncrement
)


@dataclass(frozen=True)
class Plan(Generic[OutcomeT]):
    """What a transition came to, and the writes that make it so (possibly none)."""

    outcome: OutcomeT
    writes: Sequence[Write] = field(default=())


def apply_writes(pipe: Any, writes: Sequence[Write]) -> None:
    """Queue ``writes`` on a (sync or asyncio) redis-py pipeline, in order."""
    for write in writes:
        match write:
            case HashSet(key, mapping):
                pipe.hset(key, mapping=dict(mapping))
            case HashDelete(key, fields):
                pipe.hdel(key, *fields)
            case SetValue(key, value, ttl):
                pipe.set(key, value, ex=ttl)
            case Expire(key, seconds):
                pipe.expire(key, seconds)
            case Delete(keys):
                pipe.delete(*keys)
            case ScoreSet(key, member, score, only_greater):
                pipe.zadd(key, {member: score}, gt=only_greater)
            case ScoreRemove(key, member):
                pipe.zrem(key, member)
            case Push(key, value):
                pipe.lpush(key, value)
            case ListRemove(key, value):
                pipe.lrem(key, 1, value)
            case AppendEvent(key, fields, max_length):
                pipe.xadd(key, dict(fields), maxlen=max_length, approximate=True)
            case Publish(channel, message):
                pipe.publish(channel, message)
            case IncrementBy(key, amount):
                pipe.incrby(key, amount)
            case HashIncrement(key, field, amount) if isinstance(amount, int):
                pipe.hincrby(key, field, amount)
            case HashIncrement(key, field, amount):
                pipe.hincrbyfloat(key, field, amount)
