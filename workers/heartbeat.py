"""A thread in every worker process: renews the leases of the stages this process runs and
announces the process (alive, ready) in Redis.

The heartbeat comes from the process doing the work, so a process that dies — SIGKILL, OOM,
a hard time limit — stops renewing at once, and its stage's lease runs out within
``lease_seconds``; a slow stage that is alive keeps its lease however long it runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from redis.exceptions import RedisError

from contracts.wire import Stage
from records.codec import utc_now
from records.presence import PRESENCE_TTL_FACTOR, WorkerPresence, announce_writes, leave_writes
from records.store import RecordContention, RecordStore
from records.transitions import plan_heartbeat

log = logging.getLogger("newsdesk.worker")


@dataclass(frozen=True)
class Held:
    """A stage this process runs under a lease."""

    doc_id: str
    stage: Stage
    run: str


class Heartbeat:
    """Renews held leases and this process's presence every ``policy.heartbeat_seconds``."""

    def __init__(self, store: RecordStore, *, queues: tuple[str, ...]) -> None:
        self.store = store
        self.queues = queues
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.ready = False
        self.lost: set[Held] = set()
        self._held: set[Held] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        return self.store.policy.heartbeat_seconds

    def start(self, *, ready: bool) -> None:
        """Announce this process and keep renewing until ``stop``."""
        self.ready = ready
        self.beat()
        self._thread = threading.Thread(target=self._loop, name="newsdesk-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing and withdraw this process's presence."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + 1)
        with suppress(RedisError):
            self.store.apply(leave_writes(self.store.keys, self.name))

    @contextmanager
    def holding(self, doc_id: str, stage: Stage, run: str) -> Iterator[Held]:
        """Renew this lease while the block runs."""
        held = Held(doc_id, stage, run)
        with self._lock:
            self._held.add(held)
        try:
            yield held
        finally:
            with self._lock:
                self._held.discard(held)
                self.lost.discard(held)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:  # the thread must outlive any single failure
                log.exception("heartbeat failed")

    def beat(self) -> None:
        """Renew every held lease once and re-announce this process."""
        with self._lock:
            held = list(self._held)
        for lease in held:
            self._renew(lease)
        presence = WorkerPresence(
            name=self.name, host=socket.gethostname(), pid=os.getpid(), queues=self.queues,
            ready=self.ready, seen_at=time.time(),
        )  # fmt: skip
        ttl = self.interval * PRESENCE_TTL_FACTOR
        try:
            self.store.apply(announce_writes(self.store.keys, presence, ttl_seconds=ttl))
        except RedisError as exc:
            log.warning("could not announce this worker: %s", exc)

    def _renew(self, lease: Held) -> None:
        store = self.store
        try:
            kept = store.transition(lease.doc_id, lambda record: plan_heartbeat(
                store.keys, store.policy, record, lease.stage, run=lease.run, now=utc_now()))  # fmt: skip
        except (RedisError, RecordContention) as exc:
            log.warning("could not renew the lease: %s", type(exc).__name__, extra={
                "doc_id": lease.doc_id, "stage": lease.stage.value, "run": lease.run})  # fmt: skip
            return
        if not kept and lease not in self.lost:
            self.lost.add(lease)
            log.warning("lost the lease; the result will be discarded", extra={
                "doc_id": lease.doc_id, "stage": lease.stage.value, "run": lease.run})  # fmt: skip
