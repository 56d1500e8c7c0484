"""Settings of the API process, read once from ``NEWSDESK_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from records.policy import RecordSettings


class ApiSettings(RecordSettings):
    """Everything the API needs to know; passed to ``create_app``."""

    max_document_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    max_batch_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    redis_timeout_seconds: float = Field(default=2.0, gt=0)
    redis_max_connections: int = Field(default=64, ge=2)
    retry_after_seconds: int = Field(default=5, ge=1)
    # A request body that stops arriving for this long is answered 408.
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long an Idempotency-Key keeps answering with the document it first created.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    # API keys ("name:secret" or "name:sha256:<hex>", comma separated) and/or a file of them.
    api_keys: str = ""
    api_keys_file: Path | None = None
    # Per-key limits (0: none). Unset, they default to QUOTA_DEFAULTS when keys are configured.
    quota_rate_per_second: float | None = Field(default=None, ge=0)
    quota_burst: int | None = Field(default=None, ge=0)
    quota_max_in_flight: int | None = Field(default=None, ge=0)
    quota_max_in_flight_bytes: int | None = Field(default=None, ge=0)
    # Refuse new documents (507) once Redis uses this share of its maxmemory.
    storage_high_water: float = Field(default=0.9, gt=0, le=1)
    # "strict": a 202 waits until the write is on disk (fsync); "everysec": up to ~1 s of
    # acknowledged writes can be lost if the Redis host crashes.
    durability: Literal["everysec", "strict"] = "everysec"
