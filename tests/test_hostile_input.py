"""Hostile and odd input through the real stack: a clear 4xx, or a bounded-time result — never a
500, a hung worker or a stuck document. Real redis-server, worker, reconciler and API."""

from __future__ import annotations

import base64
import contextlib
import json
import pickle
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from redis import Redis

from records.layout import Keys
from tests.conftest import SEEDS, RedisServer, Stack, wait_for_status

pytestmark = pytest.mark.e2e
LIMIT = 5 * 1024 * 1024


@pytest.fixture
def stack(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack]
) -> Stack:
    stack = stack_factory(redis_server.url)
    stack.env["NEWSDESK_BODY_TIMEOUT_SECONDS"] = "1"
    stack.worker(concurrency=2)
    stack.run("reconciler", "reconcile")
    stack.api()
    return stack


def _finish(
    client: httpx.Client, response: httpx.Response, timeout: float = 120
) -> dict[str, object]:
    assert response.status_code == 202, response.text
    return wait_for_status(client, response.json()["id"], {"completed", "failed"}, timeout=timeout)


def _offsets_hold(view: dict[str, object]) -> None:
    result = view["result"]
    assert isinstance(result, dict)
    text = result["clean"]["text"]
    for mention in result["entities"]["mentions"]:
        assert text[mention["start"] : mention["end"]] == mention["text"]
    for sentence in result["summary"]["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]


def test_a_chunked_upload_past_the_limit_is_refused_before_it_is_all_read(stack: Stack) -> None:
    assert stack.api_port is not None
    with socket.create_connection(("127.0.0.1", stack.api_port), timeout=10) as sock:
        sock.sendall(b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
        chunk = b"a" * 65536
        sent, answer = 0, b""
        sock.settimeout(0.05)
        while sent < 4 * LIMIT:  # far more than the limit, if the server kept reading
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                answer += sock.recv(65536)
                break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(5)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            answer += sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"document_too_large" in answer
    assert sent < 2 * LIMIT, f"answered after {sent} bytes, before reading everything"


def test_a_body_that_stops_arriving_is_answered_408(stack: Stack) -> None:
    assert stack.api_port is not None
    with socket.create_connection(("127.0.0.1", stack.api_port), timeout=10) as sock:
        sock.sendall(b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: 1000\r\n\r\nonly part of it")  # fmt: skip
        began = time.monotonic()
        answer = _read_answer(sock)
        waited = time.monotonic() - began
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request_timeout" in answer and waited < 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "x", "metadata": {f"k{i}": i for i in range(5000)}}, "metadata"),
        ({"content": "x", "metadata": {"a": {"b": {"c": 1}}}}, "metadata.a"),
        ({"content": "x" * 10, "summary_sentences": 10**30}, "summary_sentences"),
    ],
)
def test_oversized_or_nested_metadata_is_422(
    stack: Stack, body: dict[str, object], field: str
) -> None:
    with stack.client() as client:
        response = client.post("/v1/documents", json=body)
    assert response.status_code == 422 and field in response.json()["detail"], response.text


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_are_refused_not_stored_as_null(stack: Stack, literal: bytes) -> None:
    body = b'{"content": "news", "metadata": {"score": ' + literal + b"}}"
    with stack.client() as client:
        response = client.post("/v1/documents", content=body,
                               headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 422 and "metadata.score" in response.json()["detail"]


def test_a_10_kb_idempotency_key_is_422(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/documents", content=b"news", headers={
            "Content-Type": "text/plain", "Idempotency-Key": "k" * 10_240})  # fmt: skip
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["detail"]


def test_utf16_with_a_byte_order_mark_nul_bytes_emoji_and_rtl_text(stack: Stack) -> None:
    article = (
        "Ministers met in Jerusalem on Monday 👨‍👩‍👧 to discuss the budget.\n\n"
        "The talks, led by Benjamin Netanyahu, ended without agreement 🇮🇱. "
        "Officials said they would meet again next week.\n\n"
        "A statement in Hebrew read: שלום עולם, הפגישה הסתיימה. Analysts in London "
        "expect a deal before the end of the month. The opposition called it a failure."
    )
    with stack.client() as client:
        utf16 = client.post("/v1/documents", content=article.encode("utf-16"),
                            headers={"Content-Type": "text/plain"})  # fmt: skip
        nul = client.post("/v1/documents", content=article.replace(" ", " \x00", 3).encode(),
                          headers={"Content-Type": "text/plain"})  # fmt: skip
        for response in (utf16, nul):
            view = _finish(client, response)
            assert view["status"] == "completed", view
            _offsets_hold(view)
            text = view["result"]["clean"]["text"]  # type: ignore[index]
            assert "\x00" not in text and "Netanyahu" in text and "שלום עולם" in text


def test_a_planted_pickle_or_junk_message_is_never_run_and_the_worker_stays_up(
    stack: Stack, redis_client: Redis, tmp_path: Path
) -> None:
    proof = tmp_path / "pickle-ran"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.system, (f"touch {proof}",))

    body = base64.b64encode(pickle.dumps(((), {}, {}))[:0] + pickle.dumps(Exploit())).decode()
    envelope = {
        "body": body, "content-encoding": "binary", "content-type": "application/x-python-serialize",
        "headers": {"lang": "py", "task": "newsdesk.clean", "id": "evil", "retries": 0},
        "properties": {"delivery_tag": "evil", "delivery_info": {"exchange": "", "routing_key": "clean"},
                       "body_encoding": "base64", "priority": 0, "delivery_mode": 2},
    }  # fmt: skip
    redis_client.lpush("clean", json.dumps(envelope))
    redis_client.lpush("clean", b"\x00\xffnot json at all")
    redis_client.lpush("entities", json.dumps({"properties": "wrong shape"}))
    redis_client.lpush("summarize", json.dumps({**envelope, "headers": {"task": "os.system"},
                                                "content-type": "application/json"}))  # fmt: skip
    time.sleep(2)
    with stack.client() as client:
        article = (SEEDS / "article.txt").read_text()
        view = _finish(client, client.post("/v1/documents", json={"content": article}))
    assert view["status"] == "completed", stack.logs()
    assert not proof.exists(), "the pickled payload was never unpickled"
    assert all(s.process is not None and s.process.poll() is None for s in stack.services)
    letters = [json.loads(x) for x in redis_client.lrange(Keys().dead_letters, 0, -1)]  # type: ignore[union-attr]
    assert sorted(letter["queue"] for letter in letters) == [
        "clean",
        "clean",
        "entities",
        "summarize",
    ]
    assert redis_client.llen("clean") == redis_client.llen("summarize") == 0


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<div>" * 100_000 + "Deep text. " * 50 + "</div>" * 100_000, id="100k-deep"),
        pytest.param(
            "<html><body><p>" + "word " * 980_000 + "</p></body></html>", id="5MB-one-tag"
        ),
        pytest.param(
            "<html><body>" + "<p>a</p>" * 600_000 + "</body></html>", id="600k-paragraphs"
        ),
    ],
)
def test_pathological_pages_end_in_bounded_time_with_a_clear_outcome(
    stack: Stack, html: str
) -> None:
    assert len(html.encode()) <= LIMIT
    began = time.monotonic()
    with stack.client() as client:
        view = _finish(client, client.post("/v1/documents", content=html.encode(),
                                           headers={"Content-Type": "text/html"}), timeout=240)  # fmt: skip
    took = time.monotonic() - began
    print(f"\n{len(html)} characters: {view['status']} in {took:.1f}s")
    if view["status"] == "failed":
        error = view["error"]
        assert isinstance(error, dict)
        assert error["code"] in {"unprocessable_document", "stage_timeout"}, error
        assert error["message"]
    else:
        _offsets_hold(view)
    assert all(s["attempts"] <= 1 for s in view["stages"].values()), "no stage was run twice"  # type: ignore[union-attr]


def _read_answer(sock: socket.socket) -> bytes:
    """One whole HTTP answer: its head, then as many body bytes as Content-Length says."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        if not (chunk := sock.recv(65536)):
            return answer
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
    while len(body) < length and (chunk := sock.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body
