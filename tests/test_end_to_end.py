"""End to end with real parts: redis-server, `newsdesk worker`, `newsdesk reconcile`, `newsdesk api`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from redis import Redis

from contracts.wire import STAGE_ORDER, Stage
from records.codec import decode_record
from records.layout import Keys
from tests.conftest import REPO, SEEDS, RedisServer, Stack, wait_for_status
from workers.pipeline.clean import clean_document

pytestmark = pytest.mark.e2e


def _expectations(seed: str) -> dict[str, object]:
    return dict(json.loads((SEEDS / f"{seed}.expect.json").read_text()))


def _submit(client: httpx.Client, path: Path, content_type: str) -> str:
    response = client.post(
        "/v1/documents", content=path.read_bytes(), headers={"Content-Type": content_type}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


@pytest.fixture
def stack(
    redis_server: RedisServer, redis_client: object, stack_factory: Callable[[str], Stack]
) -> Stack:
    stack = stack_factory(redis_server.url)
    stack.worker(concurrency=2)
    stack.run("reconciler", "reconcile")
    stack.api()
    return stack


@pytest.mark.parametrize(
    ("seed", "content_type"), [("article.txt", "text/plain"), ("article.html", "text/html")]
)
def test_seed_article_is_cleaned_tagged_and_summarized(
    stack: Stack, seed: str, content_type: str
) -> None:
    expect = _expectations(seed)
    with stack.client() as client:
        doc_id = _submit(client, SEEDS / seed, content_type)
        view = wait_for_status(client, doc_id, {"completed", "failed"})
    assert view["status"] == "completed", (view, stack.logs())
    assert all(view["stages"][s.value]["status"] == "completed" for s in STAGE_ORDER)
    result = view["result"]
    text = result["clean"]["text"]
    for kept in expect["must_keep"]:
        assert kept in text
    for dropped in expect["must_drop"]:
        assert dropped not in text
    assert result["clean"]["title"] == expect["title"]
    assert "\n\n" in text, "paragraph breaks are kept"

    mentions = result["entities"]["mentions"]
    for mention in mentions:
        assert text[mention["start"] : mention["end"]] == mention["text"]
    for wanted in expect["entities"]:
        found = [m for m in mentions if m["text"] == wanted["text"]]
        assert found, f"{wanted['text']} not found"
        assert any(m["label"] == wanted["label"] for m in found), (wanted, found)
    names = {e["name"]: e for e in result["entities"]["entities"]}
    austin = names["Lloyd Austin"]
    assert austin["label"] == "PERSON"
    mousavi = names["Seyyed Razi Mousavi"]
    assert mousavi["count"] >= 5, "later 'Mousavi' mentions join the full name"
    saliences = [e["salience"] for e in result["entities"]["entities"]]
    assert saliences == sorted(saliences, reverse=True) and all(0 <= s <= 1 for s in saliences)

    summary = result["summary"]
    assert len(summary["sentences"]) == 3
    starts = [s["start"] for s in summary["sentences"]]
    assert starts == sorted(starts), "summary sentences in document order"
    for sentence in summary["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]
    assert summary["text"] == " ".join(s["text"] for s in summary["sentences"])
    assert result["language"]["code"] == "en" and result["language"]["confidence"] > 0.9
    assert result["keywords"] and all(0 < k["score"] <= 1 for k in result["keywords"])


def _stage_tags(redis_client: Redis, doc_id: str) -> dict[Stage, str | None]:
    """Each stage's delivery tag: set when a message for it was queued, None when it was not."""
    record = decode_record(doc_id, redis_client.hgetall(Keys().document(doc_id)))  # type: ignore[arg-type]
    assert record is not None
    return {stage: record.stages[stage].tag for stage in STAGE_ORDER}


def test_a_worker_consuming_every_queue_carries_a_document_on_without_queueing_it(
    stack: Stack, redis_client: Redis
) -> None:
    with stack.client() as client:
        doc_id = _submit(client, SEEDS / "article.txt", "text/plain")
        view = wait_for_status(client, doc_id, {"completed", "failed"})
    assert view["status"] == "completed", (view, stack.logs())
    tags = _stage_tags(redis_client, doc_id)
    assert tags[Stage.CLEAN], "the intake queued the first stage"
    assert tags[Stage.ENTITIES] is None and tags[Stage.SUMMARIZE] is None, "nothing else was"
    assert all(view["stages"][s.value]["attempts"] == 1 for s in STAGE_ORDER)


def test_workers_split_by_queue_hand_a_document_over_through_the_queue_between_them(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack]
) -> None:
    stack = stack_factory(redis_server.url)
    stack.run("cleaner", "worker", "--queues", "clean", "--concurrency", "1")
    stack.run("analyst", "worker", "--queues", "entities,summarize", "--concurrency", "1")
    stack.api()
    with stack.client() as client:
        doc_id = _submit(client, SEEDS / "article.txt", "text/plain")
        view = wait_for_status(client, doc_id, {"completed", "failed"}, timeout=120)
    assert view["status"] == "completed", (view, stack.logs())
    tags = _stage_tags(redis_client, doc_id)
    assert tags[Stage.CLEAN] and tags[Stage.ENTITIES], "clean and entities were queued"
    assert tags[Stage.SUMMARIZE] is None, "the entities worker carried on into summarize"


def test_a_failed_document_says_why(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post(
            "/v1/documents",
            content=b"<html><head><script>var a = 1;</script></head><body><nav></nav></body></html>",
            headers={"Content-Type": "text/html"},
        )
        view = wait_for_status(client, response.json()["id"], {"completed", "failed"})
    assert view["status"] == "failed"
    assert view["error"]["stage"] == "clean"
    assert view["error"]["code"] == "unprocessable_document"
    assert view["error"]["message"]
    assert view["stages"]["entities"]["status"] == "pending"


def test_a_language_the_entity_model_lacks_completes_with_a_warning(stack: Stack) -> None:
    german = (
        "Der Bundestag hat am Dienstag ein neues Gesetz beschlossen, das die Mieten in großen "
        "Städten begrenzt.\n\nDie Opposition kritisierte den Entwurf scharf. Vertreter der "
        "Mieterverbände begrüßten die Entscheidung dagegen.\n\nDas Gesetz soll im kommenden "
        "Jahr in Kraft treten, sofern der Bundesrat zustimmt."
    )
    with stack.client() as client:
        response = client.post("/v1/documents?summary_sentences=2", content=german.encode(),
                               headers={"Content-Type": "text/plain"})  # fmt: skip
        view = wait_for_status(client, response.json()["id"], {"completed", "failed"})
    assert view["status"] == "completed", view
    assert view["stages"]["entities"]["status"] == "skipped"
    result = view["result"]
    assert result["language"]["code"] == "de"
    assert result["entities"]["skipped"] and result["entities"]["mentions"] == []
    assert any("'de'" in warning for warning in result["warnings"])
    assert len(result["summary"]["sentences"]) == 2


def test_worker_killed_mid_stage_document_still_completes_once(
    redis_server: RedisServer, redis_client: object, stack_factory: Callable[[str], Stack]
) -> None:
    stack = stack_factory(redis_server.url)
    # Entities is the slow stage: a long article keeps it busy long enough to be killed in it.
    victim = stack.worker(concurrency=1, env={"NEWSDESK_LOG_LEVEL": "INFO"})
    stack.run("reconciler", "reconcile")
    stack.api()
    body = clean_document(
        content=(SEEDS / "article.txt").read_text(), content_type="text/plain"
    ).text
    long_article = "\n\n".join([body] * 40)
    with stack.client() as client:
        response = client.post(
            "/v1/documents", content=long_article.encode(), headers={"Content-Type": "text/plain"}
        )
        doc_id = response.json()["id"]
        deadline = time.monotonic() + 60
        while (
            client.get(f"/v1/documents/{doc_id}").json()["stages"]["entities"]["status"]
            != "running"
        ):
            assert time.monotonic() < deadline, stack.logs()
            time.sleep(0.02)
        time.sleep(0.3)
        victim.kill()
        assert (
            client.get(f"/v1/documents/{doc_id}").json()["stages"]["entities"]["status"]
            == "running"
        )
        stack.worker(concurrency=1)
        view = wait_for_status(client, doc_id, {"completed", "failed"}, timeout=120)
    assert view["status"] == "completed", (view, stack.logs())
    assert view["stages"]["clean"]["attempts"] == 1
    assert view["stages"]["entities"]["attempts"] >= 2
    assert view["stages"]["summarize"]["attempts"] == 1
    keys = Keys()
    stored = sorted(k.decode() for k in redis_client.keys(f"{keys.document(doc_id)}*"))  # type: ignore[attr-defined]
    assert stored == sorted(keys.all_for(doc_id)), "one output per stage, nothing duplicated"
    mentions = view["result"]["entities"]["mentions"]
    assert len({(m["start"], m["end"]) for m in mentions}) == len(mentions)
    single = len([m for m in mentions if m["start"] < len(body)])
    assert len(mentions) >= 40 * single * 0.9, "mentions cover the whole article once"


@pytest.mark.parametrize("how", ["stop", "crash"])
def test_redis_outage_is_503_and_accepted_documents_complete_after(
    redis_factory: Callable[[], RedisServer], stack_factory: Callable[[str], Stack], how: str
) -> None:
    redis = redis_factory()
    stack = stack_factory(redis.url)
    stack.worker(concurrency=2)
    stack.run("reconciler", "reconcile")
    stack.api()
    with stack.client() as client:
        accepted = [_submit(client, SEEDS / "article.txt", "text/plain") for _ in range(5)]
        if how == "crash":
            time.sleep(1.5)  # appendfsync everysec: what is a second old is on disk
            redis.crash()
        else:
            redis.stop()
        response = client.post(
            "/v1/documents", content=b"more news", headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "storage_unavailable"
        assert client.get(f"/v1/documents/{accepted[0]}").status_code == 503
        assert client.get("/readyz").status_code == 503
        time.sleep(2)
        redis.start()
        accepted.append(_submit(client, SEEDS / "article.html", "text/html"))
        views = [
            wait_for_status(client, doc_id, {"completed", "failed"}, timeout=120)
            for doc_id in accepted
        ]
    assert [v["status"] for v in views] == ["completed"] * len(accepted), stack.logs()


def test_healthchecks_used_by_compose_answer(stack: Stack) -> None:
    def healthcheck(*args: str) -> int:
        command = [sys.executable, "-m", "newsdesk", "healthcheck", *args]
        return subprocess.run(command, env=stack.env, cwd=REPO, timeout=60, check=False).returncode

    deadline = time.monotonic() + 60
    while healthcheck("worker") != 0:  # the worker may still be loading its models
        assert time.monotonic() < deadline, stack.logs()
    assert healthcheck("api", "--url", f"{stack.base_url}/readyz") == 0
    assert healthcheck("api", "--url", f"{stack.base_url}/nowhere") == 1
