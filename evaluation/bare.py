"""Bare throughput of the pipeline: the stage functions in-process over a fixed corpus.

No Redis, no Celery: ``run_clean`` → ``run_entities`` → ``run_summarize`` on every document of
the corpus (the seeds, every evaluation page as HTML and as pasted text, every summarization
article), in 1 and in N worker processes forked after the model is loaded. Any checkout of the
project can be measured the same way, side by side in one run: each checkout runs in its own
interpreter with that checkout first on ``PYTHONPATH`` (its stage signatures are adapted).

``measure(repo, corpus, processes=(1, 2))`` returns a JSON-friendly dict: documents per second
for each process count, median milliseconds and words per second of each stage.
Run ``python -m evaluation.bare [--data DIR] [--baseline CHECKOUT] [--limit N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
STAGES = ("clean", "entities", "summarize")
# numpy's OpenBLAS starts a thread per core for the model's matrix products; where worker
# processes already fill the cores, those threads spin and cost CPU time.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def build_corpus(data: Path, *, seeds: Path = REPO / "seeds") -> list[dict[str, str]]:
    """The fixed corpus: seeds, evaluation pages (HTML and pasted text), summarization articles."""
    from evaluation.extraction import load_pages
    from evaluation.pasted_text import html_to_pasted_text
    from evaluation.summarization import read_articles

    corpus = [
        {"content": (seeds / "article.txt").read_text(encoding="utf-8"), "content_type": "text/plain"},
        {"content": (seeds / "article.html").read_text(encoding="utf-8"), "content_type": "text/html"},
    ]  # fmt: skip
    for folder in sorted(p.parent for p in data.glob("extraction*/ground-truth.json")):
        for html, _ in load_pages(folder).values():
            corpus.append({"content": html, "content_type": "text/html"})
            corpus.append({"content": html_to_pasted_text(html), "content_type": "text/plain"})
    for path in sorted(data.glob("summarization*.jsonl")):
        corpus += [
            {"content": r["article"], "content_type": "text/plain"} for r in read_articles(path)
        ]
    return corpus


def measure(
    repo: Path,
    corpus: list[dict[str, str]],
    *,
    processes: tuple[int, ...] = (1, 2),
    blas_threads: int | None = None,
) -> dict[str, Any]:
    """Throughput of the checkout at ``repo`` on ``corpus``, measured in a fresh interpreter
    (with its BLAS libraries limited to ``blas_threads`` threads, when given)."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus_file = Path(tmp) / "corpus.json"
        corpus_file.write_text(json.dumps(corpus), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(repo)}
        if blas_threads is not None:
            env.update(dict.fromkeys(BLAS_THREAD_VARIABLES, str(blas_threads)))
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(corpus_file)]
        command += ["--processes", ",".join(str(n) for n in processes)]
        done = subprocess.run(
            command, env=env, cwd=repo, capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {repo} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {"repo": str(repo), **result}


def compare(
    data: Path,
    *,
    baseline: Path | None,
    limit: int | None = None,
    processes: tuple[int, ...] = (1, 2),
    rounds: int = 1,
    blas_threads: int | None = None,
) -> dict[str, Any]:
    """This checkout (and ``baseline``, when given) on the same corpus in one run, alternating
    ``rounds`` times so both see the same machine; medians over rounds and speed-ups."""
    corpus = build_corpus(data)[:limit]
    checkouts = {"now": REPO, **({"baseline": baseline} if baseline is not None else {})}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in checkouts}
    for _ in range(rounds):
        for name, repo in checkouts.items():
            runs[name].append(measure(repo, corpus, processes=processes, blas_threads=blas_threads))
    report: dict[str, Any] = {
        "documents": len(corpus),
        "rounds": rounds,
        "blas_threads": blas_threads,
    }
    for name, measured in runs.items():
        report[name] = {
            **measured[len(measured) // 2],
            "median_docs_per_second": {
                str(n): statistics.median(m["docs_per_second"][str(n)] for m in measured)
                for n in processes
            },
            "median_cpu_ms_per_document": statistics.median(
                m["cpu_ms_per_document"] for m in measured
            ),
        }
    if baseline is not None:
        now, before = report["now"], report["baseline"]
        report["speedup"] = {
            str(n): round(
                now["median_docs_per_second"][str(n)] / before["median_docs_per_second"][str(n)], 2
            )
            for n in processes
        }
        report["cpu_per_document_ratio"] = round(
            before["median_cpu_ms_per_document"] / now["median_cpu_ms_per_document"], 2
        )
    return report


# ---- below: what runs in the measured checkout's interpreter (stdlib + that checkout only) ----

_CORPUS: list[dict[str, str]] = []


def _process_one(index: int) -> tuple[dict[str, float], int, bool]:
    """Stage durations (seconds; ``cpu``: the CPU time of this thread for all stages, which
    other processes on a busy machine disturb least) of one document, its cleaned words, and
    whether it was refused."""
    import inspect
    import time

    from contracts.documents import DocumentOptions
    from workers.pipeline import stages
    from workers.pipeline.nlp import load_nlp

    nlp, options = load_nlp(), DocumentOptions()
    document = _CORPUS[index]
    durations = dict.fromkeys(STAGES, 0.0)
    cpu_began, process_began = time.thread_time(), time.process_time()
    began = time.perf_counter()
    try:
        clean = stages.run_clean(
            content=document["content"], content_type=document["content_type"], options=options
        )
    except ValueError:  # UnprocessableDocument, in every version
        durations["clean"] = time.perf_counter() - began
        durations["cpu"] = time.thread_time() - cpu_began
        durations["process_cpu"] = time.process_time() - process_began
        return durations, 0, True
    cleaned = time.perf_counter()
    analysis = stages.run_entities(clean=clean, nlp=nlp)
    tagged = time.perf_counter()
    if "analysis" in inspect.signature(stages.run_summarize).parameters:
        stages.run_summarize(clean=clean, analysis=analysis, options=options)
    else:  # older checkouts split sentences again in the summarize stage
        stages.run_summarize(clean=clean, options=options, nlp=nlp)  # type: ignore[call-arg]
    done = time.perf_counter()
    durations.update(clean=cleaned - began, entities=tagged - cleaned, summarize=done - tagged)
    durations["cpu"] = time.thread_time() - cpu_began
    durations["process_cpu"] = time.process_time() - process_began
    return durations, len(clean.text.split()), False


def _child(corpus_file: Path, processes: list[int]) -> dict[str, Any]:
    import multiprocessing
    import time

    from workers.pipeline.language import detect_language
    from workers.pipeline.nlp import load_nlp

    _CORPUS.extend(json.loads(corpus_file.read_text(encoding="utf-8")))
    load_nlp()
    detect_language("warm up the language identifier")
    for index in range(min(3, len(_CORPUS))):  # warm caches before timing
        _process_one(index)
    result: dict[str, Any] = {"docs_per_second": {}, "wall_seconds": {}}
    context = multiprocessing.get_context("fork")
    per_document: list[tuple[dict[str, float], int, bool]] = []
    for count in processes:
        began = time.perf_counter()
        if count == 1:
            rows = [_process_one(i) for i in range(len(_CORPUS))]
        else:
            with context.Pool(count) as pool:
                rows = pool.map(_process_one, range(len(_CORPUS)), chunksize=4)
        wall = time.perf_counter() - began
        result["docs_per_second"][str(count)] = round(len(_CORPUS) / wall, 2)
        result["wall_seconds"][str(count)] = round(wall, 1)
        per_document = per_document or rows
    processed = [(d, w) for d, w, refused in per_document if not refused]
    words = sum(w for _, w in processed)
    result["refused"] = sum(refused for _, _, refused in per_document)
    result["stage_total_seconds"] = {s: round(sum(d[s] for d, _ in processed), 2) for s in STAGES}
    result["stage_median_ms"] = {
        s: round(1000 * statistics.median(d[s] for d, _ in processed), 2) for s in STAGES
    }
    result["stage_words_per_second"] = {
        s: round(words / max(sum(d[s] for d, _ in processed), 1e-9)) for s in STAGES
    }
    result["words_per_second_all_stages"] = round(
        words / max(sum(sum(d[s] for s in STAGES) for d, _ in processed), 1e-9)
    )
    cpu = [d["cpu"] for d, _, _ in per_document]
    result["cpu_ms_per_document"] = round(1000 * statistics.fmean(cpu), 2)
    # ... and the whole process's, with the threads numpy's BLAS starts for the model.
    process_cpu = [d["process_cpu"] for d, _, _ in per_document]
    result["process_cpu_ms_per_document"] = round(1000 * statistics.fmean(process_cpu), 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.bare", description=__doc__)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--baseline", type=Path, help="another checkout to measure side by side")
    parser.add_argument("--limit", type=int, help="only the first N documents of the corpus")
    parser.add_argument("--processes", default="1,2", help="process counts, e.g. 1,2")
    parser.add_argument("--rounds", type=int, default=1, help="alternating runs of each checkout")
    parser.add_argument("--blas-threads", type=int, help="limit BLAS threads in both checkouts")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    counts = tuple(int(n) for n in args.processes.split(","))
    if args.child:
        print(json.dumps(_child(args.child, list(counts))))
        return 0
    report = compare(
        args.data,
        baseline=args.baseline,
        limit=args.limit,
        processes=counts,
        rounds=args.rounds,
        blas_threads=args.blas_threads,
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
