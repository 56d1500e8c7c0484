"""Running one stage of one document: take the lease, compute, store — all through the record.

The runner holds no rules of its own: whether a stage may start, whether a result may be
stored and what is queued next are decided by the planners in ``records.transitions``.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError
from redis.exceptions import RedisError
from spacy.language import Language

from contracts.messages import StageMessage
from contracts.results import StageOutput
from contracts.stages import STAGE_OUTPUTS
from contracts.wire import Stage
from records.codec import DocumentRecord, utc_now
from records.store import RecordContention, RecordStore, Snapshot
from records.transitions import (
    BeginOutcome,
    Begun,
    plan_begin,
    plan_complete,
    plan_fail,
    plan_release,
)
from workers.deadline import soft_deadline
from workers.errors import MissingInput, PermanentStageError
from workers.heartbeat import Heartbeat
from workers.pipeline.clean import UnprocessableDocument
from workers.pipeline.language import detect_language
from workers.pipeline.nlp import load_nlp
from workers.pipeline.warm_up import run_every_stage_once
from workers.settings import WorkerSettings
from workers.stages import STAGES, StageInputs

log = logging.getLogger("newsdesk.worker")
# Storage unreachable or busy: worth trying again later.
TRANSIENT_ERRORS = (RedisError, RecordContention)


@dataclass(frozen=True)
class Step:
    """One stage of one document, run under the lease of ``run`` (unique per execution);
    ``attempt`` counts starts of the stage (0 until the lease is taken)."""

    doc_id: str
    stage: Stage
    run: str
    attempt: int = 0


class StageRunner:
    """Runs stages in one worker process; owns its Redis client, models and heartbeat."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._store: RecordStore | None = None
        self._heartbeat: Heartbeat | None = None

    @property
    def store(self) -> RecordStore:
        """The record store, created lazily so each forked process has its own connections."""
        if self._store is None:
            self._store = RecordStore.connect(self.settings)
        return self._store

    @property
    def heartbeat(self) -> Heartbeat:
        if self._heartbeat is None:
            self._heartbeat = Heartbeat(self.store, queues=tuple(self.settings.queues()))
            self._heartbeat.start(ready=False)
        return self._heartbeat

    def load_models(self) -> None:
        """Load the models (cached per process; a forked child inherits them)."""
        if not self.settings.runs_stages():
            return
        nlp = load_nlp(self.settings.spacy_model)
        detect_language("warm up the language identifier")
        run_every_stage_once(nlp)

    def warm_up(self) -> None:
        """In a new worker process: load the models, then announce the process as ready."""
        self._store, self._heartbeat = None, None  # never share a parent's connections
        self.load_models()
        self.heartbeat.ready = True
        self.heartbeat.beat()

    def shut_down(self) -> None:
        """When the process exits: stop the heartbeat and withdraw the announcement."""
        if self._heartbeat is not None:
            self._heartbeat.stop()

    def nlp(self) -> Language:
        return load_nlp(self.settings.spacy_model)

    def run(self, raw_message: Any, *, stage: Stage) -> str:
        """Run the stage a message asks for, then each stage this worker carries on to; returns
        what happened, for the worker log."""
        try:
            message = StageMessage.model_validate(raw_message)
        except ValidationError as exc:
            log.error("dropping a malformed stage message: %s", exc)
            return "malformed"
        if message.stage != stage:
            log.error("dropping a %s message delivered to the %s task", message.stage, stage)
            return "misrouted"
        step = Step(message.doc_id, stage, run=uuid.uuid4().hex)  # the run is the lease token
        try:
            begun, snapshot, content = self._begin(step)
        except TRANSIENT_ERRORS as exc:
            self._release(step, cause=exc)
            return "retry"
        if begun.outcome != BeginOutcome.STARTED or begun.record is None:
            return begun.outcome.value
        record = begun.record
        carried: dict[Stage, StageOutput] = {}
        current: Step | None = replace(step, attempt=begun.attempt)
        outcome = "completed"
        while current is not None:
            try:
                outcome, following, snapshot = self._run_stage(
                    current, record, carried, snapshot, content
                )
            except TRANSIENT_ERRORS as exc:
                self._release(current, cause=exc)
                return "retry"
            current, content = following, None
        return outcome

    def _begin(self, step: Step) -> tuple[Begun, Snapshot, bytes | None]:
        """Take the stage's lease (or learn, and log, why the stage must not run): the outcome,
        the record as this write left it and, for a stage that reads it, the content. Two round
        trips: the record read with the content, then the lease written on that reading."""
        store, stage = self.store, step.stage
        soft_limit = self.settings.soft_limit(stage)
        read, content = store.snapshot(step.doc_id, with_content=STAGES[stage].reads_content)
        begun, snapshot = store.transition_from(read, lambda record: plan_begin(
            store.keys, store.policy, record, stage, run=step.run, now=utc_now(),
            soft_limit=soft_limit))  # fmt: skip
        if begun.outcome != BeginOutcome.STARTED or begun.record is None:
            level = logging.WARNING if begun.outcome == BeginOutcome.EXHAUSTED else logging.INFO
            log.log(level, "stage not run: %s", begun.outcome.value, extra={
                "doc_id": step.doc_id, "stage": stage.value, "outcome": begun.outcome.value})  # fmt: skip
        return begun, snapshot, content

    def _run_stage(
        self,
        step: Step,
        record: DocumentRecord,
        carried: dict[Stage, StageOutput],
        snapshot: Snapshot,
        content: bytes | None,
    ) -> tuple[str, Step | None, Snapshot]:
        """Compute one stage whose lease ``step.run`` holds and store its output, planned on
        ``snapshot`` (the record as this process last wrote it; ``content``, when already read):
        what happened, the stage this process runs next (its lease taken in the same write), if
        any, and the record after."""
        store, doc_id, stage, run = self.store, step.doc_id, step.stage, step.run
        began = time.perf_counter()
        with self.heartbeat.holding(doc_id, stage, run):
            result = self._compute(stage, record, carried, content)
        context = {"doc_id": doc_id, "stage": stage.value, "attempt": step.attempt, "run": run}
        if isinstance(result, tuple):
            code, reason = result
            log.warning("stage failed: %s", reason, extra={**context, "code": code,
                        "duration_ms": round((time.perf_counter() - began) * 1000, 1)})  # fmt: skip
            store.transition(doc_id, lambda record: plan_fail(
                store.keys, store.policy, record, stage, run=run, code=code, message=reason,
                now=utc_now()))  # fmt: skip
            return "failed", None, snapshot
        skipped = STAGES[stage].is_skipped(result)
        following = self.settings.carries_on(stage)
        next_step = None
        if following is not None:  # plan_complete counts its start the same way
            attempt = record.stages[following].attempts + 1
            next_step = Step(doc_id, following, run=uuid.uuid4().hex, attempt=attempt)
        stored, snapshot = store.transition_from(snapshot, lambda record: plan_complete(
            store.keys, store.policy, record, stage, result, run=run, skipped=skipped,
            carry_on=next_step.run if next_step else None, now=utc_now()))  # fmt: skip
        if not stored:
            log.warning("result discarded: the lease was lost or the document ended meanwhile",
                        extra=context)  # fmt: skip
            return "superseded", None, snapshot
        log.info("stage done", extra={**context,
                 "duration_ms": round((time.perf_counter() - began) * 1000, 1),
                 "outcome": "skipped" if skipped else "completed"})  # fmt: skip
        carried[stage] = result
        return "completed", next_step, snapshot

    def _compute(
        self,
        stage: Stage,
        record: DocumentRecord,
        carried: dict[Stage, StageOutput],
        content: bytes | None,
    ) -> StageOutput | tuple[str, str]:
        """The stage's output, or (code, reason) when the document must fail."""
        soft_limit = self.settings.soft_limit(stage)
        try:
            with soft_deadline(soft_limit):
                return STAGES[stage].compute(self._inputs(stage, record, carried, content))
        except SoftTimeLimitExceeded:
            return "stage_timeout", f"the {stage.value} stage took longer than {soft_limit:g}s"
        except PermanentStageError as exc:
            return exc.code, str(exc)
        except UnprocessableDocument as exc:
            return "unprocessable_document", str(exc)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:  # a bug or an input the pipeline cannot handle: fail, don't loop
            log.exception("stage failed unexpectedly",
                          extra={"doc_id": record.doc_id, "stage": stage.value})  # fmt: skip
            return "internal_error", f"{type(exc).__name__}: {exc}"

    def _inputs(
        self,
        stage: Stage,
        record: DocumentRecord,
        carried: dict[Stage, StageOutput],
        content: bytes | None,
    ) -> StageInputs:
        """What the stage reads: the content and earlier outputs this process already holds
        are used as they are, the rest is read from the store."""
        spec, doc_id = STAGES[stage], record.doc_id
        text = None
        if spec.reads_content:
            raw = content if content is not None else self.store.content(doc_id)
            if raw is None:
                raise MissingInput(f"document {doc_id} has no stored content")
            text = raw.decode()
        outputs: dict[Stage, StageOutput] = {}
        for earlier in spec.reads_outputs:
            if earlier in carried:
                outputs[earlier] = carried[earlier]
                continue
            raw = self.store.output(doc_id, earlier)
            if raw is None:
                raise MissingInput(f"document {doc_id} has no {earlier.value} output")
            try:
                outputs[earlier] = STAGE_OUTPUTS[earlier].model_validate_json(raw)
            except ValidationError as exc:
                raise MissingInput(f"the stored {earlier.value} output cannot be read") from exc
        return StageInputs(record=record, content=text, outputs=outputs, nlp=self.nlp)

    def _release(self, step: Step, *, cause: Exception) -> None:
        """After a passing fault: give the lease back so the reconciler queues the stage again
        after the backoff. If even that fails, the lease runs out and the reconciler comes."""
        log.warning("storage unreachable (%s); the stage is queued again in %.1fs",
                    type(cause).__name__, self.settings.retry_backoff_seconds,
                    extra={"doc_id": step.doc_id, "stage": step.stage.value, "run": step.run})  # fmt: skip
        store = self.store
        with suppress(*TRANSIENT_ERRORS):
            store.transition(step.doc_id, lambda record: plan_release(
                store.keys, store.policy, record, step.stage, run=step.run,
                retry_in=self.settings.retry_backoff_seconds, now=utc_now()))  # fmt: skip
