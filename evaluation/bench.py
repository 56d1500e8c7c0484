"""``make bench``: what the service costs on top of the pipeline, measured in one run.

On the same cores, one after the other:
(a) bare: the stage functions in-process over the fixed corpus (``evaluation.bare``), 1 and 2
    processes, with per-stage median milliseconds and words per second (e); optionally another
    checkout side by side (``--baseline``);
(b) service: the same corpus through API -> Redis -> ``newsdesk worker`` with a client that polls
    the oldest unfinished document every 100 ms; docs/s and the ratio to the bare pipeline with
    as many processes, measured right before it, in several such pairs (the median ratio);
(c) latency submit -> completed of the seed article at idle and under open-loop (Poisson) load
    at fractions of the service's measured capacity for it;
(d) intake: accepted POST /v1/documents per second (wrk, 32 connections, 5.5 KB JSON) with the
    workers stopped and busy, with 1 and 2 API processes, durability ``everysec`` and ``strict``;
(f) the worker's resident memory after the corpus; (g) 1 against 2 worker processes.
Writes ``eval/results/bench.json``, ``docs/BENCHMARKS.md`` and ``docs/benchmarks.png``.
``--smoke`` runs every step on a few documents for seconds (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.wire import QUEUE_BY_STAGE, Stage
from evaluation import bare, load
from evaluation.bench_report import TARGET_LOAD, write_plot, write_report
from evaluation.bench_stack import BenchStack
from evaluation.occupancy import document_spans, occupancy
from records.layout import Keys
from records.policy import RecordSettings

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "article.txt"


@dataclass(frozen=True)
class Plan:
    """How much of each measurement to do: the full run or a smoke run."""

    limit: int | None
    rounds: int
    latency_samples: int
    load_fractions: tuple[float, ...]
    load_seconds: float
    capacity_documents: int
    intake_seconds: int
    service_concurrency: tuple[int, ...]
    # Service runs per worker count, each right after a bare run with as many processes.
    service_rounds: int
    # (strict durability, API processes, also measured with the workers busy)
    intake_configs: tuple[tuple[bool, int, bool], ...]
    # Runs at the load the p99 target names (its tail rests on a few documents per run).
    target_load_runs: int


FULL = Plan(
    limit=None, rounds=1, latency_samples=40, load_fractions=(0.25, 0.5, 0.7, 0.9),
    load_seconds=40, capacity_documents=80, intake_seconds=10, service_concurrency=(2, 1), service_rounds=5,
    intake_configs=((False, 1, True), (False, 2, True), (True, 2, False)), target_load_runs=3,
)  # fmt: skip
SMOKE = Plan(
    limit=4, rounds=1, latency_samples=3, load_fractions=(0.5,), load_seconds=3,
    capacity_documents=4, intake_seconds=2, service_concurrency=(2,), service_rounds=1,
    intake_configs=((False, 1, True),), target_load_runs=3,
)  # fmt: skip


@contextmanager
def running(data_dir: Path, *, strict: bool = False) -> Iterator[BenchStack]:
    stack = BenchStack(data_dir=data_dir, strict=strict)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        stack.start_redis()
        yield stack
    finally:
        stack.close()


def service(tmp: Path, corpus_rows: list[dict[str, str]], plan: Plan) -> dict[str, Any]:
    """(b), (c), (f), (g): the corpus through the real stack with 2 and with 1 worker process,
    ``plan.service_rounds`` times each, every time right after the bare pipeline with as many
    processes (the ratio of each pair; the round with the median ratio is reported whole); the
    latency curve with 2."""
    corpus = [load.Document(d["content"], d["content_type"]) for d in corpus_rows]
    seed = load.Document(SEED.read_text(encoding="utf-8"), "text/plain")
    report: dict[str, Any] = {}
    for concurrency in plan.service_concurrency:
        with running(tmp / f"service-{concurrency}") as stack:
            stack.start_api()
            ready_seconds = stack.start_workers(concurrency=concurrency)
            measured: dict[str, Any] = {"workers_ready_seconds": round(ready_seconds, 1)}
            if concurrency == max(plan.service_concurrency):
                measured["idle_latency_ms"] = load.idle_latency(
                    stack.base_url, seed, samples=plan.latency_samples
                )
            else:  # the same warm-up the bare run has
                load.throughput(stack.base_url, corpus[:3])
            rounds = [
                paired_round(stack, corpus_rows, corpus, concurrency)
                for _ in range(plan.service_rounds)
            ]
            measured["paired_ratios"] = [r["service_over_bare"] for r in rounds]
            middle = statistics.median_low(measured["paired_ratios"])
            measured.update(next(r for r in rounds if r["service_over_bare"] == middle))
            measured["worker_rss_mb"] = stack.worker_rss_mb()
            if concurrency == max(plan.service_concurrency):
                measured["latency_under_load"] = latency_curve(stack, seed, plan)
            report[str(concurrency)] = measured
    return report


def paired_round(
    stack: BenchStack,
    corpus_rows: list[dict[str, str]],
    corpus: list[load.Document],
    processes: int,
) -> dict[str, Any]:
    """The bare pipeline with ``processes`` processes (the stack idle meanwhile), then the same
    corpus through the stack: both rates, their ratio, the CPU per document of every process in
    the service run and how busy its pool was."""
    bare_run = bare.measure(REPO, corpus_rows, processes=(processes,), blas_threads=1)
    bare_rate = bare_run["docs_per_second"][str(processes)]
    before, client_before = stack.cpu_seconds(), _own_cpu_seconds()
    began = time.time()
    throughput = load.throughput(stack.base_url, corpus)
    ended = time.time()
    after, client_after = stack.cpu_seconds(), _own_cpu_seconds()
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    spent["client"] = client_after - client_before
    with stack.redis_client() as redis:
        keys = Keys(RecordSettings().key_prefix)
        spans = document_spans(redis, keys, created_after=began, created_before=ended)
    return {
        "bare_docs_per_second": bare_rate,
        "corpus": throughput,
        "service_over_bare": round(throughput["docs_per_second"] / bare_rate, 3),
        "cpu_ms_per_document": {
            name: round(seconds * 1000 / len(corpus), 1) for name, seconds in spent.items()
        },
        "pool": occupancy(spans, processes=processes),
    }


def _own_cpu_seconds() -> float:
    """CPU time of this process: the client's, while it submits and polls."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def latency_curve(stack: BenchStack, seed: load.Document, plan: Plan) -> dict[str, Any]:
    """Latency at each fraction of the seed's measured capacity; at the fraction the p99 target
    names, ``plan.target_load_runs`` runs one after the other, the one with the median p99
    reported whole and every run's p99 beside it."""
    capacity = load.throughput(stack.base_url, [seed] * plan.capacity_documents, poll_every=0.02)
    rows = []
    for fraction in plan.load_fractions:
        rate = fraction * capacity["docs_per_second"]
        runs = plan.target_load_runs if fraction == TARGET_LOAD else 1
        # each run its own arrival times (a seeded Poisson schedule)
        measured = [_open_loop(stack, seed, rate, plan, arrivals=n + 1) for n in range(runs)]
        middle = statistics.median_low(row["p99"] for row in measured)
        row = next(row for row in measured if row["p99"] == middle)
        if runs > 1:
            row["p99_runs"] = [run["p99"] for run in measured]
            row["failed"] = sum(run["failed"] for run in measured)  # in any run
            row["samples_all_runs"] = sum(run["samples"] for run in measured)
        rows.append({"fraction_of_capacity": fraction, **row})
    return {"seed_capacity_docs_per_second": capacity["docs_per_second"], "levels": rows}


def _open_loop(
    stack: BenchStack, seed: load.Document, rate: float, plan: Plan, *, arrivals: int
) -> dict[str, Any]:
    before = _own_cpu_seconds()
    row = load.open_loop_latency(
        stack.base_url, seed, rate=rate, seconds=plan.load_seconds, seed=arrivals
    )
    spent = _own_cpu_seconds() - before
    row["client_cpu_ms_per_document"] = round(spent * 1000 / max(row["samples"], 1), 1)
    return row


def intake(tmp: Path, plan: Plan) -> list[dict[str, Any]]:
    """(d): wrk against POST /v1/documents, workers stopped then busy with the backlog."""
    body = json.dumps(
        {"content": SEED.read_text(encoding="utf-8")[:5400], "content_type": "text/plain"}
    ).encode()
    rows: list[dict[str, Any]] = []
    for strict, api_workers, with_busy in plan.intake_configs:
        name = f"intake-{'strict' if strict else 'everysec'}-{api_workers}"
        with running(tmp / name, strict=strict) as stack:
            stack.start_api(workers=api_workers)
            stopped = load.intake(stack.base_url, body, seconds=plan.intake_seconds)
            queued = stack.redis_client().llen(QUEUE_BY_STAGE[Stage.CLEAN])
            stopped["queued_after"] = queued
            stopped["every_accepted_queued"] = queued >= stopped["accepted"]
            common = {
                "durability": "strict" if strict else "everysec",
                "api_processes": api_workers,
            }
            rows.append({**common, "workers": "stopped", **stopped})
            if with_busy:
                stack.start_workers(concurrency=2)  # the backlog above keeps them busy
                busy = load.intake(stack.base_url, body, seconds=plan.intake_seconds)
                rows.append({**common, "workers": "busy (2 processes)", **busy})
    return rows


def run(
    data: Path, *, plan: Plan, baseline: Path | None, baseline_label: str, out: Path
) -> dict[str, Any]:
    corpus_rows = bare.build_corpus(data)[: plan.limit]
    corpus = [load.Document(d["content"], d["content_type"]) for d in corpus_rows]
    report: dict[str, Any] = {
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"),
        },
        "corpus": {
            "documents": len(corpus),
            "html": sum(d.content_type == "text/html" for d in corpus),
            "mean_bytes": round(sum(len(d.content.encode()) for d in corpus) / len(corpus)),
        },
    }
    report["bare"] = bare.compare(
        data, baseline=baseline, limit=plan.limit, rounds=plan.rounds, blas_threads=1
    )
    for name in ("now", "baseline"):  # where the checkouts were is nobody else's business
        report["bare"].get(name, {}).pop("repo", None)
    if baseline is not None:
        report["bare"]["baseline_label"] = baseline_label
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-") as tmp:
        report["service"] = service(Path(tmp), corpus_rows, plan)
        report["intake"] = intake(Path(tmp), plan) if load.wrk_available() else "wrk not installed"
    report["ratios"] = {
        f"service/bare, {n} process(es)": round(measured["service_over_bare"], 2)  # median pair
        for n, measured in report["service"].items()
    }
    if {"1", "2"} <= set(report["service"]):
        report["ratios"]["service, 2 workers / 1 worker"] = round(
            report["service"]["2"]["corpus"]["docs_per_second"]
            / report["service"]["1"]["corpus"]["docs_per_second"],
            2,
        )
    bare_rate = report["bare"]["now"]["median_docs_per_second"]
    if {"1", "2"} <= set(bare_rate):
        report["ratios"]["bare, 2 processes / 1 process"] = round(
            bare_rate["2"] / bare_rate["1"], 2
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.bench", description=__doc__)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured bare alongside")
    parser.add_argument(
        "--baseline-label",
        default="another checkout",
        help="what the baseline is, for the report (e.g. its commit)",
    )
    parser.add_argument("--smoke", action="store_true", help="every step, on a few documents")
    parser.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    parser.add_argument("--docs", type=Path, default=REPO / "docs", help="for BENCHMARKS.md")
    args = parser.parse_args(argv)
    report = run(
        args.data, plan=SMOKE if args.smoke else FULL, baseline=args.baseline,
        baseline_label=args.baseline_label, out=args.out,
    )  # fmt: skip
    write_plot(report, args.docs / "benchmarks.png")
    write_report(report, args.docs / "BENCHMARKS.md", plot="benchmarks.png")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
