"""The Python SDK (``newsdesk.client``) against the real stack: every method, sync and async,
typed errors, and retries that never make a second document."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from contracts.documents import DocumentSubmission
from newsdesk.client import (
    AsyncClient,
    Client,
    Conflict,
    ConnectionFailed,
    DocumentEvent,
    DocumentTooLarge,
    Gone,
    InvalidDocument,
    NewsdeskError,
    NotFound,
    QueuedEvent,
    QuotaExceeded,
    RetryPolicy,
    StageEvent,
    StorageFull,
    Unauthorized,
    Unavailable,
    calls,
)
from newsdesk.client.errors import retry_after_seconds
from newsdesk.client.events import SSEDecoder
from newsdesk.embedded_redis import free_port
from tests.conftest import FAST_RECOVERY_ENV, REPO, SEEDS, RedisServer, Stack

pytestmark = pytest.mark.e2e
ARTICLE = (SEEDS / "article.txt").read_text()
HTML = (SEEDS / "article.html").read_text()
KEY, OTHER = "sdk-key-0123456789abcdef", "other-key-0123456789abcdef"
KEYS = f"sdk:{KEY},other:{OTHER}"
# Quick retries for the tests; the defaults back off up to 30 s.
QUICK = RetryPolicy(attempts=40, backoff=0.1, max_backoff=0.5)


@contextmanager
def running_stack(tmp: Path, *, workers: bool) -> Iterator[Stack]:
    """A stack with API keys on its own redis-server, which other modules' tests never flush."""
    redis = RedisServer(tmp / "redis")
    redis.start()
    env = {**os.environ, **FAST_RECOVERY_ENV, "NEWSDESK_REDIS_URL": redis.url,
           "NEWSDESK_API_KEYS": KEYS}  # fmt: skip
    stack = Stack(redis_url=redis.url, env=env, tmp=tmp)
    try:
        if workers:
            stack.worker(concurrency=2)
            stack.run("reconciler", "reconcile")
        stack.api()
        yield stack
    finally:
        stack.stop()
        redis.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API, workers and reconciler: documents complete."""
    with running_stack(tmp_path_factory.mktemp("live"), workers=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The API alone: documents stay queued."""
    with running_stack(tmp_path_factory.mktemp("idle"), workers=False) as stack:
        yield stack


class FaultyProxy:
    """An HTTP relay in front of the real API that loses chosen answers after the API acted on
    the request, and cuts the first event stream: the network faults a client must survive."""

    HOP = frozenset({"host", "connection", "keep-alive", "transfer-encoding", "content-length",
                     "content-encoding", "te", "upgrade", "proxy-connection"})  # fmt: skip

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.to_lose: dict[tuple[str, str], int] = {}
        self.cut_after_events: int | None = None
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.answers: list[tuple[str, str, int | None]] = []
        proxy = self

        class Relay(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy._relay(self)

            do_POST = do_DELETE = do_GET

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def lose_answers(self, method: str, path: str, count: int = 1) -> None:
        self.to_lose[(method, path)] = count

    def requests(self, method: str, path: str) -> list[dict[str, str]]:
        return [headers for m, p, headers in self.seen if m == method and p.split("?")[0] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _relay(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in self.HOP}
        path = handler.path.split("?")[0]
        self.seen.append(
            (handler.command, handler.path, {k.lower(): v for k, v in headers.items()})
        )
        with (
            httpx.Client(base_url=self.upstream, timeout=90) as upstream,
            upstream.stream(handler.command, handler.path, content=body, headers=headers) as answer,
        ):
            if path.endswith("/events") and answer.status_code == 200:
                self._stream(handler, answer)
                return
            answer.read()
            if self.to_lose.get((handler.command, path), 0) > 0:
                self.to_lose[(handler.command, path)] -= 1
                self.answers.append((handler.command, path, None))
                handler.close_connection = True  # the API acted on it; the client hears nothing
                return
            self.answers.append((handler.command, path, answer.status_code))
            self._head(handler, answer)
            handler.wfile.write(answer.content)

    def _head(self, handler: BaseHTTPRequestHandler, answer: httpx.Response) -> None:
        handler.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in self.HOP:
                handler.send_header(name, value)
        if not answer.headers.get("content-type", "").startswith("text/event-stream"):
            handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()

    def _stream(self, handler: BaseHTTPRequestHandler, answer: httpx.Response) -> None:
        self._head(handler, answer)
        cut, self.cut_after_events = self.cut_after_events, None  # only the first stream
        events, in_event = 0, False
        for line in answer.iter_lines():
            handler.wfile.write(f"{line}\n".encode())
            in_event = in_event or line.startswith("id:")
            if not line and in_event:
                events, in_event = events + 1, False
                if cut is not None and events >= cut:
                    handler.close_connection = True
                    return


@pytest.fixture
def proxy_factory() -> Iterator[Callable[[str], FaultyProxy]]:
    proxies: list[FaultyProxy] = []

    def make(upstream: str) -> FaultyProxy:
        proxies.append(FaultyProxy(upstream))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


# -- every method, blocking ----------------------------------------------------------------------


def test_a_document_goes_through_submit_wait_get_status_and_events(live: Stack) -> None:
    with Client(live.base_url, KEY) as client:
        accepted = client.submit(HTML, content_type="text/html", title="Given title",
                                 language="en", metadata={"desk": "world", "priority": 2},
                                 summary_sentences=2)  # fmt: skip
        assert accepted.status == "queued" and len(accepted.id) == 32
        view = client.wait(accepted.id, timeout=60)
        assert view.status == "completed", view
        assert view.options.title == "Given title" and view.options.metadata["priority"] == 2
        assert view.result is not None and view.result.summary is not None
        assert len(view.result.summary.sentences) == 2
        assert client.get(accepted.id) == view
        status = client.status(accepted.id)
        assert status.status == "completed" and set(status.stages) == set(view.stages)
        events = list(client.events(accepted.id))
    assert isinstance(events[0], QueuedEvent)
    stages = [(e.stage, e.stage_status) for e in events if isinstance(e, StageEvent)]
    for stage in ("clean", "entities", "summarize"):
        assert (stage, "running") in stages and (stage, "completed") in stages
    last = events[-1]
    assert isinstance(last, DocumentEvent) and last.document == view
    assert last.at is not None and abs(last.at - view.updated_at) < timedelta(seconds=5)


def test_the_event_stream_resumes_after_a_cut_without_loss_or_repeats(
    live: Stack, proxy_factory: Callable[[str], FaultyProxy]
) -> None:
    proxy = proxy_factory(live.base_url)
    proxy.cut_after_events = 2
    with Client(proxy.url, KEY, retries=QUICK) as client:
        doc_id = client.submit(ARTICLE).id
        followed = list(client.events(doc_id))
    with Client(live.base_url, KEY) as client:
        whole = list(client.events(doc_id))
    assert [e.event_id for e in followed] == [e.event_id for e in whole]
    assert isinstance(followed[-1], DocumentEvent) and followed[-1].status == "completed"
    opened = proxy.requests("GET", f"/v1/documents/{doc_id}/events")
    assert len(opened) == 2, "the stream was cut once and opened again"
    assert "last-event-id" not in opened[0]
    assert opened[1]["last-event-id"] == followed[1].event_id


def test_wait_long_polls_until_the_timeout_and_returns_the_unfinished_document(
    idle: Stack, proxy_factory: Callable[[str], FaultyProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = proxy_factory(idle.base_url)
    with Client(proxy.url, KEY) as client:
        doc_id = client.submit(ARTICLE).id
        began = time.monotonic()
        view = client.wait(doc_id, timeout=1.5)
        assert view.status == "queued" and 1.4 < time.monotonic() - began < 5
        monkeypatch.setattr(calls, "MAX_WAIT_SECONDS", 1.0)  # the server's 60 s ceiling, shorter
        began = time.monotonic()
        assert client.wait(doc_id, timeout=2.5).status == "queued"
        assert 2.4 < time.monotonic() - began < 6
    polls = proxy.requests("GET", f"/v1/documents/{doc_id}")
    assert len(polls) == 4, "one long poll, then three of at most a second each"


def test_submit_many_splits_past_a_thousand_items_and_replays_with_its_key(idle: Stack) -> None:
    items: list[calls.Item] = [f"Brief number {i}. The council met on Monday." for i in range(1203)]
    items[5] = {"content": "", "title": "empty"}
    items[1001] = DocumentSubmission(content="<p>Late news.</p>", content_type="text/html")
    items[1100] = {"content": "x", "summary_sentences": 99}
    with Client(idle.base_url, KEY) as client:
        answers = client.submit_many(items, idempotency_key="sdk-many-1")
        assert [len(a.items) for a in answers] == [1000, 203]
        assert [i.index for a in answers for i in a.items] == list(range(1203))
        rejected = [i.index for a in answers for i in a.items if i.status != 202]
        assert rejected == [5, 1100]
        assert answers[0].rejected == 1 and answers[1].accepted == 202
        problem = answers[0].items[5].problem
        assert problem is not None and "content" in problem.detail
        second = client.batch(answers[1].id)
        assert second.total == 203 and second.counts["queued"] == 202
        html_id = answers[1].items[1].id
        assert html_id is not None and client.get(html_id).content_type == "text/html"
        again = client.submit_many(items, idempotency_key="sdk-many-1")
        assert again == answers, "the same key and items answer the same batches"
        assert client.submit_many([]) == []
        by_size = client.submit_many([f"{'x' * 990} {i}" for i in range(3)], max_batch_bytes=2500)
        assert [len(a.items) for a in by_size] == [2, 1], "split by size as well as by count"
        assert [i.index for a in by_size for i in a.items] == [0, 1, 2]


def test_list_iterates_pages_newest_first(idle: Stack) -> None:
    since = datetime.now(UTC)
    with Client(idle.base_url, OTHER) as client:
        ids = [client.submit(f"{ARTICLE}\n\nEdition {i}.").id for i in range(5)]
        assert [d.id for d in client.list(since=since, page_size=2)] == ids[::-1]
        assert [d.id for d in client.list(since=since, limit=3, page_size=2)] == ids[::-1][:3]
        client.cancel(ids[1])
        assert [d.id for d in client.list(status="cancelled", since=since)] == [ids[1]]
        assert list(client.list(since=datetime.now(UTC) + timedelta(days=1))) == []


def test_cancel_stops_a_document_and_a_second_cancel_deletes_it(idle: Stack) -> None:
    with Client(idle.base_url, KEY) as client:
        doc_id = client.submit(ARTICLE).id
        client.cancel(doc_id)
        view = client.get(doc_id)
        assert view.status == "cancelled" and view.stages["clean"].attempts == 0
        client.cancel(doc_id)
        with pytest.raises(Gone) as gone:
            client.get(doc_id)
    assert gone.value.status == 410 and gone.value.code == "document_expired"


# -- typed errors --------------------------------------------------------------------------------


def test_errors_carry_the_problem_code_status_and_detail(idle: Stack) -> None:
    unknown = "0" * 32
    with Client(idle.base_url, KEY) as client:
        with pytest.raises(NotFound) as missing:
            client.get(unknown)
        assert (missing.value.status, missing.value.code) == (404, "document_not_found")
        assert unknown in missing.value.detail and unknown in str(missing.value)
        with pytest.raises(NotFound):
            client.status("../batches/x")  # ids are one path segment, whatever they hold
        with pytest.raises(InvalidDocument) as invalid:
            client.submit("   ")
        assert invalid.value.status == 422 and "content" in invalid.value.detail
        with pytest.raises(InvalidDocument, match="summary_sentences"):
            client.submit(ARTICLE, summary_sentences=99)
        first = client.submit("One article.", idempotency_key="sdk-conflict")
        assert client.submit("One article.", idempotency_key="sdk-conflict") == first
        with pytest.raises(Conflict) as reused:
            client.submit("Another article.", idempotency_key="sdk-conflict")
        assert (reused.value.status, reused.value.code) == (409, "idempotency_key_reused")
        theirs = client.submit(ARTICLE).id
    for key in ("wrong-key-0123456789", ""):
        with Client(idle.base_url, key) as client, pytest.raises(Unauthorized) as denied:
            client.get(theirs)
        assert (denied.value.status, denied.value.code) == (401, "unauthorized")
    with Client(idle.base_url, OTHER) as client, pytest.raises(NotFound):
        client.get(theirs)  # another key's document is simply unknown
    nowhere = f"http://127.0.0.1:{free_port()}"
    quick_to_fail = RetryPolicy(attempts=2, backoff=0.01)
    with (
        Client(nowhere, KEY, retries=quick_to_fail) as client,
        pytest.raises(ConnectionFailed) as refused,
    ):
        client.submit(ARTICLE)
    assert refused.value.status is None and not refused.value.maybe_applied
    assert isinstance(refused.value.__cause__, httpx.ConnectError)


def test_quota_size_and_storage_limits_raise_their_errors(
    idle: Stack, stack_factory: Callable[[str], Stack]
) -> None:
    limited = stack_factory(idle.redis_url)
    limited.env.update({"NEWSDESK_API_KEYS": KEYS, "NEWSDESK_QUOTA_RATE_PER_SECOND": "1",
                        "NEWSDESK_QUOTA_BURST": "1", "NEWSDESK_MAX_DOCUMENT_BYTES": "20000"})  # fmt: skip
    limited.api()
    with Client(limited.base_url, OTHER, retries=RetryPolicy(attempts=1)) as client:
        with pytest.raises(DocumentTooLarge) as large:
            client.submit("x" * 30_000)
        assert isinstance(large.value, InvalidDocument) and large.value.status == 413
        client.submit("Within the quota.")
        with pytest.raises(QuotaExceeded) as limited_error:
            client.submit("Over the quota.")
    assert limited_error.value.status == 429 and limited_error.value.retry_after == 1.0
    with Client(limited.base_url, OTHER) as client:  # the default policy honours Retry-After
        time.sleep(1.1)
        client.submit("Within the quota again.")
        began = time.monotonic()
        client.submit("Retried after a second.")
        assert time.monotonic() - began >= 0.9
    full = stack_factory(idle.redis_url)
    full.env.update({"NEWSDESK_API_KEYS": KEYS, "NEWSDESK_STORAGE_HIGH_WATER": "0.0001"})
    full.api()
    with Client(full.base_url, KEY) as client, pytest.raises(StorageFull) as storage:
        client.submit(ARTICLE)
    assert isinstance(storage.value, Unavailable) and storage.value.status == 507
    assert storage.value.code == "storage_full" and storage.value.retry_after == 60


# -- retries that never make a second document ---------------------------------------------------


def _owned_since(client: Client, since: datetime) -> list[str]:
    return [d.id for d in client.list(since=since)]


def test_a_lost_answer_is_retried_with_the_same_key_and_makes_one_document(
    idle: Stack, proxy_factory: Callable[[str], FaultyProxy]
) -> None:
    proxy = proxy_factory(idle.base_url)
    proxy.lose_answers("POST", "/v1/documents")
    proxy.lose_answers("POST", "/v1/batches")
    since = datetime.now(UTC)
    with Client(proxy.url, OTHER, retries=QUICK) as client:
        accepted = client.submit(f"{ARTICLE}\n\nOnce.")
        answers = client.submit_many([f"{ARTICLE}\n\nBatch {i}." for i in range(3)])
        listed = _owned_since(client, since)
    posts = proxy.requests("POST", "/v1/documents")
    assert len(posts) == 2 and posts[0]["idempotency-key"] == posts[1]["idempotency-key"]
    batches = proxy.requests("POST", "/v1/batches")
    assert len(batches) == 2 and batches[0]["idempotency-key"] == batches[1]["idempotency-key"]
    assert [a for a in proxy.answers if a[0] == "POST"] == [
        ("POST", "/v1/documents", None), ("POST", "/v1/documents", 202),
        ("POST", "/v1/batches", None), ("POST", "/v1/batches", 202),
    ]  # fmt: skip
    batch_ids = [item.id for item in answers[0].items]
    assert sorted(listed) == sorted([accepted.id, *batch_ids]), "one document per submission"


def test_a_cancel_whose_answer_was_lost_is_not_sent_again_as_a_delete(
    idle: Stack, proxy_factory: Callable[[str], FaultyProxy]
) -> None:
    proxy = proxy_factory(idle.base_url)
    with Client(proxy.url, KEY, retries=QUICK) as client:
        doc_id = client.submit(ARTICLE).id
        proxy.lose_answers("DELETE", f"/v1/documents/{doc_id}")
        client.cancel(doc_id)
        assert client.get(doc_id).status == "cancelled", "cancelled, not deleted"
    assert len(proxy.requests("DELETE", f"/v1/documents/{doc_id}")) == 1


def test_a_submit_during_a_redis_outage_makes_one_document_once_redis_is_back(
    redis_factory: Callable[[], RedisServer],
    stack_factory: Callable[[str], Stack],
    proxy_factory: Callable[[str], FaultyProxy],
) -> None:
    redis = redis_factory()
    stack = stack_factory(redis.url)
    stack.env["NEWSDESK_RETRY_AFTER_SECONDS"] = "1"
    stack.worker(concurrency=1)
    stack.run("reconciler", "reconcile")
    stack.api()
    proxy = proxy_factory(stack.base_url)
    redis.stop()
    once = RetryPolicy(attempts=1)
    with Client(proxy.url, retries=once) as client, pytest.raises(Unavailable) as down:
        client.submit(ARTICLE)
    assert (down.value.status, down.value.code, down.value.retry_after) == (
        503, "storage_unavailable", 1.0)  # fmt: skip
    outcome: list[object] = []
    with Client(proxy.url, retries=QUICK) as client:
        submitting = threading.Thread(target=lambda: outcome.append(client.submit(ARTICLE)))
        submitting.start()
        time.sleep(2.5)
        redis.start()
        submitting.join(60)
        assert outcome, "the submit returned once Redis was back"
        doc_id = outcome[0].id  # type: ignore[attr-defined]
        assert client.wait(doc_id, timeout=120).status == "completed", stack.logs()
        assert _owned_since(client, datetime.now(UTC) - timedelta(minutes=5)) == [doc_id]
    statuses = [status for method, _, status in proxy.answers if method == "POST"]
    assert statuses.count(503) >= 2 and statuses[-1] == 202


def test_a_submit_while_the_api_restarts_makes_one_document(
    redis_factory: Callable[[], RedisServer], stack_factory: Callable[[str], Stack]
) -> None:
    redis = redis_factory()
    stack = stack_factory(redis.url)
    api = stack.api()
    port = stack.api_port
    api.kill()
    outcome: list[object] = []
    with Client(stack.base_url, retries=QUICK) as client:
        began = time.monotonic()
        submitting = threading.Thread(target=lambda: outcome.append(client.submit(ARTICLE)))
        submitting.start()
        time.sleep(1.5)
        stack.run("api", "api", "--port", str(port))
        submitting.join(60)
        assert outcome and time.monotonic() - began > 1.5, stack.logs()
        listed = _owned_since(client, datetime.now(UTC) - timedelta(minutes=5))
    assert listed == [outcome[0].id]  # type: ignore[attr-defined]


# -- the same, from asyncio ----------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_async_client_does_every_call(live: Stack) -> None:
    since = datetime.now(UTC)
    async with AsyncClient(live.base_url, OTHER) as client:
        accepted = await client.submit(HTML, content_type="text/html", summary_sentences=1)
        events = [event async for event in client.events(accepted.id)]
        assert isinstance(events[0], QueuedEvent) and isinstance(events[-1], DocumentEvent)
        view = await client.wait(accepted.id, timeout=60)
        assert view.status == "completed" and events[-1].document == view
        assert view.result is not None and view.result.summary is not None
        assert len(view.result.summary.sentences) == 1
        assert await client.get(accepted.id) == view
        assert (await client.status(accepted.id)).status == "completed"
        answers = await client.submit_many([ARTICLE, {"content": ""}])
        assert [i.status for i in answers[0].items] == [202, 422]
        batch = await client.batch(answers[0].id)
        assert batch.total == 2 and batch.items[1] is None
        batch_doc = answers[0].items[0].id
        assert batch_doc is not None
        listed = [d.id async for d in client.list(since=since, page_size=1)]
        assert listed == [batch_doc, accepted.id]
        await client.cancel(accepted.id)  # finished: deleted
        with pytest.raises(Gone):
            await client.get(accepted.id)
        with pytest.raises(NotFound) as missing:
            await client.status("f" * 32)
        assert missing.value.code == "document_not_found"
        assert (await client.wait(batch_doc, timeout=60)).status == "completed"


@pytest.mark.anyio
async def test_the_async_client_retries_a_lost_answer_safely(
    idle: Stack, proxy_factory: Callable[[str], FaultyProxy]
) -> None:
    proxy = proxy_factory(idle.base_url)
    proxy.lose_answers("POST", "/v1/documents", count=2)
    since = datetime.now(UTC)
    async with AsyncClient(proxy.url, KEY, retries=QUICK) as client:
        accepted = await client.submit(f"{ARTICLE}\n\nAsync once.")
        listed = [d.id async for d in client.list(since=since)]
    assert len(proxy.requests("POST", "/v1/documents")) == 3
    assert listed == [accepted.id]
    with pytest.raises(NewsdeskError):
        async with AsyncClient(proxy.url, KEY, retries=RetryPolicy(attempts=1)) as client:
            proxy.lose_answers("POST", "/v1/documents")
            await client.submit("No retries: the lost answer is an error.")


# -- pure parts ----------------------------------------------------------------------------------


def test_the_sse_decoder_follows_the_standard() -> None:
    decoder = SSEDecoder()
    lines = ["id: 1-0", "event: stage", "data: {\"a\":", "data: 1}", "", ": keep-alive", "",
             "data:no space", "retry: 3000", ""]  # fmt: skip
    events = [e for e in map(decoder.decode, lines) if e is not None]
    assert [(e.event, e.data, e.id) for e in events] == [
        ("stage", '{"a":\n1}', "1-0"), ("message", "no space", "1-0")]  # fmt: skip
    assert events[1].retry == 3000 and decoder.last_event_id == "1-0"


def test_retry_delays_back_off_honour_retry_after_and_stop() -> None:
    policy = RetryPolicy(attempts=4, backoff=1.0, max_backoff=3.0, max_retry_after=10)
    unavailable = Unavailable("down", status=503, maybe_applied=True)
    assert 0.5 <= (policy.delay(1, unavailable) or 0) <= 1.0
    assert 1.5 <= (policy.delay(3, unavailable) or 0) <= 3.0
    assert policy.delay(4, unavailable) is None, "at most four attempts"
    assert policy.delay(1, unavailable, resendable=False) is None
    assert policy.delay(1, QuotaExceeded("slow down", retry_after=7.0)) == 7.0
    assert policy.delay(1, QuotaExceeded("much later", retry_after=11.0)) is None
    assert policy.delay(1, InvalidDocument("bad")) is None
    assert retry_after_seconds("2") == 2.0 and retry_after_seconds("soon") is None
    assert 0 <= (retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") or 0) < 1


def test_the_sdk_needs_neither_the_server_nor_the_workers() -> None:
    probe = (
        "import sys, newsdesk.client\n"
        "heavy = {'redis', 'celery', 'fastapi', 'spacy', 'services', 'workers', 'records'}\n"
        "loaded = heavy & {name.split('.')[0] for name in sys.modules}\n"
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=REPO, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
