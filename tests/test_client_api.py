"""Waiting, event streams, webhooks, batches, listing, cancelling and cheap polling — against
the real stack (redis-server, workers, reconciler, API)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from redis import Redis

from newsdesk.embedded_redis import free_port
from tests.conftest import SEEDS, RedisServer, Stack, wait_for_status

pytestmark = pytest.mark.e2e
SECRET = "webhook-test-secret"
ARTICLE = (SEEDS / "article.txt").read_text()


def _stack(stack_factory: Callable[[str], Stack], url: str, *, workers: bool = True) -> Stack:
    stack = stack_factory(url)
    stack.env.update({"NEWSDESK_WEBHOOK_SECRET": SECRET, "NEWSDESK_WEBHOOK_ALLOW_PRIVATE": "true",
                      "NEWSDESK_WEBHOOK_BACKOFF_SECONDS": "0.5"})  # fmt: skip
    if workers:
        stack.worker(concurrency=2)
        stack.run("webhooks", "worker", "--queues", "webhooks", "--pool", "threads",
                  "--concurrency", "4")  # fmt: skip
    stack.run("reconciler", "reconcile")
    stack.api()
    return stack


@pytest.fixture
def stack(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack]
) -> Stack:
    return _stack(stack_factory, redis_server.url)


@pytest.fixture
def idle_stack(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack]
) -> Stack:
    """The API and reconciler, but no worker: documents stay queued."""
    return _stack(stack_factory, redis_server.url, workers=False)


def _submit(client: httpx.Client, text: str = ARTICLE, **options: object) -> str:
    response = client.post("/v1/documents", json={"content": text, **options})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_long_poll_answers_as_soon_as_the_document_finishes(stack: Stack) -> None:
    with stack.client() as client:
        doc_id = _submit(client)
        response = client.get(f"/v1/documents/{doc_id}", params={"wait": 60}, timeout=70)
        answered = datetime.now(UTC)
    view = response.json()
    assert response.status_code == 200 and view["status"] == "completed"
    finished = datetime.fromisoformat(view["updated_at"])
    late = (answered - finished).total_seconds()
    print(f"\nlong-poll answered {late:.2f}s after the document finished")
    assert late < 5, "woken by the completion, not by the end of the wait"


def _calls(redis_client: Redis, command: str) -> int:
    return int(redis_client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def _waiting(client: httpx.Client) -> float:
    scrape = client.get("/metrics").text
    line = next(x for x in scrape.splitlines() if x.startswith("newsdesk_api_waiting_requests "))
    return float(line.split()[1])


def test_a_long_poll_sleeps_through_the_stages_and_reads_the_results_once_at_the_end(
    idle_stack: Stack, redis_client: Redis
) -> None:
    """The document is still queued when the request starts waiting (no worker yet); its
    stages then change it five times, and the stage outputs (one MGET) are read only at the
    start and for the answer."""
    with idle_stack.client() as client:
        doc_id = _submit(client)
        outputs_read = _calls(redis_client, "mget")
        answers: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: answers.append(
            client.get(f"/v1/documents/{doc_id}", params={"wait": 60}, timeout=70)))  # fmt: skip
        waiting.start()
        deadline = time.monotonic() + 10
        while _waiting(client) < 1:
            assert time.monotonic() < deadline, "the long-poll never started waiting"
            time.sleep(0.05)
        idle_stack.worker(concurrency=1)
        waiting.join(80)
        outputs_read = _calls(redis_client, "mget") - outputs_read
    assert answers and answers[0].status_code == 200, answers
    view = answers[0].json()
    assert view["status"] == "completed" and view["result"]["summary"]["sentences"]
    events = redis_client.xlen(f"newsdesk:doc:{doc_id}:events")
    assert events >= 5, "the document changed several times while the request waited"
    assert outputs_read == 2


def test_long_poll_gives_up_after_the_wait_and_a_thousand_waiters_poll_nothing(
    idle_stack: Stack, redis_client: Redis
) -> None:
    with idle_stack.client() as client:
        doc_id = _submit(client)
        began = time.monotonic()
        view = client.get(f"/v1/documents/{doc_id}", params={"wait": 1.5}).json()
        assert view["status"] == "queued" and time.monotonic() - began >= 1.4
        too_long = client.get(f"/v1/documents/{doc_id}", params={"wait": 61})
        assert too_long.status_code == 422
    api = next(s for s in idle_stack.services if s.name == "api")
    assert api.process is not None

    def cpu_seconds() -> float:
        fields = Path(f"/proc/{api.process.pid}/stat").read_text().rsplit(")", 1)[1].split()  # type: ignore[union-attr]
        return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks

    def commands() -> int:
        return int(redis_client.info("stats")["total_commands_processed"])

    async def waiting_now(ac: httpx.AsyncClient) -> float:
        scrape = (await ac.get("/metrics")).text
        line = next(
            x for x in scrape.splitlines() if x.startswith("newsdesk_api_waiting_requests ")
        )
        return float(line.split()[1])

    async def wait_many() -> tuple[list[int], float, int]:
        limits = httpx.Limits(max_connections=1100)
        async with httpx.AsyncClient(
            base_url=idle_stack.base_url, limits=limits, timeout=120
        ) as ac:
            tasks = [asyncio.create_task(ac.get(f"/v1/documents/{doc_id}", params={"wait": 45}))
                     for _ in range(1000)]  # fmt: skip
            deadline = time.monotonic() + 40
            while await waiting_now(ac) < 1000:  # every request has arrived and waits
                assert time.monotonic() < deadline, "the waiting requests never all arrived"
                await asyncio.sleep(0.5)
            cpu_from, commands_from = cpu_seconds(), commands()
            await asyncio.sleep(3)
            idle_cpu, idle_commands = cpu_seconds() - cpu_from, commands() - commands_from
            answers = await asyncio.gather(*tasks)
        return [a.status_code for a in answers], idle_cpu, idle_commands

    statuses, idle_cpu, idle_commands = asyncio.run(wait_many())
    print(
        f"\n1000 waiting requests, 3 s: {idle_cpu:.2f} CPU seconds, {idle_commands} Redis commands"
    )
    assert statuses == [200] * 1000, sorted(set(statuses))
    assert idle_commands < 200, "the waiters do not poll Redis (the reconciler's passes remain)"
    assert idle_cpu < 1.0, "nor spin"


def _read_events(response: httpx.Response, limit: int | None = None) -> list[tuple[str, str, str]]:
    events, current = [], {}
    for line in response.iter_lines():
        if not line:
            if "event" in current:
                events.append((current["id"], current["event"], current["data"]))
                if current["event"] == "document" or (limit and len(events) == limit):
                    return events
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            current[name] = value
    return events


def test_the_event_stream_reports_each_stage_then_the_result_and_resumes_without_loss(
    stack: Stack,
) -> None:
    with stack.client() as client:
        doc_id = _submit(client)
        with client.stream("GET", f"/v1/documents/{doc_id}/events", timeout=60) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            first = _read_events(response, limit=2)
        resume = {"Last-Event-ID": first[-1][0]}
        with client.stream("GET", f"/v1/documents/{doc_id}/events", headers=resume,
                           timeout=60) as response:  # fmt: skip
            rest = _read_events(response)
        with client.stream("GET", f"/v1/documents/{doc_id}/events", timeout=60) as response:
            whole = _read_events(response)
    assert [e[0] for e in first + rest] == [e[0] for e in whole], "nothing lost or repeated"
    kinds = [(kind, json.loads(data).get("stage"), json.loads(data).get("stage_status"))
             for _, kind, data in whole[:-1]]  # fmt: skip
    assert kinds[0] == ("queued", None, None)
    for stage in ("clean", "entities", "summarize"):
        assert ("stage", stage, "running") in kinds and ("stage", stage, "completed") in kinds
    final = json.loads(whole[-1][2])
    assert whole[-1][1] == "document" and final["status"] == "completed"
    assert final["result"]["summary"]["sentences"]


class _Receiver:
    """A webhook receiver on loopback that can be down, then up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    found = _Receiver()
    yield found
    found.stop()


def verify(secret: str, header: str, body: bytes, *, tolerance: float = 300) -> bool:
    """What a receiver does (the README shows the same): check the timestamp and signature."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return abs(time.time() - timestamp) <= tolerance and hmac.compare_digest(expected, parts["v1"])


def test_a_signed_webhook_is_retried_while_the_receiver_is_down_then_delivered(
    stack: Stack, receiver: _Receiver
) -> None:
    with stack.client() as client:
        doc_id = _submit(client, callback_url=f"http://127.0.0.1:{receiver.port}/hook")
        wait_for_status(client, doc_id, {"completed"})
        deadline = time.monotonic() + 30
        while client.get(f"/v1/documents/{doc_id}").json()["webhook"]["attempts"] < 2:
            assert time.monotonic() < deadline, stack.logs()
            time.sleep(0.2)
        receiver.start()
        while not receiver.received:
            assert time.monotonic() < deadline + 30, stack.logs()
            time.sleep(0.2)
        time.sleep(0.5)
        view = client.get(f"/v1/documents/{doc_id}").json()
    headers, body = receiver.received[0]
    assert verify(SECRET, headers["newsdesk-signature"], body)
    assert not verify("another secret", headers["newsdesk-signature"], body)
    assert headers["newsdesk-event"] == "document.completed" and headers["newsdesk-delivery"]
    delivered = json.loads(body)
    assert delivered["id"] == doc_id and delivered["result"]["summary"]["sentences"]
    webhook = view["webhook"]
    assert webhook["status"] == "delivered" and webhook["attempts"] >= 3
    assert webhook["last_status_code"] == 204 and webhook["delivered_at"]
    assert len(receiver.received) == 1, "delivered once"


def test_callback_urls_to_private_addresses_or_without_a_secret_are_refused(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack]
) -> None:
    stack = stack_factory(redis_server.url)
    stack.env["NEWSDESK_WEBHOOK_SECRET"] = SECRET
    stack.api()
    with stack.client() as client:
        for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/",
                    "http://localhost/x", "ftp://example.com/x"):  # fmt: skip
            response = client.post("/v1/documents", json={"content": ARTICLE, "callback_url": url})
            assert response.status_code == 422 and "callback_url" in response.json()["detail"], url
        assert client.post("/v1/documents", json={
            "content": ARTICLE, "callback_url": "https://hooks.example.com/n"}).status_code == 202  # fmt: skip


def test_a_batch_gets_per_item_results_and_counts_by_status(stack: Stack) -> None:
    items = [{"content": f"{ARTICLE}\n\nEdition {i}."} for i in range(5)]
    items.insert(2, {"content": "", "title": "empty"})
    items.append({"content": "x", "summary_sentences": 99})
    with stack.client() as client:
        response = client.post("/v1/batches", json=items)
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["accepted"] == 5 and answer["rejected"] == 2
        assert [i["status"] for i in answer["items"]] == [202, 202, 422, 202, 202, 202, 422]
        assert "content" in answer["items"][2]["problem"]["detail"]
        ndjson = "\n".join(json.dumps(i) for i in items[:2]) + "\nnot json\n"
        second = client.post("/v1/batches", content=ndjson.encode(),
                             headers={"Content-Type": "application/x-ndjson"}).json()  # fmt: skip
        assert [i["status"] for i in second["items"]] == [202, 202, 422]
        for item in answer["items"]:
            if item["id"]:
                wait_for_status(client, item["id"], {"completed"}, timeout=120)
        view = client.get(f"/v1/batches/{answer['id']}").json()
        assert view["counts"]["completed"] == 5 and view["counts"]["rejected"] == 2
        assert view["items"] == [i["id"] for i in answer["items"]]
        too_many = client.post("/v1/batches", json=[{"content": "x"}] * 1001)
        assert too_many.status_code == 422 and "1000" in too_many.json()["detail"]
        keyed = {"Idempotency-Key": "batch-1"}
        once = client.post("/v1/batches", json=items[:2], headers=keyed).json()
        again = client.post("/v1/batches", json=items[:2], headers=keyed)
        assert again.json() == once and again.headers["Idempotent-Replayed"] == "true"


def test_listing_pages_newest_first_stably_under_concurrent_inserts(idle_stack: Stack) -> None:
    with idle_stack.client() as client:
        ids = [_submit(client, f"{ARTICLE} {i}") for i in range(7)]
        first = client.get("/v1/documents", params={"limit": 3}).json()
        assert [d["id"] for d in first["items"]] == ids[::-1][:3]
        newer = _submit(client, "inserted between pages " + ARTICLE)
        second = client.get(
            "/v1/documents", params={"limit": 3, "cursor": first["next_cursor"]}
        ).json()
        third = client.get(
            "/v1/documents", params={"limit": 3, "cursor": second["next_cursor"]}
        ).json()
        assert [d["id"] for d in second["items"] + third["items"]] == ids[::-1][3:]
        assert third["next_cursor"] is None
        latest = client.get("/v1/documents", params={"limit": 1}).json()["items"]
        assert latest[0]["id"] == newer
        client.delete(f"/v1/documents/{ids[0]}")
        cancelled = client.get("/v1/documents", params={"status": "cancelled"}).json()["items"]
        assert [d["id"] for d in cancelled] == [ids[0]]
        later = client.get("/v1/documents", params={"since": "2999-01-01T00:00:00Z"}).json()
        assert later["items"] == []
        bad = client.get("/v1/documents", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422


def test_cancel_stops_queued_and_running_work_and_delete_answers_410(
    idle_stack: Stack, redis_client: Redis
) -> None:
    with idle_stack.client() as client:
        queued = _submit(client)
        assert client.delete(f"/v1/documents/{queued}").status_code == 204
        view = client.get(f"/v1/documents/{queued}").json()
        assert view["status"] == "cancelled"
        assert {s["status"] for s in view["stages"].values()} == {"cancelled"}
        body = "\n\n".join([ARTICLE] * 30)
        running = _submit(client, body)
        idle_stack.worker(concurrency=1)
        deadline = time.monotonic() + 60
        while (
            client.get(f"/v1/documents/{running}").json()["stages"]["entities"]["status"]
            != "running"
        ):
            assert time.monotonic() < deadline, idle_stack.logs()
            time.sleep(0.05)
        assert client.delete(f"/v1/documents/{running}").status_code == 204
        time.sleep(8)  # the running stage finishes and finds the document cancelled
        view = client.get(f"/v1/documents/{running}").json()
        assert view["status"] == "cancelled" and view["result"]["entities"] is None, view
        assert "result discarded" in idle_stack.logs()
        view = client.get(f"/v1/documents/{queued}").json()
        assert view["stages"]["clean"]["attempts"] == 0, "a cancelled document never runs"
        assert client.delete(f"/v1/documents/{queued}").status_code == 204  # now: delete
        gone = client.get(f"/v1/documents/{queued}")
        assert gone.status_code == 410 and gone.json()["code"] == "document_expired"
        assert not redis_client.exists(f"newsdesk:doc:{queued}:content")


def test_polling_is_cheap_with_etags_and_a_status_read(stack: Stack) -> None:
    with stack.client() as client:
        doc_id = _submit(client)
        final = wait_for_status(client, doc_id, {"completed"})
        response = client.get(f"/v1/documents/{doc_id}")
        tag = response.headers["ETag"]
        assert response.json() == final
        unchanged = client.get(f"/v1/documents/{doc_id}", headers={"If-None-Match": tag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        stale = client.get(f"/v1/documents/{doc_id}", headers={"If-None-Match": 'W/"old"'})
        assert stale.status_code == 200
        status = client.get(f"/v1/documents/{doc_id}/status").json()
        assert status["status"] == "completed" and "result" not in status
        assert set(status["stages"]) == {"clean", "entities", "summarize"}
        workers = client.get("/readyz/workers").json()
        assert workers["ready"] and workers["missing_queues"] == []
        assert {q for w in workers["workers"] for q in w["queues"]} >= {"clean", "webhooks"}
