"""The Docker files without a Docker engine: docker-compose.yml against the Compose schema, the
entry points and healthchecks it runs, the Redis password's path, the Dockerfile and the locks.
`make test-compose` (tests/compose/scenario.py) runs them on a real engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from newsdesk.cli import _parser, _worker_concurrency, main
from tests.conftest import RedisServer
from workers.settings import WorkerSettings

REPO = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
NEWSDESK_SERVICES = ["api", "worker", "worker-entities", "reconciler"]
DOCKERFILE = (REPO / "Dockerfile").read_text()
LOCKS = sorted((REPO / "requirements").glob("*.lock"))


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smh])", duration))


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}; $$ stays a literal $."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if operator == ":?":
            raise ValueError(argument)
        return argument or ""

    return re.sub(r"\$\$|\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _pins(lock: Path) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", lock.read_text(), re.M))


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.compose-spec", str(REPO / "docker-compose.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", NEWSDESK_SERVICES)
def test_each_service_runs_a_tested_newsdesk_entry_point(name: str) -> None:
    service = SERVICES[name]
    command = service["command"]
    assert command[0] == "newsdesk"
    args = _parser().parse_args(command[1:])  # exits (fails the test) on an unknown command
    assert args.run.__name__ in {"_api", "_worker", "_reconcile"}
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    probe = service["healthcheck"]["test"]
    assert probe[:2] == ["CMD", "newsdesk"]
    _parser().parse_args(probe[2:])


@pytest.mark.parametrize("name", NEWSDESK_SERVICES)
def test_the_redis_url_carries_the_password_from_the_environment(name: str) -> None:
    url = SERVICES[name]["environment"]["NEWSDESK_REDIS_URL"]
    env = {"NEWSDESK_REDIS_PASSWORD": "0123abcd"}
    assert _interpolate(url, env) == "redis://:0123abcd@redis:6379/0"
    with pytest.raises(ValueError, match="set NEWSDESK_REDIS_PASSWORD"):
        _interpolate(url, {})


def test_redis_gets_its_password_on_stdin_and_the_healthcheck_from_redis_cli_auth() -> None:
    redis = SERVICES["redis"]
    assert _interpolate(redis["environment"]["REDISCLI_AUTH"], {"NEWSDESK_REDIS_PASSWORD": "p"})
    script = _interpolate(redis["command"][-1], {"NEWSDESK_REDIS_PASSWORD": "0123abcd"})
    assert "0123abcd" not in script, "the password would be on a command line"
    assert "requirepass $REDISCLI_AUTH" in script
    assert script.startswith("exec redis-server - "), "redis-server must be PID 1, config on stdin"
    probe = " ".join(redis["healthcheck"]["test"])
    assert "redis-cli ping" in probe and " -a " not in probe


def test_redis_is_durable_private_and_never_evicts() -> None:
    redis = SERVICES["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command
    assert "ports" not in redis, "Redis is reachable only inside the compose network"
    volume, mount = redis["volumes"][0].split(":")
    assert volume in COMPOSE["volumes"], "data lives in a named volume"
    assert f"--dir {mount}" in command
    assert _interpolate(redis["image"], {}) == "redis:7.2-alpine"
    assert _interpolate(redis["user"], {}) == "redis"


def test_images_default_to_the_public_ones_and_take_local_replacements() -> None:
    api = SERVICES["api"]
    assert _interpolate(api["image"], {}) == "newsdesk:latest"
    args = api["build"]["args"]
    assert _interpolate(args["BASE_IMAGE"], {}) == "python:3.11-slim"
    assert _interpolate(args["BASE_IMAGE"], {"NEWSDESK_BASE_IMAGE": "local:base"}) == "local:base"
    assert _interpolate(args["BUILD_IMAGE"], {}) == "python:3.11"
    assert _interpolate(SERVICES["redis"]["image"], {"NEWSDESK_REDIS_IMAGE": "x:y"}) == "x:y"
    assert _interpolate(api["ports"][0], {}) == "127.0.0.1:8000:8000"


def test_worker_scales_and_outlives_its_longest_stage() -> None:
    for name, queues in (("worker", "clean,entities,summarize"), ("worker-entities", "entities")):
        longest = WorkerSettings(worker_queues=queues).longest_task_seconds()
        worker = SERVICES[name]
        assert "container_name" not in worker, "--scale worker=N needs unnamed containers"
        assert _seconds(worker["stop_grace_period"]) > longest, name
        assert "NEWSDESK_WORKER_CONCURRENCY" in worker["environment"]
    assert "clean,entities,summarize" in SERVICES["worker"]["command"]
    entities = SERVICES["worker-entities"]
    assert entities["command"][-2:] == ["--queues", "entities"]
    assert entities["profiles"] == ["entities"], "started only when asked for"


def test_worker_concurrency_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_WORKER_CONCURRENCY", "3")
    assert _worker_concurrency() == 3
    monkeypatch.setenv("NEWSDESK_WORKER_CONCURRENCY", "")
    assert _worker_concurrency() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("NEWSDESK_WORKER_CONCURRENCY", "many")
    assert _worker_concurrency() is None
    assert main(["worker", "--queues", "clean"]) == 2


def test_api_health_is_readiness_on_redis() -> None:
    assert "/readyz" in " ".join(SERVICES["api"]["healthcheck"]["test"])


def test_redis_healthcheck_answers_for_a_live_redis_only(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSDESK_REDIS_URL", redis_server.url)
    assert main(["healthcheck", "redis"]) == 0
    monkeypatch.setenv("NEWSDESK_REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["healthcheck", "redis"]) == 1


def test_dockerfile_builds_offline_from_the_runtime_lock_for_a_non_root_user() -> None:
    assert "ARG BASE_IMAGE=python:3.11-slim" in DOCKERFILE
    assert "FROM ${BASE_IMAGE}\n" in DOCKERFILE
    assert "python3 -m venv /opt/venv" in DOCKERFILE
    installs = re.findall(r"pip install ([^&]*?)(?:&&|\n\S|$)", DOCKERFILE.replace("\\\n", " "))
    assert installs and all("--no-index" in command for command in installs)
    assert any("--require-hashes -r /build/runtime.lock" in command for command in installs)
    assert "dev.lock" not in DOCKERFILE
    assert re.search(r"^USER newsdesk$", DOCKERFILE, re.M)
    assert "HEALTHCHECK" in DOCKERFILE
    assert 'CMD ["newsdesk", "api"' in DOCKERFILE
    copied = " ".join(re.findall(r"^COPY (.*)$", DOCKERFILE, re.M))
    assert "tests" not in copied and "evaluation" not in copied


def test_build_context_leaves_out_tests_and_evaluation() -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert next(line for line in ignore if line and not line.startswith("#")) == "*"
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    assert not {"tests", "evaluation", "seeds", "requirements/dev.lock"} & allowed
    assert {"contracts", "services", "workers", "newsdesk", "requirements/runtime.lock"} <= allowed


def test_the_package_is_the_service_only() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    include = re.search(r"^include = \[(.*)\]$", pyproject, re.M)
    assert include is not None
    assert "evaluation" not in include.group(1) and "tests" not in include.group(1)


@pytest.mark.parametrize("lock", LOCKS, ids=lambda lock: lock.name)
def test_locks_pin_everything_with_hashes_and_name_no_machine_paths(lock: Path) -> None:
    text = lock.read_text()
    for line in text.splitlines():
        assert not re.match(r"\s*(-f|--find-links|--(extra-)?index-url|--trusted-host)\b", line)
        assert "file://" not in line and not re.search(r"(^|\s)/\w", line), line
    entries = re.findall(r"^([a-z0-9].*)\n((?:[ \t].*\n)*)", text, re.M)
    assert entries
    for first, rest in entries:
        assert re.match(r"[a-z0-9][a-z0-9._-]*==\S+ \\$", first), first
        assert "--hash=sha256:" in rest, first


def test_runtime_lock_installs_on_any_python_311_and_holds_no_dev_tools() -> None:
    runtime = _pins(REPO / "requirements" / "runtime.lock")
    dev = _pins(REPO / "requirements" / "dev.lock")
    assert "async-timeout" in runtime, "redis needs it on Python < 3.11.3 (Debian bookworm)"
    assert not {"pytest", "ruff", "mypy", "check-jsonschema", "rouge-score"} & set(runtime)
    assert {name: dev.get(name) for name in runtime} == runtime, "dev.lock keeps the runtime pins"
    build = _pins(REPO / "requirements" / "build.lock")
    assert build["setuptools"] == runtime["setuptools"]
    assert "pip" in build


def test_the_build_context_admits_everything_the_dockerfile_copies() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    admitted = {line[1:].strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.startswith("!")}  # fmt: skip
    sources = []
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources += line.split()[1:-1]
    assert sources, "the Dockerfile copies something from the context"
    assert set(sources) <= admitted, f"excluded by .dockerignore: {set(sources) - admitted}"
    include = re.search(r"^include = \[(.*)\]$", (REPO / "pyproject.toml").read_text(), re.M)
    assert include is not None
    packages = {name.strip(' "*.') for name in include.group(1).split(",")}
    assert packages <= {s.split("/")[0] for s in sources}, "every installed package is copied"
