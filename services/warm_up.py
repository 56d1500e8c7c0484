"""Before the API says it is up: pay the first-request costs that would otherwise fall on the
first client (about 8 ms: FastAPI builds an included router's effective routes and reads each
endpoint's source location on first use; redis-py opens its first pooled connection).

The warm-up requests go through the whole application in-process, marked so that the HTTP
metrics do not count them; they read ids that cannot exist and write nothing.
"""

from __future__ import annotations

import logging
from contextlib import suppress

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Scope

log = logging.getLogger("newsdesk.api")
# The scope extension that marks an in-process warm-up request.
WARM_UP = "newsdesk.warm_up"
# An id no document gets (ids are uuid4 hex, whose 13th digit is 4): the reads answer 404 (401
# where API keys are required) and change nothing.
NO_SUCH_DOCUMENT = "0" * 32
WARM_UP_PATHS = (f"/v1/documents/{NO_SUCH_DOCUMENT}", f"/v1/documents/{NO_SUCH_DOCUMENT}/status")


def is_warm_up(scope: Scope) -> bool:
    """Whether ``scope`` is one of the warm-up requests."""
    return WARM_UP in (scope.get("extensions") or {})


async def warm_up(app: ASGIApp, redis: Redis) -> list[int]:
    """Open a pooled Redis connection and send the polling reads through ``app`` once; the
    status of each read (0 when it failed: a warm-up never keeps the API from starting)."""
    with suppress(RedisError):  # Redis down: the first request will connect
        await redis.ping()
    statuses = []
    for path in WARM_UP_PATHS:
        try:
            statuses.append(await _get(app, path))
        except Exception:
            log.debug("warm-up request to %s failed", path, exc_info=True)
            statuses.append(0)
    return statuses


async def _get(app: ASGIApp, path: str) -> int:
    """One in-process GET through the ASGI application; its status code."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"warm-up")],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "extensions": {WARM_UP: {}},
        "state": {},
    }
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status
