"""Which stages one task runs, the time limits that follow, and each stage's own soft limit."""

from __future__ import annotations

import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from pydantic import ValidationError

from contracts.wire import Stage
from workers.deadline import soft_deadline
from workers.settings import WorkerSettings


def test_a_worker_carries_a_document_on_only_into_stages_whose_queue_it_consumes() -> None:
    every_queue = WorkerSettings()
    assert every_queue.chain(Stage.CLEAN) == [Stage.CLEAN, Stage.ENTITIES, Stage.SUMMARIZE]
    assert every_queue.chain(Stage.SUMMARIZE) == [Stage.SUMMARIZE]
    entities_only = WorkerSettings(worker_queues="entities")
    assert entities_only.chain(Stage.ENTITIES) == [Stage.ENTITIES]
    assert entities_only.carries_on(Stage.ENTITIES) is None
    split = WorkerSettings(worker_queues="clean,summarize")
    assert split.chain(Stage.CLEAN) == [Stage.CLEAN], "entities is left to its own workers"


def test_a_tasks_hard_limit_covers_every_stage_it_may_run() -> None:
    settings = WorkerSettings()
    assert settings.task_hard_limit(Stage.CLEAN) == sum(settings.hard_limit(s) for s in Stage)
    assert settings.task_hard_limit(Stage.SUMMARIZE) == settings.hard_limit(Stage.SUMMARIZE)
    assert settings.longest_task_seconds() == settings.task_hard_limit(Stage.CLEAN)
    entities_only = WorkerSettings(worker_queues="entities")
    assert entities_only.longest_task_seconds() == entities_only.hard_limit(Stage.ENTITIES)
    assert WorkerSettings(worker_queues="webhooks").longest_task_seconds() == 0


def test_limits_whose_chain_outlasts_the_visibility_timeout_are_refused() -> None:
    with pytest.raises(ValidationError, match="visibility timeout"):
        WorkerSettings(visibility_timeout_seconds=600)  # 90 + 360 + 180 s > 600 s
    WorkerSettings(visibility_timeout_seconds=600, worker_queues="entities")  # 360 s < 600 s


def test_a_stage_past_its_own_soft_limit_is_interrupted() -> None:
    began = time.monotonic()
    with pytest.raises(SoftTimeLimitExceeded), soft_deadline(0.2):
        while True:  # pure Python: interrupted between two bytecodes
            sum(range(1000))
    assert time.monotonic() - began < 2


def test_a_stage_within_its_soft_limit_is_left_alone_and_the_alarm_is_cleared() -> None:
    with soft_deadline(0.3):
        sum(range(1000))
    time.sleep(0.5)  # an alarm left behind would interrupt this sleep
