"""Settings of the API process, read once from ``NEWSDESK_*`` environment variables."""

from __future__ import annotations

from pydantic import Field

from records.policy import RecordSettings


class ApiSettings(RecordSettings):
    """Everything the API needs to know; passed to ``create_app``."""

    max_document_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    redis_timeout_seconds: float = Field(default=2.0, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    # How long an Idempotency-Key keeps answering with the document it first created.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
