"""Clients that load the running API for ``make bench``: a polling client for throughput (httpx,
as a user's script would), a long-polling one for latency at idle and under open-loop load (a
lean HTTP/1.1 client, ``evaluation.lean_http``, so that the load generator takes as little as
possible of the cores the service runs on), and wrk for intake."""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from evaluation.lean_http import LeanClient

FINISHED = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class Document:
    content: str
    content_type: str


def submit(client: httpx.Client, document: Document) -> str:
    answer = client.post(
        "/v1/documents",
        content=document.content.encode("utf-8"),
        headers={"Content-Type": document.content_type},
    )
    answer.raise_for_status()
    doc_id: str = answer.json()["id"]
    return doc_id


def throughput(base_url: str, corpus: list[Document], *, poll_every: float = 0.1) -> dict[str, Any]:
    """Submit the whole corpus at once, then poll the oldest unfinished document every
    ``poll_every`` seconds (as a client draining its own backlog would) until all finished."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        began = time.perf_counter()
        ids = [submit(client, document) for document in corpus]
        submitted = time.perf_counter() - began
        statuses: dict[str, int] = {}
        polls = 0
        for doc_id in ids:
            while True:
                polls += 1
                status = client.get(f"/v1/documents/{doc_id}").json()["status"]
                if status in FINISHED:
                    statuses[status] = statuses.get(status, 0) + 1
                    break
                time.sleep(poll_every)
        elapsed = time.perf_counter() - began
    return {
        "documents": len(ids),
        "submit_seconds": round(submitted, 2),
        "seconds": round(elapsed, 2),
        "docs_per_second": round(len(ids) / elapsed, 2),
        "statuses": statuses,
        "polls": polls,
    }


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else []

    def cut(p: int) -> float:
        return round(cuts[p - 1] if cuts else ordered[0], 1)

    return {"p50": cut(50), "p95": cut(95), "p99": cut(99), "samples": len(ordered)}


async def _one_latency(client: LeanClient, document: Document) -> tuple[float, str]:
    began = time.perf_counter()
    answer = await client.post(
        "/v1/documents", document.content.encode("utf-8"), document.content_type
    )
    answer.raise_for_status()
    doc_id = answer.json()["id"]
    while True:
        waited = await client.get(f"/v1/documents/{doc_id}", params={"wait": 30})
        if waited.status != 200:  # e.g. 503 while storage is busy: ask again shortly
            await asyncio.sleep(0.1)
            continue
        view = waited.json()
        if view["status"] in FINISHED:
            return (time.perf_counter() - began) * 1000, view["status"]


def idle_latency(base_url: str, document: Document, *, samples: int) -> dict[str, Any]:
    """Submit -> completed, one document at a time (the client long-polls with ``?wait=``).
    The first sample, right after the workers said they are ready, is reported apart; the
    client opens its connection first (GET /readyz), so that the first sample does not time
    this process's own first request."""

    async def run() -> list[float]:
        async with LeanClient(base_url) as client:
            (await client.get("/readyz")).raise_for_status()
            return [(await _one_latency(client, document))[0] for _ in range(samples + 1)]

    measured = asyncio.run(run())
    return {"first_ms": round(measured[0], 1), **percentiles(measured[1:])}


def open_loop_latency(
    base_url: str, document: Document, *, rate: float, seconds: float, seed: int = 1
) -> dict[str, Any]:
    """Poisson arrivals at ``rate`` documents/s for ``seconds``, each waited for with a
    long-poll; latency percentiles of all of them (arrivals never wait for answers)."""

    async def run() -> list[tuple[float, str]]:
        async with LeanClient(base_url) as client:
            chance, tasks = random.Random(seed), []
            began = time.perf_counter()
            next_at = 0.0
            while next_at < seconds:
                delay = began + next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(_one_latency(client, document)))
                next_at += chance.expovariate(rate)
            return list(await asyncio.gather(*tasks))

    measured = asyncio.run(run())
    failed = sum(status != "completed" for _, status in measured)
    return {
        "offered_per_second": round(rate, 2),
        "failed": failed,
        **percentiles([ms for ms, _ in measured]),
    }


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open(os.getenv("NEWSDESK_BENCH_BODY")):read("*a")
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %.1f %.1f\\n", summary.requests, errors,
      summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def intake(
    base_url: str, body: bytes, *, seconds: int, connections: int = 32, threads: int = 1
) -> dict[str, Any]:
    """POST /v1/documents as fast as wrk can with ``connections`` connections for ``seconds``."""
    with tempfile.TemporaryDirectory() as tmp:
        script, body_file = Path(tmp) / "post.lua", Path(tmp) / "body.json"
        script.write_text(WRK_SCRIPT)
        body_file.write_bytes(body)
        done = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script),
             f"{base_url}/v1/documents"],
            env={**os.environ, "NEWSDESK_BENCH_BODY": str(body_file)},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    found = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)", done.stdout)
    if found is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    requests, errors, micros = (int(found.group(i)) for i in (1, 2, 3))
    accepted = requests - errors
    return {
        "connections": connections,
        "seconds": round(micros / 1e6, 2),
        "accepted": accepted,
        "refused_or_failed": errors,
        "accepted_per_second": round(accepted / (micros / 1e6)),
        "latency_ms": {"p50": float(found.group(4)), "p99": float(found.group(5))},
    }
