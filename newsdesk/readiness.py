"""Whether worker processes are up and have loaded their models, read from Redis.

Used by ``newsdesk up`` (it says the stack is ready only once every stage has a ready worker)
and by ``newsdesk healthcheck worker``; neither loads a model nor talks to Celery.
"""

from __future__ import annotations

import time

from contracts.wire import QUEUE_BY_STAGE, STAGE_ORDER
from records.presence import PRESENCE_TTL_FACTOR, WorkerPresence, live_workers, ready_queues
from records.store import RecordStore


def _live(store: RecordStore) -> list[WorkerPresence]:
    ttl = store.policy.heartbeat_seconds * PRESENCE_TTL_FACTOR
    return live_workers(store.redis, store.keys, now=time.time(), ttl_seconds=ttl)


def workers_on_host(store: RecordStore, host: str) -> list[WorkerPresence]:
    """The live worker processes announced by ``host``."""
    return [worker for worker in _live(store) if worker.host == host]


def missing_queues(store: RecordStore) -> set[str]:
    """The stage queues no ready worker process serves yet."""
    return {QUEUE_BY_STAGE[stage] for stage in STAGE_ORDER} - ready_queues(_live(store))


def wait_for_workers(store: RecordStore, *, timeout: float, poll: float = 0.2) -> set[str]:
    """Wait until every stage queue has a ready worker; returns the queues still missing."""
    deadline = time.monotonic() + timeout
    while True:
        missing = missing_queues(store)
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(poll)
