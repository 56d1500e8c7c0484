"""Which worker processes are alive and ready, as they announce themselves in Redis.

Every worker process (each pool child) renews its entry with each heartbeat; an entry not
renewed for ``PRESENCE_TTL_FACTOR`` heartbeats is gone. ``newsdesk up``, the healthcheck and
the API read it without talking to Celery or loading any model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from records.layout import Keys
from records.writes import Delete, Expire, HashSet, ScoreRemove, ScoreSet, Write

PRESENCE_TTL_FACTOR = 3


@dataclass(frozen=True)
class WorkerPresence:
    """One worker process: where it runs, what it consumes, whether its models are loaded."""

    name: str
    host: str
    pid: int
    queues: tuple[str, ...]
    ready: bool
    seen_at: float

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "host": self.host, "pid": self.pid,
                "queues": list(self.queues), "ready": self.ready, "seen_at": self.seen_at}  # fmt: skip


def announce_writes(keys: Keys, presence: WorkerPresence, *, ttl_seconds: float) -> list[Write]:
    """Writes that (re)announce a worker process for ``ttl_seconds``."""
    key = keys.worker(presence.name)
    return [
        HashSet(key, {"info": json.dumps(presence.as_json())}),
        Expire(key, max(int(ttl_seconds), 1)),
        ScoreSet(keys.workers, presence.name, presence.seen_at),
    ]


def leave_writes(keys: Keys, name: str) -> list[Write]:
    """Writes that remove a worker process that is stopping."""
    return [Delete((keys.worker(name),)), ScoreRemove(keys.workers, name)]


def decode_presence(raw: Mapping[Any, Any] | None) -> WorkerPresence | None:
    """A stored entry, or None when it is gone or unreadable."""
    if not raw:
        return None
    info = raw.get(b"info", raw.get("info"))
    try:
        data = json.loads(info)
        return WorkerPresence(
            name=str(data["name"]), host=str(data["host"]), pid=int(data["pid"]),
            queues=tuple(str(q) for q in data["queues"]), ready=bool(data["ready"]),
            seen_at=float(data["seen_at"]),
        )  # fmt: skip
    except (TypeError, ValueError, KeyError):
        return None


def live_workers(
    redis: Redis, keys: Keys, *, now: float, ttl_seconds: float
) -> list[WorkerPresence]:
    """The worker processes that announced themselves within ``ttl_seconds``."""
    names = cast(list[bytes], redis.zrangebyscore(keys.workers, now - ttl_seconds, "+inf"))
    with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.worker(name.decode()))
        raw = pipe.execute()
    return _present(raw)


async def live_workers_async(
    redis: AsyncRedis, keys: Keys, *, now: float, ttl_seconds: float
) -> list[WorkerPresence]:
    """``live_workers`` over an asyncio client."""
    names = cast(list[bytes], await redis.zrangebyscore(keys.workers, now - ttl_seconds, "+inf"))
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.worker(name.decode()))
        raw = await pipe.execute()
    return _present(raw)


def _present(raw: Iterable[Any]) -> list[WorkerPresence]:
    found = (decode_presence(entry) for entry in raw)
    return sorted((p for p in found if p is not None), key=lambda p: p.name)


def ready_queues(workers: Iterable[WorkerPresence]) -> set[str]:
    """The queues served by at least one ready worker process."""
    return {queue for worker in workers if worker.ready for queue in worker.queues}
