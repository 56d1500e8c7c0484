"""One consistent reading of a document record, parsed from its Redis hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts import records
from contracts.documents import DocumentOptions, DocumentStatus, StageState, StageStatus
from contracts.wire import STAGE_ORDER, Stage

DONE = (StageStatus.COMPLETED, StageStatus.SKIPPED)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DocumentSnapshot:
    """One consistent reading of a document record."""

    doc_id: str
    status: DocumentStatus
    updated_at: str
    content_type: str
    options: DocumentOptions
    stages: dict[Stage, StageState]
    attempts: dict[Stage, int]
    owners: dict[Stage, str]

    def current_stage(self) -> Stage | None:
        """The first stage that is neither completed nor skipped, or None when all are."""
        return next((s for s in STAGE_ORDER if self.stages[s].status not in DONE), None)

    @property
    def finished(self) -> bool:
        """Completed or failed: nothing more will happen to it."""
        return self.status in (DocumentStatus.COMPLETED, DocumentStatus.FAILED)


class UnreadableRecord(ValueError):
    """A stored record this version cannot parse (another version's, or damaged)."""


def parse_snapshot(doc_id: str, raw: dict[Any, Any]) -> DocumentSnapshot | None:
    """The record hash as a snapshot; None when empty; UnreadableRecord when malformed."""
    if not raw:
        return None
    record = {text_of(k): text_of(v) for k, v in raw.items()}
    try:
        return _snapshot(doc_id, record)
    except (KeyError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise UnreadableRecord(f"the stored record cannot be read: {exc!r}") from exc


def _snapshot(doc_id: str, record: dict[str, str]) -> DocumentSnapshot:
    return DocumentSnapshot(
        doc_id=doc_id,
        status=DocumentStatus(record[records.STATUS]),
        updated_at=record[records.UPDATED_AT],
        content_type=record[records.CONTENT_TYPE],
        options=DocumentOptions.model_validate_json(record[records.OPTIONS]),
        stages={
            s: StageState.model_validate_json(record[records.stage_field(s)]) for s in STAGE_ORDER
        },
        attempts={s: int(record.get(records.attempts_field(s), 0)) for s in STAGE_ORDER},
        owners={
            s: record[records.owner_field(s)]
            for s in STAGE_ORDER
            if records.owner_field(s) in record
        },
    )


def text_of(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
