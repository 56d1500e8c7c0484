"""A lean asyncio HTTP/1.1 client for the benchmark's load generators.

The load generator shares the machine's cores with the service it measures, so every
millisecond of CPU it spends per request is taken from the service under test. httpx's async
client spends about 5 ms of CPU per document (a POST and a long-poll GET), more than the API
itself; this one speaks just enough HTTP/1.1 for the API's answers (keep-alive connections,
``Content-Length`` or chunked bodies) at a fraction of that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def raise_for_status(self) -> None:
        if self.status >= 400:
            raise HttpError(f"HTTP {self.status}: {self.body[:300]!r}")


class HttpError(Exception):
    """An answer of 400 or more, or one that is not HTTP/1.1 as this client reads it."""


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# The API's server closes a connection idle for 5 s; one idle for longer than this is not reused.
MAX_IDLE_SECONDS = 2.0


class LeanClient:
    """Keep-alive connections to one host, opened as needed and reused when idle."""

    def __init__(self, base_url: str, *, timeout: float = 300.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only plain http:// URLs: {base_url}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout  # seconds for one whole request and its answer
        self._idle: list[tuple[Connection, float]] = []  # with when each was last used

    async def __aenter__(self) -> LeanClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        idle, self._idle = [connection for connection, _ in self._idle], []
        for _, writer in idle:
            writer.close()
        for _, writer in idle:
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Answer:
        if params:
            path = f"{path}?{urlencode(params)}"
        return await self.request("GET", path)

    async def post(self, path: str, content: bytes, content_type: str) -> Answer:
        return await self.request("POST", path, content, {"Content-Type": content_type})

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        while self._idle:  # the most recently used first; one idle too long may be closed
            connection, since = self._idle.pop()
            if time.monotonic() - since < MAX_IDLE_SECONDS:
                break
            connection[1].close()
        else:
            connection = await self._open()
        try:
            async with asyncio.timeout(self.timeout):
                answer, keep = await self._exchange(connection, method, path, body, headers or {})
        except BaseException:
            connection[1].close()
            raise
        if keep:
            self._idle.append((connection, time.monotonic()))
        else:
            connection[1].close()
        return answer

    async def _open(self) -> Connection:
        return await asyncio.open_connection(self.host, self.port)

    async def _exchange(
        self,
        connection: Connection,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
    ) -> tuple[Answer, bool]:
        reader, writer = connection
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        version, _, rest = head[0].partition(" ")
        if version != "HTTP/1.1":
            raise HttpError(f"not an HTTP/1.1 answer: {head[0]!r}")
        status = int(rest.split(" ", 1)[0])
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name:
                fields[name.strip().lower()] = value.strip()
        keep = fields.get("connection", "").lower() != "close"
        if fields.get("transfer-encoding", "").lower() == "chunked":
            content = await _chunked(reader)
        elif "content-length" in fields:
            content = await reader.readexactly(int(fields["content-length"]))
        elif status in (204, 304) or 100 <= status < 200:
            content = b""
        else:  # the body runs to the end of the connection
            content, keep = await reader.read(), False
        return Answer(status, content), keep


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers are sent by the API
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
