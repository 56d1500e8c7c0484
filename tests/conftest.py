"""Fixtures with real parts: redis-server on a free port, worker, reconciler and API processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import pytest
from redis import Redis

from newsdesk.embedded_redis import free_port, redis_server_command, wait_for_redis

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"

# Short limits so lost work is noticed within seconds; still soft < hard, and the hard limits of
# the three stages one task may run (75 s) < visibility.
FAST_RECOVERY_ENV = {
    "NEWSDESK_VISIBILITY_TIMEOUT_SECONDS": "90",
    "NEWSDESK_CLEAN_SOFT_LIMIT_SECONDS": "20",
    "NEWSDESK_CLEAN_HARD_LIMIT_SECONDS": "25",
    "NEWSDESK_ENTITIES_SOFT_LIMIT_SECONDS": "20",
    "NEWSDESK_ENTITIES_HARD_LIMIT_SECONDS": "25",
    "NEWSDESK_SUMMARIZE_SOFT_LIMIT_SECONDS": "20",
    "NEWSDESK_SUMMARIZE_HARD_LIMIT_SECONDS": "25",
    "NEWSDESK_LEASE_SECONDS": "4",
    "NEWSDESK_QUEUED_CHECK_SECONDS": "3",
    "NEWSDESK_MAX_RECHECK_SECONDS": "6",
    "NEWSDESK_RECONCILE_INTERVAL_SECONDS": "0.5",
    "NEWSDESK_RETRY_BACKOFF_SECONDS": "0.5",
    "NEWSDESK_LOG_LEVEL": "INFO",
}


@dataclass
class RedisServer:
    """A real redis-server child process with its data in a temp dir; can be stopped and restarted."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            redis_server_command(data_dir=self.data_dir, port=self.port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_redis(self.url, process=self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)

    def crash(self) -> None:
        """SIGKILL: no shutdown, only what the AOF had fsynced survives."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def client(self) -> Redis:
        return Redis.from_url(self.url)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[[], RedisServer]]:
    """Start private redis-servers (for tests that stop Redis); all are stopped afterwards."""
    servers: list[RedisServer] = []

    def make() -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}")
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[Redis]:
    client = redis_server.client()
    client.flushall()
    yield client
    client.close()


@dataclass
class Service:
    """A ``newsdesk`` command running as a child process in its own process group."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newsdesk", *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO,
        )
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean-up, no acknowledgement."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Stack:
    """Running newsdesk processes against one Redis, and an HTTP client for the API."""

    redis_url: str
    env: dict[str, str]
    tmp: Path
    services: list[Service] = field(default_factory=list)
    api_port: int | None = None

    def run(self, name: str, *args: str, env: dict[str, str] | None = None) -> Service:
        log_path = self.tmp / f"{name}-{len(self.services)}.log"
        service = Service(name, list(args), {**self.env, **(env or {})}, log_path).start()
        self.services.append(service)
        return service

    def worker(self, *, concurrency: int = 1, env: dict[str, str] | None = None) -> Service:
        index = len(self.services)
        return self.run(
            "worker",
            "worker",
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"w{index}@{socket.gethostname()}",
            env=env,
        )

    def api(self) -> Service:
        self.api_port = free_port()
        service = self.run("api", "api", "--port", str(self.api_port))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return service
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"API did not start:\n{service.log()}")

    def wait_for_workers(self, *, timeout: float = 120) -> None:
        """Until the API says every stage has a worker that loaded its models."""
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                try:
                    if client.get("/readyz/workers").json()["ready"]:
                        return
                except (httpx.HTTPError, ValueError):
                    pass
                time.sleep(0.2)
        raise AssertionError(f"no ready worker for every stage:\n{self.logs()}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} ---\n{s.log()[-4000:]}" for s in self.services)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[[str], Stack]]:
    """Build stacks of real newsdesk processes against a given Redis URL; stopped afterwards."""
    stacks: list[Stack] = []

    def make(redis_url: str) -> Stack:
        env = {**os.environ, **FAST_RECOVERY_ENV, "NEWSDESK_REDIS_URL": redis_url}
        stack = Stack(redis_url=redis_url, env=env, tmp=tmp_path)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()


@dataclass
class FaultRow:
    """One row of the fault table (docs/RELIABILITY.md)."""

    fault: str
    test: str
    submitted: int
    completed: int
    failed: int
    lost: int
    recovery_seconds: float | None
    note: str = ""


@pytest.fixture
def fault_report() -> Iterator[Callable[[FaultRow], None]]:
    """Record rows of the fault table: printed, and appended to the JSON-lines file named by
    NEWSDESK_FAULT_REPORT (``python -m tests.chaos.table`` renders it)."""
    rows: list[FaultRow] = []
    yield rows.append
    target = os.environ.get("NEWSDESK_FAULT_REPORT")
    for row in rows:
        print(f"\nFAULT {json.dumps(asdict(row))}")
        if target:
            with Path(target).open("a") as out:
                out.write(json.dumps(asdict(row)) + "\n")


def wait_for_status(
    client: httpx.Client, doc_id: str, statuses: set[str], *, timeout: float = 60
) -> dict[str, object]:
    """Poll the API until the document reaches one of ``statuses``; fail with its last state."""
    deadline = time.monotonic() + timeout
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/v1/documents/{doc_id}")
        if response.status_code == 200:
            body = response.json()
            if body["status"] in statuses:
                return body
        time.sleep(0.1)
    raise AssertionError(f"document {doc_id} did not reach {statuses} in {timeout}s: {body}")
