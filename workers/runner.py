"""Running one stage of one document: take the lease, compute, store — all through the record.

The runner holds no rules of its own: whether a stage may start, whether a result may be
stored and what is queued next are decided by the planners in ``records.transitions``.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import suppress
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
from records.store import RecordContention, RecordStore
from records.transitions import (
    BeginOutcome,
    plan_begin,
    plan_complete,
    plan_fail,
    plan_release,
)
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
        """Run the stage a message asks for; returns what happened, for the worker log."""
        try:
            message = StageMessage.model_validate(raw_message)
        except ValidationError as exc:
            log.error("dropping a malformed stage message: %s", exc)
            return "malformed"
        if message.stage != stage:
            log.error("dropping a %s message delivered to the %s task", message.stage, stage)
            return "misrouted"
        run = uuid.uuid4().hex  # this execution's lease token
        try:
            return self._run(message.doc_id, stage, run=run)
        except TRANSIENT_ERRORS as exc:
            self._release(message.doc_id, stage, run=run, cause=exc)
            return "retry"

    def _run(self, doc_id: str, stage: Stage, *, run: str) -> str:
        store = self.store
        soft_limit = self.settings.soft_limit(stage)
        begun = store.transition(doc_id, lambda record: plan_begin(
            store.keys, store.policy, record, stage, run=run, now=utc_now(),
            soft_limit=soft_limit))  # fmt: skip
        if begun.outcome != BeginOutcome.STARTED or begun.record is None:
            level = logging.WARNING if begun.outcome == BeginOutcome.EXHAUSTED else logging.INFO
            log.log(level, "stage not run: %s", begun.outcome.value,
                    extra={"doc_id": doc_id, "stage": stage.value, "outcome": begun.outcome.value})  # fmt: skip
            return begun.outcome.value
        began = time.perf_counter()
        with self.heartbeat.holding(doc_id, stage, run):
            result = self._compute(stage, begun.record)
        if isinstance(result, tuple):
            code, reason = result
            log.warning("stage failed: %s", reason, extra={
                "doc_id": doc_id, "stage": stage.value, "attempt": begun.attempt, "run": run,
                "code": code, "duration_ms": round((time.perf_counter() - began) * 1000, 1)})  # fmt: skip
            store.transition(doc_id, lambda record: plan_fail(
                store.keys, store.policy, record, stage, run=run, code=code, message=reason,
                now=utc_now()))  # fmt: skip
            return "failed"
        skipped = STAGES[stage].is_skipped(result)
        stored = store.transition(doc_id, lambda record: plan_complete(
            store.keys, store.policy, record, stage, result, run=run, skipped=skipped,
            now=utc_now()))  # fmt: skip
        if not stored:
            log.warning("result discarded: the lease was lost or the document ended meanwhile",
                        extra={"doc_id": doc_id, "stage": stage.value, "run": run,
                               "attempt": begun.attempt})  # fmt: skip
            return "superseded"
        log.info("stage done", extra={
            "doc_id": doc_id, "stage": stage.value, "attempt": begun.attempt, "run": run,
            "duration_ms": round((time.perf_counter() - began) * 1000, 1),
            "outcome": "skipped" if skipped else "completed"})  # fmt: skip
        return "completed"

    def _compute(self, stage: Stage, record: DocumentRecord) -> StageOutput | tuple[str, str]:
        """The stage's output, or (code, reason) when the document must fail."""
        try:
            return STAGES[stage].compute(self._inputs(stage, record))
        except SoftTimeLimitExceeded:
            return "stage_timeout", (
                f"the {stage.value} stage took longer than {self.settings.soft_limit(stage):g}s"
            )
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

    def _inputs(self, stage: Stage, record: DocumentRecord) -> StageInputs:
        spec, doc_id = STAGES[stage], record.doc_id
        content = None
        if spec.reads_content:
            raw = self.store.content(doc_id)
            if raw is None:
                raise MissingInput(f"document {doc_id} has no stored content")
            content = raw.decode()
        outputs: dict[Stage, StageOutput] = {}
        for earlier in spec.reads_outputs:
            raw = self.store.output(doc_id, earlier)
            if raw is None:
                raise MissingInput(f"document {doc_id} has no {earlier.value} output")
            try:
                outputs[earlier] = STAGE_OUTPUTS[earlier].model_validate_json(raw)
            except ValidationError as exc:
                raise MissingInput(f"the stored {earlier.value} output cannot be read") from exc
        return StageInputs(record=record, content=content, outputs=outputs, nlp=self.nlp)

    def _release(self, doc_id: str, stage: Stage, *, run: str, cause: Exception) -> None:
        """After a passing fault: give the lease back so the reconciler queues the stage again
        after the backoff. If even that fails, the lease runs out and the reconciler comes."""
        log.warning("storage unreachable (%s); the stage is queued again in %.1fs",
                    type(cause).__name__, self.settings.retry_backoff_seconds,
                    extra={"doc_id": doc_id, "stage": stage.value, "run": run})  # fmt: skip
        store = self.store
        with suppress(*TRANSIENT_ERRORS):
            store.transition(doc_id, lambda record: plan_release(
                store.keys, store.policy, record, stage, run=run,
                retry_in=self.settings.retry_backoff_seconds, now=utc_now()))  # fmt: skip
