"""Settings of the API process, read once from ``NEWSDESK_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.wire import DEFAULT_PUBLISH_GRACE_SECONDS, DEFAULT_QUEUED_STALL_SECONDS, KEY_PREFIX


class ApiSettings(BaseSettings):
    """Everything the API needs to know; passed to ``create_app``."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = KEY_PREFIX
    max_document_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    redis_timeout_seconds: float = Field(default=2.0, gt=0)
    visibility_timeout_seconds: int = Field(default=3600, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)
    # How long an Idempotency-Key keeps answering with the document it first created.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    # Deadlines in the pending set (see workers.reconciler); keep equal to the workers' values.
    publish_grace_seconds: float = Field(default=DEFAULT_PUBLISH_GRACE_SECONDS, gt=0)
    queued_stall_seconds: float = Field(default=DEFAULT_QUEUED_STALL_SECONDS, gt=0)
