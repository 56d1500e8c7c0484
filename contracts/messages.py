"""Messages on the stage queues: ids only, never document text."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.wire import QUEUE_BY_STAGE, TASK_BY_STAGE, Stage

SCHEMA_VERSION: Literal[1] = 1


class StageMessage(BaseModel):
    """Asks a worker to run ``stage`` on document ``doc_id``; the record holds the input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    doc_id: str
    stage: Stage

    @property
    def task_name(self) -> str:
        """The Celery task that runs this stage."""
        return TASK_BY_STAGE[self.stage]

    @property
    def queue(self) -> str:
        """The queue this stage is consumed from."""
        return QUEUE_BY_STAGE[self.stage]

    def task_kwargs(self) -> dict[str, object]:
        """Keyword arguments of the task call: the message as JSON-ready data."""
        return {"message": self.model_dump(mode="json")}


class WebhookMessage(BaseModel):
    """Asks a worker to deliver finished document ``doc_id`` to its ``callback_url``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    doc_id: str
