"""Names that cross process boundaries: stages, queues, task names and Redis keys."""

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

KEY_PREFIX = "newsdesk:"
# Serialisation every Celery client of ours uses: JSON only (pickle is unsafe).
CELERY_SERIALIZATION: dict[str, object] = {
    "task_serializer": "json",
    "result_serializer": "json",
    "accept_content": ["json"],
}
# Deadlines of the pending set (seconds): a stage that was just completed or accepted must be
# queued within PUBLISH_GRACE; a queued stage must start within QUEUED_STALL, else it is re-queued.
DEFAULT_PUBLISH_GRACE_SECONDS = 30.0
DEFAULT_QUEUED_STALL_SECONDS = 3900.0


def next_stage(stage: Stage) -> Stage | None:
    """The stage after ``stage``, or None when it is the last one."""
    index = STAGE_ORDER.index(stage)
    return STAGE_ORDER[index + 1] if index + 1 < len(STAGE_ORDER) else None


class Keys:
    """Redis keys owned by newsdesk; one prefix so a Redis can host other things too."""

    def __init__(self, prefix: str = KEY_PREFIX) -> None:
        self.prefix = prefix

    def document(self, doc_id: str) -> str:
        """Hash with the document's status, options and per-stage state."""
        return f"{self.prefix}doc:{doc_id}"

    def content(self, doc_id: str) -> str:
        """String with the submitted content, as received."""
        return f"{self.prefix}doc:{doc_id}:content"

    def output(self, doc_id: str, stage: Stage) -> str:
        """String with one stage's output as contract JSON; a re-run overwrites it."""
        return f"{self.prefix}doc:{doc_id}:out:{stage.value}"

    def idempotency(self, key_digest: str) -> str:
        """String mapping a client's Idempotency-Key (hashed) to ``doc_id:fingerprint``."""
        return f"{self.prefix}idem:{key_digest}"

    def tombstone(self, doc_id: str) -> str:
        """Marker left when a finished document expires, so its id answers 410, not 404."""
        return f"{self.prefix}gone:{doc_id}"

    @property
    def pending(self) -> str:
        """Sorted set of unfinished document ids, scored by the time their stage must have
        moved by; the reconciler re-queues the ones past it."""
        return f"{self.prefix}docs:pending"

    def all_for(self, doc_id: str) -> list[str]:
        """Every key that holds part of one document."""
        return [
            self.document(doc_id),
            self.content(doc_id),
            *(self.output(doc_id, stage) for stage in STAGE_ORDER),
        ]
