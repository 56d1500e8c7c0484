"""``make bench``: submit-to-completed latency and throughput of the real stack, measured.

Starts an embedded redis-server, ``newsdesk api``, ``newsdesk worker`` and ``newsdesk reconcile``
as child processes (the same entry points ``newsdesk up`` runs), then:
1. latency: submits the seed article alone, N times in a row, and times submit -> completed;
2. throughput: submits a batch at once and times until every document is completed.
Prints medians and writes them to ``eval/results/bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from newsdesk.embedded_redis import free_port, start_redis

REPO = Path(__file__).resolve().parent.parent


def _wait_completed(client: httpx.Client, doc_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view: dict[str, Any] = client.get(f"/v1/documents/{doc_id}").json()
        if view["status"] in ("completed", "failed"):
            return view
        time.sleep(0.005)
    raise TimeoutError(doc_id)


def run_bench(*, samples: int, batch: int, concurrency: int) -> dict[str, Any]:
    article = (REPO / "seeds" / "article.txt").read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        redis, url = start_redis(data_dir=Path(tmp) / "redis")
        env = {**os.environ, "NEWSDESK_REDIS_URL": url, "NEWSDESK_LOG_LEVEL": "WARNING"}
        port = free_port()
        commands = [
            ["api", "--port", str(port)],
            ["worker", "--concurrency", str(concurrency)],
            ["reconcile"],
        ]
        children = [
            subprocess.Popen([sys.executable, "-m", "newsdesk", *c], env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for c in commands
        ]  # fmt: skip
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                _wait_up(client)
                headers = {"Content-Type": "text/plain"}
                _wait_completed(
                    client,
                    client.post("/v1/documents", content=article, headers=headers).json()["id"],
                )
                latencies, stages = [], {"clean": [], "entities": [], "summarize": []}
                for _ in range(samples):
                    began = time.perf_counter()
                    doc_id = client.post("/v1/documents", content=article, headers=headers).json()[
                        "id"
                    ]
                    view = _wait_completed(client, doc_id)
                    latencies.append(time.perf_counter() - began)
                    for stage, state in view["stages"].items():
                        stages[stage].append(state["duration_ms"])
                began = time.perf_counter()
                ids = [
                    client.post("/v1/documents", content=article, headers=headers).json()["id"]
                    for _ in range(batch)
                ]
                accepted = time.perf_counter() - began
                for doc_id in ids:
                    _wait_completed(client, doc_id, timeout=600)
                elapsed = time.perf_counter() - began
        finally:
            for child in reversed(children):
                os.killpg(child.pid, signal.SIGTERM)
                child.wait(60)
            redis.send_signal(signal.SIGTERM)
            redis.wait(30)
    return {
        "document": "seeds/article.txt",
        "worker_concurrency": concurrency,
        "latency_submit_to_completed_ms": {
            "median": round(statistics.median(latencies) * 1000, 1),
            "min": round(min(latencies) * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
            "samples": samples,
        },
        "stage_median_ms": {s: round(statistics.median(v), 1) for s, v in stages.items()},
        "batch": {
            "documents": batch,
            "accepted_per_second": round(batch / accepted, 1),
            "completed_per_second": round(batch / elapsed, 2),
        },
    }


def _wait_up(client: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the API did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.bench", description=__doc__)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    result = run_bench(samples=args.samples, batch=args.batch, concurrency=args.concurrency)
    out = REPO / "eval" / "results" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
