"""`newsdesk up` (what `make up` runs): embedded Redis, the whole stack, clean stop, durable data."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from newsdesk.embedded_redis import free_port
from tests.conftest import FAST_RECOVERY_ENV, REPO, SEEDS, wait_for_status

pytestmark = pytest.mark.e2e


def _start_up(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "NEWSDESK_REDIS_URL"}
    env.update(FAST_RECOVERY_ENV)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "newsdesk", "up", "--port", str(port), "--concurrency", "1",
             "--data-dir", str(data_dir)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(log.read_text())


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_up_runs_everything_stops_on_ctrl_c_and_keeps_documents(tmp_path: Path) -> None:
    data_dir, port, log = tmp_path / "var", free_port(), tmp_path / "up.log"
    base_url = f"http://127.0.0.1:{port}"
    up = _start_up(data_dir, port, log)
    try:
        _wait_ready(base_url, up, log)
        with httpx.Client(base_url=base_url, timeout=10) as client:
            response = client.post(
                "/v1/documents", content=(SEEDS / "article.txt").read_bytes(),
                headers={"Content-Type": "text/plain"},
            )  # fmt: skip
            assert response.status_code == 202
            doc_id = response.json()["id"]
            assert wait_for_status(client, doc_id, {"completed", "failed"})["status"] == "completed"
        redis_port = int(re.search(r"redis://127\.0\.0\.1:(\d+)", log.read_text()).group(1))  # type: ignore[union-attr]
        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0, log.read_text()
    finally:
        if up.poll() is None:
            up.kill()
    assert not _listening(port), "the API stopped with Ctrl-C"
    assert not _listening(redis_port), "the embedded Redis stopped with Ctrl-C"
    assert list((data_dir / "redis").rglob("*.aof*")), "Redis kept an append-only file"

    again = _start_up(data_dir, port, log)
    try:
        _wait_ready(base_url, again, log)
        view = httpx.get(f"{base_url}/v1/documents/{doc_id}", timeout=10).json()
        assert view["status"] == "completed" and view["result"]["summary"]["sentences"]
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(60) == 0, log.read_text()


def test_one_stack_per_data_folder_and_no_orphans_when_up_is_killed(tmp_path: Path) -> None:
    data_dir, port, log = tmp_path / "var", free_port(), tmp_path / "up.log"
    up = _start_up(data_dir, port, log)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", up, log)
        second_log = tmp_path / "second.log"
        second = _start_up(data_dir, free_port(), second_log)
        assert second.wait(60) == 1
        assert "another 'newsdesk up' is using" in second_log.read_text()
        redis_port = int(re.search(r"redis://127\.0\.0\.1:(\d+)", log.read_text()).group(1))  # type: ignore[union-attr]
        up.kill()  # no chance to clean up: the children must go by themselves
        up.wait(10)
        deadline = time.monotonic() + 30
        while (_listening(port) or _listening(redis_port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(port) and not _listening(redis_port), log.read_text()
    finally:
        if up.poll() is None:
            up.kill()
