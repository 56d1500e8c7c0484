"""Per-key limits, checked atomically in Redis (one Lua script, one round trip).

* request rate: a token bucket per key, refilled continuously at ``rate`` tokens a second up
  to ``burst``; Redis's own clock is used, so several API processes share one bucket;
* documents in flight: how many of the key's documents are unfinished (the record layer keeps
  the set exact: added when a document is accepted, removed when it finishes);
* bytes in flight: the content bytes of those documents.
A limit of 0 means none.
"""

from __future__ import annotations

from dataclasses import dataclass

QUOTA_SCRIPT = """
local bucket, in_flight, in_flight_bytes = KEYS[1], KEYS[2], KEYS[3]
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local max_docs, max_bytes = tonumber(ARGV[3]), tonumber(ARGV[4])
local new_docs, new_bytes = tonumber(ARGV[5]), tonumber(ARGV[6])
if max_docs > 0 and new_docs > 0 and redis.call('ZCARD', in_flight) + new_docs > max_docs then
  return {'documents', 0}
end
if max_bytes > 0 and new_bytes > 0 then
  local held = tonumber(redis.call('GET', in_flight_bytes) or '0')
  if held + new_bytes > max_bytes then return {'bytes', 0} end
end
if rate > 0 then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  local state = redis.call('HMGET', bucket, 'tokens', 'at')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if tokens == nil then tokens, at = burst, now end
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  if tokens < 1 then
    return {'rate', math.ceil((1 - tokens) * 1000 / rate)}
  end
  redis.call('HSET', bucket, 'tokens', tostring(tokens - 1), 'at', tostring(now))
  redis.call('PEXPIRE', bucket, math.ceil(burst * 1000 / rate) + 1000)
end
return {'ok', 0}
"""


@dataclass(frozen=True)
class QuotaLimits:
    """One key's limits (0 = no limit)."""

    rate_per_second: float = 0.0
    burst: int = 0
    max_in_flight: int = 0
    max_in_flight_bytes: int = 0

    @property
    def any(self) -> bool:
        return bool(self.rate_per_second or self.max_in_flight or self.max_in_flight_bytes)


@dataclass(frozen=True)
class QuotaVerdict:
    """What the script answered: ``exceeded`` is None when the request may go ahead."""

    exceeded: str | None
    retry_after_ms: int = 0


def quota_arguments(limits: QuotaLimits, *, documents: int, content_bytes: int) -> list[str]:
    """ARGV of ``QUOTA_SCRIPT`` for a request adding ``documents`` of ``content_bytes``."""
    burst = max(limits.burst, 1) if limits.rate_per_second else 0
    return [
        repr(float(limits.rate_per_second)),
        str(burst),
        str(limits.max_in_flight),
        str(limits.max_in_flight_bytes),
        str(documents),
        str(content_bytes),
    ]


def parse_verdict(reply: list[bytes | str | int]) -> QuotaVerdict:
    """The script's reply as a verdict."""
    kind = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    return QuotaVerdict(exceeded=None if kind == "ok" else kind, retry_after_ms=int(reply[1]))
