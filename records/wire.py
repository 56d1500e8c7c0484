"""A lean asyncio Redis connection for the API's hot paths (accept a document, read one back).

redis-py's asyncio client spends a few hundred microseconds of CPU on every command (retry and
health-check wrappers, a pooled connection per call); at thousands of requests a second that
is most of the API's time. Here, commands from all concurrent requests share one connection:
each is packed with hiredis and written together with the others issued in the same loop
iteration (one write, one read, however many requests), and the replies, which Redis sends in
order, resolve the requests' futures in turn. Errors are redis-py's exception classes, so the
code around behaves the same with either client.

A command that gets no reply within ``timeout`` fails with ``TimeoutError`` and the connection
is dropped (the replies still due on it could no longer be matched); the next command opens a
new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
from redis.exceptions import (
    AuthenticationError,
    NoScriptError,
    OutOfMemoryError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_ERRORS: tuple[tuple[str, type[ResponseError]], ...] = (
    ("OOM", OutOfMemoryError),
    ("NOSCRIPT", NoScriptError),
)


def _error(message: str) -> Exception:
    for prefix, kind in _ERRORS:
        if message.startswith(prefix):
            return kind(message)
    if message.startswith(("NOAUTH", "WRONGPASS", "ERR invalid password")):
        return AuthenticationError(message)
    return ResponseError(message)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.outgoing: list[bytes] = []
        self.transport: Any = None  # asyncio's or uvloop's transport
        self.lost: Exception | None = None
        self.flush_scheduled = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if not self.waiting:
                continue
            future = self.waiting.popleft()
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(_error(str(reply)))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}")
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(self.lost)

    def flush(self) -> None:
        self.flush_scheduled = False
        if self.transport is not None and self.outgoing and self.lost is None:
            self.transport.write(b"".join(self.outgoing))
        self.outgoing.clear()


class RedisWire:
    """Pipelined commands on one connection, opened on first use and again after a failure."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def execute(self, *args: Any) -> Any:
        """Send one command and wait for its reply (raises redis-py's exceptions)."""
        protocol = await self._connected()
        return await self._send(protocol, args)

    async def evalsha(self, script: str, sha: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA, loading the script first if Redis does not know it (after a restart)."""
        try:
            return await self.execute("EVALSHA", sha, len(keys), *keys, *args)
        except NoScriptError:
            await self.execute("SCRIPT", "LOAD", script)
            return await self.execute("EVALSHA", sha, len(keys), *keys, *args)

    async def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None

    def _send(self, protocol: _Protocol, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        protocol.waiting.append(future)
        protocol.outgoing.append(hiredis.pack_command(args))
        if not protocol.flush_scheduled:  # one write for every command of this loop turn
            protocol.flush_scheduled = True
            loop.call_soon(protocol.flush)
        timer = loop.call_later(self.timeout, self._expire, protocol, future)
        future.add_done_callback(lambda _: timer.cancel())
        return future

    def _expire(self, protocol: _Protocol, future: asyncio.Future[Any]) -> None:
        if future.done():
            return
        future.set_exception(RedisTimeoutError(f"Redis did not answer within {self.timeout:g}s"))
        if protocol is self._protocol:  # the replies still due can no longer be matched
            self._protocol = None
        if protocol.transport is not None:
            protocol.transport.abort()

    async def _connected(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and protocol.lost is None:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None and self._protocol.lost is None:
                return self._protocol
            self._protocol = await self._open()
            return self._protocol

    async def _open(self) -> _Protocol:
        endpoint = _Endpoint.of(self.url)
        loop = asyncio.get_running_loop()
        async with endpoint.connecting(self.timeout):
            _, protocol = await loop.create_connection(_Protocol, **endpoint.address())
        for command in endpoint.handshake:
            await self._send(protocol, command)
        return protocol


class Subscription:
    """A connection subscribed to one pub/sub channel, yielding the messages' payloads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = hiredis.Reader()

    @classmethod
    async def open(cls, url: str, channel: str, *, timeout: float) -> Subscription:
        endpoint = _Endpoint.of(url)
        async with endpoint.connecting(timeout):
            reader, writer = await asyncio.open_connection(**endpoint.address())
        subscription = cls(reader, writer)
        try:
            async with asyncio.timeout(timeout):
                for command in [*endpoint.handshake, ("SUBSCRIBE", channel)]:
                    writer.write(hiredis.pack_command(command))  # type: ignore[arg-type]
                    await subscription._reply()
        except BaseException as exc:
            await subscription.close()
            if isinstance(exc, TimeoutError):
                raise RedisConnectionError("Redis did not answer the subscription") from exc
            raise
        return subscription

    async def messages(self) -> AsyncIterator[bytes]:
        """Payloads published on the channel, until the connection ends."""
        while True:
            reply = await self._reply()
            if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
                yield reply[2]

    async def _reply(self) -> Any:
        while (reply := self.parser.gets()) is False:
            data = await self.reader.read(65536)
            if not data:
                raise RedisConnectionError("the subscription's connection was closed")
            self.parser.feed(data)
        if isinstance(reply, hiredis.ReplyError):
            raise _error(str(reply))
        return reply

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self.writer.wait_closed()


@dataclass(frozen=True)
class _Endpoint:
    """Where a Redis URL points, how to reach it (TLS for ``rediss://``) and what a new
    connection must send first (AUTH, SELECT)."""

    host: str
    port: int
    tls: ssl.SSLContext | None
    handshake: list[tuple[str, ...]]

    @classmethod
    def of(cls, url: str) -> _Endpoint:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        handshake: list[tuple[str, ...]] = []
        if parts.password:
            password = unquote(parts.password)
            user = unquote(parts.username) if parts.username else None
            handshake.append(("AUTH", user, password) if user else ("AUTH", password))
        database = (parts.path or "/0").strip("/") or query.get("db", "0")
        if database != "0":
            handshake.append(("SELECT", database))
        tls = _tls_context(query) if parts.scheme == "rediss" else None
        return cls(parts.hostname or "127.0.0.1", parts.port or 6379, tls, handshake)

    def address(self) -> dict[str, Any]:
        """Keyword arguments of asyncio's ``create_connection`` and ``open_connection``."""
        return {"host": self.host, "port": self.port, "ssl": self.tls}

    @contextlib.asynccontextmanager
    async def connecting(self, timeout: float) -> AsyncIterator[None]:
        """Bound the connection attempt in time; failures become redis-py's ConnectionError."""
        try:
            async with asyncio.timeout(timeout):
                yield
        except (OSError, TimeoutError) as exc:
            raise RedisConnectionError(f"Error connecting to Redis: {exc}") from exc


def script_sha(script: str) -> str:
    """The SHA-1 Redis knows a script by (EVALSHA)."""
    return hashlib.sha1(script.encode()).hexdigest()


def _tls_context(query: dict[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=query.get("ssl_ca_certs"))
    if query.get("ssl_cert_reqs", "required") in ("none", "CERT_NONE"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
