"""Thin tasks: each hands its message to the stage runner or the webhook sender."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task

from contracts.wire import TASK_BY_STAGE, WEBHOOK_TASK, Stage
from workers.runner import StageRunner
from workers.webhooks import WebhookSender


def register_webhook_task(app: Celery, sender: WebhookSender) -> None:
    """The webhook delivery task, on its own queue."""

    def deliver_webhook(task: Task, message: Any = None) -> str:
        return sender.deliver(task, message)

    deliver_webhook.__doc__ = "Deliver a finished document to its callback_url."
    app.task(name=WEBHOOK_TASK, bind=True)(deliver_webhook)


def register_stage_tasks(app: Celery, runner: StageRunner) -> None:
    """One task per stage, each named by its contract constant and routed to its queue."""
    for stage in Stage:

        def stage_task(message: Any = None, *, _stage: Stage = stage) -> str:
            return runner.run(message, stage=_stage)

        stage_task.__name__ = f"run_{stage.value}"
        stage_task.__doc__ = f"Run the {stage.value} stage of one document."
        app.task(name=TASK_BY_STAGE[stage])(stage_task)
