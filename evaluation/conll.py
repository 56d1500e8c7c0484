"""Entities on a public NER test: CoNLL-2003 English (``eng.testb``), exact-span F1.

The file is not shipped (no package on the registry carries it): pass a copy with
``python -m evaluation.conll --data PATH`` or put it at ``<EVAL_DATA>/conll2003/eng.testb`` for
``make eval`` to find. Documents are cut at ``-DOCSTART-`` lines, or, in copies without them,
before the headline that precedes each Reuters dateline ("LONDON 1996-12-06"). Each sentence is
given to the pipeline as one paragraph; OntoNotes labels map to CoNLL's: PERSON → PER,
GPE/LOC/FAC → LOC, ORG → ORG, NORP/EVENT/PRODUCT/WORK_OF_ART/LAW/LANGUAGE → MISC (values
dropped). Systems: the model's own mention labels, the majority vote of each grouped entity alone, and
newsdesk's document-level corrections (``group_mentions``); differences get paired bootstrap
intervals over documents.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.crossval import paired_bootstrap
from workers.pipeline.entities import find_mentions, group_mentions
from workers.pipeline.nlp import load_nlp

LABELS = {
    "PERSON": "PER",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "ORG": "ORG",
    **dict.fromkeys(("NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"), "MISC"),
}
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]* \d{4}-\d{2}-\d{2}$")

Span = tuple[int, int, str]


@dataclass(frozen=True)
class Document:
    """One test document: its text (a sentence a paragraph) and its gold entity spans."""

    text: str
    gold: set[Span]


def read_documents(path: Path) -> list[Document]:
    """The documents of a CoNLL-2003 file (IOB1 or IOB2 tags in the last column)."""
    sentences: list[list[tuple[str, str]]] = []
    starts: list[int] = []
    current: list[tuple[str, str]] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("-DOCSTART-"):
            starts.append(len(sentences))
            continue
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        parts = line.split()
        current.append((parts[0], parts[-1]))
    if not starts:  # no -DOCSTART- lines: a document opens with the headline before a dateline
        starts = [
            max(i - 1, 0)
            for i, s in enumerate(sentences)
            if _DATELINE.match(" ".join(t for t, _ in s))
        ]
    starts = sorted(set([0, *starts]))
    bounds = [*starts, len(sentences)]
    return [_document(sentences[a:b]) for a, b in itertools.pairwise(bounds) if b > a]


def _document(sentences: list[list[tuple[str, str]]]) -> Document:
    pieces: list[str] = []
    gold: set[Span] = set()
    offset = 0
    for sentence in sentences:
        entity: list[Any] | None = None
        for index, (token, tag) in enumerate(sentence):
            start = offset + sum(len(t) + 1 for t, _ in sentence[:index])
            end = start + len(token)
            kind = tag[2:] if tag != "O" else None
            opens = tag.startswith("B-") or (entity is not None and kind != entity[2])
            if entity is not None and (kind is None or opens):
                gold.add((entity[0], entity[1], entity[2]))
                entity = None
            if kind is not None:
                if entity is None:
                    entity = [start, end, kind]
                else:
                    entity[1] = end
        if entity is not None:
            gold.add((entity[0], entity[1], entity[2]))
        text = " ".join(t for t, _ in sentence)
        pieces.append(text)
        offset += len(text) + 2
    return Document(text="\n\n".join(pieces), gold=gold)


def evaluate_conll(path: Path) -> dict[str, Any]:
    """Exact-span F1 (label-aware and label-free) of the model alone and of newsdesk."""
    nlp = load_nlp()
    rows: dict[str, list[list[float]]] = {"model": [], "majority_vote": [], "newsdesk": []}
    for document in read_documents(path):
        mentions = find_mentions(nlp, document.text)
        length = len(document.text)
        voted = group_mentions(mentions, text_length=length, corrections=False).mentions
        corrected = group_mentions(mentions, text_length=length, text=document.text).mentions
        for name, found in (("model", mentions), ("majority_vote", voted), ("newsdesk", corrected)):
            predicted = {(m.start, m.end, LABELS[m.label]) for m in found if m.label in LABELS}
            rows[name].append(_counts(predicted, document.gold))
    arrays = {name: np.array(values) for name, values in rows.items()}
    return {
        "documents": len(arrays["model"]),
        "gold": int(arrays["model"][:, 2].sum()),
        **{
            name: {"f1": _f1(values), "unlabelled_f1": _f1(values[:, 3:])}
            for name, values in arrays.items()
        },
        "newsdesk_vs_model": paired_bootstrap(arrays["newsdesk"], arrays["model"], _f1),
        "newsdesk_vs_majority_vote": paired_bootstrap(
            arrays["newsdesk"], arrays["majority_vote"], _f1
        ),
    }


def _counts(predicted: set[Span], gold: set[Span]) -> list[float]:
    """True positives, predicted and gold counts, with and without the label."""
    spans = {(a, b) for a, b, _ in predicted}
    gold_spans = {(a, b) for a, b, _ in gold}
    return [
        len(predicted & gold),
        len(predicted),
        len(gold),
        len(spans & gold_spans),
        len(spans),
        len(gold_spans),
    ]


def _f1(rows: np.ndarray[Any, Any]) -> float:
    """Micro F1 of rows of (true positives, predicted, gold)."""
    right, predicted, gold = rows[:, 0].sum(), rows[:, 1].sum(), rows[:, 2].sum()
    return float(2 * right / (predicted + gold)) if predicted + gold else 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, required=True, help="a CoNLL-2003 eng.testb file")
    args = parser.parse_args(argv)
    print(json.dumps(evaluate_conll(args.data), indent=2))


if __name__ == "__main__":
    main()
