"""Thin stage tasks: load the input from the record, call the pipeline, store, queue the next."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

from contracts.documents import StageStatus
from contracts.messages import StageMessage
from contracts.results import CleanResult
from contracts.wire import TASK_BY_STAGE, Stage, next_stage
from workers.dispatch import send_stage
from workers.errors import PermanentStageError
from workers.pipeline.clean import UnprocessableDocument
from workers.pipeline.language import detect_language
from workers.pipeline.nlp import load_nlp
from workers.pipeline.stages import run_clean, run_entities, run_summarize
from workers.records import DocumentRecords, DocumentSnapshot, open_records, utc_now
from workers.settings import WorkerSettings

log = logging.getLogger("newsdesk.worker")


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

    def run(self, task: Task, raw_message: dict[str, Any]) -> str:
        """Run the stage a message asks for; returns what happened, for the worker log."""
        try:
            message = StageMessage.model_validate(raw_message)
        except ValidationError as exc:
            log.error("dropping a malformed stage message %r: %s", raw_message, exc)
            return "malformed"
        try:
            return self._run(message)
        except RedisError as exc:
            countdown = self.settings.retry_backoff_seconds * 2**task.request.retries
            log.warning(
                "doc=%s stage=%s storage error, retrying in %.1fs: %s",
                message.doc_id,
                message.stage,
                countdown,
                exc,
            )
            raise task.retry(
                exc=exc, countdown=countdown, max_retries=self.settings.transient_retries
            ) from exc

    def _run(self, message: StageMessage) -> str:
        doc_id, stage = message.doc_id, message.stage
        snapshot = self.records.snapshot(doc_id)
        if snapshot is None:
            log.warning("doc=%s stage=%s: no such document (expired or withdrawn)", doc_id, stage)
            return "missing"
        if snapshot.finished:
            return "finished"
        if snapshot.stages[stage].status == StageStatus.COMPLETED:
            self._queue_next_if_pending(snapshot, stage)  # a redelivery after a crash
            return "duplicate"
        attempt = self.records.begin_stage(doc_id, stage)
        if attempt > self.settings.max_attempts:
            reason = (
                f"the {stage.value} stage was started {attempt - 1} times without finishing "
                "(its worker died or hit the hard time limit); giving up"
            )
            self.records.fail_document(doc_id, stage, code="attempts_exhausted", message=reason)
            return "failed"
        started_at = utc_now()
        began = time.perf_counter()
        try:
            output = self._compute(stage, snapshot)
        except SoftTimeLimitExceeded:
            limit = self.settings.soft_limit(stage)
            self.records.fail_document(
                doc_id,
                stage,
                code="stage_timeout",
                message=f"the {stage.value} stage took longer than {limit:g}s",
            )
            return "failed"
        except (PermanentStageError, UnprocessableDocument, LookupError) as exc:
            code = getattr(exc, "code", "unprocessable_document")
            self.records.fail_document(doc_id, stage, code=code, message=str(exc))
            return "failed"
        except RedisError:
            raise
        except Exception as exc:  # a bug or an input the pipeline cannot handle: fail, don't loop
            log.exception("doc=%s stage=%s failed", doc_id, stage)
            self.records.fail_document(
                doc_id, stage, code="internal_error", message=f"{type(exc).__name__}: {exc}"
            )
            return "failed"
        following = next_stage(stage)
        self.records.complete_stage(
            doc_id, stage, output, started_at=started_at, last=following is None
        )
        if following is not None:
            send_stage(self.app, doc_id=doc_id, stage=following)
        log.info(
            "doc=%s stage=%s attempt=%d done in %.1f ms",
            doc_id,
            stage,
            attempt,
            (time.perf_counter() - began) * 1000,
        )
        return "completed"

    def _compute(self, stage: Stage, snapshot: DocumentSnapshot) -> BaseModel:
        doc_id = snapshot.doc_id
        if stage == Stage.CLEAN:
            return run_clean(
                content=self.records.content(doc_id),
                content_type=snapshot.content_type,
                options=snapshot.options,
            )
        clean = self.records.output(doc_id, Stage.CLEAN, CleanResult)
        nlp = load_nlp(self.settings.spacy_model)
        if stage == Stage.ENTITIES:
            return run_entities(clean=clean, nlp=nlp)
        return run_summarize(clean=clean, options=snapshot.options, nlp=nlp)

    def _queue_next_if_pending(self, snapshot: DocumentSnapshot, stage: Stage) -> None:
        following = next_stage(stage)
        if following is not None and snapshot.stages[following].status == StageStatus.PENDING:
            send_stage(self.app, doc_id=snapshot.doc_id, stage=following)
            self.records.touch_pending(snapshot.doc_id)


def register_stage_tasks(app: Celery, runner: StageRunner) -> None:
    """One task per stage, each named by its contract constant and routed to its queue."""
    for stage in Stage:

        def stage_task(task: Task, message: dict[str, Any]) -> str:
            return runner.run(task, message)

        stage_task.__name__ = f"run_{stage.value}"
        stage_task.__doc__ = f"Run the {stage.value} stage of one document."
        app.task(name=TASK_BY_STAGE[stage], bind=True)(stage_task)
