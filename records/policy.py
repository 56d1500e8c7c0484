"""Timing rules of the record that the API, the workers and the reconciler must agree on."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from records.layout import KEY_PREFIX


@dataclass(frozen=True)
class RecordPolicy:
    """How long leases last, when queued work is checked, how long results are kept."""

    lease_seconds: float = 10.0
    queued_check_seconds: float = 10.0
    max_recheck_seconds: float = 60.0
    max_attempts: int = 3
    result_ttl_seconds: int = 7 * 24 * 3600
    tombstone_extra_seconds: int = 30 * 24 * 3600
    event_stream_length: int = 200

    @property
    def heartbeat_seconds(self) -> float:
        """How often a running stage renews its lease: four chances before it runs out."""
        return self.lease_seconds / 4


class RecordSettings(BaseSettings):
    """The ``NEWSDESK_*`` settings of the record layer, shared by every process."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = KEY_PREFIX
    # A running stage holds a lease this long; its worker renews it every quarter of it, so a
    # dead worker's stage is taken over within about this long.
    lease_seconds: float = Field(default=10.0, ge=1)
    # A queued stage whose message is gone (not in its queue, a later one already started) is
    # queued again once it is this old; one still waiting in its queue is checked again later.
    queued_check_seconds: float = Field(default=10.0, gt=0)
    max_recheck_seconds: float = Field(default=60.0, gt=0)
    # A stage started this often without finishing fails the document (a poison document).
    max_attempts: int = Field(default=3, ge=1)
    result_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    # Webhooks: the HMAC key deliveries are signed with (callback_url is refused without one),
    # and whether callback URLs may point at loopback, link-local or private addresses.
    webhook_secret: str = Field(default="", repr=False)
    webhook_allow_private: bool = False

    @model_validator(mode="after")
    def _recheck_not_below_check(self) -> RecordSettings:
        if self.max_recheck_seconds < self.queued_check_seconds:
            raise ValueError("max_recheck_seconds must not be below queued_check_seconds")
        return self

    def policy(self) -> RecordPolicy:
        """The timing rules these settings describe."""
        return RecordPolicy(
            lease_seconds=self.lease_seconds,
            queued_check_seconds=self.queued_check_seconds,
            max_recheck_seconds=self.max_recheck_seconds,
            max_attempts=self.max_attempts,
            result_ttl_seconds=self.result_ttl_seconds,
        )
