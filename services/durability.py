"""What a 202 waits for: with ``NEWSDESK_DURABILITY=strict``, the write on disk.

Redis acknowledges a write once it is in memory; with ``appendfsync everysec`` the append-only
file reaches the disk within about a second, so a crash of the Redis host can lose the last
second of acknowledged documents. Strict durability closes that window: either Redis fsyncs
every write (``appendfsync always``, what ``newsdesk up`` configures in strict mode), or the API
waits for the fsync with WAITAOF (Redis 7.2+) before it answers.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services.settings import ApiSettings

WAITAOF_SINCE = (7, 2)


class DurabilityUnavailable(RuntimeError):
    """Strict durability was asked of a Redis that can neither fsync each write nor wait."""


async def needs_waitaof(redis: Redis, settings: ApiSettings) -> bool:
    """Whether strict durability needs a WAITAOF after each write; raises when the Redis can
    neither fsync every write nor wait for the fsync."""
    if settings.durability != "strict":
        return False
    try:
        config = await redis.config_get("appendfsync")
        values = {_text(value) for value in config.values()}
        if "always" in values:
            return False
    except ResponseError:
        pass  # CONFIG is often disabled on managed Redis: go by the version
    version = str((await redis.info("server")).get("redis_version", "0"))
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts >= WAITAOF_SINCE:
        return True
    raise DurabilityUnavailable(
        "NEWSDESK_DURABILITY=strict needs a Redis with appendfsync always, or Redis 7.2+ "
        f"(WAITAOF); this one is {version} and fsyncs less often"
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
