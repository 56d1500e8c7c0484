"""Messages on the stage queues: ids only, never document text."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.wire import Stage

SCHEMA_VERSION: Literal[1] = 1


class StageMessage(BaseModel):
    """Asks a worker to run ``stage`` on document ``doc_id``; the record holds the input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    doc_id: str
    stage: Stage
