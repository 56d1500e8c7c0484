"""Field names of the document record hash in Redis, shared by the API and the workers."""

from __future__ import annotations

from contracts.wire import Stage

STATUS = "status"
CREATED_AT = "created_at"
UPDATED_AT = "updated_at"
CONTENT_TYPE = "content_type"
OPTIONS = "options"  # DocumentOptions as JSON
ERROR = "error"  # DocumentError as JSON, absent until the document fails
COMPLETED_AT = "completed_at"


def stage_field(stage: Stage) -> str:
    """Field holding a stage's StageState as JSON."""
    return f"stage:{stage.value}"


def owner_field(stage: Stage) -> str:
    """Field naming the task run that holds the stage's lease while it is running."""
    return f"owner:{stage.value}"


def attempts_field(stage: Stage) -> str:
    """Integer field counting how often a stage was started (HINCRBY)."""
    return f"attempts:{stage.value}"
