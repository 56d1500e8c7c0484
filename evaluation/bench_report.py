"""``docs/BENCHMARKS.md`` and its plot, written from one ``make bench`` report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluation.bare import STAGES

# The fraction of capacity the p99 target is set at (the bench runs it several times).
TARGET_LOAD = 0.5


def _most_workers(report: dict[str, Any]) -> dict[str, Any]:
    """The service run with the most worker processes: where latency was measured."""
    service: dict[str, Any] = report["service"][max(report["service"], key=int)]
    return service


def _spread(measured: dict[str, Any]) -> str:
    """The paired service/bare ratios of a service run's rounds, for the reader to judge."""
    ratios = measured["paired_ratios"]
    if len(ratios) == 1:
        return "1 pair"
    return f"median of {len(ratios)} pairs, {min(ratios):.2f}-{max(ratios):.2f}"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def targets(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, met) for every target the report can speak to."""
    rows: list[tuple[str, str, str]] = []
    bare = report["bare"]
    if "speedup" in bare:
        for n, speedup in bare["speedup"].items():
            rows.append((f"bare throughput >= 2x the baseline, {n} process(es)",
                         f"{speedup:.2f}x", _met(speedup >= 2)))  # fmt: skip
        ratio = bare["cpu_per_document_ratio"]
        rows.append(("CPU per document halved", f"{ratio:.2f}x less", _met(ratio >= 2)))
    ratios = report["ratios"]
    for n in ("2", "1"):
        if (ratio := ratios.get(f"service/bare, {n} process(es)")) is not None:
            rows.append((f"service/bare >= 0.9 (polling client), {n} worker process(es)",
                         f"{ratio:.2f} ({_spread(report['service'][n])})",
                         _met(ratio >= 0.9)))  # fmt: skip
    if isinstance(report.get("intake"), list):
        stopped = max(r["accepted_per_second"] for r in report["intake"]
                      if r["workers"] == "stopped" and r["durability"] == "everysec")  # fmt: skip
        busy = max(r["accepted_per_second"] for r in report["intake"] if r["workers"] != "stopped")
        rows.append(("intake >= 2,000/s, workers stopped", f"{stopped:,}/s", _met(stopped >= 2000)))
        rows.append(("intake >= 1,000/s, workers busy", f"{busy:,}/s", _met(busy >= 1000)))
    top = _most_workers(report)
    idle = top["idle_latency_ms"]
    rows.append(("seed p50 <= 80 ms at idle", f"{idle['p50']:.0f} ms", _met(idle["p50"] <= 80)))
    for level in top["latency_under_load"]["levels"]:
        if level["fraction_of_capacity"] == TARGET_LOAD:
            runs = level.get("p99_runs", [level["p99"]])
            spread = f" (median of {len(runs)} runs: {', '.join(f'{p:.0f}' for p in runs)})"
            rows.append((f"seed p99 <= 250 ms at {TARGET_LOAD:.0%} load",
                         f"{level['p99']:.0f} ms" + (spread if len(runs) > 1 else ""),
                         _met(level["p99"] <= 250)))  # fmt: skip
    rows.append(("first document after ready as fast as the next (within 1.5x their p95)",
                 f"{idle['first_ms']:.0f} ms (the next: p50 {idle['p50']:.0f} ms, "
                 f"p95 {idle['p95']:.0f} ms)",
                 _met(idle["first_ms"] <= 1.5 * idle["p95"])))  # fmt: skip
    if (scale := ratios.get("service, 2 workers / 1 worker")) is not None:
        rows.append(
            ("2 worker processes >= 1.8x one (service)", f"{scale:.2f}x", _met(scale >= 1.8))
        )
    if (scale := ratios.get("bare, 2 processes / 1 process")) is not None:
        rows.append(("2 processes >= 1.8x one (bare)", f"{scale:.2f}x", _met(scale >= 1.8)))
    rss = max(s["worker_rss_mb"]["largest_pool_process"] for s in report["service"].values())
    rows.append(("worker RSS <= 300 MB (largest pool process)", f"{rss:.0f} MB", _met(rss <= 300)))
    return rows


def _cpu_breakdown(report: dict[str, Any]) -> list[str]:
    """Where the service's CPU goes per document, by process, beside the bare pipeline's."""
    runs = {n: m["cpu_ms_per_document"] for n, m in report["service"].items()
            if "cpu_ms_per_document" in m}  # fmt: skip
    if not runs:
        return []
    names = sorted({name for spent in runs.values() for name in spent})
    lines = [
        "",
        "CPU time per document of each process during that run (user + system), against the "
        f"bare pipeline's {report['bare']['now']['median_cpu_ms_per_document']} ms:",
        "",
        "| worker processes | " + " | ".join(names) + " | total |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for n, spent in sorted(runs.items()):
        cells = [str(spent.get(name, "-")) for name in names]
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {round(sum(spent.values()), 1)} |")
    return lines + _ceiling(report, runs) + _pool_occupancy(report)


def _ceiling(report: dict[str, Any], runs: dict[str, dict[str, float]]) -> list[str]:
    """The service/bare ratio the machine allows at most when every process's CPU per document
    (the client's included) shares the cores the bare run had to itself."""
    cpus = report["machine"]["cpus"]
    lines = []
    for n, spent in sorted(runs.items()):
        if int(n) < cpus:
            continue
        most = cpus * 1000 / sum(spent.values())
        bare_rate = report["service"][n]["bare_docs_per_second"]
        lines += ["", f"With {n} worker processes on {cpus} CPUs, every core busy: at most "
                  f"{most:.1f} docs/s with these processes' {sum(spent.values()):.1f} ms of CPU "
                  f"per document, {most / bare_rate:.2f} of the bare pipeline's {bare_rate} "
                  "docs/s measured alongside."]  # fmt: skip
    return lines


def _pool_occupancy(report: dict[str, Any]) -> list[str]:
    """How busy the pool processes were (``evaluation.occupancy``): time on documents against
    the wall clock, and the wait between documents."""
    runs = {n: m["pool"] for n, m in report["service"].items() if m.get("pool")}
    if not runs:
        return []
    lines = [
        "",
        "The pool processes' time, from the documents' records (first stage start to last stage "
        "finish: computing, reading and writing the record, storing the outputs), against the "
        "wall clock; with one process, the wait between one document's end and the next one's "
        "start (the Celery consumer's hand-off: ack, next message, its unacked bookkeeping):",
        "",
        "| worker processes | pool ms/document | wall ms/document | pool busy | wait between "
        "documents, median (mean) |",
        "|---|---|---|---|---|",
    ]
    for n, pool in sorted(runs.items()):
        wait = (f"{pool['handoff_median_ms']} ms ({pool['handoff_mean_ms']} ms)"
                if "handoff_median_ms" in pool else "-")  # fmt: skip
        lines.append(f"| {n} | {pool['pool_ms_per_document']} | {pool['wall_ms_per_document']} "
                     f"| {pool['busy_share']:.1%} | {wait} |")  # fmt: skip
    return lines


def write_report(report: dict[str, Any], path: Path, *, plot: str) -> None:
    machine, corpus, bare = report["machine"], report["corpus"], report["bare"]
    now = bare["now"]
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`python -m evaluation.bench`) on {machine['date']}: "
        f"{machine['cpus']} CPUs, Python {machine['python']}, everything in one run on the same "
        "cores, one measurement after the other. The corpus: the seed article (text and HTML), "
        "every evaluation page as HTML and as pasted text, every summarization article: "
        f"{corpus['documents']} documents ({corpus['html']} HTML), {corpus['mean_bytes']:,} "
        "bytes on average. The machine is shared and noisy: figures move by several percent "
        "from run to run; ratios are measured side by side.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(f"| {t} | {m} | {ok} |" for t, m, ok in targets(report)),
        "",
        "## (a) Bare pipeline and (e) stages",
        "",
        "The stage functions in-process (`python -m evaluation.bare`), no Redis, no Celery, "
        "numpy's BLAS limited to one thread per process (as `newsdesk worker` does).",
        "",
        *(
            [f"`baseline`: {bare['baseline_label']}, measured the same way in the same run.", ""]
            if "baseline" in bare
            else []
        ),
        "| checkout | 1 process, docs/s | 2 processes, docs/s | CPU ms/document |",
        "|---|---|---|---|",
    ]
    for name in ("now", "baseline"):
        if name in bare:
            rate = bare[name]["median_docs_per_second"]
            lines.append(f"| {name} | {rate.get('1', '-')} | {rate.get('2', '-')} | "
                         f"{bare[name]['median_cpu_ms_per_document']} |")  # fmt: skip
    lines += ["", "| stage | median ms | words/s |", "|---|---|---|"]
    for stage in STAGES:
        lines.append(f"| {stage} | {now['stage_median_ms'][stage]} | "
                     f"{now['stage_words_per_second'][stage]:,} |")  # fmt: skip
    lines += [
        "",
        "## (b) Service, (f) memory and (g) scaling",
        "",
        "The same corpus through `newsdesk api` -> Redis -> `newsdesk worker --concurrency N`, "
        "submitted at once by a client that then polls the oldest unfinished document every "
        "100 ms (`GET /v1/documents/{id}`), one request at a time with httpx, as a user's "
        "script would. Each service run comes right after the bare "
        "pipeline with as many processes, on the same corpus (the stack idle meanwhile), so that "
        "both see the machine in the same state; the ratio is the median of these pairs, and "
        "the other figures are those of the median pair.",
        "",
        "| worker processes | docs/s | bare alongside, docs/s | service/bare (each pair) | "
        "workers ready after | RSS: largest pool process | RSS: worker total |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, measured in sorted(report["service"].items()):
        ratio = report["ratios"].get(f"service/bare, {n} process(es)", "-")
        pairs = ", ".join(f"{r:.2f}" for r in measured["paired_ratios"])
        rss = measured["worker_rss_mb"]
        lines.append(f"| {n} | {measured['corpus']['docs_per_second']} | "
                     f"{measured['bare_docs_per_second']} | {ratio} ({pairs}) | "
                     f"{measured['workers_ready_seconds']} s | {rss['largest_pool_process']} MB | "
                     f"{rss['total']} MB |")  # fmt: skip
    lines += _cpu_breakdown(report)
    top = _most_workers(report)
    idle, curve = top["idle_latency_ms"], top["latency_under_load"]
    lines += [
        "",
        "## (c) Latency, submit -> completed (seed article, text/plain)",
        "",
        "One document at a time at idle (the client long-polls `?wait=`); then Poisson arrivals "
        "at fractions of the capacity measured for the seed article "
        f"({curve['seed_capacity_docs_per_second']} docs/s with 2 worker processes). The load "
        "generator runs on the same cores as the service, so it is a lean asyncio HTTP/1.1 "
        "client (`evaluation/lean_http.py`); its own CPU per document is in the last column.",
        "",
        f"![latency against offered load]({plot})",
        "",
        "| offered load | docs/s | p50 ms | p95 ms | p99 ms | documents | "
        "load generator CPU ms/doc |",
        "|---|---|---|---|---|---|---|",
        f"| idle | - | {idle['p50']} | {idle['p95']} | {idle['p99']} | {idle['samples']} | - |",
    ]
    for level in curve["levels"]:
        runs = level.get("p99_runs")
        p99 = f"{level['p99']} (runs: {', '.join(str(p) for p in runs)})" if runs else level["p99"]
        lines.append(f"| {level['fraction_of_capacity']:.0%} | {level['offered_per_second']} | "
                     f"{level['p50']} | {level['p95']} | {p99} | {level['samples']} | "
                     f"{level.get('client_cpu_ms_per_document', '-')} |")  # fmt: skip
    lines += [
        "",
        f"The first document, submitted as soon as `/readyz/workers` answered 200: "
        f"{idle['first_ms']} ms.",
        "",
        "## (d) Intake",
        "",
        "`wrk -t1 -c32 -d10s`, `POST /v1/documents` with a 5.5 KB JSON body; every 202 means the "
        "record and its Celery message were written in one Redis call (one Lua script). "
        "`queued` counts the messages in the `clean` queue afterwards (workers stopped): at "
        "least one for every 202.",
        "",
    ]
    if isinstance(report.get("intake"), list):
        lines += [
            "| durability | API processes | workers | accepted/s | p50 ms | p99 ms | refused | "
            "queued afterwards |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in report["intake"]:
            queued = r.get("queued_after", "-")
            lines.append(f"| {r['durability']} | {r['api_processes']} | {r['workers']} | "
                         f"{r['accepted_per_second']:,} | {r['latency_ms']['p50']} | "
                         f"{r['latency_ms']['p99']} | {r['refused_or_failed']} | {queued} |")  # fmt: skip
    else:
        lines.append(f"Not measured: {report.get('intake')}.")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = _most_workers(report)
    idle, levels = top["idle_latency_ms"], top["latency_under_load"]["levels"]
    x = [0.0] + [level["offered_per_second"] for level in levels]
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    for key, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
        axes.plot(x, [idle[key]] + [level[key] for level in levels], style, label=key)
    capacity = top["latency_under_load"]["seed_capacity_docs_per_second"]
    axes.axvline(capacity, color="grey", linewidth=0.8)
    axes.text(capacity, 0.03, "measured capacity ", transform=axes.get_xaxis_transform(),
              ha="right", color="grey")  # fmt: skip
    axes.set_xlabel("offered load, seed articles per second (Poisson arrivals)")
    axes.set_ylabel("submit -> completed, ms")
    axes.set_yscale("log")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    axes.set_title("newsdesk latency against offered load (2 worker processes)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
