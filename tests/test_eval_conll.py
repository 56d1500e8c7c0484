"""Reading CoNLL-2003 files into documents with gold spans, and scoring them."""

from __future__ import annotations

from pathlib import Path

from evaluation.conll import evaluate_conll, read_documents

IOB1 = """SOCCER NN I-NP O
- : O O
JAPAN NNP I-NP I-LOC
WIN NNP I-NP O

AL-AIN NNP I-NP I-LOC
1996-12-06 CD I-NP O

Nadim NNP I-NP I-PER
Ladki NNP I-NP I-PER
met VBD I-VP O
UN NNP I-NP I-ORG
officials NNS I-NP O
in IN I-PP O
Paris NNP I-NP I-LOC
. . O O

RUGBY NN I-NP O

LONDON NNP I-NP I-LOC
1996-12-07 CD I-NP O

Tony NNP I-NP I-PER
Blair NNP I-NP I-PER
spoke VBD I-VP O
. . O O
"""

IOB2 = """-DOCSTART- -X- -X- O

Angela NNP B-NP B-PER
Merkel NNP I-NP I-PER
visited VBD B-VP O
Berlin NNP B-NP B-LOC
. . O O

-DOCSTART- -X- -X- O

Google NNP B-NP B-ORG
hired VBD B-VP O
staff NNS B-NP O
. . O O
"""


def test_documents_are_cut_at_datelines_and_spans_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "eng.testb"
    path.write_text(IOB1, encoding="utf-8")
    documents = read_documents(path)
    assert len(documents) == 2
    first = documents[0]
    spans = sorted((first.text[a:b], label) for a, b, label in first.gold)
    assert spans == [
        ("AL-AIN", "LOC"),
        ("JAPAN", "LOC"),
        ("Nadim Ladki", "PER"),
        ("Paris", "LOC"),
        ("UN", "ORG"),
    ]
    assert documents[1].text.startswith("RUGBY")


def test_docstart_lines_cut_documents_and_the_score_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "eng.testb"
    path.write_text(IOB2, encoding="utf-8")
    documents = read_documents(path)
    assert [sorted(d.text[a:b] for a, b, _ in d.gold) for d in documents] == [
        ["Angela Merkel", "Berlin"],
        ["Google"],
    ]
    result = evaluate_conll(path)
    assert result["documents"] == 2 and result["gold"] == 3
    assert 0 < result["model"]["f1"] <= 1 and 0 < result["newsdesk"]["f1"] <= 1
