"""Admission: per-key quotas (rate, documents and bytes in flight) and Redis memory headroom.

Both are checked before a document is written, so a client hears 429 or 507 — never a 503 from
a Redis that hit its ``maxmemory`` (and never an eviction: Redis runs with ``noeviction``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from records.layout import Keys
from records.quota import QUOTA_SCRIPT, QuotaLimits, parse_verdict, quota_arguments
from records.wire import RedisWire, script_sha
from services.errors import QuotaExceeded, StorageFull
from services.settings import ApiSettings

# Limits that apply once API keys are configured, unless set explicitly.
QUOTA_DEFAULTS = QuotaLimits(
    rate_per_second=200.0, burst=400, max_in_flight=10_000, max_in_flight_bytes=1024**3
)
# Redis memory is read at most this often (INFO is cheap, not free).
MEMORY_CHECK_SECONDS = 1.0


def quota_limits(settings: ApiSettings, *, keys_required: bool) -> QuotaLimits:
    """The limits in force: explicit settings, else the defaults when keys are required."""
    base = QUOTA_DEFAULTS if keys_required else QuotaLimits()

    def pick(value: Any, default: Any) -> Any:
        return default if value is None else value

    rate = pick(settings.quota_rate_per_second, base.rate_per_second)
    return QuotaLimits(
        rate_per_second=rate,
        burst=pick(settings.quota_burst, base.burst) or math.ceil(2 * rate),
        max_in_flight=pick(settings.quota_max_in_flight, base.max_in_flight),
        max_in_flight_bytes=pick(settings.quota_max_in_flight_bytes, base.max_in_flight_bytes),
    )


QUOTA_SHA = script_sha(QUOTA_SCRIPT)


@dataclass
class Admission:
    """Checks a request against its key's quota and the store's memory headroom."""

    redis: Redis
    wire: RedisWire
    keys: Keys
    limits: QuotaLimits
    high_water: float
    _memory_checked: float = 0.0
    _memory_full: bool = False

    async def check(self, owner: str, *, documents: int = 0, content_bytes: int = 0) -> None:
        """Raise QuotaExceeded or StorageFull when the request must be refused."""
        if documents and await self._storage_full():
            raise StorageFull(
                "storage is nearly full (Redis is close to its memory limit); finished documents "
                "are deleted as their retention ends — send it again later",
                headers={"Retry-After": "60"},
            )
        if not self.limits.any:
            return
        reply = await self.wire.evalsha(
            QUOTA_SCRIPT, QUOTA_SHA,
            [self.keys.rate_bucket(owner), self.keys.in_flight(owner),
             self.keys.in_flight_bytes(owner)],
            quota_arguments(self.limits, documents=documents, content_bytes=content_bytes),
        )  # fmt: skip
        verdict = parse_verdict(reply)
        if verdict.exceeded == "rate":
            retry = max(1, math.ceil(verdict.retry_after_ms / 1000))
            raise QuotaExceeded(
                f"more than {self.limits.rate_per_second:g} requests a second for this key",
                headers={"Retry-After": str(retry)},
            )
        if verdict.exceeded == "documents":
            raise QuotaExceeded(
                f"this key already has {self.limits.max_in_flight} documents in flight; "
                "wait for some to finish",
                headers={"Retry-After": "5"},
            )
        if verdict.exceeded == "bytes":
            raise QuotaExceeded(
                f"this key's documents in flight would exceed {self.limits.max_in_flight_bytes} "
                "bytes; wait for some to finish",
                headers={"Retry-After": "5"},
            )

    async def _storage_full(self) -> bool:
        now = time.monotonic()
        if now - self._memory_checked >= MEMORY_CHECK_SECONDS:
            self._memory_checked = now
            info = await self.redis.info("memory")
            limit = int(info.get("maxmemory", 0) or 0)
            used = int(info.get("used_memory", 0) or 0)
            self._memory_full = bool(limit) and used >= self.high_water * limit
        return self._memory_full
