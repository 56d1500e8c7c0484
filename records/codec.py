"""The record hash and its typed snapshot: decoding never fails, encoding is the only writer.

``decode_record`` reads whatever a hash holds. A field that is missing or damaged takes a
default and is named in ``DocumentRecord.problems``, so every record — a damaged one, or one a
worker quarantined — still reads back as a document (a damaged one as ``failed``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contracts.documents import (
    CONTENT_TYPES,
    DONE_STAGE_STATUSES,
    FINISHED_STATUSES,
    ContentType,
    DocumentError,
    DocumentOptions,
    DocumentStatus,
    StageState,
    StageStatus,
    WebhookState,
)
from contracts.wire import STAGE_ORDER, Stage
from records import layout

ModelT = TypeVar("ModelT", bound=BaseModel)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNREADABLE = "unreadable_record"


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StageRecord:
    """One stage of one document as stored."""

    status: StageStatus = StageStatus.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    error: str | None = None
    attempts: int = 0
    run: str | None = None  # the task run holding the lease while running (fencing token)
    lease_until: float | None = None  # epoch seconds; the heartbeat moves it forward
    queued_at: float | None = None  # epoch seconds of the latest message for this stage
    tag: str | None = None  # that message's delivery tag

    @property
    def done(self) -> bool:
        """Completed or skipped: later stages may use what it produced."""
        return self.status in DONE_STAGE_STATUSES

    def state(self) -> StageState:
        """The part of the stage clients see (besides the attempt count)."""
        return StageState(
            status=self.status,
            started_at=self.started_at,
            finished_at=self.finished_at,
            duration_ms=self.duration_ms,
            error=self.error,
        )

    def holds(self, run: str, status: StageStatus = StageStatus.RUNNING) -> bool:
        """Whether ``run`` holds this stage's lease and the stage is in ``status``."""
        return self.run == run and self.status == status


@dataclass(frozen=True)
class DocumentRecord:
    """One consistent reading of a document record."""

    doc_id: str
    status: DocumentStatus
    created_at: datetime
    updated_at: datetime
    content_type: ContentType
    options: DocumentOptions
    stages: Mapping[Stage, StageRecord]
    error: DocumentError | None = None
    owner: str = ""
    batch_id: str | None = None
    webhook: WebhookState | None = None
    content_bytes: int = 0
    finished_at: datetime | None = None
    problems: tuple[str, ...] = field(default=())

    @property
    def damaged(self) -> bool:
        """Some field could not be read: the record is shown failed and never processed."""
        return bool(self.problems)

    @property
    def finished(self) -> bool:
        """Completed, failed or cancelled: nothing more will happen to it."""
        return self.status in FINISHED_STATUSES

    def current_stage(self) -> Stage | None:
        """The first stage that is neither completed nor skipped, or None when all are."""
        return next((s for s in STAGE_ORDER if not self.stages[s].done), None)

    def with_stage(self, stage: Stage, **changes: Any) -> DocumentRecord:
        """A copy with one stage changed (for tests and planning)."""
        stages = dict(self.stages)
        stages[stage] = replace(stages[stage], **changes)
        return replace(self, stages=stages)

    def visible_error(self) -> DocumentError | None:
        """The error clients see: a damaged record always says why it cannot be read."""
        if not self.damaged:
            return self.error
        if self.error is not None and self.error.code == UNREADABLE:
            return self.error
        return unreadable_error(self.problems)

    def visible_status(self) -> DocumentStatus:
        """The status clients see: a damaged record is failed, whatever it says."""
        return DocumentStatus.FAILED if self.damaged else self.status


def unreadable_error(problems: tuple[str, ...]) -> DocumentError:
    """The error of a record that cannot be read."""
    return DocumentError(
        code=UNREADABLE,
        message="the stored record cannot be read: " + "; ".join(problems),
        stage=None,
    )


# -- decoding ------------------------------------------------------------------------------------


class _Reader:
    """Reads typed fields out of a decoded hash, collecting what is missing or damaged."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.fields.get(name)
        if value is None and default is None:
            self.problems.append(f"{name} is missing")
        return default if value is None else value

    def optional(self, name: str) -> str | None:
        return self.fields.get(name)

    def time(self, name: str, *, required: bool = True) -> datetime | None:
        raw = self.fields.get(name)
        if raw is None:
            if required:
                self.problems.append(f"{name} is missing")
            return None
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            self.problems.append(f"{name} is not a time")
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def number(self, name: str, kind: type[int] | type[float]) -> float | None:
        raw = self.fields.get(name)
        if raw is None or raw == "":
            return None
        try:
            value = kind(float(raw)) if kind is int else float(raw)
        except ValueError:
            self.problems.append(f"{name} is not a number")
            return None
        return value

    def model(self, name: str, model: type[ModelT], *, required: bool = False) -> ModelT | None:
        raw = self.fields.get(name)
        if raw is None:
            if required:
                self.problems.append(f"{name} is missing")
            return None
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            self.problems.append(f"{name} is damaged ({exc.errors()[0]['msg']})")
            return None


def decode_record(doc_id: str, raw: Mapping[Any, Any]) -> DocumentRecord | None:
    """The hash as a record; None when the hash is empty (no such document)."""
    if not raw:
        return None
    problems: list[str] = []
    fields: dict[str, str] = {}
    for key, value in raw.items():
        name, text = _text(key), _text(value)
        if name is None or text is None:
            problems.append(f"field {key!r} is not UTF-8")
            continue
        fields[name] = text
    read = _Reader(fields)
    status = _status(read)
    content_type = read.text(layout.CONTENT_TYPE, default="")
    if content_type not in CONTENT_TYPES:
        read.problems.append(f"content_type {content_type!r} is not known")
        content_type = "text/plain"
    record = DocumentRecord(
        doc_id=doc_id,
        status=status,
        created_at=read.time(layout.CREATED_AT) or EPOCH,
        updated_at=read.time(layout.UPDATED_AT) or EPOCH,
        content_type=content_type,  # type: ignore[arg-type]
        options=read.model(layout.OPTIONS, DocumentOptions, required=True) or DocumentOptions(),
        stages={stage: _stage(read, stage) for stage in STAGE_ORDER},
        error=read.model(layout.ERROR, DocumentError),
        owner=read.optional(layout.OWNER) or "",
        batch_id=read.optional(layout.BATCH) or None,
        webhook=read.model(layout.WEBHOOK, WebhookState),
        content_bytes=int(read.number(layout.CONTENT_BYTES, int) or 0),
        finished_at=read.time(layout.FINISHED_AT, required=False),
    )
    return replace(record, problems=tuple(problems + read.problems))


def _status(read: _Reader) -> DocumentStatus:
    raw = read.text(layout.STATUS, default="") or ""
    try:
        return DocumentStatus(raw)
    except ValueError:
        read.problems.append(f"status {raw!r} is not known")
        return DocumentStatus.FAILED


def _stage(read: _Reader, stage: Stage) -> StageRecord:
    state = read.model(layout.stage_field(stage), StageState, required=True) or StageState()
    return StageRecord(
        status=state.status,
        started_at=state.started_at,
        finished_at=state.finished_at,
        duration_ms=state.duration_ms,
        error=state.error,
        attempts=int(read.number(layout.attempts_field(stage), int) or 0),
        run=read.optional(layout.run_field(stage)) or None,
        lease_until=read.number(layout.lease_field(stage), float),
        queued_at=read.number(layout.queued_field(stage), float),
        tag=read.optional(layout.tag_field(stage)) or None,
    )


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    try:
        return bytes(value).decode()
    except (UnicodeDecodeError, TypeError):
        return None


# -- encoding ------------------------------------------------------------------------------------


def encode_time(moment: datetime) -> str:
    """Times are stored as ISO 8601 in UTC."""
    return moment.astimezone(UTC).isoformat()


@lru_cache(maxsize=256)
def encode_stage(stage: Stage, record: StageRecord) -> dict[str, str]:
    """Every stored field of one stage; fields that are unset are stored empty. (Cached: the
    same few states recur; callers copy the dict before changing it.)"""
    return {
        layout.stage_field(stage): record.state().model_dump_json(),
        layout.attempts_field(stage): str(record.attempts),
        layout.run_field(stage): record.run or "",
        layout.lease_field(stage): _number(record.lease_until),
        layout.queued_field(stage): _number(record.queued_at),
        layout.tag_field(stage): record.tag or "",
    }


def new_record_fields(
    *, now: datetime, content_type: str, content_bytes: int, options_json: str, owner: str,
    batch_id: str | None,
) -> dict[str, str]:  # fmt: skip
    """Every stored field of a record that was just accepted (the hot path of intake; the same
    as ``encode_record`` of such a record, which a test checks)."""
    stamp = encode_time(now)
    fields = {
        layout.STATUS: DocumentStatus.QUEUED.value,
        layout.CREATED_AT: stamp,
        layout.UPDATED_AT: stamp,
        layout.CONTENT_TYPE: content_type,
        layout.CONTENT_BYTES: str(content_bytes),
        layout.OPTIONS: options_json,
        layout.OWNER: owner,
        **_new_stages(),
    }
    if batch_id:
        fields[layout.BATCH] = batch_id
    return fields


@lru_cache(maxsize=1)
def _new_stages() -> dict[str, str]:
    fields: dict[str, str] = {}
    for stage in STAGE_ORDER:
        fields.update(encode_stage(stage, StageRecord()))
    return fields


def encode_record(record: DocumentRecord) -> dict[str, str]:
    """Every stored field of a record (used when a record is created)."""
    fields = {
        layout.STATUS: record.status.value,
        layout.CREATED_AT: encode_time(record.created_at),
        layout.UPDATED_AT: encode_time(record.updated_at),
        layout.CONTENT_TYPE: record.content_type,
        layout.CONTENT_BYTES: str(record.content_bytes),
        layout.OPTIONS: record.options.model_dump_json(),
        layout.OWNER: record.owner,
    }
    if record.batch_id:
        fields[layout.BATCH] = record.batch_id
    if record.error is not None:
        fields[layout.ERROR] = record.error.model_dump_json()
    if record.webhook is not None:
        fields[layout.WEBHOOK] = record.webhook.model_dump_json()
    if record.finished_at is not None:
        fields[layout.FINISHED_AT] = encode_time(record.finished_at)
    for stage in STAGE_ORDER:
        fields.update(encode_stage(stage, record.stages[stage]))
    return fields


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def event_payload(**data: Any) -> str:
    """Compact JSON for an event stream entry."""
    return json.dumps(data, separators=(",", ":"), default=str)
