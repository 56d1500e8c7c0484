"""The reconciler and the attempt cap, against a real Redis (messages land in the real queues)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery import Celery
from redis import Redis

from contracts import records as fields
from contracts.documents import DocumentOptions, DocumentStatus, StageState, StageStatus
from contracts.wire import STAGE_ORDER, Keys, Stage
from tests.conftest import RedisServer
from workers.celery_app import create_celery
from workers.reconciler import reconcile_once
from workers.records import DocumentRecords, open_records, utc_now
from workers.settings import WorkerSettings


@pytest.fixture(scope="module")
def settings(redis_server: RedisServer) -> WorkerSettings:
    return WorkerSettings(
        redis_url=redis_server.url, stall_margin_seconds=5, queued_stall_seconds=100, max_attempts=2
    )


@pytest.fixture(scope="module")
def app(settings: WorkerSettings) -> Celery:
    """One app per process, as in a worker (Celery warns when task names are registered twice)."""
    return create_celery(settings)


def _create(
    redis: Redis, doc_id: str, *, moved_seconds_ago: float, stages: dict[Stage, StageStatus]
) -> None:
    keys, now = Keys(), utc_now()
    record = {
        fields.STATUS: DocumentStatus.PROCESSING.value,
        fields.CREATED_AT: now.isoformat(),
        fields.UPDATED_AT: now.isoformat(),
        fields.CONTENT_TYPE: "text/plain",
        fields.OPTIONS: DocumentOptions().model_dump_json(),
    }
    for stage in STAGE_ORDER:
        state = StageState(status=stages.get(stage, StageStatus.PENDING), started_at=now)
        record[fields.stage_field(stage)] = state.model_dump_json()
    redis.hset(keys.document(doc_id), mapping=record)  # type: ignore[arg-type]
    redis.set(keys.content(doc_id), "Some text.")
    redis.zadd(keys.pending, {doc_id: (now - timedelta(seconds=moved_seconds_ago)).timestamp()})


def _queued(redis: Redis, queue: str) -> list[str]:
    return [
        json.loads(raw)["headers"]["task"] + ":" + json.loads(raw)["headers"]["argsrepr"]
        for raw in redis.lrange(queue, 0, -1)
    ]


def test_stalled_stages_are_requeued_and_live_ones_left_alone(
    settings: WorkerSettings, app: Celery, redis_client: Redis
) -> None:
    records = open_records(settings)
    hard = settings.hard_limit(Stage.ENTITIES)
    done = {Stage.CLEAN: StageStatus.COMPLETED}
    _create(
        redis_client,
        "dead-worker",
        moved_seconds_ago=hard + 10,
        stages={**done, Stage.ENTITIES: StageStatus.RUNNING},
    )
    _create(
        redis_client,
        "still-running",
        moved_seconds_ago=hard - 10,
        stages={**done, Stage.ENTITIES: StageStatus.RUNNING},
    )
    _create(redis_client, "lost-message", moved_seconds_ago=150, stages=done)
    _create(redis_client, "waiting", moved_seconds_ago=50, stages=done)
    redis_client.zadd(Keys().pending, {"expired": 0})

    requeued = reconcile_once(records=records, app=app, settings=settings)

    assert sorted(requeued) == [("dead-worker", Stage.ENTITIES), ("lost-message", Stage.ENTITIES)]
    messages = [json.loads(raw) for raw in redis_client.lrange("entities", 0, -1)]
    assert sorted(
        m["headers"]["kwargsrepr"].count("dead-worker")
        + 2 * m["headers"]["kwargsrepr"].count("lost-message")
        for m in messages
    ) == [1, 2]
    assert redis_client.zscore(Keys().pending, "expired") is None, (
        "ids without a record are forgotten"
    )
    assert reconcile_once(records=records, app=app, settings=settings) == [], (
        "re-queued ids wait again"
    )


def test_a_stage_started_too_often_fails_the_document(
    settings: WorkerSettings, app: Celery, redis_client: Redis
) -> None:
    _create(redis_client, "poison", moved_seconds_ago=0, stages={})
    redis_client.hset(
        Keys().document("poison"), fields.attempts_field(Stage.CLEAN), settings.max_attempts
    )
    task = app.tasks["newsdesk.clean"]
    outcome = task.apply(
        kwargs={"message": {"schema_version": 1, "doc_id": "poison", "stage": "clean"}}
    ).get()
    assert outcome == "failed"
    records: DocumentRecords = open_records(settings)
    snapshot = records.snapshot("poison")
    assert snapshot is not None and snapshot.status == DocumentStatus.FAILED
    error = json.loads(redis_client.hget(Keys().document("poison"), fields.ERROR))  # type: ignore[arg-type]
    assert error["code"] == "attempts_exhausted" and error["stage"] == "clean"
    assert "started 2 times" in error["message"]
    assert redis_client.zscore(Keys().pending, "poison") is None
    assert redis_client.ttl(Keys().document("poison")) > 0, "a finished record expires"
    assert redis_client.exists(Keys().tombstone("poison"))
