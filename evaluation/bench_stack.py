"""The real stack for ``make bench``: an embedded redis-server and newsdesk processes.

The same entry points ``newsdesk up`` runs (``newsdesk api``, ``worker``, ``reconcile``), as
child processes of the benchmark, each in its own session so stopping one stops its children.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from redis import Redis

from newsdesk.embedded_redis import free_port, start_redis


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


@dataclass
class BenchStack:
    """Redis plus the newsdesk processes started against it; ``close`` stops them all."""

    data_dir: Path
    strict: bool = False
    redis: subprocess.Popen[bytes] | None = None
    redis_url: str = ""
    api_port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_redis(self) -> None:
        # Room for the tens of thousands of documents the intake runs store: the default 1 GB
        # would answer 507 (storage nearly full) part-way through.
        self.redis, self.redis_url = start_redis(
            data_dir=self.data_dir / "redis", fsync_every_write=self.strict, maxmemory="6gb"
        )

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "NEWSDESK_REDIS_URL": self.redis_url,
            "NEWSDESK_LOG_LEVEL": "WARNING",
            "NEWSDESK_DURABILITY": "strict" if self.strict else "everysec",
        }

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "newsdesk", *args],
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=(self.data_dir / f"{name}.log").open("ab"),
        )
        self.processes[name] = process
        return process

    def start_api(self, *, workers: int = 1) -> None:
        self.api_port = free_port()
        self.start("api", "api", "--port", str(self.api_port), "--workers", str(workers))
        self.wait_for("/readyz", timeout=60)

    def start_workers(self, *, concurrency: int) -> float:
        """Start a worker and the reconciler; seconds until every stage has a ready worker."""
        began = time.perf_counter()
        self.start("worker", "worker", "--concurrency", str(concurrency))
        self.start("reconciler", "reconcile")
        self.wait_for("/readyz/workers", timeout=300, field="ready")
        return time.perf_counter() - began

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def wait_for(self, path: str, *, timeout: float, field: str | None = None) -> None:
        """Until ``path`` answers 200 (with ``field`` true in its JSON body, when given)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(self.base_url + path, timeout=2)
                if answer.status_code == 200 and (field is None or answer.json()[field]):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{path} did not answer 200 within {timeout:g}s")

    def worker_rss_mb(self) -> dict[str, float]:
        """Resident memory of the worker's main process and of its largest pool process."""
        main = psutil.Process(self.processes["worker"].pid)
        children = main.children(recursive=True)
        children_mb = [c.memory_info().rss / 2**20 for c in children]
        return {
            "main": round(main.memory_info().rss / 2**20, 1),
            "largest_pool_process": round(max(children_mb, default=0.0), 1),
            "total": round(main.memory_info().rss / 2**20 + sum(children_mb), 1),
        }

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) so far of Redis, each newsdesk process and, apart, the
        worker's pool processes."""
        processes = {"redis": self.redis, **self.processes}
        spent: dict[str, float] = {}
        for name, process in processes.items():
            if process is None or process.poll() is not None:
                continue
            main = psutil.Process(process.pid)
            children = sum(_cpu(child) for child in main.children(recursive=True))
            if name == "worker":
                spent["worker"], spent["worker pool"] = _cpu(main), children
            else:  # e.g. the API's processes when it runs more than one
                spent[name] = _cpu(main) + children
        return spent

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def redis_client(self) -> Redis:
        return Redis.from_url(self.redis_url)

    def close(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        if self.redis is not None:
            self.redis.send_signal(signal.SIGTERM)
            self.redis.wait(60)
            self.redis = None
