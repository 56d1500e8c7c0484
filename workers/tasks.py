"""Thin stage tasks: each hands its message to the stage runner."""

from __future__ import annotations

from typing import Any

from celery import Celery

from contracts.wire import TASK_BY_STAGE, Stage
from workers.runner import StageRunner


def register_stage_tasks(app: Celery, runner: StageRunner) -> None:
    """One task per stage, each named by its contract constant and routed to its queue."""
    for stage in Stage:

        def stage_task(message: Any = None, *, _stage: Stage = stage) -> str:
            return runner.run(message, stage=_stage)

        stage_task.__name__ = f"run_{stage.value}"
        stage_task.__doc__ = f"Run the {stage.value} stage of one document."
        app.task(name=TASK_BY_STAGE[stage])(stage_task)
