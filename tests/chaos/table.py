"""Render the fault rows that ``make chaos`` recorded as a Markdown table.

``python -m tests.chaos.table FILE`` prints the table of docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def render(rows: list[dict[str, object]]) -> str:
    lines = [
        "| fault | submitted | completed | failed | lost | longest recovery | notes | test |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        recovery = row["recovery_seconds"]
        shown = "—" if recovery is None else f"{recovery} s"
        test = str(row["test"]).split("::")
        lines.append(f"| {row['fault']} | {row['submitted']} | {row['completed']} | "
                     f"{row['failed']} | **{row['lost']}** | {shown} | {row['note']} | "
                     f"`{test[0]}` `{test[-1]}` |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    rows = [json.loads(line) for line in Path(argv[1]).read_text().splitlines() if line.strip()]
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
