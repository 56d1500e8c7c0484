"""Planned writes: what a transition decided to change, applied inside one MULTI.

A planner returns plain values (no Redis client); ``apply_writes`` queues them on a pipeline.
The same call works for redis-py's sync and asyncio pipelines, which buffer commands alike.
"""

from __future__ import annotations

import hashlib
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
            case HashDelete(key, fields) if fields:
                pipe.hdel(key, *fields)
            case SetValue(key, value, ttl):
                pipe.set(key, value, ex=ttl)
            case Expire(key, seconds):
                pipe.expire(key, seconds)
            case Delete(keys) if keys:
                pipe.delete(*keys)
            case HashDelete() | Delete():  # nothing to delete
                pass
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


# Planned writes that need no reading first (creating documents and batches) go to Redis as one
# script call instead of a MULTI of a dozen commands: the same effect, atomic like MULTI (Redis
# checks a script against maxmemory at its first write, so a refused one writes nothing), and a
# fraction of the client-side work. ARGV is a flat list of operations, each its name and fields,
# from ARGV[i] on (``_OPERATIONS`` applies them; the scripts below set where they start).
_OPERATIONS = """
while i <= n do
  local op = ARGV[i]
  if op == 'HSET' then
    local count = tonumber(ARGV[i + 2])
    redis.call('HSET', ARGV[i + 1], unpack(ARGV, i + 3, i + 2 + count))
    i = i + 3 + count
  elseif op == 'SET' then
    if ARGV[i + 3] == '' then
      redis.call('SET', ARGV[i + 1], ARGV[i + 2])
    else
      redis.call('SET', ARGV[i + 1], ARGV[i + 2], 'EX', ARGV[i + 3])
    end
    i = i + 4
  elseif op == 'ZADD' then
    if ARGV[i + 4] == '1' then
      redis.call('ZADD', ARGV[i + 1], 'GT', ARGV[i + 2], ARGV[i + 3])
    else
      redis.call('ZADD', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
    end
    i = i + 5
  elseif op == 'LPUSH' then
    redis.call('LPUSH', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'XADD' then
    local count = tonumber(ARGV[i + 3])
    redis.call('XADD', ARGV[i + 1], 'MAXLEN', '~', ARGV[i + 2], '*', unpack(ARGV, i + 4, i + 3 + count))
    i = i + 4 + count
  elseif op == 'INCRBY' then
    redis.call('INCRBY', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'HINCRBY' then
    redis.call('HINCRBY', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'HINCRBYFLOAT' then
    redis.call('HINCRBYFLOAT', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'EXPIRE' then
    redis.call('EXPIRE', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'PUBLISH' then
    redis.call('PUBLISH', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'HDEL' or op == 'DEL' then
    local count = tonumber(ARGV[i + 2])
    if op == 'HDEL' then
      redis.call('HDEL', ARGV[i + 1], unpack(ARGV, i + 3, i + 2 + count))
    else
      redis.call('DEL', ARGV[i + 1], unpack(ARGV, i + 3, i + 2 + count))
    end
    i = i + 3 + count
  elseif op == 'ZREM' then
    redis.call('ZREM', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'LREM' then
    redis.call('LREM', ARGV[i + 1], 1, ARGV[i + 2])
    i = i + 3
  else
    return redis.error_reply('unknown operation ' .. tostring(op))
  end
end
"""
APPLY_SCRIPT = "local i, n = 1, #ARGV\n" + _OPERATIONS + "return n\n"

# A transition planned on a record already in hand (the writer's own last write, returned by
# Redis) instead of one read under WATCH: KEYS[1] is the record, ARGV[1] the digest of the
# record the plan was made on (``record_digest``), the operations follow. Nothing is written,
# and false is returned, unless the record is still exactly that one; otherwise the record as
# it is after the writes, which the next such transition can be planned on.
_DIGEST = """
local function digest(flat)
  local parts = {}
  for j = 1, #flat do parts[j] = #flat[j] .. ':' .. flat[j] end
  return redis.sha1hex(table.concat(parts, ','))
end
"""
GUARDED_APPLY_SCRIPT = (
    _DIGEST
    + "if digest(redis.call('HGETALL', KEYS[1])) ~= ARGV[1] then return false end\n"
    + "local i, n = 2, #ARGV\n"
    + _OPERATIONS
    + "return redis.call('HGETALL', KEYS[1])\n"
)


def record_digest(fields: Mapping[bytes, bytes]) -> str:
    """The digest ``GUARDED_APPLY_SCRIPT`` computes of a hash, of its fields in Redis's order."""
    parts = [b"%d:%s" % (len(item), item) for pair in fields.items() for item in pair]
    return hashlib.sha1(b",".join(parts)).hexdigest()  # a fingerprint, not a secret


def script_arguments(writes: Sequence[Write]) -> list[str | bytes | int | float]:
    """ARGV of ``APPLY_SCRIPT`` for ``writes``; raises for a write it cannot express."""
    args: list[str | bytes | int | float] = []
    for write in writes:
        match write:
            case HashSet(key, mapping):
                args += ["HSET", key, 2 * len(mapping)]
                for field, value in mapping.items():
                    args += [field, value]
            case SetValue(key, value, ttl):
                args += ["SET", key, value, "" if ttl is None else ttl]
            case ScoreSet(key, member, score, only_greater):
                args += ["ZADD", key, repr(float(score)), member, "1" if only_greater else "0"]
            case Push(key, value):
                args += ["LPUSH", key, value]
            case AppendEvent(key, fields, max_length):
                args += ["XADD", key, max_length, 2 * len(fields)]
                for field, value in fields.items():
                    args += [field, value]
            case IncrementBy(key, amount):
                args += ["INCRBY", key, amount]
            case HashIncrement(key, field, amount) if isinstance(amount, int):
                args += ["HINCRBY", key, field, amount]
            case HashIncrement(key, field, amount):
                args += ["HINCRBYFLOAT", key, field, repr(float(amount))]
            case Expire(key, seconds):
                args += ["EXPIRE", key, seconds]
            case Publish(channel, message):
                args += ["PUBLISH", channel, message]
            case HashDelete(key, fields) if fields:
                args += ["HDEL", key, len(fields), *fields]
            case Delete(keys) if keys:
                args += ["DEL", keys[0], len(keys) - 1, *keys[1:]]
            case ScoreRemove(key, member):
                args += ["ZREM", key, member]
            case ListRemove(key, value):
                args += ["LREM", key, value]
            case HashDelete() | Delete():  # nothing to delete
                pass
            case _:
                raise ValueError(f"{type(write).__name__} cannot be applied by the script")
    return args
