"""``make eval``: quality and speed of every stage on the evaluation data, in one run.

Every tuned setting (extraction passes, body-block costs, summary scorer and swap margin,
key-phrase weights) is chosen by 5-fold cross-validation (fixed seed) on each development set;
the tables show each held-out fold, mean ± standard deviation over folds, the baselines on the
same folds, and paired bootstrap 95% intervals of every difference. Prints the tables and writes
the figures as JSON under ``eval/results/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluation.conll import evaluate_conll
from evaluation.crossval import format_cv
from evaluation.entities import evaluate_seed_entities
from evaluation.extraction import evaluate_extraction
from evaluation.keywords import evaluate_keywords
from evaluation.stage_speed import measure_stage_speed
from evaluation.summarization import evaluate_summarization

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "eval" / "results"


def find_sets(data: Path) -> tuple[list[Path], list[Path]]:
    """The extraction sets (folders with ground-truth.json) and summary sets (*.jsonl) in ``data``,
    e.g. extraction-dev/ and summarization-dev.jsonl, or the held-out halves beside them."""
    extraction = sorted(p.parent for p in data.glob("extraction*/ground-truth.json"))
    summaries = sorted(data.glob("summarization*.jsonl"))
    return extraction, summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__)
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "eval",  # a checkout beside shared/
        help="folder with extraction*/ and summarization*.jsonl sets",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--conll",
        type=Path,
        help="a CoNLL-2003 eng.testb file (default: DATA/conll2003/eng.testb when present)",
    )
    args = parser.parse_args(argv)
    extraction_sets, summary_sets = find_sets(args.data)
    if not extraction_sets or not summary_sets:
        parser.error(
            f"no evaluation sets in {args.data} (expected extraction*/ and summarization*.jsonl)"
        )
    began = time.perf_counter()
    report: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "extraction": {p.name: evaluate_extraction(p) for p in extraction_sets},
        "summarization": {p.stem: evaluate_summarization(p) for p in summary_sets},
        "keywords": {p.stem: evaluate_keywords(p) for p in summary_sets},
        "entities_seed": evaluate_seed_entities(),
        "stage_speed": measure_stage_speed(extraction_sets[0]),
    }
    conll = args.conll or args.data / "conll2003" / "eng.testb"
    if conll.is_file():
        report["entities_conll"] = evaluate_conll(conll)
    report["seconds"] = round(time.perf_counter() - began, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(format_report(report))
    print(f"\nwritten to {args.out / 'latest.json'} in {report['seconds']} s")
    return 0


def format_report(report: dict[str, Any]) -> str:
    """The figures as Markdown tables (the README's Quality section shows the same)."""
    lines: list[str] = []
    for name, ext in report["extraction"].items():
        for title, cv in ext["cv"].items():
            lines += [f"{name} ({ext['documents']} pages), {title}", format_cv(title, cv), ""]
    for name, summ in report["summarization"].items():
        for title, cv in summ["cv"].items():
            heading = f"{name} ({summ['documents']} articles), {title} × 100"
            lines += [heading, format_cv(title, cv, scale=100, digits=2), ""]
    for name, kw in report["keywords"].items():
        lines += [
            f"{name} ({kw['documents']} articles), key phrases: word F1 against the highlights",
            format_cv("word F1", kw["cv"]),
            f"median ms per article: {kw['median_ms']}",
            "",
        ]
    ent = report["entities_seed"]
    lines += [
        "| seed entities | P | R | F1 | labelled P | labelled R | labelled F1 |",
        "|---" * 7 + "|",
    ]
    for system, m in (("newsdesk", ent), ("model alone (majority vote)", ent["model_alone"])):
        lines.append(
            f"| {system} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
            f"{m['labelled_precision']:.3f} | {m['labelled_recall']:.3f} | {m['labelled_f1']:.3f} |"
        )
    if "entities_conll" in report:
        conll = report["entities_conll"]
        lines += [
            "",
            f"| CoNLL-2003 test ({conll['gold']} entities) | exact-span F1 | unlabelled F1 |",
        ]
        lines.append("|---|---|---|")
        for system in ("model", "majority_vote", "newsdesk"):
            m = conll[system]
            lines.append(f"| {system} | {m['f1']:.4f} | {m['unlabelled_f1']:.4f} |")
        for baseline in ("model", "majority_vote"):
            vs = conll[f"newsdesk_vs_{baseline}"]
            lines.append(
                f"| newsdesk − {baseline} | {vs['difference']:+.4f} "
                f"[{vs['low']:+.4f}, {vs['high']:+.4f}] (95% bootstrap) | |"
            )
    speed = report["stage_speed"]
    lines += ["", f"| stage | median ms per document ({speed['documents']} pages) |", "|---|---|"]
    lines += [f"| {stage} | {ms} |" for stage, ms in speed["median_ms"].items()]
    lines.append(f"| all stages | {speed['words_per_second_all_stages']} words/s |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
