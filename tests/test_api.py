"""The HTTP contract against a real Redis (no worker): validation, errors, storage, queueing."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from redis import Redis

from contracts.wire import Stage
from newsdesk.embedded_redis import free_port
from records.layout import Keys
from records.transitions import tombstone_value
from services.app import create_app
from services.settings import ApiSettings
from services.warm_up import warm_up
from tests.conftest import SEEDS, RedisServer

UNKNOWN_ID = "0123456789abcdef0123456789abcdef"

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def _client(redis_url: str, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process over ASGI, with its lifespan (Redis pool, Celery producer) running."""
    settings = ApiSettings(redis_url=redis_url, redis_timeout_seconds=0.5, **overrides)  # type: ignore[arg-type]
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://newsdesk") as client:
            yield client


@pytest.fixture
async def api(redis_server: RedisServer, redis_client: Redis) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(redis_server.url) as client:
        yield client


def _assert_problem(response: object, status: int, code: str, *mentions: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert set(body) == PROBLEM_FIELDS
    assert body["status"] == status and body["code"] == code
    for word in mentions:
        assert word in str(body["detail"]), body
    return body


async def test_raw_text_is_stored_and_its_first_stage_queued(
    api: httpx.AsyncClient, redis_client: Redis
) -> None:
    article = (SEEDS / "article.txt").read_text()
    response = await api.post(
        "/v1/documents", content=article.encode(), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 202
    doc_id = response.json()["id"]
    assert response.json() == {"id": doc_id, "status": "queued"}
    assert response.headers["Location"] == f"/v1/documents/{doc_id}"
    keys = Keys()
    assert redis_client.get(keys.content(doc_id)) == article.encode()
    assert redis_client.zscore(keys.pending, doc_id) is not None
    queued = [json.loads(m) for m in redis_client.lrange("clean", 0, -1)]
    assert [m["headers"]["task"] for m in queued] == ["newsdesk.clean"]
    assert doc_id in json.dumps(queued)
    assert article[:50] not in json.dumps(queued), "messages carry ids, not text"


async def test_json_submission_keeps_its_options(api: httpx.AsyncClient) -> None:
    body = {
        "content": "<html><body><p>Hello there, world.</p></body></html>",
        "content_type": "text/html",
        "title": "Greeting",
        "url": "https://example.com/a",
        "language": "en",
        "metadata": {"desk": "world", "priority": 2, "breaking": False},
        "summary_sentences": 5,
    }
    doc_id = (await api.post("/v1/documents", json=body)).json()["id"]
    view = (await api.get(f"/v1/documents/{doc_id}")).json()
    assert view["status"] == "queued"
    assert view["content_type"] == "text/html"
    assert view["options"]["summary_sentences"] == 5
    assert view["options"]["metadata"] == {"desk": "world", "priority": 2, "breaking": False}
    assert set(view["stages"]) == {"clean", "entities", "summarize"}
    assert all(s["status"] == "pending" and s["attempts"] == 0 for s in view["stages"].values())
    assert view["result"] is None and view["error"] is None


async def test_raw_body_takes_options_from_the_query(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/documents?title=Hi&summary_sentences=2",
        content=b"<p>Some text here.</p>",
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    view = (await api.get(response.headers["Location"])).json()
    assert view["options"]["title"] == "Hi" and view["options"]["summary_sentences"] == 2


@pytest.mark.parametrize(
    "content_type", ["application/xml", "application/pdf", "multipart/form-data"]
)
async def test_other_content_types_are_415(api: httpx.AsyncClient, content_type: str) -> None:
    response = await api.post("/v1/documents", content=b"x", headers={"Content-Type": content_type})
    _assert_problem(response, 415, "unsupported_content_type", content_type)


async def test_missing_content_type_is_415(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/documents", content=b"hello")
    _assert_problem(response, 415, "unsupported_content_type", "none")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": ""}, "content"),
        ({"content": " \n\t "}, "content"),
        ({}, "content"),
        ({"content": "x", "summary_sentences": 0}, "summary_sentences"),
        ({"content": "x", "summary_sentences": 21}, "summary_sentences"),
        ({"content": "x", "content_type": "application/pdf"}, "content_type"),
        ({"content": "x", "colour": "red"}, "colour"),
        ({"content": "x", "metadata": {"k": [1, 2]}}, "metadata.k"),
        ({"content": 42}, "content"),
    ],
)
async def test_schema_errors_name_the_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    _assert_problem(await api.post("/v1/documents", json=body), 422, "invalid_document", field)


async def test_invalid_json_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/documents", content=b'{"content": ', headers={"Content-Type": "application/json"}
    )
    _assert_problem(response, 422, "invalid_document", "JSON")


async def test_raw_body_in_a_wrong_charset_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/documents", content="café".encode("latin-1"), headers={"Content-Type": "text/plain"}
    )
    _assert_problem(response, 422, "invalid_document", "utf-8")


async def test_raw_body_with_a_declared_charset_is_decoded(
    api: httpx.AsyncClient, redis_client: Redis
) -> None:
    response = await api.post(
        "/v1/documents",
        content="café".encode("latin-1"),
        headers={"Content-Type": "text/plain; charset=latin-1"},
    )
    assert response.status_code == 202
    assert redis_client.get(Keys().content(response.json()["id"])) == "café".encode()


async def test_unknown_query_option_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/documents?colour=red", content=b"text", headers={"Content-Type": "text/plain"}
    )
    _assert_problem(response, 422, "invalid_document", "colour")


async def test_size_limit_counts_received_bytes(
    redis_server: RedisServer, redis_client: Redis
) -> None:
    async with _client(redis_server.url, max_document_bytes=1000) as api:
        assert (
            await api.post(
                "/v1/documents", content=b"a" * 1000, headers={"Content-Type": "text/plain"}
            )
        ).status_code == 202
        declared = await api.post(
            "/v1/documents", content=b"a" * 1001, headers={"Content-Type": "text/plain"}
        )
        body = _assert_problem(declared, 413, "document_too_large", "is 1001 bytes", "1000")
        assert "at least" not in str(body["detail"]), "refused on Content-Length, before reading"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(30):
                yield b"b" * 100

        streamed = await api.post(
            "/v1/documents", content=chunks(), headers={"Content-Type": "text/plain"}
        )
        _assert_problem(streamed, 413, "document_too_large", "at least 1100 bytes", "1000")
        big_json = await api.post("/v1/documents", json={"content": "c" * 2000})
        _assert_problem(big_json, 413, "document_too_large")
    assert redis_client.zcard(Keys().pending) == 1, "only the accepted document is stored"


async def test_unknown_id_is_404(api: httpx.AsyncClient) -> None:
    _assert_problem(await api.get(f"/v1/documents/{UNKNOWN_ID}"), 404, "document_not_found")


@pytest.mark.parametrize("doc_id", ["nope", f"{UNKNOWN_ID}:content", "x" * 300, "ABC%00"])
async def test_a_malformed_id_is_404_before_it_becomes_a_key(
    api: httpx.AsyncClient, redis_client: Redis, doc_id: str
) -> None:
    doc = (await api.post("/v1/documents", json={"content": "Some news."})).json()["id"]
    _assert_problem(await api.get(f"/v1/documents/{doc_id}"), 404, "document_not_found")
    _assert_problem(await api.get(f"/v1/documents/{doc}:content"), 404, "document_not_found")


async def test_expired_id_is_410(api: httpx.AsyncClient, redis_client: Redis) -> None:
    redis_client.set(Keys().tombstone(UNKNOWN_ID), tombstone_value(""))
    response = await api.get(f"/v1/documents/{UNKNOWN_ID}")
    _assert_problem(response, 410, "document_expired", UNKNOWN_ID)


async def test_health_and_readiness(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    assert (await api.get("/readyz")).json() == {"status": "ready"}


async def test_unreachable_redis_is_503_never_202() -> None:
    async with _client(f"redis://127.0.0.1:{free_port()}/0") as api:
        response = await api.post(
            "/v1/documents", content=b"text", headers={"Content-Type": "text/plain"}
        )
        body = _assert_problem(response, 503, "storage_unavailable", "Redis")
        assert "not accepted" in str(body["detail"]) and "127.0.0.1" not in str(body["detail"])
        assert response.headers["Retry-After"]
        _assert_problem(await api.get(f"/v1/documents/{UNKNOWN_ID}"), 503, "storage_unavailable")
        _assert_problem(await api.get("/readyz"), 503, "storage_unavailable")
        assert (await api.get("/healthz")).status_code == 200


async def test_stage_outputs_are_composed_into_the_result(
    api: httpx.AsyncClient, redis_client: Redis
) -> None:
    doc_id = (await api.post("/v1/documents", json={"content": "Plain words."})).json()["id"]
    clean = {
        "text": "Plain words.",
        "removed": [],
        "warnings": ["w"],
        "language": {"code": "en", "confidence": 0.9, "source": "detected"},
    }
    redis_client.set(Keys().output(doc_id, Stage.CLEAN), json.dumps(clean))
    result = (await api.get(f"/v1/documents/{doc_id}")).json()["result"]
    assert result["clean"]["text"] == "Plain words."
    assert result["language"] == clean["language"]
    assert result["warnings"] == ["w"]
    assert result["entities"] is None and result["summary"] is None


@pytest.mark.parametrize(
    ("charset", "body"), [("utf-7", b"x+2AA-y"), ("unicode_escape", b"x\\ud800y")]
)
async def test_a_charset_that_decodes_to_no_valid_text_is_422(
    api: httpx.AsyncClient, charset: str, body: bytes
) -> None:
    response = await api.post(
        "/v1/documents", content=body, headers={"Content-Type": f"text/plain; charset={charset}"}
    )
    _assert_problem(response, 422, "invalid_document", charset)


async def test_an_accepted_document_is_checked_by_the_reconciler_after_the_queued_check(
    api: httpx.AsyncClient, redis_client: Redis
) -> None:
    before = time.time()
    response = await api.post(
        "/v1/documents", content=b"News.", headers={"Content-Type": "text/plain"}
    )
    deadline = redis_client.zscore(Keys().pending, response.json()["id"])
    check = ApiSettings().queued_check_seconds
    assert deadline is not None and before + check <= deadline <= time.time() + check


async def test_an_idempotency_key_replays_the_first_document(
    api: httpx.AsyncClient, redis_client: Redis
) -> None:
    headers = {"Content-Type": "text/plain", "Idempotency-Key": "batch-7/article-42"}
    first = await api.post("/v1/documents", content=b"Some news.", headers=headers)
    again = await api.post("/v1/documents", content=b"Some news.", headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert redis_client.llen("clean") == 1, "the replay queued nothing"
    other = await api.post("/v1/documents", content=b"Other news.", headers=headers)
    body = _assert_problem(other, 409, "idempotency_key_reused", "other content")
    assert first.json()["id"] not in str(body), "the first document's id is not disclosed"
    fresh = await api.post(
        "/v1/documents", content=b"Some news.", headers={"Content-Type": "text/plain"}
    )
    assert fresh.json()["id"] != first.json()["id"], "without a key, every request is new"


@pytest.mark.parametrize("key", ["", "x" * 256, "two words"])
async def test_a_malformed_idempotency_key_is_422(api: httpx.AsyncClient, key: str) -> None:
    headers = {"Content-Type": "text/plain", "Idempotency-Key": key}
    response = await api.post("/v1/documents", content=b"News.", headers=headers)
    _assert_problem(response, 422, "invalid_document", "Idempotency-Key")


async def test_unreachable_redis_with_a_key_asks_for_the_same_key() -> None:
    async with _client(f"redis://127.0.0.1:{free_port()}/0") as api:
        headers = {"Content-Type": "text/plain", "Idempotency-Key": "k1"}
        response = await api.post("/v1/documents", content=b"News.", headers=headers)
        _assert_problem(response, 503, "storage_unavailable", "same Idempotency-Key")


@pytest.mark.parametrize("key", [None, "k-42"])
async def test_a_document_redis_refuses_is_not_acknowledged_and_nothing_is_left(
    redis_factory: Callable[[], RedisServer], key: str | None
) -> None:
    redis = redis_factory()
    client = redis.client()
    headers = {"Content-Type": "text/plain", **({"Idempotency-Key": key} if key else {})}
    async with _client(redis.url) as api:
        assert (await api.post("/v1/documents", json={"content": "warm"})).status_code == 202
        client.flushall()
        # Redis fills up between the API's memory check (cached for a second) and the write:
        # the MULTI is refused as a whole (OOM, noeviction).
        client.config_set("maxmemory", 1)
        response = await api.post("/v1/documents", content=b"News.", headers=headers)
        body = _assert_problem(response, 503, "storage_unavailable", "full", "not accepted")
        assert "doc_id" not in body
        assert client.keys("newsdesk:*") == [] and client.llen("clean") == 0
        client.config_set("maxmemory", 0)
        again = await api.post("/v1/documents", content=b"News.", headers=headers)
        assert again.status_code == 202, again.text
    assert client.llen("clean") == 1 and client.zcard(Keys().pending) == 1


async def test_new_documents_are_refused_with_507_before_redis_is_full(
    redis_factory: Callable[[], RedisServer],
) -> None:
    redis = redis_factory()
    client = redis.client()
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", int(used / 0.95))  # above the 90% high-water mark
    async with _client(redis.url) as api:
        response = await api.post("/v1/documents", json={"content": "News."})
        _assert_problem(response, 507, "storage_full", "nearly full")
        assert response.headers["Retry-After"]
        assert client.keys("newsdesk:*") == []
        reading = await api.get(f"/v1/documents/{UNKNOWN_ID}")
        _assert_problem(reading, 404, "document_not_found")


async def test_startup_warm_up_reads_nothing_real_and_is_not_counted(
    redis_server: RedisServer, redis_client: Redis
) -> None:
    """The API sends its polling reads through itself before serving (so that the first client
    does not pay FastAPI's first-use costs): they answer 404, write nothing and stay out of the
    request metrics."""
    app = create_app(ApiSettings(redis_url=redis_server.url))
    keys_before = set(redis_client.keys("*"))
    async with app.router.lifespan_context(app):
        assert await warm_up(app, app.state.documents.redis) == [404, 404]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://newsdesk") as client:
            scrape = (await client.get("/metrics")).text
    assert set(redis_client.keys("*")) == keys_before
    counted = [line for line in scrape.splitlines()
               if line.startswith("newsdesk_http_requests_total") and "/v1/documents" in line]  # fmt: skip
    assert counted == [], counted
