"""``newsdesk up``: one foreground process supervising Redis, the API, a worker and the reconciler.

Children run in their own sessions so Ctrl-C reaches only the supervisor, which then stops them
in reverse order (reconciler, worker, API, Redis) and waits for each. A child that dies on its
own is restarted after a short pause, like a container restart policy.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from newsdesk.embedded_redis import start_redis

log = logging.getLogger("newsdesk.up")


@dataclass
class Child:
    """A supervised child process and how to start it again."""

    name: str
    command: list[str]
    env: dict[str, str]
    stop_timeout: float
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        log.info("stopping %s (pid %d)", self.name, self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %gs: killing it", self.name, self.stop_timeout)
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _newsdesk(*args: str) -> list[str]:
    return [sys.executable, "-m", "newsdesk", *args]


def run_stack(*, host: str, port: int, concurrency: int, data_dir: Path) -> int:
    """Run everything until SIGINT/SIGTERM; returns the exit code."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    env = dict(os.environ)
    redis_process = None
    if not env.get("NEWSDESK_REDIS_URL"):
        redis_dir = data_dir / "redis"
        redis_process, url = start_redis(data_dir=redis_dir, log_file=data_dir / "redis.log")
        env["NEWSDESK_REDIS_URL"] = url
        log.info("embedded redis-server at %s, data in %s (AOF on)", url, redis_dir)
    else:
        log.info("using Redis at NEWSDESK_REDIS_URL")
    children = [
        Child("api", _newsdesk("api", "--host", host, "--port", str(port)), env, 15),
        Child("worker", _newsdesk("worker", "--concurrency", str(concurrency)), env, 400),
        Child("reconciler", _newsdesk("reconcile"), env, 10),
    ]
    try:
        for child in children:
            child.start()
        log.info("newsdesk is up: http://%s:%d (Ctrl-C stops everything)", host, port)
        while not stop.wait(0.5):
            _restart_dead(children)
            if redis_process is not None and redis_process.poll() is not None:
                log.error("redis-server exited with code %s; stopping", redis_process.returncode)
                return 1
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        if redis_process is not None and redis_process.poll() is None:
            redis_process.send_signal(signal.SIGTERM)  # SHUTDOWN: fsyncs the AOF first
            redis_process.wait(30)
        log.info("newsdesk stopped")


def _restart_dead(children: list[Child]) -> None:
    for child in children:
        if child.process is None or child.process.poll() is None:
            continue
        if time.monotonic() - child.started_at < 2.0:
            time.sleep(2.0)  # do not spin on a child that dies at once
        child.restarts += 1
        log.warning(
            "%s exited with code %s; restarting (restart %d)",
            child.name,
            child.process.returncode,
            child.restarts,
        )
        child.start()
