"""When a failed request is sent again, and how long the client waits first."""

from __future__ import annotations

import random
from dataclasses import dataclass

from newsdesk.client.errors import NewsdeskError


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; the server's Retry-After wins when it says more.

    A request is tried at most ``attempts`` times. Only transient errors are retried (no
    connection, 408, 429, 502, 503, 504), and a request that may already have taken effect only
    when sending it again is safe (reads, and submissions carrying an Idempotency-Key).
    """

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    # A longer Retry-After is not slept through: the error is raised for the caller to decide.
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts: at least 1")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError("RetryPolicy: delays cannot be negative")

    def delay(self, attempt: int, error: NewsdeskError, *, resendable: bool = True) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` after ``error``; None to give up."""
        if attempt >= self.attempts or not error.transient:
            return None
        if error.maybe_applied and not resendable:
            return None
        backoff = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        backoff = backoff / 2 + random.uniform(0, backoff / 2)
        if error.retry_after is None:
            return backoff
        if error.retry_after > self.max_retry_after:
            return None
        return max(error.retry_after, backoff)


NO_RETRIES = RetryPolicy(attempts=1)
