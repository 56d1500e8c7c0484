"""Shared parts of the fault table's tests (``make chaos``): document helpers.

Each test records one row with the ``fault_report`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import time

import httpx
from redis import Redis

from records.layout import Keys
from tests.conftest import SEEDS

ARTICLE = (SEEDS / "article.txt").read_text()
FINISHED = {b"completed", b"failed", b"cancelled"}


def articles(count: int, tag: str) -> list[str]:
    """Distinct documents (each names its own number)."""
    return [f"{ARTICLE}\n\nDispatch {tag}-{i} of the series." for i in range(count)]


def statuses(redis: Redis, ids: list[str]) -> dict[str, bytes | None]:
    keys = Keys()
    with redis.pipeline(transaction=False) as pipe:
        for doc_id in ids:
            pipe.hget(keys.document(doc_id), "status")
        return dict(zip(ids, pipe.execute(), strict=True))


def wait_finished(redis: Redis, ids: list[str], *, timeout: float) -> dict[str, float]:
    """Poll until every document finished; returns when each was first seen finished."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(ids) and time.monotonic() < deadline:
        now = time.monotonic()
        for doc_id, status in statuses(redis, [i for i in ids if i not in seen]).items():
            if status in FINISHED:
                seen[doc_id] = now
        time.sleep(0.25)
    return seen


def tally(redis: Redis, ids: list[str]) -> tuple[int, int, int]:
    """(completed, failed, lost): lost = no record, or never finished."""
    found = statuses(redis, ids)
    completed = sum(1 for s in found.values() if s == b"completed")
    failed = sum(1 for s in found.values() if s == b"failed")
    return completed, failed, len(ids) - completed - failed


def submit(client: httpx.Client, text: str, *, key: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "text/plain", **({"Idempotency-Key": key} if key else {})}
    return client.post("/v1/documents", content=text.encode(), headers=headers)
