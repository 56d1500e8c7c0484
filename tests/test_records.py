"""The record layer without Redis: the codec and the planned transitions are pure functions."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contracts.documents import DocumentOptions, DocumentStatus, StageStatus
from contracts.messages import StageMessage
from contracts.results import CleanResult
from contracts.wire import STAGE_ORDER, Stage
from records import layout
from records.celery_message import stage_message
from records.codec import (
    DocumentRecord,
    StageRecord,
    decode_record,
    encode_record,
    new_record_fields,
)
from records.layout import Keys
from records.policy import RecordPolicy
from records.transitions import (
    BeginOutcome,
    NewDocument,
    QueueProbe,
    RequeueOutcome,
    plan_begin,
    plan_cancel,
    plan_complete,
    plan_create,
    plan_fail,
    plan_heartbeat,
    plan_quarantine,
    plan_release,
    plan_requeue,
)
from records.view import document_view
from records.writes import HashSet, Publish, Push, ScoreRemove, ScoreSet, SetValue, Write

KEYS, POLICY = Keys(), RecordPolicy(lease_seconds=10, max_attempts=3)
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DOC = "a" * 32


def _record(**stages: StageRecord) -> DocumentRecord:
    return DocumentRecord(
        doc_id=DOC,
        status=DocumentStatus.PROCESSING,
        created_at=NOW,
        updated_at=NOW,
        content_type="text/plain",
        options=DocumentOptions(metadata={"desk": "world", "n": 2, "x": 0.5, "ok": True}),
        stages={stage: stages.get(stage.value, StageRecord()) for stage in STAGE_ORDER},
    )


DONE = StageRecord(status=StageStatus.COMPLETED, attempts=1)


def _running(run: str, *, lease_in: float = 5.0, attempts: int = 1) -> StageRecord:
    return StageRecord(
        status=StageStatus.RUNNING, started_at=NOW, attempts=attempts, run=run,
        lease_until=NOW.timestamp() + lease_in,
    )  # fmt: skip


def _stored(record: DocumentRecord) -> dict[bytes, bytes]:
    """The hash as Redis returns it (bytes)."""
    return {k.encode(): v.encode() for k, v in encode_record(record).items()}


def test_a_record_survives_encoding_and_decoding() -> None:
    record = replace(
        _record(clean=DONE, entities=_running("r1")),
        owner="key-1",
        batch_id="b" * 32,
        content_bytes=12,
    )
    decoded = decode_record(DOC, _stored(record))
    assert decoded == record and not decoded.damaged


def test_the_fields_of_a_new_record_are_those_of_its_encoding() -> None:
    record = replace(_record(), status=DocumentStatus.QUEUED, owner="o", batch_id="b" * 32,
                     content_bytes=12)  # fmt: skip
    fields = new_record_fields(now=NOW, content_type="text/plain", content_bytes=12,
                               options_json=record.options.model_dump_json(), owner="o",
                               batch_id="b" * 32)  # fmt: skip
    assert fields == encode_record(record)


def test_the_created_record_reads_back_as_a_queued_document() -> None:
    document = NewDocument(doc_id=DOC, content="Ünïcode news 😀", content_type="text/plain",
                           options=DocumentOptions(title="T", metadata={"k": 1.5}))  # fmt: skip
    plan = plan_create(KEYS, POLICY, document, now=NOW)
    fields = next(w for w in plan.writes if isinstance(w, HashSet)).mapping
    record = decode_record(DOC, fields)
    assert record is not None and not record.damaged
    assert record.status == DocumentStatus.QUEUED and record.content_bytes == len(
        "Ünïcode news 😀".encode()
    )
    assert (
        record.stages[Stage.CLEAN].tag and record.stages[Stage.CLEAN].queued_at == NOW.timestamp()
    )
    pushed = [w for w in plan.writes if isinstance(w, Push)]
    assert [p.key for p in pushed] == ["clean"]
    assert pushed[0].value == stage_message(doc_id=DOC, stage=Stage.CLEAN,
                                            tag=record.stages[Stage.CLEAN].tag)  # fmt: skip
    content = next(w for w in plan.writes if isinstance(w, SetValue))
    assert content.key == KEYS.content(DOC) and content.value == document.content
    view = document_view(record, {})
    assert view.status == "queued" and view.options.metadata == {"k": 1.5}


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ({layout.stage_field(Stage.CLEAN): None}, "stage:clean is missing"),
        ({layout.stage_field(Stage.ENTITIES): b"{not json"}, "stage:entities is damaged"),
        ({layout.STATUS: b"exploded"}, "status 'exploded' is not known"),
        ({layout.CREATED_AT: b"yesterday"}, "created_at is not a time"),
        ({layout.OPTIONS: b'{"summary_sentences": "many"}'}, "options is damaged"),
        ({layout.attempts_field(Stage.CLEAN): b"three"}, "attempts:clean is not a number"),
        ({layout.CONTENT_TYPE: b"application/pdf"}, "content_type"),
        ({b"\xff\xfe": b"x"}, "not UTF-8"),
    ],
)
def test_a_damaged_record_still_reads_back_as_a_failed_document(
    damage: dict[object, bytes | None], problem: str
) -> None:
    stored: dict[object, bytes] = dict(_stored(_record(clean=DONE)))
    for field, value in damage.items():
        key = field.encode() if isinstance(field, str) else field
        if value is None:
            stored.pop(key)
        else:
            stored[key] = value
    record = decode_record(DOC, stored)
    assert record is not None and record.damaged
    assert any(problem in p for p in record.problems), record.problems
    view = document_view(record, {Stage.CLEAN: b"{also damaged"})
    assert view.status == "failed"
    assert view.error is not None and view.error.code == "unreadable_record"
    assert problem in view.error.message and "clean output is damaged" in view.error.message


def test_a_quarantined_record_keeps_its_reason() -> None:
    stored = dict(_stored(_record()))
    stored[layout.stage_field(Stage.CLEAN).encode()] = b"garbage"
    record = decode_record(DOC, stored)
    assert record is not None
    begun = plan_begin(KEYS, POLICY, record, Stage.CLEAN, run="r", now=NOW)
    assert begun.outcome.outcome == BeginOutcome.UNREADABLE
    for write in begun.writes:
        if isinstance(write, HashSet) and write.key == KEYS.document(DOC):
            stored.update({k.encode(): v.encode() for k, v in write.mapping.items()})
    quarantined = decode_record(DOC, stored)
    assert quarantined is not None and quarantined.finished
    view = document_view(quarantined, {})
    assert view.status == "failed" and view.error is not None
    assert view.error.code == "unreadable_record" and "stage:clean" in view.error.message
    again = plan_begin(KEYS, POLICY, quarantined, Stage.CLEAN, run="r2", now=NOW)
    assert again.outcome.outcome == BeginOutcome.FINISHED and not again.writes


@pytest.mark.parametrize(
    ("record", "stage", "outcome"),
    [
        (None, Stage.CLEAN, BeginOutcome.MISSING),
        (replace(_record(), status=DocumentStatus.COMPLETED), Stage.CLEAN, BeginOutcome.FINISHED),
        (replace(_record(), status=DocumentStatus.CANCELLED), Stage.CLEAN, BeginOutcome.FINISHED),
        (_record(clean=DONE), Stage.CLEAN, BeginOutcome.DONE),
        (_record(), Stage.ENTITIES, BeginOutcome.NOT_READY),
        (_record(clean=DONE, entities=_running("other")), Stage.ENTITIES, BeginOutcome.BUSY),
    ],
)
def test_a_stage_starts_only_in_order_only_once_and_never_under_a_live_lease(
    record: DocumentRecord | None, stage: Stage, outcome: BeginOutcome
) -> None:
    plan = plan_begin(KEYS, POLICY, record, stage, run="mine", now=NOW)
    assert plan.outcome.outcome == outcome and not plan.writes


def test_a_dead_runs_lease_runs_out_and_the_next_run_takes_over() -> None:
    record = _record(clean=DONE, entities=_running("dead", lease_in=-0.1))
    plan = plan_begin(KEYS, POLICY, record, Stage.ENTITIES, run="next", now=NOW)
    assert plan.outcome.outcome == BeginOutcome.STARTED and plan.outcome.attempt == 2
    fields = next(w for w in plan.writes if isinstance(w, HashSet)).mapping
    assert fields[layout.run_field(Stage.ENTITIES)] == "next"
    assert float(fields[layout.lease_field(Stage.ENTITIES)]) == NOW.timestamp() + 10
    pending = next(w for w in plan.writes if isinstance(w, ScoreSet) and w.key == KEYS.pending)
    assert pending.score == NOW.timestamp() + 10, "the reconciler looks when the lease ends"


def test_the_holder_recognises_its_own_lease_after_a_lost_reply() -> None:
    record = _record(clean=DONE, entities=_running("mine", attempts=2))
    plan = plan_begin(KEYS, POLICY, record, Stage.ENTITIES, run="mine", now=NOW)
    assert plan.outcome.outcome == BeginOutcome.STARTED and plan.outcome.attempt == 2
    assert not plan.writes, "no second attempt is counted"


def test_the_attempt_past_the_cap_fails_the_document() -> None:
    record = _record(clean=DONE, entities=_running("dead", lease_in=-1, attempts=3))
    plan = plan_begin(KEYS, POLICY, record, Stage.ENTITIES, run="next", now=NOW)
    assert plan.outcome.outcome == BeginOutcome.EXHAUSTED
    fields = next(w for w in plan.writes if isinstance(w, HashSet)).mapping
    assert fields[layout.STATUS] == "failed"
    assert json.loads(fields[layout.ERROR])["code"] == "attempts_exhausted"
    assert ScoreRemove(KEYS.pending, DOC) in plan.writes


def test_a_run_that_outlived_its_soft_limit_and_died_fails_the_stage_at_once() -> None:
    """C code the soft limit cannot interrupt is stopped at the hard limit; running it again
    would take as long again, so the next start fails the document instead of retrying."""
    outlived = StageRecord(status=StageStatus.RUNNING, started_at=NOW - timedelta(seconds=95),
                           attempts=1, run="killed", lease_until=NOW.timestamp() - 1)  # fmt: skip
    record = _record(clean=outlived)
    plan = plan_begin(KEYS, POLICY, record, Stage.CLEAN, run="next", now=NOW, soft_limit=60)
    assert plan.outcome.outcome == BeginOutcome.EXHAUSTED
    fields = next(w for w in plan.writes if isinstance(w, HashSet)).mapping
    error = json.loads(fields[layout.ERROR])
    assert error["code"] == "stage_timeout" and "60s" in error["message"]
    died_early = record.with_stage(Stage.CLEAN, started_at=NOW - timedelta(seconds=20))
    retried = plan_begin(KEYS, POLICY, died_early, Stage.CLEAN, run="next", now=NOW, soft_limit=60)
    assert retried.outcome.outcome == BeginOutcome.STARTED, "a crash before the limit is retried"


def test_only_the_lease_holder_may_renew_complete_fail_or_release() -> None:
    record = _record(clean=DONE, entities=_running("holder"))
    output = CleanResult(text="x")
    for run, allowed in (("holder", True), ("stale", False)):
        assert (
            plan_heartbeat(KEYS, POLICY, record, Stage.ENTITIES, run=run, now=NOW).outcome
            is allowed
        )
        assert plan_complete(KEYS, POLICY, record, Stage.ENTITIES, output, run=run,
                             now=NOW).outcome is allowed  # fmt: skip
        assert plan_fail(KEYS, POLICY, record, Stage.ENTITIES, run=run, code="c", message="m",
                         now=NOW).outcome is allowed  # fmt: skip
        assert plan_release(KEYS, POLICY, record, Stage.ENTITIES, run=run, retry_in=1,
                            now=NOW).outcome is allowed  # fmt: skip
    ended = replace(record, status=DocumentStatus.CANCELLED)
    assert not plan_complete(KEYS, POLICY, ended, Stage.ENTITIES, output, run="holder",
                             now=NOW).outcome, "a cancelled document's result is discarded"  # fmt: skip


def test_completing_a_stage_queues_the_next_in_the_same_plan() -> None:
    record = _record(clean=_running("r"))
    plan = plan_complete(KEYS, POLICY, record, Stage.CLEAN, CleanResult(text="x"), run="r", now=NOW)
    keys_written = [getattr(w, "key", None) for w in plan.writes]
    assert KEYS.output(DOC, Stage.CLEAN) in keys_written
    assert [w.key for w in plan.writes if isinstance(w, Push)] == ["entities"]
    fields = next(w for w in plan.writes if isinstance(w, HashSet)).mapping
    assert fields[layout.tag_field(Stage.ENTITIES)]
    assert plan_complete(KEYS, POLICY, record.with_stage(Stage.CLEAN, status=StageStatus.COMPLETED),
                         Stage.CLEAN, CleanResult(text="x"), run="r", now=NOW).outcome, (
        "a lost reply: the holder recognises its completed stage")  # fmt: skip


def test_carrying_on_takes_the_next_stages_lease_in_the_same_plan_instead_of_queueing_it() -> None:
    record = _record(clean=_running("r"))
    plan = plan_complete(KEYS, POLICY, record, Stage.CLEAN, CleanResult(text="x"), run="r",
                         carry_on="next", now=NOW)  # fmt: skip
    assert not [w for w in plan.writes if isinstance(w, Push)], "nothing queued"
    fields = next(w for w in plan.writes if isinstance(w, HashSet)).mapping
    after = decode_record(DOC, {k.encode(): v.encode()
                                for k, v in (encode_record(record) | fields).items()})  # fmt: skip
    assert after is not None and after.stages[Stage.CLEAN].status == StageStatus.COMPLETED
    assert after.stages[Stage.ENTITIES].holds("next") and after.stages[Stage.ENTITIES].attempts == 1
    assert ScoreSet(KEYS.pending, DOC, NOW.timestamp() + POLICY.lease_seconds) in plan.writes, (
        "the reconciler looks again when the new lease runs out"
    )
    assert not [w for w in plan.writes if isinstance(w, ScoreSet) and w.key == KEYS.progress], (
        "no queue moved: the stage was never queued"
    )
    dead = plan_requeue(KEYS, POLICY, after, doc_id=DOC, probe=None,
                        now=NOW + timedelta(seconds=POLICY.lease_seconds + 1))  # fmt: skip
    assert dead.outcome == (RequeueOutcome.REQUEUED, Stage.ENTITIES), (
        "if the carrying process dies, its stage is queued again like any dead run's"
    )


def test_completing_the_last_stage_completes_and_retires_the_document() -> None:
    record = _record(clean=DONE, entities=DONE, summarize=_running("r"))
    plan = plan_complete(KEYS, POLICY, record, Stage.SUMMARIZE, CleanResult(text="x"), run="r",
                         now=NOW)  # fmt: skip
    fields = next(w for w in plan.writes if isinstance(w, HashSet)).mapping
    assert fields[layout.STATUS] == "completed"
    assert not [w for w in plan.writes if isinstance(w, Push)]
    assert ScoreRemove(KEYS.pending, DOC) in plan.writes
    assert any(isinstance(w, SetValue) and w.key == KEYS.tombstone(DOC) for w in plan.writes)


def test_a_released_stage_does_not_count_the_attempt() -> None:
    record = _record(clean=_running("r", attempts=2))
    plan = plan_release(KEYS, POLICY, record, Stage.CLEAN, run="r", retry_in=3, now=NOW)
    fields = next(w for w in plan.writes if isinstance(w, HashSet)).mapping
    assert fields[layout.attempts_field(Stage.CLEAN)] == "1"
    assert fields[layout.run_field(Stage.CLEAN)] == ""
    pending = next(w for w in plan.writes if isinstance(w, ScoreSet))
    assert pending.score == NOW.timestamp() + 3


def _queued(waited: float) -> DocumentRecord:
    return _record(clean=DONE, entities=StageRecord(
        queued_at=NOW.timestamp() - waited, tag="t"))  # fmt: skip


@pytest.mark.parametrize(
    ("record", "probe", "outcome", "next_look"),
    [
        (_record(clean=DONE, entities=_running("dead", lease_in=-1)), None,
         RequeueOutcome.REQUEUED, NOW.timestamp() + POLICY.queued_check_seconds),
        (_record(clean=DONE, entities=_running("alive", lease_in=4)), None,
         RequeueOutcome.WAITING, NOW.timestamp() + 4),
        (_queued(12), QueueProbe(message_queued=False), RequeueOutcome.REQUEUED,
         NOW.timestamp() + POLICY.queued_check_seconds),
        (_queued(12), QueueProbe(message_queued=True), RequeueOutcome.WAITING,
         NOW.timestamp() + 12),
        (_queued(600), QueueProbe(message_queued=True), RequeueOutcome.WAITING,
         NOW.timestamp() + POLICY.max_recheck_seconds),
    ],
)  # fmt: skip
def test_the_reconciler_queues_again_only_what_was_lost(
    record: DocumentRecord, probe: QueueProbe | None, outcome: RequeueOutcome, next_look: float
) -> None:
    plan = plan_requeue(KEYS, POLICY, record, doc_id=DOC, probe=probe, now=NOW)
    assert plan.outcome == (outcome, Stage.ENTITIES)
    pending = [w for w in plan.writes if isinstance(w, ScoreSet) and w.key == KEYS.pending]
    assert [p.score for p in pending] == [pytest.approx(next_look)]
    pushed = [w.key for w in plan.writes if isinstance(w, Push)]
    assert pushed == (["entities"] if outcome == RequeueOutcome.REQUEUED else [])


def test_the_reconciler_forgets_finished_and_missing_documents() -> None:
    for record in (None, replace(_record(), status=DocumentStatus.FAILED)):
        plan = plan_requeue(KEYS, POLICY, record, doc_id=DOC, probe=None, now=NOW)
        assert plan.outcome == (RequeueOutcome.FORGOTTEN, None)
        assert plan.writes == [ScoreRemove(KEYS.pending, DOC)]


def test_the_stage_message_is_a_celery_protocol_2_task_in_kombus_envelope() -> None:
    message = json.loads(stage_message(doc_id=DOC, stage=Stage.ENTITIES, tag="tag-1"))
    assert message["headers"]["task"] == "newsdesk.entities"
    assert message["headers"]["id"] == message["properties"]["delivery_tag"] == "tag-1"
    assert message["properties"]["delivery_info"]["routing_key"] == "entities"
    args, kwargs, embed = json.loads(base64.b64decode(message["body"]))
    assert args == [] and kwargs == {"message": {"schema_version": 1, "doc_id": DOC,
                                                 "stage": "entities"}}  # fmt: skip
    assert set(embed) == {"callbacks", "errbacks", "chain", "chord"}
    assert kwargs["message"] == StageMessage(doc_id=DOC, stage=Stage.ENTITIES).model_dump(
        mode="json"
    )
    assert stage_message(doc_id=DOC, stage=Stage.ENTITIES, tag="tag-1") == stage_message(
        doc_id=DOC, stage=Stage.ENTITIES, tag="tag-1"
    ), "the same (document, stage, tag) always gives the same bytes"


def test_times_are_stored_in_utc() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=5)))
    record = replace(_record(), created_at=local)
    assert encode_record(record)[layout.CREATED_AT] == NOW.isoformat()


def _notifications(writes: Sequence[Write]) -> list[str]:
    return [w.message for w in writes if isinstance(w, Publish)]


def test_every_plan_that_ends_a_document_notifies_its_end() -> None:
    """A long-poll wakes only on the finishing event: every way a document ends must send it."""
    last = _record(clean=DONE, entities=DONE, summarize=_running("r"))
    exhausted = _record(clean=DONE, entities=_running("dead", lease_in=-1, attempts=3))
    damaged = replace(_record(), problems=("status is not a status",))
    ending = [
        plan_complete(KEYS, POLICY, last, Stage.SUMMARIZE, CleanResult(text="x"), run="r",
                      now=NOW).writes,
        plan_fail(KEYS, POLICY, last, Stage.SUMMARIZE, run="r", code="c", message="m",
                  now=NOW).writes,
        plan_begin(KEYS, POLICY, exhausted, Stage.ENTITIES, run="next", now=NOW).writes,
        plan_quarantine(KEYS, POLICY, damaged, now=NOW).writes,
        plan_cancel(KEYS, POLICY, last, doc_id=DOC, now=NOW).writes,
    ]  # fmt: skip
    finishing = layout.notification(DOC, layout.FINISHING_EVENT)
    for writes in ending:
        assert finishing in _notifications(writes), writes
    middle = plan_complete(KEYS, POLICY, _record(clean=_running("r")), Stage.CLEAN,
                           CleanResult(text="x"), run="r", now=NOW)  # fmt: skip
    assert middle.writes and finishing not in _notifications(middle.writes)
    assert layout.parse_notification(finishing) == (DOC, layout.FINISHING_EVENT)
    assert layout.parse_notification(DOC) == (DOC, None)  # as older processes sent it
