"""Names that cross process boundaries: stages, queues and task names."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """The processing stages, in the order a document passes through them."""

    CLEAN = "clean"
    ENTITIES = "entities"
    SUMMARIZE = "summarize"


STAGE_ORDER: tuple[Stage, ...] = (Stage.CLEAN, Stage.ENTITIES, Stage.SUMMARIZE)

# One Celery queue per stage, named like the stage, so each stage scales on its own.
QUEUE_BY_STAGE: dict[Stage, str] = {stage: stage.value for stage in STAGE_ORDER}
TASK_BY_STAGE: dict[Stage, str] = {stage: f"newsdesk.{stage.value}" for stage in STAGE_ORDER}

# Finished documents are delivered to their callback_url by a task on its own queue, so a
# slow receiver never holds up a stage.
WEBHOOK_QUEUE = "webhooks"
WEBHOOK_TASK = "newsdesk.webhook"
ALL_TASKS: tuple[str, ...] = (*TASK_BY_STAGE.values(), WEBHOOK_TASK)

# Serialisation every Celery client of ours uses: JSON only (pickle is unsafe).
CELERY_SERIALIZATION: dict[str, object] = {
    "task_serializer": "json",
    "result_serializer": "json",
    "accept_content": ["json"],
}


def next_stage(stage: Stage) -> Stage | None:
    """The stage after ``stage``, or None when it is the last one."""
    index = STAGE_ORDER.index(stage)
    return STAGE_ORDER[index + 1] if index + 1 < len(STAGE_ORDER) else None


def earlier_stages(stage: Stage) -> tuple[Stage, ...]:
    """The stages that must be done before ``stage`` may start."""
    return STAGE_ORDER[: STAGE_ORDER.index(stage)]
