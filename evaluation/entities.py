"""Entity quality on the hand-checked seed: newsdesk's distinct named entities against a reader's list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.documents import DocumentOptions
from workers.pipeline.entities import VALUE_LABELS, name_key, surface_form
from workers.pipeline.nlp import load_nlp
from workers.pipeline.stages import run_clean, run_entities

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@dataclass(frozen=True)
class GoldEntity:
    """One entity a careful reader lists, with the other names it goes by."""

    name: str
    label: str
    aliases: tuple[str, ...]

    def names(self) -> set[tuple[str, ...]]:
        return {name_key(surface_form(n)) for n in (self.name, *self.aliases)}


def load_gold(path: Path) -> list[GoldEntity]:
    """The hand-checked list in ``seeds/<article>.entities.json``."""
    raw = json.loads(path.read_text())
    return [GoldEntity(e["name"], e["label"], tuple(e["aliases"])) for e in raw["entities"]]


def score_entities(predicted: list[tuple[str, str]], gold: list[GoldEntity]) -> dict[str, float]:
    """Precision/recall/F1 of distinct (name, label) pairs; a name matches a gold name or alias.

    ``label_accuracy`` is the share of matched entities whose label is the reader's.
    """
    matched: dict[int, str] = {}
    true_positive = 0
    for name, label in predicted:
        key = name_key(surface_form(name))
        hit = next((i for i, g in enumerate(gold) if key in g.names()), None)
        if hit is not None:
            true_positive += 1
            matched.setdefault(hit, label)
    precision = true_positive / len(predicted) if predicted else 0.0
    recall = len(matched) / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    labels_right = sum(gold[i].label == label for i, label in matched.items())
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "label_accuracy": round(labels_right / len(matched), 4) if matched else 0.0,
        "predicted": len(predicted),
        "gold": len(gold),
    }


def evaluate_seed_entities(seed: Path = SEEDS / "article.txt") -> dict[str, Any]:
    """Run the clean and entities stages on the seed and score its named entities."""
    options = DocumentOptions()
    clean = run_clean(content=seed.read_text(), content_type="text/plain", options=options)
    result = run_entities(clean=clean, nlp=load_nlp()).entities
    predicted = [(e.name, e.label) for e in result.entities if e.label not in VALUE_LABELS]
    gold = load_gold(seed.with_suffix(".entities.json"))
    return {"seed": seed.name, **score_entities(predicted, gold)}
