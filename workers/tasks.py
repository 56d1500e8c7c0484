"""Thin stage tasks: take the stage's lease, call the pipeline, store, queue the next stage."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Any

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

from contracts.messages import StageMessage
from contracts.results import CleanResult, EntitiesResult
from contracts.wire import TASK_BY_STAGE, Stage, next_stage
from workers.dispatch import send_stage
from workers.errors import PermanentStageError, TransientStageError
from workers.pipeline.clean import UnprocessableDocument
from workers.pipeline.language import detect_language
from workers.pipeline.nlp import load_nlp
from workers.pipeline.stages import run_clean, run_entities, run_summarize
from workers.records import BeginOutcome, DocumentRecords, open_records
from workers.settings import WorkerSettings
from workers.snapshot import DocumentSnapshot, UnreadableRecord, utc_now

log = logging.getLogger("newsdesk.worker")
# Storage or broker unreachable: worth trying again later.
TRANSIENT_ERRORS = (RedisError, OperationalError, TransientStageError)


class StageRunner:
    """Runs one stage of one document; owns this process's Redis client and models."""

    def __init__(self, app: Celery, settings: WorkerSettings) -> None:
        self.app = app
        self.settings = settings
        self._records: DocumentRecords | None = None

    @property
    def records(self) -> DocumentRecords:
        """The record store, created lazily so each forked process has its own connections."""
        if self._records is None:
            self._records = open_records(self.settings)
        return self._records

    def warm_up(self) -> None:
        """Load the models once per worker process, before the first document arrives."""
        self._records = None
        load_nlp(self.settings.spacy_model)
        detect_language("warm up the language identifier")

    def run(self, task: Task, raw_message: dict[str, Any], *, stage: Stage) -> str:
        """Run the stage a message asks for; returns what happened, for the worker log."""
        try:
            message = StageMessage.model_validate(raw_message)
        except ValidationError as exc:
            log.error("dropping a malformed stage message %r: %s", raw_message, exc)
            return "malformed"
        if message.stage != stage:
            log.error("dropping a %s message delivered to the %s task", message.stage, stage)
            return "misrouted"
        run = uuid.uuid4().hex  # this execution's lease token
        try:
            return self._run(message, run=run)
        except TRANSIENT_ERRORS as exc:
            countdown = self.settings.retry_backoff_seconds * 2**task.request.retries
            log.warning("doc=%s stage=%s storage unreachable, retrying in %.1fs: %s",
                        message.doc_id, message.stage, countdown, exc)  # fmt: skip
            with contextlib.suppress(*TRANSIENT_ERRORS):  # unreachable: the lease runs out instead
                self.records.release_stage(message.doc_id, stage, run=run, retry_in=countdown)
            # If even the retry cannot be published, the record's deadline brings the
            # reconciler back to this document: nothing accepted is dropped.
            raise task.retry(
                exc=exc, countdown=countdown, max_retries=self.settings.transient_retries
            ) from exc

    def _run(self, message: StageMessage, *, run: str) -> str:
        doc_id, stage = message.doc_id, message.stage
        try:
            begun = self.records.begin_stage(doc_id, stage, run=run)
        except UnreadableRecord as exc:
            self.records.quarantine(doc_id, reason=str(exc))
            return "unreadable"
        if begun.outcome != BeginOutcome.STARTED or begun.snapshot is None:
            log.info("doc=%s stage=%s not run: %s", doc_id, stage, begun.outcome)
            return begun.outcome.value
        if begun.attempt > self.settings.max_attempts:
            reason = (f"the {stage.value} stage was started {begun.attempt - 1} times without "
                      "finishing (its worker died or hit the hard time limit); giving up")  # fmt: skip
            self.records.fail_document(
                doc_id, stage, run=run, code="attempts_exhausted", message=reason
            )
            return "failed"
        started_at, began = utc_now(), time.perf_counter()
        result = self._compute(stage, begun.snapshot)
        if isinstance(result, tuple):
            code, reason = result
            self.records.fail_document(doc_id, stage, run=run, code=code, message=reason)
            return "failed"
        following = next_stage(stage)
        skipped = isinstance(result, EntitiesResult) and result.skipped is not None
        updated_at = self.records.complete_stage(
            doc_id, stage, result, run=run, started_at=started_at, last=following is None,
            skipped=skipped,
        )  # fmt: skip
        if updated_at is None:
            return "superseded"  # this run lost its lease, or the document ended meanwhile
        if following is not None:
            send_stage(self.app, doc_id=doc_id, stage=following)
            self.records.mark_queued(doc_id, seen_updated_at=updated_at)
        log.info("doc=%s stage=%s attempt=%d done in %.1f ms",
                 doc_id, stage, begun.attempt, (time.perf_counter() - began) * 1000)  # fmt: skip
        return "completed"

    def _compute(self, stage: Stage, snapshot: DocumentSnapshot) -> BaseModel | tuple[str, str]:
        """The stage's output, or (code, reason) when the document must fail."""
        try:
            return self._output(stage, snapshot)
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
            log.exception("doc=%s stage=%s failed", snapshot.doc_id, stage)
            return "internal_error", f"{type(exc).__name__}: {exc}"

    def _output(self, stage: Stage, snapshot: DocumentSnapshot) -> BaseModel:
        doc_id = snapshot.doc_id
        if stage == Stage.CLEAN:
            content = self.records.content(doc_id)
            return run_clean(
                content=content, content_type=snapshot.content_type, options=snapshot.options
            )
        clean = self.records.output(doc_id, Stage.CLEAN, CleanResult)
        nlp = load_nlp(self.settings.spacy_model)
        if stage == Stage.ENTITIES:
            return run_entities(clean=clean, nlp=nlp)
        return run_summarize(clean=clean, options=snapshot.options, nlp=nlp)


def register_stage_tasks(app: Celery, runner: StageRunner) -> None:
    """One task per stage, each named by its contract constant and routed to its queue."""
    for stage in Stage:

        def stage_task(task: Task, message: dict[str, Any], *, _stage: Stage = stage) -> str:
            return runner.run(task, message, stage=_stage)

        stage_task.__name__ = f"run_{stage.value}"
        stage_task.__doc__ = f"Run the {stage.value} stage of one document."
        app.task(name=TASK_BY_STAGE[stage], bind=True)(stage_task)
