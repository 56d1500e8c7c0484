"""The HTTP contract: what clients submit and what they read back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from contracts.callbacks import callback_url_problem
from contracts.results import (
    CleanResult,
    EntitiesResult,
    Keyword,
    LanguageGuess,
    StageOutput,
    SummaryResult,
)

ContentType = Literal["text/plain", "text/html"]
CONTENT_TYPES: tuple[str, ...] = ("text/plain", "text/html")
# Metadata is flat: at most MAX_METADATA_KEYS keys, each value a string, a whole number, a finite
# number or a boolean (no nesting; NaN and infinities are refused because JSON cannot hold them).
MAX_METADATA_KEYS = 100
MetadataValue = (
    Annotated[str, StringConstraints(max_length=2000)]
    | int
    | Annotated[float, Field(allow_inf_nan=False)]
    | bool
)
DEFAULT_SUMMARY_SENTENCES = 3
# Document ids are 32 lower-case hex digits (a UUID4 without dashes); anything else is unknown.
DOC_ID_PATTERN = r"^[0-9a-f]{32}$"


class DocumentStatus(StrEnum):
    """Where a document is on its way through the stages."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATUSES = frozenset(
    {DocumentStatus.COMPLETED, DocumentStatus.FAILED, DocumentStatus.CANCELLED}
)


class StageStatus(StrEnum):
    """Where one stage of one document is."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


# A stage in one of these states has produced what later stages need.
DONE_STAGE_STATUSES = frozenset({StageStatus.COMPLETED, StageStatus.SKIPPED})


class DocumentOptions(BaseModel):
    """Everything a client may say about a document besides its content."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(max_length=1000)] | None = None
    url: Annotated[str, StringConstraints(max_length=4096)] | None = Field(
        default=None, description="recorded only, never fetched"
    )
    language: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")] | None
    ) = Field(default=None, description="BCP 47 tag declared by the client, e.g. 'en' or 'en-GB'")
    metadata: dict[Annotated[str, StringConstraints(max_length=200)], MetadataValue] = Field(
        default_factory=dict,
        max_length=MAX_METADATA_KEYS,
        description="flat: up to 100 keys, values are strings, numbers or booleans",
    )
    summary_sentences: int = Field(default=DEFAULT_SUMMARY_SENTENCES, ge=1, le=20)
    callback_url: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None,
        description="http(s) URL the finished document is POSTed to, signed (see README)",
    )

    @field_validator("callback_url")
    @classmethod
    def _callback_is_http(cls, value: str | None) -> str | None:
        if value is not None:
            problem = callback_url_problem(value, allow_private=True)
            if problem:
                raise ValueError(problem)
        return value


class DocumentSubmission(DocumentOptions):
    """A JSON submission: the content and its type, plus options."""

    content: str = Field(
        description="the article, as text or HTML; not empty or only white space",
        json_schema_extra={"minLength": 1, "pattern": r"\S"},
    )
    content_type: ContentType = "text/plain"

    def options(self) -> DocumentOptions:
        """The submission without its content."""
        return DocumentOptions.model_validate(self.model_dump(exclude={"content", "content_type"}))


class DocumentAccepted(BaseModel):
    """The answer to a submission: the id to poll."""

    id: str
    status: DocumentStatus = DocumentStatus.QUEUED


class StageState(BaseModel):
    """One stage's progress as stored in the document record (attempts are counted apart)."""

    model_config = ConfigDict(extra="forbid")

    status: StageStatus = StageStatus.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    error: str | None = None


class StageView(StageState):
    """One stage's progress as clients see it."""

    attempts: int = 0


class DocumentError(BaseModel):
    """Why a document failed: a stable code, a readable message and the stage it failed in."""

    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    stage: str | None = None


class WebhookState(BaseModel):
    """How delivering the finished document to its ``callback_url`` went so far."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["pending", "delivered", "failed"] = "pending"
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


class DocumentResult(BaseModel):
    """Every stage's output that exists so far."""

    clean: CleanResult | None = None
    language: LanguageGuess | None = None
    entities: EntitiesResult | None = None
    summary: SummaryResult | None = None
    keywords: list[Keyword] | None = None
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def compose(cls, outputs: Iterable[StageOutput]) -> DocumentResult | None:
        """The result made of the stage outputs that exist so far; None when there are none."""
        fields: dict[str, Any] = {}
        for output in outputs:
            fields.update(output.result_fields())
        return cls.model_validate(fields) if fields else None


class DocumentView(BaseModel):
    """The answer to ``GET /v1/documents/{id}``."""

    id: str
    status: DocumentStatus
    created_at: datetime
    updated_at: datetime
    content_type: ContentType
    options: DocumentOptions
    stages: dict[str, StageView]
    result: DocumentResult | None = None
    error: DocumentError | None = None
    webhook: WebhookState | None = Field(
        default=None, description="delivery of the finished document to its callback_url"
    )
    batch_id: str | None = None


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details) with newsdesk's own stable ``code``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    doc_id: str | None = Field(
        default=None,
        description="on a 503 after which the document may have been stored: its id, to check",
    )


class DocumentStatusView(BaseModel):
    """The answer to ``GET /v1/documents/{id}/status``: the view without results (cheap)."""

    id: str
    status: DocumentStatus
    created_at: datetime
    updated_at: datetime
    stages: dict[str, StageView]
    error: DocumentError | None = None


class DocumentSummary(BaseModel):
    """One document in a listing."""

    id: str
    status: DocumentStatus
    created_at: datetime
    updated_at: datetime
    content_type: ContentType
    title: str | None = None
    batch_id: str | None = None


class DocumentPage(BaseModel):
    """A page of ``GET /v1/documents``, newest first; ``next_cursor`` continues it."""

    items: list[DocumentSummary]
    next_cursor: str | None = Field(
        default=None, description="pass as ?cursor= for the next page; absent on the last page"
    )


MAX_BATCH_ITEMS = 1000


class BatchItemResult(BaseModel):
    """What became of one item of a batch: 202 with its id, or an error with a problem."""

    index: int
    status: int
    id: str | None = None
    problem: Problem | None = None


class BatchAccepted(BaseModel):
    """The answer to ``POST /v1/batches``."""

    id: str
    accepted: int
    rejected: int
    items: list[BatchItemResult]


class BatchView(BaseModel):
    """The answer to ``GET /v1/batches/{id}``: counts by status and the item ids."""

    id: str
    created_at: datetime
    total: int
    counts: dict[str, int]
    items: list[str | None] = Field(description="document id per item; null for rejected ones")
