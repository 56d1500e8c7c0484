"""Crashed workers are recovered in seconds, with the default lease and reconciler timing.

Real parts: redis-server, ``newsdesk worker`` (prefork), ``newsdesk reconcile``, ``newsdesk api``.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import httpx
import pytest
from redis import Redis

from contracts.wire import STAGE_ORDER
from records.layout import Keys
from records.policy import RecordSettings
from tests.conftest import SEEDS, FaultRow, RedisServer, Service, Stack, wait_for_status
from workers.pipeline.clean import clean_document
from workers.settings import WorkerSettings

pytestmark = pytest.mark.e2e

# The shipped defaults: recovery is measured as users get it, not with test-only timings.
DEFAULT_TIMING = {
    "NEWSDESK_LEASE_SECONDS": str(RecordSettings().lease_seconds),
    "NEWSDESK_QUEUED_CHECK_SECONDS": str(RecordSettings().queued_check_seconds),
    "NEWSDESK_MAX_RECHECK_SECONDS": str(RecordSettings().max_recheck_seconds),
    "NEWSDESK_RECONCILE_INTERVAL_SECONDS": str(WorkerSettings().reconcile_interval_seconds),
}
RECOVERY_TARGET_SECONDS = 60.0
FINISHED = (b"completed", b"failed", b"cancelled")
# Enough documents that the worker is still busy with many of them when it is killed.
DOCUMENTS = 200


def _children(pid: int) -> list[int]:
    """The pool children of a worker's main process."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _articles(count: int) -> list[bytes]:
    body = (SEEDS / "article.txt").read_text()
    return [f"{body}\n\nDispatch {i} of the series.".encode() for i in range(count)]


def _submit_all(client: httpx.Client, bodies: list[bytes]) -> list[str]:
    ids = []
    for body in bodies:
        response = client.post(
            "/v1/documents", content=body, headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def _wait_all_finished(redis: Redis, ids: list[str], *, timeout: float) -> dict[str, float]:
    """Poll the records until every document finished; returns when each was first seen so."""
    finished_at: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(finished_at) < len(ids) and time.monotonic() < deadline:
        waiting = [doc_id for doc_id in ids if doc_id not in finished_at]
        now = time.monotonic()
        for doc_id, status in zip(waiting, _statuses(redis, waiting), strict=True):
            if status in FINISHED:
                finished_at[doc_id] = now
        time.sleep(0.2)
    return finished_at


def _statuses(redis: Redis, ids: list[str]) -> list[bytes | None]:
    keys = Keys()
    with redis.pipeline(transaction=False) as pipe:
        for doc_id in ids:
            pipe.hget(keys.document(doc_id), "status")
        return cast(list[bytes | None], pipe.execute())


def _unfinished(redis: Redis, ids: list[str]) -> int:
    return sum(status not in FINISHED for status in _statuses(redis, ids))


def _wait_until_finished(redis: Redis, ids: list[str], *, at_least: int) -> None:
    deadline = time.monotonic() + 120
    while len(ids) - _unfinished(redis, ids) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} documents finished in 120 s"
        time.sleep(0.05)


def _assert_each_stage_completed_once(client: httpx.Client, redis: Redis, ids: list[str]) -> None:
    keys = Keys()
    for doc_id in ids:
        view = client.get(f"/v1/documents/{doc_id}").json()
        assert view["status"] == "completed", view
        completions: dict[str, int] = {}
        for _, entry in redis.xrange(keys.events(doc_id)):  # type: ignore[union-attr]
            if entry[b"event"] == b"stage" and b'"stage_status":"completed"' in entry[b"data"]:
                stage = entry[b"data"].split(b'"stage":"')[1].split(b'"')[0].decode()
                completions[stage] = completions.get(stage, 0) + 1
        assert completions == {stage.value: 1 for stage in STAGE_ORDER}, (doc_id, completions)
        stored = sorted(k.decode() for k in redis.keys(f"{keys.document(doc_id)}*"))  # type: ignore[union-attr]
        assert stored == sorted(keys.all_for(doc_id)), "one output per stage, nothing else"


@pytest.fixture
def timed_stack(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack]
) -> Stack:
    stack = stack_factory(redis_server.url)
    stack.env.update(DEFAULT_TIMING)
    stack.run("reconciler", "reconcile")
    stack.api()
    return stack


def _ready(stack: Stack, worker: Service, *, timeout: float = 90) -> None:
    """Wait until the worker's pool children have loaded their models."""
    deadline = time.monotonic() + timeout
    redis = Redis.from_url(stack.redis_url)
    while time.monotonic() < deadline:
        names = [n.decode() for n in redis.zrange(Keys().workers, 0, -1)]  # type: ignore[union-attr]
        children = set(_children(worker.process.pid)) if worker.process else set()
        ready = [n for n in names if int(n.rsplit(":", 1)[1]) in children]
        if children and len(ready) == len(children):
            return
        time.sleep(0.2)
    raise AssertionError(stack.logs())


def test_pool_children_killed_repeatedly_every_document_completes_within_a_minute(
    timed_stack: Stack, redis_client: Redis, fault_report: Callable[[FaultRow], None]
) -> None:
    worker = timed_stack.worker(concurrency=2)
    _ready(timed_stack, worker)
    rng = random.Random(3)
    with timed_stack.client() as client:
        ids = _submit_all(client, _articles(3 * DOCUMENTS))  # still busy after six kills
        kills = 0
        time.sleep(1.0)
        while kills < 6:
            assert worker.process is not None
            children = _children(worker.process.pid)
            if children:
                os.kill(rng.choice(children), signal.SIGKILL)
                kills += 1
            time.sleep(1.5)
        last_kill = time.monotonic()
        in_flight = _unfinished(redis_client, ids)
        assert in_flight >= 60, f"only {in_flight} documents in flight at the last kill"
        finished = _wait_all_finished(redis_client, ids, timeout=180)
        assert len(finished) == len(ids), timed_stack.logs()
        recovery = max(finished.values()) - last_kill
        print(f"\n{len(ids)} documents, 6 pool children killed: last completed {recovery:.1f}s "
              f"after the last kill ({in_flight} in flight then)")  # fmt: skip
        fault_report(FaultRow("pool child SIGKILL, 6 times", "tests/test_recovery.py::test_pool_"
                              "children_killed_repeatedly_every_document_completes_within_a_minute",
                              len(ids), len(finished), 0, len(ids) - len(finished),
                              round(recovery, 1), f"{in_flight} in flight at the last kill; "
                              "default lease and reconciler timing"))  # fmt: skip
        assert recovery <= RECOVERY_TARGET_SECONDS, timed_stack.logs()
        _assert_each_stage_completed_once(client, redis_client, ids)


def test_the_whole_worker_killed_and_restarted_every_document_completes_within_a_minute(
    timed_stack: Stack, redis_client: Redis, fault_report: Callable[[FaultRow], None]
) -> None:
    worker = timed_stack.worker(concurrency=2)
    _ready(timed_stack, worker)
    with timed_stack.client() as client:
        ids = _submit_all(client, _articles(DOCUMENTS))
        _wait_until_finished(redis_client, ids, at_least=20)  # mid-work, most still to do
        worker.kill()  # SIGKILL to the whole process group: no acknowledgement, no clean-up
        last_kill = time.monotonic()
        in_flight = _unfinished(redis_client, ids)
        assert in_flight >= 60, f"only {in_flight} documents in flight at the kill"
        timed_stack.worker(concurrency=2)  # what the supervisor or compose does
        finished = _wait_all_finished(redis_client, ids, timeout=180)
        assert len(finished) == len(ids), timed_stack.logs()
        recovery = max(finished.values()) - last_kill
        print(f"\n{len(ids)} documents, whole worker killed: last completed {recovery:.1f}s after "
              f"the kill ({in_flight} in flight then)")  # fmt: skip
        fault_report(FaultRow("whole worker SIGKILL (restarted)", "tests/test_recovery.py::test_"
                              "the_whole_worker_killed_and_restarted_every_document_completes_"
                              "within_a_minute", len(ids), len(finished), 0,
                              len(ids) - len(finished), round(recovery, 1),
                              f"{in_flight} in flight at the kill; default lease and reconciler "
                              "timing"))  # fmt: skip
        assert recovery <= RECOVERY_TARGET_SECONDS, timed_stack.logs()
        _assert_each_stage_completed_once(client, redis_client, ids)


def test_a_slow_stage_that_is_alive_is_never_taken_over(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack]
) -> None:
    stack = stack_factory(redis_server.url)
    stack.env.update({"NEWSDESK_LEASE_SECONDS": "1", "NEWSDESK_RECONCILE_INTERVAL_SECONDS": "0.2"})
    stack.run("reconciler", "reconcile")
    worker = stack.worker(concurrency=1)
    stack.api()
    _ready(stack, worker)
    body = clean_document(content=(SEEDS / "article.txt").read_text(), content_type="text/plain")
    long_article = "\n\n".join([body.text] * 300)  # ~1.5 MB of prose
    with stack.client() as client:
        response = client.post("/v1/documents", content=long_article.encode(),
                               headers={"Content-Type": "text/plain"})  # fmt: skip
        view = wait_for_status(client, response.json()["id"], {"completed", "failed"}, timeout=240)
    assert view["status"] == "completed", (view, stack.logs())
    slow = view["stages"]["entities"]["duration_ms"] / 1000
    assert slow > 5, f"the stage ran {slow:.1f}s: long enough to outlive its 1 s lease many times"
    assert all(view["stages"][s.value]["attempts"] == 1 for s in STAGE_ORDER), view["stages"]
    assert "queued again" not in stack.logs()


def test_a_lost_queued_message_is_queued_again_within_the_stated_delay(
    timed_stack: Stack, redis_client: Redis
) -> None:
    with timed_stack.client() as client:
        doc_id = _submit_all(client, _articles(1))[0]
        lost = redis_client.rpop("clean")  # taken by a worker that then died: it is nowhere
        assert lost is not None
        worker = timed_stack.worker(concurrency=1)
        _ready(timed_stack, worker)
        began = time.monotonic()
        view = wait_for_status(client, doc_id, {"completed", "failed"}, timeout=120)
        waited = time.monotonic() - began
    settings = WorkerSettings()
    stated = settings.queued_check_seconds + settings.reconcile_interval_seconds
    assert view["status"] == "completed"
    print(
        f"\nlost message: completed {waited:.1f}s after a worker was ready (stated: {stated:g}s + processing)"
    )
    assert waited <= stated + 10, timed_stack.logs()
    assert "its message was lost" in timed_stack.logs()
