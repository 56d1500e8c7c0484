"""Settings of the API process, read once from ``NEWSDESK_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Everything the API needs to know; passed to ``create_app``."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "newsdesk:"
    max_document_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    redis_timeout_seconds: float = Field(default=2.0, gt=0)
    visibility_timeout_seconds: int = Field(default=3600, gt=0)
    retry_after_seconds: int = Field(default=5, ge=1)
