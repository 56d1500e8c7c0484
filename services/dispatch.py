"""Queueing a document's first stage on the broker, by task name (the API never imports workers)."""

from __future__ import annotations

from celery import Celery
from kombu.exceptions import OperationalError

from contracts.messages import StageMessage
from contracts.wire import CELERY_SERIALIZATION, Stage
from services.errors import StorageUnavailable
from services.settings import ApiSettings

# Publishing retries a little on a blip, then gives up so the client hears 503 quickly.
_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}


def create_producer(settings: ApiSettings) -> Celery:
    """A Celery app used only to send messages, configured like the workers' broker side."""
    producer = Celery("newsdesk-api", broker=settings.redis_url, set_as_current=False)
    producer.conf.update(
        **CELERY_SERIALIZATION,
        broker_connection_retry_on_startup=False,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_seconds,
            "socket_connect_timeout": settings.redis_timeout_seconds,
            "socket_timeout": settings.redis_timeout_seconds,
        },
    )
    return producer


def send_stage(producer: Celery, *, doc_id: str, stage: Stage) -> None:
    """Queue ``stage`` for ``doc_id``; raises StorageUnavailable when the broker is unreachable."""
    message = StageMessage(doc_id=doc_id, stage=stage)
    try:
        producer.send_task(
            message.task_name,
            kwargs=message.task_kwargs(),
            queue=message.queue,
            retry=True,
            retry_policy=_PUBLISH_RETRY_POLICY,
        )
    except (OperationalError, OSError) as exc:
        raise StorageUnavailable(f"could not queue document {doc_id}: {exc}") from exc
