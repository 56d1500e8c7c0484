"""Waking requests that wait on a document (long-poll, event streams) without polling Redis.

Every record transition publishes the document's id and the kind of its event on one pub/sub
channel. Each API process holds a single subscription and a table of waiters per document id; a
message sets the events of the waiters it concerns: every change for an event stream, only the
end of the document for a long-poll. A thousand waiting clients are a thousand idle futures: no
CPU, no Redis traffic. When the subscription breaks, every waiter is woken (it re-reads the
record, so no change is missed) and the subscription is re-established.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator

from redis.exceptions import RedisError

from records.layout import FINISHING_EVENT, parse_notification
from records.wire import Subscription

log = logging.getLogger("newsdesk.api")
RECONNECT_PAUSE_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0


class Notifier:
    """One subscription per process, fanned out to per-document waiters."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self.redis_url = redis_url
        self.channel = channel
        # Per document id, each waiter's event and whether only the document's end concerns it.
        self.waiters: defaultdict[str, dict[asyncio.Event, bool]] = defaultdict(dict)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="newsdesk-notifier")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, STOP_TIMEOUT_SECONDS)

    @contextlib.contextmanager
    def watching(self, doc_id: str, *, end_only: bool = False) -> Iterator[asyncio.Event]:
        """An event set whenever ``doc_id`` changes, or with ``end_only`` when it finishes (and
        whenever the subscription was interrupted)."""
        event = asyncio.Event()
        self.waiters[doc_id][event] = end_only
        try:
            yield event
        finally:
            waiting = self.waiters.get(doc_id)
            if waiting is not None:
                waiting.pop(event, None)
                if not waiting:
                    del self.waiters[doc_id]

    @property
    def waiting(self) -> int:
        """How many requests are waiting right now."""
        return sum(len(events) for events in self.waiters.values())

    async def _listen(self) -> None:
        while not self._stopping:
            try:
                async for message in self._messages():
                    self._notify(*parse_notification(message))
            except (RedisError, OSError) as exc:
                log.warning("notifications interrupted (%s); waiters re-read", type(exc).__name__)
            self.subscribed.clear()
            self._wake_all()
            await asyncio.sleep(RECONNECT_PAUSE_SECONDS)

    async def _messages(self) -> AsyncIterator[str]:
        subscription = await Subscription.open(self.redis_url, self.channel,
                                               timeout=CONNECT_TIMEOUT_SECONDS)  # fmt: skip
        try:
            self.subscribed.set()
            self._wake_all()  # anything may have changed while we were not subscribed
            async for data in subscription.messages():
                yield data.decode(errors="replace")
        finally:
            await subscription.close()

    def _notify(self, doc_id: str, kind: str | None) -> None:
        ends = kind in (FINISHING_EVENT, None)  # a message naming no event may be anything
        for event, end_only in self.waiters.get(doc_id, {}).items():
            if ends or not end_only:
                event.set()

    def _wake_all(self) -> None:
        for events in self.waiters.values():
            for event in events:
                event.set()


async def wait_for_change(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set (then clear it) or ``timeout`` runs out; True if it was set."""
    if timeout <= 0:
        return False
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    event.clear()
    return True
