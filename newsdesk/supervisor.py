"""``newsdesk up``: one foreground process supervising Redis, the API, a worker and the reconciler.

Children run in their own sessions so Ctrl-C reaches only the supervisor, which then stops them
in reverse order (reconciler, worker, API, Redis) and waits for each. Each child also gets
SIGTERM from the kernel if the supervisor itself dies, so nothing is left running. A child that
dies on its own is restarted with growing pauses (up to MAX_RESTART_PAUSE); one that keeps dying
at start is reported unhealthy and still restarted: the stack stops only when the embedded Redis
exits or on Ctrl-C.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis.exceptions import RedisError

from contracts.wire import WEBHOOK_QUEUE
from newsdesk.embedded_redis import DEFAULT_MAXMEMORY, start_redis
from newsdesk.readiness import missing_queues
from records.policy import RecordSettings
from records.store import RecordStore
from workers.settings import WorkerSettings

log = logging.getLogger("newsdesk.up")
_PR_SET_PDEATHSIG = 1
# A child that dies within this many seconds of starting, this many times running, is unhealthy.
QUICK_DEATH_SECONDS = 10.0
UNHEALTHY_QUICK_DEATHS = 5
MAX_RESTART_PAUSE = 30.0
# How long `newsdesk up` waits for the workers to load their models before saying so.
WORKERS_READY_TIMEOUT = 300.0
# Webhook deliveries wait on the network, not the CPU: threads, several at once.
WEBHOOK_CONCURRENCY = 8


class StackFailed(RuntimeError):
    """A child could not be kept running; the stack was stopped."""


def _die_with_parent(parent: int = os.getpid()) -> None:  # in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os._exit(1)


@dataclass
class Child:
    """A supervised child process and how to start it again."""

    name: str
    command: list[str]
    env: dict[str, str]
    stop_timeout: float
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = field(default=None)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, env=self.env, start_new_session=True, preexec_fn=_die_with_parent
        )
        self.started_at = time.monotonic()
        self.restart_at = None
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

    @property
    def healthy(self) -> bool:
        """Running, and not in a loop of dying at start."""
        running = self.process is not None and self.process.poll() is None
        return running and self.quick_deaths < UNHEALTHY_QUICK_DEATHS

    def check(self, now: float) -> None:
        """Restart the child if it died, after 1, 2, 4 … 30 s. A child that keeps dying at
        start is reported unhealthy but never stops the rest of the stack: the API keeps
        accepting (and Redis keeps storing) while it is retried."""
        if self.process is None or self.process.poll() is None:
            if self.process is not None and now - self.started_at >= QUICK_DEATH_SECONDS:
                self.quick_deaths = 0
            return
        if self.restart_at is None:
            lived = now - self.started_at
            self.quick_deaths = self.quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
            pause = min(MAX_RESTART_PAUSE, 2.0 ** max(self.quick_deaths - 1, 0))
            level = (
                logging.ERROR if self.quick_deaths >= UNHEALTHY_QUICK_DEATHS else logging.WARNING
            )
            state = " (unhealthy: it keeps exiting at start)" if level == logging.ERROR else ""
            log.log(level, "%s exited with code %s%s; restarting in %gs",
                    self.name, self.process.returncode, state, pause)  # fmt: skip
            self.restart_at = now + pause
        elif now >= self.restart_at:
            self.start()


def _announce_when_ready(
    store: RecordStore, host: str, port: int, *, since: float | None
) -> bool | None:
    """Say the stack is up once every stage queue has a worker that loaded its models."""
    try:
        missing = missing_queues(store)
    except RedisError:
        return False
    if not missing:
        log.info("newsdesk is up: http://%s:%d, workers ready for every stage "
                 "(Ctrl-C stops everything)", host, port)  # fmt: skip
        return True
    if since and time.monotonic() - since > WORKERS_READY_TIMEOUT:
        log.error("no ready worker for %s after %gs; still waiting",
                  ", ".join(sorted(missing)), WORKERS_READY_TIMEOUT)  # fmt: skip
        return None  # said once; keep looking, and say it when they come
    return False


def _newsdesk(*args: str) -> list[str]:
    return [sys.executable, "-m", "newsdesk", *args]


@contextmanager
def _exclusive(data_dir: Path) -> Iterator[int]:
    """Refuse to run two stacks on one data folder (two Redis servers on one AOF). Yields the
    lock's file descriptor: handed to redis-server, it holds the lock until Redis is gone."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackFailed(f"another 'newsdesk up' is using {data_dir}") from None
        yield lock.fileno()


def run_stack(*, host: str, port: int, concurrency: int, data_dir: Path) -> int:
    """Run everything until SIGINT/SIGTERM/SIGHUP; returns the exit code."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with _exclusive(data_dir) as lock_fd:
            return _supervise(
                host=host, port=port, concurrency=concurrency, data_dir=data_dir, stop=stop,
                lock_fd=lock_fd,
            )  # fmt: skip
    except StackFailed as exc:
        log.error("%s", exc)
        return 1


def _supervise(
    *, host: str, port: int, concurrency: int, data_dir: Path, stop: threading.Event, lock_fd: int
) -> int:
    env = dict(os.environ)
    redis_process = None
    if not env.get("NEWSDESK_REDIS_URL"):
        redis_dir = data_dir / "redis"
        maxmemory = env.get("NEWSDESK_REDIS_MAXMEMORY") or DEFAULT_MAXMEMORY
        strict = env.get("NEWSDESK_DURABILITY", "everysec") == "strict"
        redis_process, url = start_redis(
            data_dir=redis_dir,
            log_file=data_dir / "redis.log",
            preexec_fn=_die_with_parent,
            pass_fds=(lock_fd,),
            maxmemory=maxmemory,
            fsync_every_write=strict,
        )
        env["NEWSDESK_REDIS_URL"] = url
        log.info("embedded redis-server at %s, data in %s (append-only file fsynced %s); "
                 "maxmemory %s (NEWSDESK_REDIS_MAXMEMORY), new documents are refused with 507 "
                 "near it", url, redis_dir, "after every write" if strict else "every second",
                 maxmemory)  # fmt: skip
    else:
        log.info("using Redis at NEWSDESK_REDIS_URL")
    worker_grace = WorkerSettings().longest_task_seconds() + 30
    children = [
        Child("api", _newsdesk("api", "--host", host, "--port", str(port)), env, 15),
        Child("worker", _newsdesk("worker", "--concurrency", str(concurrency)), env, worker_grace),
        Child(
            "webhooks",
            _newsdesk(
                "worker",
                "--queues",
                WEBHOOK_QUEUE,
                "--pool",
                "threads",
                "--concurrency",
                str(WEBHOOK_CONCURRENCY),
            ),
            env,
            30,
        ),
        Child("reconciler", _newsdesk("reconcile"), env, 10),
    ]
    store = RecordStore.connect(RecordSettings(redis_url=env["NEWSDESK_REDIS_URL"]))
    try:
        for child in children:
            child.start()
        log.info("starting: API on http://%s:%d, waiting for the workers to load their models",
                 host, port)  # fmt: skip
        started: float | None = time.monotonic()
        announced = False
        while not stop.wait(0.5):
            for child in children:
                child.check(time.monotonic())
            if redis_process is not None and redis_process.poll() is not None:
                raise StackFailed(f"redis-server exited with code {redis_process.returncode}")
            if not announced:
                answer = _announce_when_ready(store, host, port, since=started)
                announced, started = bool(answer), (None if answer is None else started)
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        if redis_process is not None and redis_process.poll() is None:
            redis_process.send_signal(signal.SIGTERM)  # SHUTDOWN: fsyncs the AOF first
            try:
                redis_process.wait(60)
            except subprocess.TimeoutExpired:
                redis_process.kill()
        log.info("newsdesk stopped")
