"""API keys, ownership and quotas, against a real Redis (the app in-process over ASGI)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from redis import Redis

from services.app import create_app
from services.auth import KeyConfigError, load_keys
from services.settings import ApiSettings
from tests.conftest import RedisServer

pytestmark = pytest.mark.anyio
ALICE, BOB = "alice-secret-0123456789", "bob-secret-9876543210"
KEYS = f"alice:{ALICE},bob:{BOB}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def _api(redis_url: str, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ApiSettings(redis_url=redis_url, **settings))  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://newsdesk") as client:
            yield client


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _submit(api: httpx.AsyncClient, key: str, text: str = "Some news.") -> httpx.Response:
    return await api.post("/v1/documents", json={"content": text}, headers=_as(key))


async def test_every_v1_route_needs_a_valid_key_and_health_stays_open(
    redis_server: RedisServer, redis_client: Redis
) -> None:
    async with _api(redis_server.url, api_keys=KEYS) as api:
        for method, path in (("POST", "/v1/documents"), ("GET", "/v1/documents/" + "a" * 32),
                             ("DELETE", "/v1/documents/" + "a" * 32)):  # fmt: skip
            for headers in ({}, _as("wrong-key-0123456789"), {"Authorization": f"Basic {ALICE}"}):
                response = await api.request(method, path, headers=headers, json={"content": "x"})
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["code"] == "unauthorized"
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert ALICE not in response.text
        assert (await api.get("/healthz")).status_code == 200
        assert (await api.get("/readyz")).status_code == 200
        assert (await _submit(api, ALICE)).status_code == 202
    assert redis_client.keys("*alice-secret*") == [], "keys are never stored"


async def test_a_document_belongs_to_the_key_that_submitted_it(
    redis_server: RedisServer, redis_client: Redis
) -> None:
    async with _api(redis_server.url, api_keys=KEYS) as api:
        doc_id = (await _submit(api, ALICE)).json()["id"]
        mine = await api.get(f"/v1/documents/{doc_id}", headers=_as(ALICE))
        assert mine.status_code == 200 and mine.json()["id"] == doc_id
        theirs = await api.get(f"/v1/documents/{doc_id}", headers=_as(BOB))
        assert theirs.status_code == 404 and "Some news" not in theirs.text
        assert (await api.delete(f"/v1/documents/{doc_id}", headers=_as(BOB))).status_code == 404
        assert (await api.get(f"/v1/documents/{doc_id}", headers=_as(ALICE))).status_code == 200
        await api.delete(f"/v1/documents/{doc_id}", headers=_as(ALICE))  # cancel
        await api.delete(f"/v1/documents/{doc_id}", headers=_as(ALICE))  # delete
        assert (await api.get(f"/v1/documents/{doc_id}", headers=_as(ALICE))).status_code == 410
        gone_for_bob = await api.get(f"/v1/documents/{doc_id}", headers=_as(BOB))
        assert gone_for_bob.status_code == 404, "another key cannot tell the id ever existed"
        # The same Idempotency-Key used by two keys names two different documents.
        headers = {"Idempotency-Key": "same-key", "Content-Type": "text/plain"}
        first = await api.post("/v1/documents", content=b"A", headers={**headers, **_as(ALICE)})
        second = await api.post("/v1/documents", content=b"B", headers={**headers, **_as(BOB)})
        assert first.status_code == second.status_code == 202
        assert first.json()["id"] != second.json()["id"]


async def test_keys_come_from_a_file_and_may_be_stored_as_digests(
    redis_server: RedisServer, redis_client: Redis, tmp_path: Path
) -> None:
    digest = hashlib.sha256(BOB.encode()).hexdigest()
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# newsroom keys\nalice:{ALICE}\nbob:sha256:{digest}\n")
    async with _api(redis_server.url, api_keys_file=keys_file) as api:
        assert (await _submit(api, ALICE)).status_code == 202
        assert (await _submit(api, BOB)).status_code == 202
        assert (await _submit(api, digest)).status_code == 401, "the digest is not the key"


@pytest.mark.parametrize(
    ("inline", "problem"),
    [("just-a-secret-without-name", "name:secret"), ("a:short", "16 characters"),
     ("a:sha256:abc", "64 hex"), (f"a:{ALICE},a:{BOB}", "unique")],
)  # fmt: skip
def test_unusable_key_settings_are_refused_at_start(inline: str, problem: str) -> None:
    with pytest.raises(KeyConfigError, match=problem):
        load_keys(inline, None)


async def test_the_request_rate_is_limited_per_key_with_retry_after(
    redis_server: RedisServer, redis_client: Redis
) -> None:
    async with _api(redis_server.url, api_keys=KEYS, quota_rate_per_second=1,
                    quota_burst=3) as api:  # fmt: skip
        answers = [(await _submit(api, ALICE)).status_code for _ in range(4)]
        assert answers == [202, 202, 202, 429]
        limited = await _submit(api, ALICE)
        assert limited.json()["code"] == "quota_exceeded"
        assert int(limited.headers["Retry-After"]) >= 1
        assert (await _submit(api, BOB)).status_code == 202, "another key has its own bucket"


async def test_documents_and_bytes_in_flight_are_limited_per_key(
    redis_server: RedisServer, redis_client: Redis
) -> None:
    async with _api(redis_server.url, api_keys=KEYS, quota_rate_per_second=0,
                    quota_max_in_flight=2, quota_max_in_flight_bytes=1000) as api:  # fmt: skip
        first = (await _submit(api, ALICE)).json()["id"]
        assert (await _submit(api, ALICE)).status_code == 202
        refused = await _submit(api, ALICE)
        assert refused.status_code == 429 and "in flight" in refused.json()["detail"]
        assert (await api.delete(f"/v1/documents/{first}", headers=_as(ALICE))).status_code == 204
        assert (await _submit(api, ALICE)).status_code == 202, "a cancelled one no longer counts"
        big = await _submit(api, BOB, "x" * 999)
        assert big.status_code == 202
        over = await _submit(api, BOB, "y" * 10)
        assert over.status_code == 429 and "bytes" in over.json()["detail"]
