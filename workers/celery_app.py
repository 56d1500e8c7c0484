"""The Celery app: JSON only, one queue per stage, late acks, prefetch 1, safe time limits."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import (
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
)
from kombu.entity import Queue

from contracts.wire import (
    ALL_TASKS,
    CELERY_SERIALIZATION,
    QUEUE_BY_STAGE,
    TASK_BY_STAGE,
    WEBHOOK_QUEUE,
    WEBHOOK_TASK,
    Stage,
)
from records.layout import Keys
from workers.broker import ALLOWED_TASKS_OPTION, DEAD_LETTERS_OPTION, TRANSPORT
from workers.runner import StageRunner
from workers.settings import WorkerSettings
from workers.tasks import register_stage_tasks, register_webhook_task
from workers.webhooks import WebhookSender


def create_celery(settings: WorkerSettings | None = None) -> Celery:
    """A configured Celery app with the stage tasks registered; refuses unsafe limits."""
    settings = settings or WorkerSettings()
    app = Celery("newsdesk", broker=settings.redis_url, set_as_current=True)
    app.conf.update(
        **CELERY_SERIALIZATION,
        broker_transport=TRANSPORT,
        task_ignore_result=True,  # results live in the document record, not a result backend
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        # A broker blip must not kill running stages (each would burn an attempt); a stage
        # whose ack is lost is simply redelivered and refused as a duplicate.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_seconds,
            "socket_connect_timeout": 5,
            "socket_timeout": 30,
            "health_check_interval": 10,
            "retry_on_timeout": True,
            DEAD_LETTERS_OPTION: Keys(settings.key_prefix).dead_letters,
            ALLOWED_TASKS_OPTION: sorted(ALL_TASKS),
        },
        task_queues=[Queue(name) for name in (*QUEUE_BY_STAGE.values(), WEBHOOK_QUEUE)],  # type: ignore[no-untyped-call]
        task_default_queue=QUEUE_BY_STAGE[Stage.CLEAN],
        task_routes={
            **{TASK_BY_STAGE[stage]: {"queue": QUEUE_BY_STAGE[stage]} for stage in Stage},
            WEBHOOK_TASK: {"queue": WEBHOOK_QUEUE},
        },
        # One task runs its stage and the stages the worker carries on to; each stage's soft
        # limit is kept by the runner (workers.deadline), the task's hard limit covers them all.
        task_annotations={
            TASK_BY_STAGE[stage]: {"time_limit": settings.task_hard_limit(stage)} for stage in Stage
        },
        worker_send_task_events=False,
    )
    runner = StageRunner(settings)
    register_stage_tasks(app, runner)
    register_webhook_task(app, WebhookSender(settings))

    @worker_init.connect(weak=False)  # type: ignore[untyped-decorator]
    def _preload_models(**_: Any) -> None:
        # Loaded once in the main process before the pool forks: every pool child (and every
        # child that replaces one that died) starts with the models already in memory.
        if settings.runs_stages():
            runner.load_models()

    @worker_process_init.connect(weak=False)  # type: ignore[untyped-decorator]
    def _load_models(**_: Any) -> None:
        runner.warm_up()

    @worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
    def _announce_thread_pool(**_: Any) -> None:
        # A prefork child announces itself once its models are loaded; a worker without
        # children (threads pool, e.g. for webhooks) announces its main process here.
        if settings.worker_pool != "prefork":
            runner.warm_up()

    @worker_process_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
    def _withdraw(**_: Any) -> None:
        runner.shut_down()

    return app
