"""Entity extraction and grouping, on the seed and on small texts written for the purpose."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language

from contracts.results import Mention
from evaluation.entities import GoldEntity, score_entities
from tests.conftest import SEEDS
from workers.pipeline.clean import clean_document
from workers.pipeline.entities import extract_entities, find_mentions, group_mentions, salience
from workers.pipeline.nlp import DEFAULT_MODEL, load_nlp


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_nlp()


@pytest.fixture(scope="module")
def full_nlp() -> Language:
    return spacy.load(DEFAULT_MODEL)


SECOND_TEXT = (
    "Apple said on Tuesday that Tim Cook will visit Berlin.\n\n"
    "Cook met Chancellor Olaf Scholz at the Reichstag, and Scholz praised the investment of $2 billion.\n\n"
    "The European Commission in Brussels did not comment."
)


CLEANED_SEEDS = [
    clean_document(content=(SEEDS / name).read_text(), content_type=kind).text
    for name, kind in (("article.txt", "text/plain"), ("article.html", "text/html"))
]


@pytest.mark.parametrize("text", [*CLEANED_SEEDS, (SEEDS / "article.txt").read_text(), SECOND_TEXT])
def test_trimmed_pipeline_finds_what_the_full_pipeline_finds(
    nlp: Language, full_nlp: Language, text: str
) -> None:
    full = [(e.start_char, e.end_char, e.label_) for e in full_nlp(text).ents]
    trimmed = [(m.start, m.end, m.label) for m in find_mentions(nlp, text)]
    assert trimmed == full
    assert len(full) > 5


def test_mentions_have_exact_offsets_and_one_label_per_entity(nlp: Language) -> None:
    text = (SEEDS / "article.txt").read_text()
    result = extract_entities(nlp, text, title="US attacks multiple sites in Iraq")
    for mention in result.mentions:
        assert text[mention.start : mention.end] == mention.text
    for entity in result.entities:
        assert {result.mentions[i].label for i in entity.mentions} == {entity.label}
        assert entity.count == len(entity.mentions)
        assert entity.first_start == result.mentions[entity.mentions[0]].start
    assert sum(e.count for e in result.entities) == len(result.mentions)


def test_partial_names_join_the_full_name(nlp: Language) -> None:
    result = extract_entities(nlp, SECOND_TEXT)
    by_name = {e.name: e for e in result.entities}
    assert by_name["Tim Cook"].count == 2
    assert by_name["Olaf Scholz"].count == 2
    assert "Cook" not in by_name and "Scholz" not in by_name


def _mention(text: str, label: str, start: int) -> Mention:
    return Mention(text=text, label=label, start=start, end=start + len(text))


def test_grouping_votes_labels_and_keeps_distinct_organisations_apart() -> None:
    mentions = [
        _mention("Kataib Hezbollah", "PERSON", 0),
        _mention("Hezbollah", "ORG", 100),
        _mention("Hezbollah", "ORG", 200),
        _mention("Lloyd Austin", "PERSON", 300),
        _mention("Austin", "GPE", 400),
        _mention("Austin", "PERSON", 500),
        _mention("the US", "GPE", 600),
        _mention("US", "ORG", 650),
        _mention("US", "GPE", 700),
    ]
    result = group_mentions(mentions, text_length=1000)
    by_name = {e.name: e for e in result.entities}
    assert by_name["Hezbollah"].count == 2 and by_name["Kataib Hezbollah"].count == 1
    assert by_name["Lloyd Austin"].count == 3 and by_name["Lloyd Austin"].label == "PERSON"
    assert by_name["US"].label == "GPE" and by_name["US"].count == 3
    assert [m.label for m in result.mentions[6:9]] == ["GPE", "GPE", "GPE"]


def test_salience_rewards_frequency_position_and_title() -> None:
    base = {
        "count": 2,
        "first_start": 500,
        "text_length": 1000,
        "in_title": False,
        "is_value": False,
    }
    assert salience(**{**base, "count": 6}) > salience(**base)  # type: ignore[arg-type]
    assert salience(**{**base, "first_start": 0}) > salience(**base)  # type: ignore[arg-type]
    assert salience(**{**base, "in_title": True}) > salience(**base)  # type: ignore[arg-type]
    assert salience(**{**base, "is_value": True}) < salience(**base)  # type: ignore[arg-type]
    assert (
        0 <= salience(count=1000, first_start=0, text_length=1, in_title=True, is_value=False) <= 1
    )


def test_title_entities_rank_first(nlp: Language) -> None:
    result = extract_entities(nlp, SECOND_TEXT, title="Tim Cook visits Berlin")
    assert result.entities[0].name == "Tim Cook"


def test_entity_score_hand_checked() -> None:
    gold = [
        GoldEntity("Lloyd Austin", "PERSON", ("Austin",)),
        GoldEntity("Iraq", "GPE", ()),
        GoldEntity("ISIS", "ORG", ()),
    ]
    predicted = [("Austin", "PERSON"), ("Iraq", "ORG"), ("Monday", "DATE"), ("Baghdad", "GPE")]
    # TP: Austin, Iraq -> precision 2/4; found 2 of 3 gold -> recall 2/3; labels right: 1 of 2.
    score = score_entities(predicted, gold)
    assert score["precision"] == 0.5
    assert score["recall"] == round(2 / 3, 4)
    assert score["f1"] == round(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3), 4)
    assert score["label_accuracy"] == 0.5
