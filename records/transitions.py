"""Every change of a document record, planned as a pure function of a snapshot.

A planner takes what was read (a ``DocumentRecord`` or None) and returns a ``Plan``: the
outcome and the writes that make it so. The executors run planners on a WATCHed reading and
apply the writes in one MULTI, reading again when the record changed meanwhile; a planner
also recognises its own write when Redis applied a MULTI whose reply was lost.

Guards, in one place:
* only a run holding a stage's lease (its fencing token) may renew, complete, fail or release
  it, and only while the document is unfinished;
* a stage starts only when the earlier ones are done, it is not done itself, and nobody holds
  a live lease on it; the attempt past ``max_attempts`` fails the document instead;
* a damaged record is never processed: it is failed (quarantined) and retired.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from contracts.documents import (
    DocumentError,
    DocumentOptions,
    DocumentStatus,
    StageStatus,
    WebhookState,
)
from contracts.messages import WebhookMessage
from contracts.results import StageOutput
from contracts.wire import (
    STAGE_ORDER,
    WEBHOOK_QUEUE,
    WEBHOOK_TASK,
    Stage,
    earlier_stages,
    next_stage,
)
from records import layout, metrics
from records.celery_message import stage_message, task_message
from records.codec import (
    DocumentRecord,
    StageRecord,
    encode_stage,
    encode_time,
    event_payload,
    new_record_fields,
    unreadable_error,
)
from records.layout import Keys
from records.policy import RecordPolicy
from records.writes import (
    AppendEvent,
    Delete,
    Expire,
    HashSet,
    IncrementBy,
    ListRemove,
    Plan,
    Publish,
    Push,
    ScoreRemove,
    ScoreSet,
    SetValue,
    Write,
)


def new_tag() -> str:
    """A fresh delivery tag (Celery task id) for a stage message."""
    return str(uuid.uuid4())


# -- events ------------------------------------------------------------------------------------


def _event(keys: Keys, policy: RecordPolicy, doc_id: str, kind: str, **data: object) -> list[Write]:
    """Append a state change to the document's event stream and wake whoever waits on it."""
    return [
        AppendEvent(keys.events(doc_id), {"event": kind, "data": event_payload(**data)},
                    policy.event_stream_length),
        Publish(keys.notifications, layout.notification(doc_id, kind)),
    ]  # fmt: skip


def _enqueue(
    keys: Keys, doc_id: str, stage: Stage, now: datetime, first_check: float
) -> tuple[dict[str, str], list[Write]]:
    """Fields and writes that put a fresh message for ``stage`` on its queue."""
    tag = new_tag()
    moment = now.timestamp()
    fields = {
        layout.queued_field(stage): repr(moment),
        layout.tag_field(stage): tag,
    }
    writes: list[Write] = [
        Push(keys.queue(stage), stage_message(doc_id=doc_id, stage=stage, tag=tag)),
        ScoreSet(keys.pending, doc_id, moment + first_check),
    ]
    return fields, writes


def _callback(keys: Keys, record: DocumentRecord) -> tuple[dict[str, str], list[Write]]:
    """When a document with a callback URL finishes: a delivery queued on the webhook queue."""
    if not record.options.callback_url:
        return {}, []
    message = task_message(
        task=WEBHOOK_TASK,
        queue=WEBHOOK_QUEUE,
        kwargs={"message": WebhookMessage(doc_id=record.doc_id).model_dump(mode="json")},
        tag=new_tag(),
    )
    return {layout.WEBHOOK: WebhookState().model_dump_json()}, [Push(WEBHOOK_QUEUE, message)]


def tombstone_value(owner: str) -> str:
    """What a tombstone holds: whose document it was (so only its owner hears 410)."""
    return f"owner:{owner}"


def _retire(keys: Keys, policy: RecordPolicy, record: DocumentRecord) -> list[Write]:
    """A finished document leaves the pending set and its owner's in-flight count; its keys
    expire after the retention and leave a tombstone, so its id answers 410 (not 404) then.
    Every terminal transition is guarded by the record, so this runs once per document."""
    ttl, doc_id = policy.result_ttl_seconds, record.doc_id
    return [
        ScoreRemove(keys.pending, doc_id),
        ScoreRemove(keys.in_flight(record.owner), doc_id),
        IncrementBy(keys.in_flight_bytes(record.owner), -record.content_bytes),
        *(Expire(key, ttl) for key in keys.all_for(doc_id)),
        SetValue(
            keys.tombstone(doc_id),
            tombstone_value(record.owner),
            ttl + policy.tombstone_extra_seconds,
        ),
    ]


# -- creating ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewDocument:
    """Everything intake knows about a document it is about to accept."""

    doc_id: str
    content: str
    content_type: str
    options: DocumentOptions
    owner: str = ""
    batch_id: str | None = None


def plan_create(
    keys: Keys, policy: RecordPolicy, document: NewDocument, *, now: datetime
) -> Plan[None]:
    """Store a new record and its content, and queue its first stage — one MULTI, no read."""
    doc_id, first = document.doc_id, STAGE_ORDER[0]
    queued, enqueue = _enqueue(keys, doc_id, first, now, policy.queued_check_seconds)
    content_bytes = len(document.content.encode())
    fields = new_record_fields(
        now=now, content_type=document.content_type, content_bytes=content_bytes,
        options_json=document.options.model_dump_json(), owner=document.owner,
        batch_id=document.batch_id,
    ) | queued  # fmt: skip
    writes: list[Write] = [
        HashSet(keys.document(doc_id), fields),
        SetValue(keys.content(doc_id), document.content),
        ScoreSet(keys.index(document.owner), doc_id, now.timestamp()),
        ScoreSet(keys.in_flight(document.owner), doc_id, content_bytes),
        IncrementBy(keys.in_flight_bytes(document.owner), content_bytes),
        *enqueue,
        # Nobody can be waiting on a document that did not exist: the event, without a wake-up.
        _event(keys, policy, doc_id, "queued", status=DocumentStatus.QUEUED.value)[0],
        metrics.count(keys, "documents_accepted_total"),
    ]
    return Plan(None, writes)


# -- starting a stage ----------------------------------------------------------------------------


class BeginOutcome(StrEnum):
    """What asking to start a stage came to."""

    STARTED = "started"
    MISSING = "missing"  # no such document (withdrawn, deleted or expired)
    FINISHED = "finished"  # the document already completed, failed or was cancelled
    DONE = "done"  # this stage already completed: a duplicate delivery
    BUSY = "busy"  # another run holds a live lease on this stage
    NOT_READY = "not ready"  # an earlier stage has not completed
    UNREADABLE = "unreadable"  # the record is damaged; it was failed
    EXHAUSTED = "exhausted"  # started too often without finishing; the document was failed


@dataclass(frozen=True)
class Begun:
    """The outcome of ``plan_begin``; ``attempt`` counts starts of the stage."""

    outcome: BeginOutcome
    attempt: int = 0
    record: DocumentRecord | None = None


def plan_begin(
    keys: Keys,
    policy: RecordPolicy,
    record: DocumentRecord | None,
    stage: Stage,
    *,
    run: str,
    now: datetime,
    soft_limit: float | None = None,
) -> Plan[Begun]:
    """Take the stage's lease for ``run`` (unique per execution), count the attempt and mark
    the stage running — unless the record says not to.

    A stage whose previous run renewed its lease past ``soft_limit`` seconds and then died was
    stopped by the hard time limit (code that the soft limit could not interrupt): running it
    again would only take as long again, so the document fails with ``stage_timeout`` now.
    """
    if record is not None and record.stages[stage].holds(run) and not record.finished:
        return Plan(Begun(BeginOutcome.STARTED, record.stages[stage].attempts, record))
    refusal = _refusal(record, stage, now=now)
    if refusal is not None or record is None:
        if refusal == BeginOutcome.UNREADABLE and record is not None:
            return Plan(Begun(refusal, record=record), plan_quarantine(keys, policy, record,
                                                                        now=now).writes)  # fmt: skip
        return Plan(Begun(refusal or BeginOutcome.MISSING, record=record))
    current = record.stages[stage]
    attempt = current.attempts + 1
    failure = _giving_up(current, stage, attempt=attempt, policy=policy, soft_limit=soft_limit)
    if failure is not None:
        code, reason = failure
        failing = record.with_stage(stage, run=run, status=StageStatus.RUNNING)
        plan = plan_fail(keys, policy, failing, stage, run=run, code=code, message=reason, now=now)
        return Plan(Begun(BeginOutcome.EXHAUSTED, attempt, record), plan.writes)
    fields, writes = _running(keys, policy, record, stage, run=run, attempt=attempt, now=now)
    writes.insert(0, HashSet(keys.document(record.doc_id), fields))
    return Plan(Begun(BeginOutcome.STARTED, attempt, record), writes)


def _running(
    keys: Keys, policy: RecordPolicy, record: DocumentRecord, stage: Stage, *, run: str,
    attempt: int, now: datetime,
) -> tuple[dict[str, str], list[Write]]:  # fmt: skip
    """Fields and writes that mark ``stage`` running under ``run``'s lease (events, metrics and
    the queue's progress included); the caller writes the fields."""
    current = record.stages[stage]
    lease_until = now.timestamp() + policy.lease_seconds
    running = StageRecord(
        status=StageStatus.RUNNING,
        started_at=now,
        attempts=attempt,
        run=run,
        lease_until=lease_until,
        queued_at=current.queued_at,
        tag=current.tag,
    )
    doc_id = record.doc_id
    fields = encode_stage(stage, running) | {
        layout.STATUS: DocumentStatus.PROCESSING.value,
        layout.UPDATED_AT: encode_time(now),
    }
    writes: list[Write] = [
        ScoreSet(keys.pending, doc_id, lease_until),
        *_event(keys, policy, doc_id, "stage", stage=stage.value,
                stage_status=StageStatus.RUNNING.value, attempt=attempt,
                status=DocumentStatus.PROCESSING.value),
    ]  # fmt: skip
    if current.queued_at is not None:  # a worker took this message: the queue moved past it
        writes.append(ScoreSet(keys.progress, stage.value, current.queued_at, only_greater=True))
    writes.append(metrics.count(keys, "stage_starts_total", stage=stage.value))
    return fields, writes


def _giving_up(
    previous: StageRecord, stage: Stage, *, attempt: int, policy: RecordPolicy,
    soft_limit: float | None,
) -> tuple[str, str] | None:  # fmt: skip
    """(code, reason) when the stage must not be tried again, else None."""
    if (
        soft_limit is not None
        and previous.status == StageStatus.RUNNING
        and previous.started_at is not None
        and previous.lease_until is not None
        and previous.lease_until - policy.lease_seconds - previous.started_at.timestamp()
        >= soft_limit
    ):
        return "stage_timeout", (
            f"the {stage.value} stage ran past its {soft_limit:g}s time limit and was stopped"
        )
    if attempt > policy.max_attempts:
        return "attempts_exhausted", (
            f"the {stage.value} stage was started {attempt - 1} times without finishing "
            "(its worker died or hit the hard time limit); giving up"
        )
    return None


def _refusal(record: DocumentRecord | None, stage: Stage, *, now: datetime) -> BeginOutcome | None:
    """Why a stage must not start now, or None when it may."""
    if record is None:
        return BeginOutcome.MISSING
    if record.finished:
        return BeginOutcome.FINISHED
    if record.damaged:
        return BeginOutcome.UNREADABLE
    state = record.stages[stage]
    if state.done:
        return BeginOutcome.DONE
    if any(not record.stages[s].done for s in earlier_stages(stage)):
        return BeginOutcome.NOT_READY
    if state.status == StageStatus.RUNNING and lease_alive(state, now):
        return BeginOutcome.BUSY
    return None


def lease_alive(state: StageRecord, now: datetime) -> bool:
    """Whether a running stage's holder renewed its lease recently enough."""
    return state.lease_until is not None and now.timestamp() < state.lease_until


# -- while it runs ------------------------------------------------------------------------------


def plan_heartbeat(
    keys: Keys,
    policy: RecordPolicy,
    record: DocumentRecord | None,
    stage: Stage,
    *,
    run: str,
    now: datetime,
) -> Plan[bool]:
    """Renew ``run``'s lease on the stage; False when it no longer holds it."""
    if record is None or record.finished or not record.stages[stage].holds(run):
        return Plan(False)
    lease_until = now.timestamp() + policy.lease_seconds
    return Plan(True, [
        HashSet(keys.document(record.doc_id), {layout.lease_field(stage): repr(lease_until)}),
        ScoreSet(keys.pending, record.doc_id, lease_until),
    ])  # fmt: skip


# -- finishing a stage ---------------------------------------------------------------------------


def plan_complete(
    keys: Keys,
    policy: RecordPolicy,
    record: DocumentRecord | None,
    stage: Stage,
    output: StageOutput,
    *,
    run: str,
    skipped: bool = False,
    carry_on: str | None = None,
    now: datetime,
) -> Plan[bool]:
    """Store the output and mark the stage done, queueing the next stage in the same MULTI;
    the last stage completes the document. False (nothing written) when ``run`` no longer holds
    the stage's lease or the document ended meanwhile.

    With ``carry_on`` (a fresh run token) the next stage is not queued: it is marked running
    under that run's lease in the same MULTI, for the calling process to run at once. Should the
    process die, the lease runs out and the reconciler queues the stage as for any dead run."""
    done = StageStatus.SKIPPED if skipped else StageStatus.COMPLETED
    if record is None or record.damaged:
        return Plan(False)
    current = record.stages[stage]
    if current.holds(run, done):
        return Plan(True)  # our own write landed although its reply was lost
    if record.finished or not current.holds(run):
        return Plan(False)
    doc_id = record.doc_id
    started = current.started_at or now
    finished = StageRecord(
        status=done,
        started_at=started,
        finished_at=now,
        duration_ms=round((now - started).total_seconds() * 1000, 3),
        attempts=current.attempts,
        run=run,  # kept, so a retried MULTI recognises its own write
        queued_at=current.queued_at,
        tag=current.tag,
    )
    fields = encode_stage(stage, finished) | {layout.UPDATED_AT: encode_time(now)}
    writes: list[Write] = [
        SetValue(keys.output(doc_id, stage), output.model_dump_json()),
        *metrics.observe(keys, "stage_duration_seconds", (now - started).total_seconds(),
                         stage=stage.value, outcome=done.value),
    ]  # fmt: skip
    following = next_stage(stage)
    if following is None:
        webhook_fields, webhook = _callback(keys, record)
        fields |= {layout.STATUS: DocumentStatus.COMPLETED.value,
                   layout.FINISHED_AT: encode_time(now)} | webhook_fields  # fmt: skip
        writes += [
            HashSet(keys.document(doc_id), fields),
            *_retire(keys, policy, record),
            *webhook,
            *_event(keys, policy, doc_id, "stage", stage=stage.value, stage_status=done.value,
                    attempt=current.attempts, status=DocumentStatus.COMPLETED.value),
            *_event(keys, policy, doc_id, layout.FINISHING_EVENT,
                    status=DocumentStatus.COMPLETED.value),
            metrics.count(keys, "documents_completed_total"),
        ]  # fmt: skip
        return Plan(True, writes)
    writes += _event(keys, policy, doc_id, "stage", stage=stage.value, stage_status=done.value,
                     attempt=current.attempts, status=record.status.value)  # fmt: skip
    if carry_on is None:
        queued, enqueue = _enqueue(keys, doc_id, following, now, policy.queued_check_seconds)
    else:
        attempt = record.stages[following].attempts + 1
        queued, enqueue = _running(keys, policy, record, following, run=carry_on,
                                   attempt=attempt, now=now)  # fmt: skip
    writes += [HashSet(keys.document(doc_id), fields | queued), *enqueue]
    return Plan(True, writes)


def plan_fail(
    keys: Keys,
    policy: RecordPolicy,
    record: DocumentRecord | None,
    stage: Stage,
    *,
    run: str,
    code: str,
    message: str,
    now: datetime,
) -> Plan[bool]:
    """Fail the document in ``stage`` with a readable reason, if ``run`` holds the stage's
    lease (a stale run cannot fail a document another run completed)."""
    if record is None or record.damaged:
        return Plan(False)
    current = record.stages[stage]
    if current.holds(run, StageStatus.FAILED):
        return Plan(True)  # our own write landed although its reply was lost
    if record.finished or not current.holds(run):
        return Plan(False)
    doc_id = record.doc_id
    error = DocumentError(code=code, message=message, stage=stage.value)
    failed = StageRecord(
        status=StageStatus.FAILED,
        started_at=current.started_at,
        finished_at=now,
        error=message,
        attempts=current.attempts,
        run=run,
        queued_at=current.queued_at,
        tag=current.tag,
    )
    webhook_fields, webhook = _callback(keys, record)
    return Plan(True, [
        HashSet(keys.document(doc_id), encode_stage(stage, failed) | {
            layout.STATUS: DocumentStatus.FAILED.value,
            layout.ERROR: error.model_dump_json(),
            layout.UPDATED_AT: encode_time(now),
            layout.FINISHED_AT: encode_time(now),
        } | webhook_fields),
        *_retire(keys, policy, record),
        *webhook,
        *_event(keys, policy, doc_id, "stage", stage=stage.value,
                stage_status=StageStatus.FAILED.value, attempt=current.attempts,
                status=DocumentStatus.FAILED.value),
        *_event(keys, policy, doc_id, layout.FINISHING_EVENT, status=DocumentStatus.FAILED.value,
                error=error.model_dump()),
        *metrics.observe(keys, "stage_duration_seconds",
                         (now - (current.started_at or now)).total_seconds(),
                         stage=stage.value, outcome=StageStatus.FAILED.value),
        metrics.count(keys, "documents_failed_total", code=code),
    ])  # fmt: skip


def plan_release(
    keys: Keys,
    policy: RecordPolicy,
    record: DocumentRecord | None,
    stage: Stage,
    *,
    run: str,
    retry_in: float,
    now: datetime,
) -> Plan[bool]:
    """Give the lease back after a passing fault (the attempt is not counted), and have the
    reconciler queue the stage again in ``retry_in`` seconds."""
    if record is None or record.finished or record.damaged:
        return Plan(False)
    current = record.stages[stage]
    if not current.holds(run):
        return Plan(False)
    released = StageRecord(
        attempts=max(current.attempts - 1, 0), queued_at=current.queued_at, tag=current.tag
    )
    doc_id = record.doc_id
    return Plan(True, [
        HashSet(keys.document(doc_id), encode_stage(stage, released) | {
            layout.UPDATED_AT: encode_time(now),
        }),
        ScoreSet(keys.pending, doc_id, now.timestamp() + retry_in),
        *_event(keys, policy, doc_id, "stage", stage=stage.value,
                stage_status=StageStatus.PENDING.value, attempt=released.attempts,
                status=record.status.value),
        metrics.count(keys, "stage_releases_total", stage=stage.value),
    ])  # fmt: skip


# -- the reconciler ------------------------------------------------------------------------------


class RequeueOutcome(StrEnum):
    """What the reconciler did with a document whose check time came."""

    REQUEUED = "requeued"  # its stage's message was lost or its worker died: queued again
    WAITING = "waiting"  # still queued behind others, or still running: look again later
    FORGOTTEN = "forgotten"  # no record, or finished: left the pending set
    QUARANTINED = "quarantined"  # the record is damaged: failed and retired


@dataclass(frozen=True)
class QueueProbe:
    """What the reconciler saw of the document's queue, read just before the transition."""

    message_queued: bool  # the stage's latest message is still in its queue list


def plan_requeue(
    keys: Keys,
    policy: RecordPolicy,
    record: DocumentRecord | None,
    *,
    doc_id: str,
    probe: QueueProbe | None,
    now: datetime,
) -> Plan[tuple[RequeueOutcome, Stage | None]]:
    """Queue the current stage again when its message was lost or its holder stopped renewing
    its lease; otherwise decide when to look again."""
    if record is None or record.finished:
        return Plan((RequeueOutcome.FORGOTTEN, None), [ScoreRemove(keys.pending, doc_id)])
    if record.damaged:
        return Plan((RequeueOutcome.QUARANTINED, None),
                    plan_quarantine(keys, policy, record, now=now).writes)  # fmt: skip
    stage = record.current_stage()
    if stage is None:
        return Plan((RequeueOutcome.FORGOTTEN, None), [ScoreRemove(keys.pending, doc_id)])
    state = record.stages[stage]
    if state.status == StageStatus.RUNNING and lease_alive(state, now):
        assert state.lease_until is not None
        return Plan((RequeueOutcome.WAITING, stage),
                    [ScoreSet(keys.pending, doc_id, state.lease_until)])  # fmt: skip
    if state.status != StageStatus.RUNNING and probe is not None and probe.message_queued:
        waited = now.timestamp() - (state.queued_at or now.timestamp())
        again = min(max(waited, policy.queued_check_seconds), policy.max_recheck_seconds)
        return Plan((RequeueOutcome.WAITING, stage),
                    [ScoreSet(keys.pending, doc_id, now.timestamp() + again)])  # fmt: skip
    queued, enqueue = _enqueue(keys, doc_id, stage, now, policy.queued_check_seconds)
    reason = "lease_expired" if state.status == StageStatus.RUNNING else "message_lost"
    writes: list[Write] = [
        HashSet(keys.document(doc_id), queued),
        *enqueue,
        metrics.count(keys, "reconciler_requeued_total", stage=stage.value, reason=reason),
    ]
    return Plan((RequeueOutcome.REQUEUED, stage), writes)


def expected_message(record: DocumentRecord, stage: Stage) -> str | None:
    """The exact queue entry of the stage's latest message, or None when none was queued."""
    tag = record.stages[stage].tag
    return stage_message(doc_id=record.doc_id, stage=stage, tag=tag) if tag else None


def plan_quarantine(
    keys: Keys, policy: RecordPolicy, record: DocumentRecord, *, now: datetime
) -> Plan[bool]:
    """Fail a record that cannot be read, with writes that need no parsing, and retire it."""
    error = unreadable_error(record.problems)
    doc_id = record.doc_id
    return Plan(True, [
        HashSet(keys.document(doc_id), {
            layout.STATUS: DocumentStatus.FAILED.value,
            layout.ERROR: error.model_dump_json(),
            layout.UPDATED_AT: encode_time(now),
            layout.FINISHED_AT: encode_time(now),
        }),
        *_retire(keys, policy, record),
        *_event(keys, policy, doc_id, layout.FINISHING_EVENT, status=DocumentStatus.FAILED.value,
                error=error.model_dump()),
        metrics.count(keys, "documents_failed_total", code=error.code),
    ])  # fmt: skip


# -- cancelling and deleting ---------------------------------------------------------------------


class CancelOutcome(StrEnum):
    """What ``DELETE /v1/documents/{id}`` came to."""

    CANCELLED = "cancelled"  # it was unfinished: it will not be processed further
    DELETED = "deleted"  # it had finished: its content and results are gone
    MISSING = "missing"


def plan_cancel(
    keys: Keys, policy: RecordPolicy, record: DocumentRecord | None, *, doc_id: str,
    now: datetime,
) -> Plan[CancelOutcome]:  # fmt: skip
    """Cancel an unfinished document (queued stages never run, a running stage's result is
    discarded by its fencing check); delete a finished one, leaving only a tombstone."""
    if record is None:
        return Plan(CancelOutcome.MISSING)
    if record.finished or record.damaged:
        ttl = policy.result_ttl_seconds + policy.tombstone_extra_seconds
        return Plan(CancelOutcome.DELETED, [
            Delete(tuple(keys.all_for(doc_id))),
            ScoreRemove(keys.pending, doc_id),
            ScoreRemove(keys.index(record.owner), doc_id),
            SetValue(keys.tombstone(doc_id), tombstone_value(record.owner), ttl),
        ])  # fmt: skip
    fields: dict[str, str] = {
        layout.STATUS: DocumentStatus.CANCELLED.value,
        layout.UPDATED_AT: encode_time(now),
        layout.FINISHED_AT: encode_time(now),
    }
    writes: list[Write] = []
    for stage in STAGE_ORDER:
        state = record.stages[stage]
        if state.status in (StageStatus.PENDING, StageStatus.RUNNING):
            fields[layout.stage_field(stage)] = (
                StageRecord(
                    status=StageStatus.CANCELLED, started_at=state.started_at, finished_at=now
                )
                .state()
                .model_dump_json()
            )
            message = expected_message(record, stage)
            if message is not None and state.status == StageStatus.PENDING:
                writes.append(ListRemove(keys.queue(stage), message))
    return Plan(CancelOutcome.CANCELLED, [
        HashSet(keys.document(doc_id), fields),
        *writes,
        *_retire(keys, policy, record),
        *_event(keys, policy, doc_id, layout.FINISHING_EVENT,
                status=DocumentStatus.CANCELLED.value),
        metrics.count(keys, "documents_cancelled_total"),
    ])  # fmt: skip


# -- webhooks ------------------------------------------------------------------------------------


def plan_webhook_attempt(
    keys: Keys,
    policy: RecordPolicy,
    record: DocumentRecord | None,
    *,
    delivered: bool,
    final: bool,
    status_code: int | None,
    error: str | None,
    now: datetime,
) -> Plan[bool]:
    """Record one delivery attempt of a finished document's webhook (visible in its view)."""
    if record is None or record.damaged or not record.finished or record.webhook is None:
        return Plan(False)
    state = record.webhook
    if state.status != "pending":
        return Plan(False)  # already delivered or given up: a duplicate delivery task
    status = "delivered" if delivered else ("failed" if final else "pending")
    updated = state.model_copy(update={
        "status": status, "attempts": state.attempts + 1, "last_attempt_at": now,
        "last_status_code": status_code, "last_error": error,
        "delivered_at": now if delivered else None,
    })  # fmt: skip
    doc_id = record.doc_id
    return Plan(True, [
        HashSet(keys.document(doc_id), {layout.WEBHOOK: updated.model_dump_json(),
                                        layout.UPDATED_AT: encode_time(now)}),
        *_event(keys, policy, doc_id, "webhook", status=record.status.value,
                webhook=updated.model_dump(mode="json")),
        metrics.count(keys, "webhook_attempts_total", outcome=status if status != "pending" else "retry"),
    ])  # fmt: skip
