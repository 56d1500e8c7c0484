"""Queueing a stage of a document, by task name, from a worker or the reconciler."""

from __future__ import annotations

from celery import Celery

from contracts.messages import StageMessage
from contracts.wire import Stage


def send_stage(app: Celery, *, doc_id: str, stage: Stage) -> None:
    """Publish a message asking for ``stage`` of ``doc_id`` on that stage's queue."""
    message = StageMessage(doc_id=doc_id, stage=stage)
    app.send_task(message.task_name, kwargs=message.task_kwargs(), queue=message.queue)
