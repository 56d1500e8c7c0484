"""What a worker's record writes cost per document, the ways the record store can make them.

A worker reads the document's content, begins its first stage and completes its three stages
(carrying each on to the next): four transitions. ``watched``: each reads the record under WATCH
and applies its plan in a MULTI (``RecordStore.transition``), the content read apart.
``kept``: the begin reads the record back in its MULTI (``transition_kept``), the content is read
apart, and every completion is planned on the record as the previous write left it and applied
by one guarded script call (``transition_from``). ``snapshot``, as ``workers.runner`` does: the
record and the content are read in one round trip (``RecordStore.snapshot``) and every
transition, the begin included, is one guarded script call. All run against an embedded
redis-server, in turn (their order rotated every round), with the seed article's real stage
outputs; Redis's command statistics count the commands each way sent (a script's own commands
included). Run
``python -m evaluation.record_writes [--rounds N] [--documents N]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from contracts.documents import DocumentOptions
from contracts.results import StageOutput
from contracts.wire import STAGE_ORDER, Stage
from evaluation.crossval import paired_bootstrap
from newsdesk.embedded_redis import start_redis
from records.codec import DocumentRecord, utc_now
from records.policy import RecordSettings
from records.store import Planner, RecordStore
from records.transitions import NewDocument, plan_begin, plan_complete, plan_create
from records.writes import Plan
from workers.pipeline.nlp import load_nlp
from workers.settings import WorkerSettings
from workers.stages import STAGES, StageInputs

SEED = Path(__file__).resolve().parent.parent / "seeds" / "article.txt"


def _create(store: RecordStore, content: str) -> str:
    doc_id = uuid.uuid4().hex
    document = NewDocument(doc_id=doc_id, content=content, content_type="text/plain",
                           options=DocumentOptions())  # fmt: skip
    store.apply(plan_create(store.keys, store.policy, document, now=utc_now()).writes)
    return doc_id


def _stage_outputs(store: RecordStore, content: str) -> dict[Stage, StageOutput]:
    """The seed article's real outputs, computed once."""
    record = store.read(_create(store, content))
    assert record is not None
    model = WorkerSettings().spacy_model
    outputs: dict[Stage, StageOutput] = {}
    for stage in STAGE_ORDER:
        inputs = StageInputs(record=record, content=content, outputs=dict(outputs),
                             nlp=lambda: load_nlp(model))  # fmt: skip
        outputs[stage] = STAGES[stage].compute(inputs)
    return outputs


def _begin(store: RecordStore, run: str, record: DocumentRecord | None) -> Plan[Any]:
    return plan_begin(store.keys, store.policy, record, STAGE_ORDER[0], run=run, now=utc_now())


def _complete(
    store: RecordStore, stage: Stage, output: StageOutput, run: str, following: str | None,
    record: DocumentRecord | None,
) -> Plan[bool]:  # fmt: skip
    return plan_complete(store.keys, store.policy, record, stage, output, run=run,
                         carry_on=following, now=utc_now())  # fmt: skip


def planners(store: RecordStore, outputs: dict[Stage, StageOutput]) -> list[Planner[Any]]:
    """One document's four transitions, as a worker carrying it through makes them."""
    runs = [uuid.uuid4().hex for _ in STAGE_ORDER]
    following: list[str | None] = [*runs[1:], None]
    steps: list[Planner[Any]] = [partial(_begin, store, runs[0])]
    for stage, run, after in zip(STAGE_ORDER, runs, following, strict=True):
        steps.append(partial(_complete, store, stage, outputs[stage], run, after))
    return steps


def watched(store: RecordStore, doc_id: str, steps: list[Planner[Any]]) -> None:
    store.transition(doc_id, steps[0])
    store.content(doc_id)
    for step in steps[1:]:
        store.transition(doc_id, step)


def kept(store: RecordStore, doc_id: str, steps: list[Planner[Any]]) -> None:
    _, after = store.transition_kept(doc_id, steps[0])
    store.content(doc_id)
    for step in steps[1:]:
        _, after = store.transition_from(after, step)


def snapshot(store: RecordStore, doc_id: str, steps: list[Planner[Any]]) -> None:
    after, _ = store.snapshot(doc_id, with_content=True)
    for step in steps:
        _, after = store.transition_from(after, step)


WAYS = (("watched", watched), ("kept", kept), ("snapshot", snapshot))
# The commands that make a transition's round trips (EXEC carries its MULTI's queued commands).
COUNTED = ("watch", "exec", "evalsha", "get", "hgetall")


def _calls(store: RecordStore) -> dict[str, int]:
    """How many of each ``COUNTED`` command the server has run (its command statistics)."""
    stats = cast(dict[str, dict[str, int]], store.redis.info("commandstats"))
    return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in COUNTED}


def _mean(rows: NDArray[np.float64]) -> float:
    return float(rows.mean())


def measure(*, rounds: int, documents: int) -> dict[str, object]:
    content = SEED.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_redis(data_dir=Path(tmp), fsync_every_write=False, maxmemory="2gb")
        try:
            store = RecordStore.connect(RecordSettings(redis_url=url))
            outputs = _stage_outputs(store, content)
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in WAYS}
            commands: dict[str, dict[str, int]] = {name: {} for name in samples}
            for _, way in WAYS:  # once unmeasured: Redis learns the scripts (NOSCRIPT, LOAD)
                way(store, _create(store, content), planners(store, outputs))
            for index in range(rounds):
                shift = index % len(WAYS)
                for name, way in WAYS[shift:] + WAYS[:shift]:
                    ids = [_create(store, content) for _ in range(documents)]
                    before = _calls(store)
                    cpu, wall = time.process_time(), time.perf_counter()
                    for doc_id in ids:
                        way(store, doc_id, planners(store, outputs))
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    for command, calls in _calls(store).items():
                        spent = calls - before[command]
                        commands[name][command] = commands[name].get(command, 0) + spent
                    samples[name].append((wall * 1000 / documents, cpu * 1000 / documents))
                    last = store.read(ids[-1])
                    assert last is not None and last.status.value == "completed", name
            store.redis.close()
        finally:
            server.terminate()
            server.wait()
    report: dict[str, object] = {"rounds": rounds, "documents_per_round": documents}
    for name, measured in samples.items():
        report[name] = {
            "median_wall_ms_per_document": round(statistics.median(w for w, _ in measured), 3),
            "median_client_cpu_ms_per_document": round(
                statistics.median(c for _, c in measured), 3
            ),
            "wall_ms_per_document_by_round": [round(w, 3) for w, _ in measured],
            "commands_per_document": {
                command: round(commands[name].get(command, 0) / (rounds * documents), 2)
                for command in COUNTED
            },
        }
    for before, after in itertools.pairwise(samples):  # ms per document saved, rounds paired
        walls = [np.array([w for w, _ in samples[way]]) for way in (before, after)]
        report[f"gain_{before}_to_{after}"] = paired_bootstrap(*walls, _mean)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.record_writes", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--documents", type=int, default=200)
    args = parser.parse_args(argv)
    print(json.dumps(measure(rounds=args.rounds, documents=args.documents), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
