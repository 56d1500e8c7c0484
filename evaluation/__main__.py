"""``make eval``: quality and speed of every stage on the evaluation data, in one run.

Prints a table and writes the figures as JSON under ``eval/results/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluation.entities import evaluate_seed_entities
from evaluation.extraction import evaluate_extraction
from evaluation.stage_speed import measure_stage_speed
from evaluation.summarization import evaluate_summarization

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "eval" / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__)
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "eval",
        help="folder with extraction-dev/ and summarization-dev.jsonl",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (args.data / "extraction-dev").is_dir():
        parser.error(f"no evaluation data in {args.data} (expected extraction-dev/ there)")
    began = time.perf_counter()
    report: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "extraction": evaluate_extraction(args.data / "extraction-dev"),
        "summarization": evaluate_summarization(args.data / "summarization-dev.jsonl"),
        "entities_seed": evaluate_seed_entities(),
        "stage_speed": measure_stage_speed(args.data / "extraction-dev"),
    }
    report["seconds"] = round(time.perf_counter() - began, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(format_report(report))
    print(
        f"\nwritten to {(args.out / 'latest.json').relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}"
    )
    return 0


def format_report(report: dict[str, Any]) -> str:
    """The figures as a Markdown table (the README's Quality section shows the same)."""
    ext, summ, ent, speed = (
        report[k] for k in ("extraction", "summarization", "entities_seed", "stage_speed")
    )
    lines = [
        "| task | system | P | R | F1 | accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for task, key in (("extraction, HTML", "html"), ("extraction, pasted text", "pasted_text")):
        for system, m in ext[key].items():
            lines.append(
                f"| {task} ({ext['documents']} pages) | {system} | {m['precision']:.3f} | "
                f"{m['recall']:.3f} | {m['f1']:.3f} | {m['accuracy']:.3f} |"
            )
    lines.append(
        f"| entities, hand-checked seed ({ent['gold']} entities) | newsdesk | "
        f"{ent['precision']:.3f} | {ent['recall']:.3f} | {ent['f1']:.3f} | "
        f"labels {ent['label_accuracy']:.3f} |"
    )
    lines += [
        "",
        "| summaries | system | ROUGE-1 | ROUGE-2 | ROUGE-Lsum |",
        "|---|---|---|---|---|",
    ]
    for system, m in summ["systems"].items():
        lines.append(
            f"| {summ['documents']} articles | {system} | {m['rouge1']:.2f} | "
            f"{m['rouge2']:.2f} | {m['rougeLsum']:.2f} |"
        )
    medians = speed["median_ms"]
    lines += ["", "| stage | median ms per document |", "|---|---|"]
    lines += [f"| {stage} | {ms} |" for stage, ms in medians.items()]
    lines.append(f"| all stages | {speed['words_per_second_all_stages']} words/s |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
