"""Guarded record transitions, the reconciler and the attempt cap, against a real Redis."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from celery import Celery
from redis import Redis

from contracts import records as fields
from contracts.documents import DocumentOptions, DocumentStatus, StageState, StageStatus
from contracts.results import CleanResult
from contracts.wire import STAGE_ORDER, Keys, Stage
from tests.conftest import RedisServer
from workers.celery_app import create_celery
from workers.reconciler import Reconciler, reconcile_once
from workers.records import BeginOutcome, DocumentRecords, open_records
from workers.settings import WorkerSettings
from workers.snapshot import DocumentSnapshot, utc_now


@pytest.fixture(scope="module")
def settings(redis_server: RedisServer) -> WorkerSettings:
    return WorkerSettings(redis_url=redis_server.url, stall_margin_seconds=5, max_attempts=2)


@pytest.fixture(scope="module")
def app(settings: WorkerSettings) -> Celery:
    """One app per process, as in a worker (Celery warns when task names are registered twice)."""
    return create_celery(settings)


@pytest.fixture
def records(settings: WorkerSettings, redis_client: Redis) -> DocumentRecords:
    return open_records(settings)


def _create(
    redis: Redis,
    doc_id: str,
    *,
    deadline_in: float,
    stages: dict[Stage, StageStatus],
    started_ago: float = 0,
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
        state = StageState(
            status=stages.get(stage, StageStatus.PENDING),
            started_at=now - timedelta(seconds=started_ago),
        )
        record[fields.stage_field(stage)] = state.model_dump_json()
        if state.status == StageStatus.RUNNING:
            record[fields.owner_field(stage)] = "first-run"
    redis.hset(keys.document(doc_id), mapping=record)  # type: ignore[arg-type]
    redis.set(keys.content(doc_id), "Some text.")
    redis.zadd(keys.pending, {doc_id: (now + timedelta(seconds=deadline_in)).timestamp()})


def _queued_ids(redis: Redis, queue: str) -> list[str]:
    messages = [json.loads(raw)["headers"] for raw in redis.lrange(queue, 0, -1)]
    return sorted(h["kwargsrepr"].split("'doc_id': '")[1].split("'")[0] for h in messages)


CLEANED = {Stage.CLEAN: StageStatus.COMPLETED}


def test_overdue_stages_are_requeued_and_others_left_alone(
    app: Celery, records: DocumentRecords, redis_client: Redis
) -> None:
    running = {**CLEANED, Stage.ENTITIES: StageStatus.RUNNING}
    _create(redis_client, "dead-worker", deadline_in=-1, stages=running)
    _create(redis_client, "still-running", deadline_in=100, stages=running)
    _create(redis_client, "never-queued", deadline_in=-1, stages=CLEANED)
    _create(redis_client, "waiting", deadline_in=100, stages=CLEANED)
    redis_client.zadd(Keys().pending, {"expired": 0})

    requeued = reconcile_once(records=records, app=app)

    assert sorted(requeued) == [("dead-worker", Stage.ENTITIES), ("never-queued", Stage.ENTITIES)]
    assert _queued_ids(redis_client, "entities") == ["dead-worker", "never-queued"]
    assert redis_client.zscore(Keys().pending, "expired") is None, (
        "ids without a record are forgotten"
    )
    assert reconcile_once(records=records, app=app) == [], "a re-queued stage gets a new deadline"
    deadline = redis_client.zscore(Keys().pending, "never-queued")
    assert deadline is not None and deadline > utc_now().timestamp() + 3000


def test_an_unreadable_record_is_failed_without_stopping_the_others(
    app: Celery, records: DocumentRecords, redis_client: Redis
) -> None:
    redis_client.hset(Keys().document("broken"), "status", "processing")
    redis_client.zadd(Keys().pending, {"broken": 0})
    _create(redis_client, "fine", deadline_in=-1, stages=CLEANED)
    assert reconcile_once(records=records, app=app) == [("fine", Stage.ENTITIES)]
    assert redis_client.zscore(Keys().pending, "broken") is None
    error = json.loads(redis_client.hget(Keys().document("broken"), fields.ERROR))  # type: ignore[arg-type]
    assert error["code"] == "unreadable_record"
    assert redis_client.hget(Keys().document("broken"), fields.STATUS) == b"failed"
    assert redis_client.ttl(Keys().document("broken")) > 0


def test_a_duplicate_cannot_run_a_stage_whose_lease_is_alive(
    records: DocumentRecords, redis_client: Redis
) -> None:
    _create(
        redis_client,
        "doc",
        deadline_in=100,
        stages={**CLEANED, Stage.ENTITIES: StageStatus.RUNNING},
    )
    busy = records.begin_stage("doc", Stage.ENTITIES, run="second-run")
    assert busy.outcome == BeginOutcome.BUSY
    own = records.begin_stage("doc", Stage.ENTITIES, run="first-run")
    assert own.outcome == BeginOutcome.STARTED, "a lost reply: the holder recognises its lease"
    assert own.attempt == 0, "and counts no second attempt"


def test_an_expired_lease_can_be_taken_over(
    records: DocumentRecords, settings: WorkerSettings, redis_client: Redis
) -> None:
    lease = settings.hard_limit(Stage.ENTITIES) + settings.stall_margin_seconds
    _create(
        redis_client,
        "doc",
        deadline_in=-1,
        started_ago=lease + 1,
        stages={**CLEANED, Stage.ENTITIES: StageStatus.RUNNING},
    )
    begun = records.begin_stage("doc", Stage.ENTITIES, run="second-run")
    assert begun.outcome == BeginOutcome.STARTED and begun.attempt == 1
    # The first run comes back late: its lease is gone, so it can neither complete nor fail.
    late = CleanResult(text="late")
    assert (
        records.complete_stage(
            "doc", Stage.ENTITIES, late, run="first-run", started_at=utc_now(), last=False
        )
        is None
    )
    assert not records.fail_document(
        "doc", Stage.ENTITIES, run="first-run", code="stage_timeout", message="slow"
    )
    assert records.complete_stage(
        "doc", Stage.ENTITIES, late, run="second-run", started_at=utc_now(), last=False
    )
    snapshot = records.snapshot("doc")
    assert snapshot is not None and snapshot.stages[Stage.ENTITIES].status == StageStatus.COMPLETED


@pytest.mark.parametrize(
    ("stages", "status", "outcome"),
    [
        ({}, DocumentStatus.QUEUED, BeginOutcome.NOT_READY),
        (
            {**CLEANED, Stage.ENTITIES: StageStatus.COMPLETED},
            DocumentStatus.PROCESSING,
            BeginOutcome.DONE,
        ),
        (CLEANED, DocumentStatus.FAILED, BeginOutcome.FINISHED),
    ],
)
def test_stages_start_only_in_order_and_only_once(
    records: DocumentRecords,
    redis_client: Redis,
    stages: dict[Stage, StageStatus],
    status: DocumentStatus,
    outcome: BeginOutcome,
) -> None:
    _create(redis_client, "doc", deadline_in=100, stages=stages)
    redis_client.hset(Keys().document("doc"), fields.STATUS, status.value)
    assert records.begin_stage("doc", Stage.ENTITIES, run="run").outcome == outcome
    assert records.begin_stage("missing", Stage.CLEAN, run="run").outcome == BeginOutcome.MISSING
    assert not redis_client.exists(Keys().document("missing")), "no partial record is created"


def test_a_stale_run_cannot_reopen_a_finished_document(
    records: DocumentRecords, redis_client: Redis
) -> None:
    _create(redis_client, "doc", deadline_in=100, stages={})
    assert records.begin_stage("doc", Stage.CLEAN, run="a").outcome == BeginOutcome.STARTED
    assert records.fail_document(
        "doc", Stage.CLEAN, run="a", code="unprocessable_document", message="no text"
    )
    output = CleanResult(text="late")
    assert (
        records.complete_stage(
            "doc", Stage.CLEAN, output, run="a", started_at=utc_now(), last=False
        )
        is None
    )
    assert records.fail_document("doc", Stage.CLEAN, run="a", code="x", message="again"), (
        "idempotent"
    )
    assert not records.fail_document("doc", Stage.CLEAN, run="b", code="x", message="stale")
    snapshot = records.snapshot("doc")
    assert snapshot is not None and snapshot.status == DocumentStatus.FAILED
    assert not redis_client.exists(Keys().output("doc", Stage.CLEAN))


def test_a_stage_started_too_often_fails_the_document(
    app: Celery, records: DocumentRecords, settings: WorkerSettings, redis_client: Redis
) -> None:
    _create(redis_client, "poison", deadline_in=100, stages={})
    redis_client.hset(
        Keys().document("poison"), fields.attempts_field(Stage.CLEAN), settings.max_attempts
    )
    task = app.tasks["newsdesk.clean"]
    outcome = task.apply(
        kwargs={"message": {"schema_version": 1, "doc_id": "poison", "stage": "clean"}}
    ).get()
    assert outcome == "failed"
    snapshot = records.snapshot("poison")
    assert snapshot is not None and snapshot.status == DocumentStatus.FAILED
    error = json.loads(redis_client.hget(Keys().document("poison"), fields.ERROR))  # type: ignore[arg-type]
    assert error["code"] == "attempts_exhausted" and error["stage"] == "clean"
    assert "started 2 times" in error["message"]
    assert redis_client.zscore(Keys().pending, "poison") is None
    assert redis_client.ttl(Keys().document("poison")) > 0, "a finished record expires"
    assert redis_client.exists(Keys().tombstone("poison"))


def test_a_message_for_another_stage_is_not_run(app: Celery, redis_client: Redis) -> None:
    _create(redis_client, "doc", deadline_in=100, stages={})
    task = app.tasks["newsdesk.entities"]
    outcome = task.apply(
        kwargs={"message": {"schema_version": 1, "doc_id": "doc", "stage": "clean"}}
    ).get()
    assert outcome == "misrouted"


def test_a_released_stage_can_be_retried_without_burning_an_attempt(
    records: DocumentRecords, redis_client: Redis
) -> None:
    _create(redis_client, "doc", deadline_in=100, stages={})
    first = records.begin_stage("doc", Stage.CLEAN, run="a")
    assert first.attempt == 1
    assert records.release_stage("doc", Stage.CLEAN, run="a", retry_in=1)
    retry = records.begin_stage("doc", Stage.CLEAN, run="a-retry")
    assert retry.outcome == BeginOutcome.STARTED and retry.attempt == 1
    assert not records.release_stage("doc", Stage.CLEAN, run="a", retry_in=1), "not the holder"


def test_a_transition_decides_again_when_the_record_changes_under_it(
    records: DocumentRecords, redis_client: Redis
) -> None:
    _create(redis_client, "doc", deadline_in=100, stages={})
    seen: list[StageStatus] = []

    def decide(snapshot: DocumentSnapshot | None, pipe: Any) -> None:
        assert snapshot is not None
        seen.append(snapshot.stages[Stage.CLEAN].status)
        if len(seen) == 1:  # another worker writes between our read and our EXEC
            other = StageState(status=StageStatus.RUNNING).model_dump_json()
            redis_client.hset(Keys().document("doc"), fields.stage_field(Stage.CLEAN), other)
        pipe.hset(Keys().document("doc"), "decided", str(len(seen)))

    records._transition("doc", decide)
    assert seen == [StageStatus.PENDING, StageStatus.RUNNING]
    assert redis_client.hget(Keys().document("doc"), "decided") == b"2"


def test_after_a_redis_restart_every_pending_document_is_checked(
    app: Celery, records: DocumentRecords, redis_client: Redis
) -> None:
    _create(redis_client, "queued-long-ago", deadline_in=3000, stages=CLEANED)
    reconciler = Reconciler(records=records, app=app)
    assert reconciler.run_pass() == []
    reconciler.run_id = "a server that is gone"
    assert reconciler.run_pass() == [("queued-long-ago", Stage.ENTITIES)]
    assert reconciler.run_pass() == [], "once"
