"""Entity extraction and grouping, on the seed and on small texts written for the purpose."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language

from contracts.results import EntitiesResult, Mention
from evaluation.entities import GoldEntity, load_gold, score_entities
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
    # Names: Austin, Iraq -> precision 2/4, recall 2/3; labels right: Austin only.
    score = score_entities(predicted, gold)
    assert (score["precision"], score["recall"]) == (0.5, round(2 / 3, 4))
    assert score["f1"] == round(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3), 4)
    assert (score["labelled_precision"], score["labelled_recall"]) == (0.25, round(1 / 3, 4))
    assert score["label_accuracy"] == 0.5


def test_entity_score_matches_one_to_one() -> None:
    gold = [GoldEntity("Islamic Revolutionary Guard Corps", "ORG", ("IRGC",))]
    duplicates = [("IRGC", "ORG"), ("Islamic Revolutionary Guard Corps", "ORG")]
    score = score_entities(duplicates, gold)
    assert (score["precision"], score["recall"]) == (0.5, 1.0), "the second name is a duplicate"
    merged = score_entities([("Islamic Revolutionary Guard Corps", "ORG")], gold)
    assert merged["precision"] == merged["labelled_precision"] == 1.0


def _labels(result: EntitiesResult) -> dict[str, str]:
    return {e.name: e.label for e in result.entities}


def test_organisation_shaped_names_are_never_people() -> None:
    mentions = [
        _mention("Kataib Hezbollah", "PERSON", 0),
        _mention("Popular Mobilization Forces", "PERSON", 40),
        _mention("Ministry of Health", "PERSON", 80),
        _mention("Jane Party", "PERSON", 120),
        _mention("Jane Smith", "PERSON", 160),
    ]
    labels = _labels(group_mentions(mentions, text_length=200))
    assert labels["Kataib Hezbollah"] == labels["Popular Mobilization Forces"] == "ORG"
    assert labels["Ministry of Health"] == labels["Jane Party"] == "ORG"
    assert labels["Jane Smith"] == "PERSON"


def test_a_place_read_as_a_place_elsewhere_or_placed_in_one_is_not_an_organisation() -> None:
    text = (
        "The base in Iraq’s Erbil was hit. China’s Huawei said sales rose. "
        "Mosul was quiet. Officials in Mosul said so."
    )

    def at(name: str, label: str, nth: int = 0) -> Mention:
        start = -1
        for _ in range(nth + 1):
            start = text.index(name, start + 1)
        return _mention(name, label, start)

    mentions = [
        at("Iraq", "GPE"),
        at("Erbil", "ORG"),
        at("China", "GPE"),
        at("Huawei", "ORG"),
        at("Mosul", "ORG"),
        at("Mosul", "GPE", 1),
    ]
    labels = _labels(group_mentions(mentions, text_length=len(text), text=text))
    assert labels["Erbil"] == "GPE", "a base in Iraq’s Erbil"
    assert labels["Huawei"] == "ORG", "a company of a country stays a company"
    assert labels["Mosul"] == "GPE", "read as a place once, a tie is not an organisation"


def test_an_acronym_joins_the_organisation_it_spells() -> None:
    mentions = [
        _mention("Islamic Revolutionary Guard Corps", "ORG", 0),
        _mention("IRGC", "ORG", 50),
        _mention("IRGC", "ORG", 80),
        _mention("UN", "ORG", 120),
    ]
    result = group_mentions(mentions, text_length=200)
    by_name = {e.name: e for e in result.entities}
    assert by_name["Islamic Revolutionary Guard Corps"].count == 3
    assert "IRGC" not in by_name and by_name["UN"].count == 1


def test_the_seed_scores_above_the_model_alone() -> None:
    from evaluation.entities import evaluate_seed_entities

    score = evaluate_seed_entities()
    assert score["labelled_f1"] > score["model_alone"]["labelled_f1"]
    assert score["f1"] >= score["model_alone"]["f1"]


@pytest.mark.parametrize("name", ["article.txt", "article.html"])
def test_seed_expectations_take_their_labels_from_the_hand_checked_list(name: str) -> None:
    import json

    gold = {g.name: g.label for g in load_gold(SEEDS / "article.entities.json")}
    expect = json.loads((SEEDS / f"{name}.expect.json").read_text(encoding="utf-8"))
    assert all(e["label"] == gold[e["text"]] for e in expect["entities"])
