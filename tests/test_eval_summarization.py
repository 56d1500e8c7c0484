"""The ROUGE helpers against hand-computed figures, and the evaluation run on a tiny file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.rouge import mean_percent, reference_sentences, rouge_f1
from evaluation.summarization import evaluate_summarization, format_table, main
from workers.pipeline.nlp import load_nlp
from workers.pipeline.sentences import split_sentences
from workers.pipeline.summarize import summarize

# Prediction: "the cat sat" / "a dog ran" (6 tokens); reference: "the cat ran" (3 tokens).
PREDICTION = ["The cat sat.", "A dog ran."]
REFERENCE = ["the cat ran"]


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall)


def test_rouge1_counts_shared_words() -> None:
    # Shared unigrams: the, cat, ran -> P = 3/6, R = 3/3.
    assert rouge_f1(PREDICTION, REFERENCE)["rouge1"] == pytest.approx(_f1(3 / 6, 3 / 3))


def test_rouge2_counts_shared_word_pairs() -> None:
    # Prediction bigrams (text joined): the cat, cat sat, sat a, a dog, dog ran;
    # reference: the cat, cat ran. Shared: "the cat" -> P = 1/5, R = 1/2.
    assert rouge_f1(PREDICTION, REFERENCE)["rouge2"] == pytest.approx(_f1(1 / 5, 1 / 2))


def test_rouge_lsum_takes_the_union_of_sentence_lcs() -> None:
    # Reference sentence vs "the cat sat": LCS the, cat; vs "a dog ran": LCS ran.
    # Union = 3 tokens -> P = 3/6, R = 3/3 (a plain LCS over the joined text would give 2).
    assert rouge_f1(PREDICTION, REFERENCE)["rougeLsum"] == pytest.approx(_f1(3 / 6, 3 / 3))


def test_rouge_uses_the_stemmer() -> None:
    assert rouge_f1(["Cats running"], ["cat runs"])["rouge1"] == pytest.approx(1.0)


def test_reference_sentences_split_on_highlight_separator() -> None:
    reference = "Locke will be confirmed . The club , unbeaten , is 3.5 points clear ."
    assert reference_sentences(reference) == [
        "Locke will be confirmed",
        "The club , unbeaten , is 3.5 points clear .",
    ]


def test_mean_percent() -> None:
    rows = [
        {"rouge1": 0.5, "rouge2": 0.25, "rougeLsum": 0.4},
        {"rouge1": 0.3, "rouge2": 0.15, "rougeLsum": 0.2},
    ]
    assert mean_percent(rows) == {"rouge1": 40.0, "rouge2": 20.0, "rougeLsum": 30.0}
    assert mean_percent([]) == {"rouge1": 0.0, "rouge2": 0.0, "rougeLsum": 0.0}


TOWNS = ("Ashford", "Bexley", "Colton", "Dunmore", "Elling", "Fairway")


def _article(town: str) -> dict[str, str]:
    return {
        "id": town,
        "url": f"https://example.org/{town}",
        "article": (
            f"By Staff Reporter in {town} . A council in {town} has "
            "voted to close the old swimming pool. The council said the pool cost too much to "
            "repair. Swimmers will use the new pool in the town centre. The old pool opened in 1936."
        ),
        "reference": f"{town} council votes to close the old swimming pool . Repairs cost too much .",
    }


@pytest.fixture()
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(_article(t)) + "\n\n" for t in TOWNS), encoding="utf-8")
    return path


def test_evaluate_summarization_scores_each_system_on_its_own_sentences(data_file: Path) -> None:
    results = evaluate_summarization(data_file, count=3)
    assert results["documents"] == len(TOWNS)
    nlp = load_nlp()
    lead, newsdesk = [], []
    for town in TOWNS:
        row = _article(town)
        text, reference = row["article"], reference_sentences(row["reference"])
        spans = split_sentences(nlp, text)
        lead.append(rouge_f1([text[s.start : s.end] for s in spans[:3]], reference))
        chosen = summarize(text=text, sentences=spans, count=3).sentences
        newsdesk.append(rouge_f1([s.text for s in chosen], reference))
    systems = results["systems"]
    assert systems["lead3"] == mean_percent(lead)
    assert systems["newsdesk"] == mean_percent(newsdesk)
    assert systems["newsdesk"] != systems["lead3"], "the byline is Lead-3's, not newsdesk's"
    assert min(systems["newsdesk"]["rouge2"], systems["lead3"]["rouge2"]) > 0
    for report in results["cv"].values():
        assert len(report["folds"]) == 5
        assert set(report["vs"]) == {"lead3", "ranked"}
        vs = report["vs"]["lead3"]
        assert vs["low"] <= vs["difference"] <= vs["high"]
    assert set(results["median_ms"]) == {"sentences", "summarize"}
    assert "lead3" in format_table(results)


def test_main_prints_a_table(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--data", str(data_file)])
    output = capsys.readouterr().out
    assert f"documents: {len(TOWNS)}" in output
    assert "lead3" in output and "mean ± sd" in output
