"""Errors raised while running a stage, split by what the worker does about them.

StageError
├── PermanentStageError   the document fails with ``code`` and a readable message
│   └── MissingInput      the record lacks what the stage reads
└── TransientStageError   the task is retried with backoff a bounded number of times
"""

from __future__ import annotations


class StageError(Exception):
    """Something went wrong running a stage."""

    code = "stage_error"


class PermanentStageError(StageError):
    """Retrying cannot help: the input is unusable or the stage gave up on it."""

    def __init__(self, message: str, *, code: str = "unprocessable_document") -> None:
        super().__init__(message)
        self.code = code


class MissingInput(PermanentStageError):
    """The record lacks what the stage reads (its content, or an earlier stage's output)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="missing_input")


class TransientStageError(StageError):
    """A passing fault (storage blip); trying again later may succeed."""

    code = "transient_error"
