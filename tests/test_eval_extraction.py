"""The extraction metric on hand-counted examples, and the "pasted text" conversion."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from evaluation.extraction import (
    format_table,
    load_pages,
    score_predictions,
    shingle_counts,
    shingles,
)
from evaluation.pasted_text import html_to_pasted_text


def test_shingles_are_word_4grams_over_w_tokens() -> None:
    assert shingles("a b, c-d e!") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("two words") == {("two", "words"): 1}
    assert shingles("") == {}


def test_shingle_counts_by_hand() -> None:
    # expected 4-grams: abcd, bcde; predicted: abcd, bcdx, cdxy -> TP 1, FP 2, FN 1 (of 4).
    assert shingle_counts("a b c d e", "a b c d x y") == (0.25, 0.5, 0.25)
    # repeated 4-grams count as a multiset: expected abcd x2 (a b c d a b c d -> 5 grams).
    tp, fp, fn = shingle_counts("a b c d a b c d", "a b c d")
    assert (tp, fp, fn) == (1 / 5, 0.0, 4 / 5)


def test_scores_by_hand() -> None:
    expected = ["a b c d e", "w x y z"]
    predicted = ["a b c d x y", "w x y z"]
    result = score_predictions(expected, predicted)
    # page 1: precision 0.25/0.75 = 1/3, recall 0.25/0.5 = 1/2; page 2: both 1.
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(3 / 4)
    assert result["f1"] == pytest.approx(12 / 17)
    assert result["accuracy"] == 0.5


def test_empty_prediction_scores_zero_precision_page_is_skipped() -> None:
    result = score_predictions(["a b c d e"], [""])
    assert result["recall"] == 0.0
    assert result["accuracy"] == 0.0


def test_pasted_text_keeps_visible_blocks_on_their_own_lines() -> None:
    html = """<html><head><title>Title</title><style>p {color: red}</style></head>
    <body><nav><ul><li><a href="/">Home</a></li><li>World</li></ul></nav>
    <script>var x = 1;</script><noscript>Enable JS</noscript>
    <h1>Big <em>news</em> today</h1>
    <div hidden>Hidden one</div><div aria-hidden="true">Hidden two</div>
    <p style="display: none">Hidden three</p>
    <p>First   paragraph<br>second line</p><p>Second&nbsp;paragraph</p>
    <button>Menu Close</button><template><p>Template</p></template>
    <footer>© 2020 Site</footer></body></html>"""
    assert html_to_pasted_text(html) == (
        "Home\nWorld\nBig news today\nFirst paragraph\nsecond line\n"
        "Second paragraph\nMenu Close\n© 2020 Site"
    )


def test_pasted_text_of_empty_input() -> None:
    assert html_to_pasted_text("  ") == ""


def test_load_pages_reads_the_benchmark_layout(tmp_path: Path) -> None:
    root = tmp_path / "extraction-dev"
    (root / "html").mkdir(parents=True)
    truth = {"p1": {"articleBody": "Body text", "url": "https://example.test/1"}}
    (root / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    with gzip.open(root / "html" / "p1.html.gz", "wt", encoding="utf-8") as file:
        file.write("<html><body><p>Body text</p></body></html>")
    assert load_pages(tmp_path) == {
        "p1": ("<html><body><p>Body text</p></body></html>", "Body text")
    }


def test_format_table() -> None:
    metric = {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "accuracy": 0.0}
    result: dict[str, object] = {
        "documents": 1,
        "html": {"newsdesk": metric},
        "pasted_text": {"no_cleaning": metric},
        "median_ms": {"clean_html": 1.0},
    }
    table = format_table(result)
    assert "html / newsdesk" in table and "0.667" in table


def test_make_eval_finds_every_set_in_the_data_folder(tmp_path: Path) -> None:
    from evaluation.__main__ import find_sets

    for name in ("extraction-dev", "extraction-test"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ground-truth.json").write_text("{}")
    (tmp_path / "extraction-notes").mkdir()
    (tmp_path / "summarization-dev.jsonl").write_text("")
    (tmp_path / "summarization-test.jsonl").write_text("")
    extraction, summaries = find_sets(tmp_path)
    assert [p.name for p in extraction] == ["extraction-dev", "extraction-test"]
    assert [p.name for p in summaries] == ["summarization-dev.jsonl", "summarization-test.jsonl"]


def test_page_rows_give_the_benchmark_figures() -> None:
    from evaluation.extraction import f1_of_rows, page_rows

    expected = ["a b c d e", "w x y z", "p q r s t"]
    predicted = ["a b c d x y", "w x y z", ""]
    rows = page_rows(expected, predicted)
    assert f1_of_rows(rows) == pytest.approx(score_predictions(expected, predicted)["f1"])
    assert rows[:, 2].tolist() == [0.0, 1.0, 0.0]


def test_justext_competitor_keeps_prose_and_drops_navigation() -> None:
    from evaluation.extraction import justext_paragraphs

    prose = (
        "The council approved the new budget on Tuesday after a long debate about the schools, "
        "the roads and the future of the public library, which had been closed for a year. "
        "The mayor said that the money would be spent on the buildings that need it most."
    )
    kept = justext_paragraphs(f"Home\nNews\nSport\n{prose}\n{prose}\nContact us\nPrivacy")
    assert prose in kept and "Privacy" not in kept and "Home" not in kept
