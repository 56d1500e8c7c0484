"""docker-compose.yml cannot run here (no Docker engine), so check it against the Compose schema
and check that every service runs a ``newsdesk`` entry point the end-to-end tests exercise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.wire import Stage
from newsdesk.cli import _parser
from workers.settings import WorkerSettings

REPO = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smh])", duration))


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.compose-spec", str(REPO / "docker-compose.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["api", "worker", "reconciler"])
def test_each_service_runs_a_tested_newsdesk_entry_point(name: str) -> None:
    service = SERVICES[name]
    command = service["command"]
    assert command[0] == "newsdesk"
    args = _parser().parse_args(command[1:])  # exits (fails the test) on an unknown command
    assert args.run.__name__ in {"_api", "_worker", "_reconcile"}
    assert service["environment"]["NEWSDESK_REDIS_URL"] == "redis://redis:6379/0"
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    if "healthcheck" in service:
        probe = service["healthcheck"]["test"]
        assert probe[:2] == ["CMD", "newsdesk"]
        _parser().parse_args(probe[2:])


def test_worker_scales_and_outlives_its_longest_stage() -> None:
    worker = SERVICES["worker"]
    assert "container_name" not in worker, "--scale worker=N needs unnamed containers"
    assert "healthcheck" in worker
    settings = WorkerSettings()
    longest = max(settings.hard_limit(stage) for stage in Stage)
    assert _seconds(worker["stop_grace_period"]) > longest
    assert "clean,entities,summarize" in worker["command"]


def test_api_health_is_readiness_on_redis() -> None:
    assert "/readyz" in " ".join(SERVICES["api"]["healthcheck"]["test"])


def test_redis_is_durable_private_and_never_evicts() -> None:
    redis = SERVICES["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command
    assert "ports" not in redis, "Redis is reachable only inside the compose network"
    volume = redis["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"], "data lives in a named volume"
    assert "healthcheck" in redis


def test_dockerfile_installs_the_locked_dependencies() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "--require-hashes -r requirements.lock" in dockerfile
    assert 'CMD ["newsdesk", "api"' in dockerfile
