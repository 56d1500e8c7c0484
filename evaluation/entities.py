"""Entity quality on the hand-checked seed: newsdesk's distinct named entities against a reader's
list, beside the model's own labels by majority vote (no document-level corrections)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.documents import DocumentOptions
from contracts.results import EntitiesResult
from workers.pipeline.entities import (
    VALUE_LABELS,
    find_mentions,
    group_mentions,
    name_key,
    surface_form,
)
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
    """Precision/recall/F1 of distinct entities, matched one-to-one: a predicted name matches a
    gold entity (name or alias) not matched yet, so an unmerged duplicate ("IRGC" beside
    "Islamic Revolutionary Guard Corps") counts once right and once wrong.

    Label-free figures count a name match; label-aware ones (``labelled_*``) also need the
    reader's label. ``label_accuracy`` is the share of matched entities with the right label.
    """
    matched: dict[int, str] = {}
    for name, label in predicted:
        key = name_key(surface_form(name))
        hit = next((i for i, g in enumerate(gold) if i not in matched and key in g.names()), None)
        if hit is not None:
            matched[hit] = label
    labels_right = sum(gold[i].label == label for i, label in matched.items())
    return {
        **_prf(len(matched), len(predicted), len(gold)),
        **{f"labelled_{k}": v for k, v in _prf(labels_right, len(predicted), len(gold)).items()},
        "label_accuracy": round(labels_right / len(matched), 4) if matched else 0.0,
        "predicted": len(predicted),
        "gold": len(gold),
    }


def _prf(right: int, predicted: int, gold: int) -> dict[str, float]:
    precision = right / predicted if predicted else 0.0
    recall = right / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def evaluate_seed_entities(seed: Path = SEEDS / "article.txt") -> dict[str, Any]:
    """Run the clean and entities stages on the seed and score its named entities."""
    options = DocumentOptions()
    clean = run_clean(content=seed.read_text(), content_type="text/plain", options=options)
    result = run_entities(clean=clean, nlp=load_nlp()).entities
    gold = load_gold(seed.with_suffix(".entities.json"))
    raw = find_mentions(load_nlp(), clean.text)
    voted = group_mentions(raw, text_length=len(clean.text), title=clean.title, corrections=False)
    return {
        "seed": seed.name,
        **score_entities(_names(result), gold),
        "model_alone": score_entities(_names(voted), gold),
    }


def _names(result: EntitiesResult) -> list[tuple[str, str]]:
    """The distinct named entities (values left out) as (name, label)."""
    return [(e.name, e.label) for e in result.entities if e.label not in VALUE_LABELS]
