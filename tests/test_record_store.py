"""The record layer and the reconciler against a real Redis."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator

import pytest
from celery import Celery
from redis import Redis
from redis.exceptions import ResponseError

from contracts.documents import DocumentOptions, DocumentStatus, StageStatus
from contracts.results import CleanResult
from contracts.wire import STAGE_ORDER, Stage
from records import layout
from records.codec import utc_now
from records.policy import RecordSettings
from records.store import NotARecord, Planner, RecordStore
from records.transitions import (
    BeginOutcome,
    CancelOutcome,
    NewDocument,
    plan_begin,
    plan_cancel,
    plan_complete,
    plan_create,
    plan_fail,
    plan_heartbeat,
    plan_release,
    plan_requeue,
)
from records.view import document_view
from tests.conftest import RedisServer
from workers.reconciler import QueueProbe, Reconciler, queue_state, reconcile_once


@pytest.fixture
def store(redis_server: RedisServer, redis_client: Redis) -> Iterator[RecordStore]:
    settings = RecordSettings(
        redis_url=redis_server.url, lease_seconds=1, queued_check_seconds=0.5,
        max_recheck_seconds=2, max_attempts=2,
    )  # fmt: skip
    store = RecordStore.connect(settings)
    yield store
    store.redis.close()


def _new(store: RecordStore, content: str = "Some news.") -> str:
    doc_id = uuid.uuid4().hex
    document = NewDocument(doc_id=doc_id, content=content, content_type="text/plain",
                           options=DocumentOptions())  # fmt: skip
    store.apply(plan_create(store.keys, store.policy, document, now=utc_now()).writes)
    return doc_id


def _begin(store: RecordStore, doc_id: str, stage: Stage, run: str) -> BeginOutcome:
    return store.transition(doc_id, lambda r: plan_begin(
        store.keys, store.policy, r, stage, run=run, now=utc_now())).outcome  # fmt: skip


def _complete(store: RecordStore, doc_id: str, stage: Stage, run: str) -> bool:
    return store.transition(doc_id, lambda r: plan_complete(
        store.keys, store.policy, r, stage, CleanResult(text=run), run=run, now=utc_now()))  # fmt: skip


def _queued_ids(redis: Redis, queue: str) -> list[str]:
    found = []
    for raw in redis.lrange(queue, 0, -1):  # type: ignore[union-attr]
        kwargs = json.loads(json.loads(raw)["headers"]["kwargsrepr"].replace("'", '"'))
        found.append(kwargs["message"]["doc_id"])
    return found


def test_our_stage_message_matches_what_celery_itself_writes(
    store: RecordStore, redis_server: RedisServer, redis_client: Redis
) -> None:
    doc_id = _new(store)
    ours = json.loads(redis_client.rpop("clean"))  # type: ignore[arg-type]
    app = Celery("reference", broker=redis_server.url, set_as_current=False)
    app.conf.update(task_serializer="json", accept_content=["json"])
    message = {"schema_version": 1, "doc_id": doc_id, "stage": "clean"}
    app.send_task("newsdesk.clean", kwargs={"message": message}, queue="clean")
    theirs = json.loads(redis_client.rpop("clean"))  # type: ignore[arg-type]
    app.close()
    assert set(ours) == set(theirs)
    assert set(ours["headers"]) == set(theirs["headers"])
    assert set(ours["properties"]) == set(theirs["properties"])
    assert ours["body"] == theirs["body"], "the same task body, byte for byte"
    for field in ("task", "lang", "retries", "timelimit", "kwargsrepr", "argsrepr"):
        assert ours["headers"][field] == theirs["headers"][field], field
    for field in ("delivery_info", "delivery_mode", "priority", "body_encoding"):
        assert ours["properties"][field] == theirs["properties"][field], field


def test_a_document_is_stored_and_queued_in_one_multi(
    store: RecordStore, redis_client: Redis
) -> None:
    doc_id = _new(store, "Ünïcode 😀")
    record = store.read(doc_id)
    assert record is not None and record.status == DocumentStatus.QUEUED
    assert store.content(doc_id) == "Ünïcode 😀".encode()
    assert _queued_ids(redis_client, "clean") == [doc_id]
    assert redis_client.zscore(store.keys.index(""), doc_id) is not None
    events = redis_client.xrange(store.keys.events(doc_id))
    assert [e[1][b"event"] for e in events] == [b"queued"]


def test_fencing_a_run_that_lost_its_lease_can_never_complete_or_fail(
    store: RecordStore, redis_client: Redis
) -> None:
    doc_id = _new(store)
    assert _begin(store, doc_id, Stage.CLEAN, "first") == BeginOutcome.STARTED
    assert _begin(store, doc_id, Stage.CLEAN, "second") == BeginOutcome.BUSY
    assert store.transition(doc_id, lambda r: plan_heartbeat(
        store.keys, store.policy, r, Stage.CLEAN, run="first", now=utc_now()))  # fmt: skip
    time.sleep(1.1)  # the first run stops renewing: its lease (1 s) runs out
    assert _begin(store, doc_id, Stage.CLEAN, "second") == BeginOutcome.STARTED
    assert not _complete(store, doc_id, Stage.CLEAN, "first")
    assert not store.transition(doc_id, lambda r: plan_fail(
        store.keys, store.policy, r, Stage.CLEAN, run="first", code="x", message="late",
        now=utc_now()))  # fmt: skip
    assert _complete(store, doc_id, Stage.CLEAN, "second")
    record = store.read(doc_id)
    assert record is not None and record.stages[Stage.CLEAN].attempts == 2
    assert (
        store.output(doc_id, Stage.CLEAN) == CleanResult(text="second").model_dump_json().encode()
    )
    assert _queued_ids(redis_client, "entities") == [doc_id], "the next stage, queued once"


def test_a_transition_plans_again_when_the_record_changes_under_it(
    store: RecordStore, redis_client: Redis
) -> None:
    doc_id = _new(store)
    seen: list[StageStatus] = []

    def planner(record: object) -> object:
        assert record is not None
        seen.append(record.stages[Stage.CLEAN].status)  # type: ignore[attr-defined]
        if len(seen) == 1:  # another worker begins the stage between our read and our EXEC
            _begin(store, doc_id, Stage.CLEAN, "other")
        return plan_begin(store.keys, store.policy, record, Stage.CLEAN, run="me",  # type: ignore[arg-type]
                          now=utc_now())  # fmt: skip

    begun = store.transition(doc_id, planner)  # type: ignore[arg-type]
    assert seen == [StageStatus.PENDING, StageStatus.RUNNING]
    assert begun.outcome == BeginOutcome.BUSY


def _refuse_reading(store: RecordStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on a transition that reads the record under WATCH fails the test."""

    def watched(*_: object, **__: object) -> object:
        raise AssertionError("planned on a fresh reading instead of the snapshot")

    monkeypatch.setattr(store, "_watched", watched)


def test_a_transition_from_the_writers_own_snapshot_needs_no_reading(
    store: RecordStore, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id = _new(store)
    begun, snapshot = store.transition_kept(doc_id, lambda r: plan_begin(
        store.keys, store.policy, r, Stage.CLEAN, run="me", now=utc_now()))  # fmt: skip
    assert begun.outcome == BeginOutcome.STARTED
    assert snapshot.fields == redis_client.hgetall(store.keys.document(doc_id))
    _refuse_reading(store, monkeypatch)
    stored, after = store.transition_from(snapshot, lambda r: plan_complete(
        store.keys, store.policy, r, Stage.CLEAN, CleanResult(text="done"), run="me",
        carry_on="next", now=utc_now()))  # fmt: skip
    assert stored
    assert after.fields == redis_client.hgetall(store.keys.document(doc_id)), "as Redis has it"
    record = store.read(doc_id)
    assert record is not None and record.stages[Stage.CLEAN].status == StageStatus.COMPLETED
    assert record.stages[Stage.ENTITIES].holds("next"), "the next stage's lease, same write"
    assert store.output(doc_id, Stage.CLEAN) == CleanResult(text="done").model_dump_json().encode()


def test_a_stage_begins_on_one_reading_of_record_and_content_and_one_guarded_write(
    store: RecordStore, redis_client: Redis
) -> None:
    doc_id = _new(store, content="The content to clean.")
    calls = _command_calls(redis_client)
    read, content = store.snapshot(doc_id, with_content=True)
    begun, after = store.transition_from(read, lambda r: plan_begin(
        store.keys, store.policy, r, Stage.CLEAN, run="me", now=utc_now()))  # fmt: skip
    spent = {name: n - calls.get(name, 0) for name, n in _command_calls(redis_client).items()}
    assert begun.outcome == BeginOutcome.STARTED and content == b"The content to clean."
    assert after.fields == redis_client.hgetall(store.keys.document(doc_id))
    assert spent.get("watch", 0) == 0 and spent.get("multi", 0) == 0
    assert spent["hgetall"] == 1 + 2 and spent["get"] == 1, "one read; the guard, the reply"
    assert spent["evalsha"] == 1
    # Begun again on the same (now stale) reading: planned on the record, refused as running.
    again, _ = store.transition_from(read, lambda r: plan_begin(
        store.keys, store.policy, r, Stage.CLEAN, run="other", now=utc_now()))  # fmt: skip
    assert again.outcome != BeginOutcome.STARTED
    record = store.read(doc_id)
    assert record is not None and record.stages[Stage.CLEAN].holds("me")
    missing, nothing = store.snapshot("no-such-document", with_content=True)
    assert missing.record() is None and nothing is None


def test_a_snapshot_of_a_key_that_is_no_record_says_so_and_a_bad_content_key_is_no_excuse(
    store: RecordStore, redis_client: Redis
) -> None:
    redis_client.set(store.keys.document("plain-string"), "not a hash")
    with pytest.raises(NotARecord):
        store.snapshot("plain-string", with_content=True)
    doc_id = _new(store)
    redis_client.delete(store.keys.content(doc_id))
    redis_client.rpush(store.keys.content(doc_id), "a list")
    with pytest.raises(ResponseError) as raised:
        store.snapshot(doc_id, with_content=True)
    assert not isinstance(raised.value, NotARecord) and "WRONGTYPE" in str(raised.value)
    redis_client.delete(store.keys.document("plain-string"), store.keys.content(doc_id))


def _command_calls(redis: Redis) -> dict[str, int]:
    stats = redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}


def test_a_transition_from_a_stale_snapshot_writes_nothing_and_plans_on_the_record(
    store: RecordStore, redis_client: Redis
) -> None:
    doc_id = _new(store)
    _, snapshot = store.transition_kept(doc_id, lambda r: plan_begin(
        store.keys, store.policy, r, Stage.CLEAN, run="me", now=utc_now()))  # fmt: skip
    # The document is cancelled after the snapshot: completing on the snapshot would undo that.
    cancelled = store.transition(doc_id, lambda r: plan_cancel(
        store.keys, store.policy, r, doc_id=doc_id, now=utc_now()))  # fmt: skip
    assert cancelled == CancelOutcome.CANCELLED
    seen: list[DocumentStatus] = []

    def complete(record: object) -> object:
        seen.append(record.status)  # type: ignore[attr-defined]
        return plan_complete(store.keys, store.policy, record, Stage.CLEAN,  # type: ignore[arg-type]
                             CleanResult(text="late"), run="me", now=utc_now())  # fmt: skip

    stored, after = store.transition_from(snapshot, complete)  # type: ignore[arg-type]
    assert seen == [DocumentStatus.PROCESSING, DocumentStatus.CANCELLED], "planned again"
    assert not stored
    assert store.output(doc_id, Stage.CLEAN) is None
    assert after.fields == redis_client.hgetall(store.keys.document(doc_id))
    record = store.read(doc_id)
    assert record is not None and record.status == DocumentStatus.CANCELLED


def test_the_reconciler_takes_over_a_dead_workers_stage_within_its_lease(
    store: RecordStore, redis_client: Redis
) -> None:
    doc_id = _new(store)
    redis_client.delete("clean")
    assert _begin(store, doc_id, Stage.CLEAN, "dies") == BeginOutcome.STARTED
    assert reconcile_once(store).requeued == [], "the lease is still alive"
    time.sleep(1.1)
    assert reconcile_once(store).requeued == [(doc_id, Stage.CLEAN)]
    assert _queued_ids(redis_client, "clean") == [doc_id]
    assert reconcile_once(store).requeued == [], "queued again once"
    assert _begin(store, doc_id, Stage.CLEAN, "next") == BeginOutcome.STARTED


def test_a_queued_message_is_requeued_only_once_it_is_known_to_be_lost(
    store: RecordStore, redis_client: Redis
) -> None:
    waiting, lost = _new(store), _new(store)
    redis_client.lrem("clean", 1, redis_client.lindex("clean", 0))  # type: ignore[arg-type]
    assert _queued_ids(redis_client, "clean") == [waiting], "the second message was lost"
    time.sleep(0.6)
    assert reconcile_once(store).requeued == [], "nothing later has started: still waiting"
    state = queue_state(store)
    assert state.probe(Stage.CLEAN, time.time() - 100) == QueueProbe(message_queued=True)
    # A worker takes the first message and starts it: the queue is now empty.
    redis_client.rpop("clean")
    time.sleep(0.7)
    assert _begin(store, waiting, Stage.CLEAN, "w") == BeginOutcome.STARTED
    assert reconcile_once(store).requeued == [(lost, Stage.CLEAN)]
    assert _queued_ids(redis_client, "clean") == [lost]


def test_a_bad_pending_entry_is_retired_and_the_pass_goes_on(
    store: RecordStore, redis_client: Redis
) -> None:
    fine, damaged = _new(store), _new(store)
    redis_client.delete("clean")
    wrong_type = uuid.uuid4().hex
    redis_client.set(store.keys.document(wrong_type), "not a hash")
    redis_client.hset(store.keys.document(damaged), layout.stage_field(Stage.CLEAN), "{oops")
    for doc_id in (wrong_type, damaged, fine):
        redis_client.zadd(store.keys.pending, {doc_id: 0})
    redis_client.zadd(store.keys.pending, {b"\xff\xfe": 0})
    report = reconcile_once(store)
    assert report.requeued == [(fine, Stage.CLEAN)]
    assert redis_client.zscore(store.keys.pending, wrong_type) is None
    assert redis_client.zscore(store.keys.pending, damaged) is None
    record = store.read(damaged)
    assert record is not None and record.finished
    view = document_view(record, {})
    assert view.status == "failed" and view.error is not None
    assert view.error.code == "unreadable_record"
    assert redis_client.ttl(store.keys.document(damaged)) > 0, "a quarantined record expires"


def test_after_a_redis_restart_every_pending_document_is_looked_at(
    store: RecordStore, redis_client: Redis
) -> None:
    doc_id = _new(store)
    redis_client.zadd(store.keys.pending, {doc_id: time.time() + 3000})
    redis_client.delete("clean")
    reconciler = Reconciler(store)
    assert reconciler.run_pass() == []
    reconciler.run_id = "a server that is gone"
    assert reconciler.run_pass() == [(doc_id, Stage.CLEAN)]
    assert reconciler.run_pass() == [], "once"


def test_cancel_stops_queued_work_and_delete_leaves_only_a_tombstone(
    store: RecordStore, redis_client: Redis
) -> None:
    doc_id = _new(store)

    def cancel() -> CancelOutcome:
        return store.transition(doc_id, lambda r: plan_cancel(
            store.keys, store.policy, r, doc_id=doc_id, now=utc_now()))  # fmt: skip

    assert cancel() == CancelOutcome.CANCELLED
    assert redis_client.llen("clean") == 0, "its queued message was taken off the queue"
    assert _begin(store, doc_id, Stage.CLEAN, "late") == BeginOutcome.FINISHED
    record = store.read(doc_id)
    assert record is not None and record.status == DocumentStatus.CANCELLED
    assert document_view(record, {}).stages["clean"].status == "cancelled"
    assert cancel() == CancelOutcome.DELETED
    assert not redis_client.exists(*store.keys.all_for(doc_id))
    assert redis_client.exists(store.keys.tombstone(doc_id))


def _random_step(
    rng: random.Random, store: RecordStore, doc_id: str, run: str, stage: Stage
) -> Planner[object]:
    """One transition picked at random, with arguments picked at random."""
    keys, policy, now = store.keys, store.policy, utc_now()
    choices: list[Planner[object]] = [
        lambda r: plan_begin(keys, policy, r, stage, run=run, now=now),
        lambda r: plan_heartbeat(keys, policy, r, stage, run=run, now=now),
        lambda r: plan_complete(keys, policy, r, stage, CleanResult(text="t"), run=run, now=now,
                                skipped=rng.random() < 0.2),
        lambda r: plan_fail(keys, policy, r, stage, run=run, code="c", message="m", now=now),
        lambda r: plan_release(keys, policy, r, stage, run=run, retry_in=0, now=now),
        lambda r: plan_requeue(keys, policy, r, doc_id=doc_id, now=now,
                               probe=QueueProbe(message_queued=rng.random() < 0.5)),
        lambda r: plan_cancel(keys, policy, r, doc_id=doc_id, now=now),
    ]  # fmt: skip
    return rng.choice(choices)


def test_every_record_any_sequence_of_transitions_writes_reads_back_as_a_view(
    store: RecordStore, redis_client: Redis
) -> None:
    """Random interleavings of every transition, applied to a real Redis: after each step the
    record decodes without problems into a valid view, and the invariants hold."""
    rng = random.Random(7)
    docs = [_new(store) for _ in range(6)]
    keys = store.keys
    finished_seen = 0
    for _ in range(400):
        doc_id = rng.choice(docs)
        step = _random_step(
            rng, store, doc_id, rng.choice(["a", "b", "c"]), rng.choice(STAGE_ORDER)
        )
        store.transition(doc_id, step)
        record = store.read(doc_id)
        if record is None:
            assert redis_client.exists(keys.tombstone(doc_id))
            continue
        assert not record.damaged, record.problems
        raw = redis_client.mget([keys.output(doc_id, s) for s in STAGE_ORDER])
        view = document_view(record, dict(zip(STAGE_ORDER, raw, strict=True)))
        running = [s for s in STAGE_ORDER if record.stages[s].status == StageStatus.RUNNING]
        assert len(running) <= 1
        if record.finished:
            finished_seen += 1
            assert redis_client.zscore(keys.pending, doc_id) is None
        else:
            assert redis_client.zscore(keys.pending, doc_id) is not None, "nothing is forgotten"
        assert view.id == doc_id
        records = [store.read(d) for d in docs]
        unfinished = {r.doc_id: r.content_bytes for r in records if r and not r.finished}
        in_flight = redis_client.zrange(keys.in_flight(""), 0, -1)
        assert sorted(m.decode() for m in in_flight) == sorted(unfinished), "quota count exact"
        assert int(redis_client.get(keys.in_flight_bytes("")) or 0) == sum(unfinished.values())
    assert finished_seen > 0


def test_every_kind_of_write_has_the_same_effect_applied_by_the_script_or_by_multi(
    store: RecordStore, redis_client: Redis
) -> None:
    from records.writes import (
        AppendEvent,
        Delete,
        Expire,
        HashDelete,
        HashIncrement,
        HashSet,
        IncrementBy,
        ListRemove,
        Push,
        ScoreRemove,
        ScoreSet,
        SetValue,
        Write,
        apply_writes,
    )  # fmt: skip

    def writes(prefix: str) -> list[Write]:
        return [
            HashSet(f"{prefix}:h", {"a": "1", "b": "2", "c": "3"}), HashDelete(f"{prefix}:h", ("a", "b")),
            SetValue(f"{prefix}:s", "v", 100), SetValue(f"{prefix}:gone", "x"),
            SetValue(f"{prefix}:gone2", "y"), Delete((f"{prefix}:gone", f"{prefix}:gone2")),
            ScoreSet(f"{prefix}:z", "m", 2.0), ScoreSet(f"{prefix}:z", "n", 1.0),
            ScoreSet(f"{prefix}:z", "m", 1.0, only_greater=True), ScoreRemove(f"{prefix}:z", "n"),
            Push(f"{prefix}:l", "one"), Push(f"{prefix}:l", "two"), ListRemove(f"{prefix}:l", "one"),
            AppendEvent(f"{prefix}:x", {"kind": "k"}, 10), IncrementBy(f"{prefix}:i", 3),
            HashIncrement(f"{prefix}:hi", "n", 2), HashIncrement(f"{prefix}:hi", "f", 0.5),
            Expire(f"{prefix}:h", 100), HashDelete(f"{prefix}:h", ()), Delete(()),
        ]  # fmt: skip

    store.apply(writes("script"))
    with redis_client.pipeline(transaction=True) as pipe:
        apply_writes(pipe, writes("multi"))
        pipe.execute()
    for name in ("h", "s", "gone", "gone2", "z", "l", "i", "hi"):
        found = []
        for prefix in ("script", "multi"):
            key = f"{prefix}:{name}"
            kind = redis_client.type(key)
            value = {b"hash": redis_client.hgetall, b"string": redis_client.get,
                     b"zset": lambda k: redis_client.zrange(k, 0, -1, withscores=True),
                     b"list": lambda k: redis_client.lrange(k, 0, -1),
                     b"none": lambda k: None}[kind](key)  # fmt: skip
            found.append((kind, value))
        assert found[0] == found[1], name
    assert redis_client.hgetall("script:h") == {b"c": b"3"}
    assert redis_client.xlen("script:x") == redis_client.xlen("multi:x") == 1
    assert 0 < redis_client.ttl("script:h") <= 100
