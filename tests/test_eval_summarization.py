"""The ROUGE helpers against hand-computed figures, and the evaluation run on a tiny file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.rouge import mean_percent, reference_sentences, rouge_f1
from evaluation.summarization import evaluate_summarization, format_table, main

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


@pytest.fixture()
def data_file(tmp_path: Path) -> Path:
    article = (
        "By . Staff Reporter . A council has voted to close the old swimming pool. "
        "The council said the pool cost too much to repair. "
        "Swimmers will use the new pool in the town centre. "
        "The old pool opened in 1936."
    )
    row = {
        "id": "t1",
        "url": "https://example.org/pool",
        "article": article,
        "reference": "Council votes to close the old swimming pool . Repairs cost too much .",
    }
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps(row) + "\n\n", encoding="utf-8")
    return path


def test_evaluate_summarization_scores_both_systems(data_file: Path) -> None:
    results = evaluate_summarization(data_file, count=2)
    assert results["documents"] == 1
    assert set(results["systems"]) == {"newsdesk", "lead3"}
    for figures in results["systems"].values():
        assert set(figures) == {"rouge1", "rouge2", "rougeLsum"}
        assert all(0.0 <= value <= 100.0 for value in figures.values())
    assert set(results["median_ms"]) == {"sentences", "summarize"}
    assert "newsdesk" in format_table(results)


def test_main_prints_a_table(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--data", str(data_file)])
    output = capsys.readouterr().out
    assert "documents: 1" in output
    assert "lead3" in output
