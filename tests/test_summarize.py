"""Unit tests of the pure extractive summarizer on short hand-written news texts."""

from __future__ import annotations

import math
import tracemalloc

import pytest
from spacy.language import Language

from contracts.results import SummaryResult
from workers.pipeline.nlp import load_nlp
from workers.pipeline.sentences import TextSpan, split_sentences
from workers.pipeline.summarize import HAND_SET, MAX_RANKED_SENTENCES, RANK_ONLY, summarize

# Three feature-style stories: an anecdote first, the central facts in the second paragraph,
# details that take those facts up, and a closing line that returns to the anecdote.
FERRY = """Maria Okafor still keeps the blue plastic chair she sat on for six hours. It was raining, her phone had died, and the café by the pier had long since closed. She remembers counting the gulls on the harbour wall to stay awake.

Ferry delays on the Harwick crossing have tripled over the past year, according to figures released on Tuesday by the regional transport authority. The authority said the ferry operator cancelled 412 crossings in 2023, up from 131 the year before, blaming staff shortages and the age of its two ferries. Passengers on the Harwick route now wait an average of 74 minutes for a delayed ferry, the transport authority's figures show.

The ferry operator, Northsea Lines, said it would add a third ferry to the Harwick crossing by the spring and hire forty more crew. Local councillors have asked the transport authority to fine the operator if ferry delays do not fall. "People depend on this crossing to get to work," one councillor said.

Okafor says she now takes the bus."""

SCHOOL = """The first thing you notice at Pinecrest is the silence. Pupils walk the corridors without a word, and the only sound is the hum of the old radiators. A cat sleeps on the windowsill of the head teacher's office.

Pinecrest is one of 37 rural schools that the county council plans to close next year to save money, the council confirmed on Monday. The council said closing the rural schools would save 12 million pounds a year, and that pupils from the closed schools would be bused to larger schools in nearby towns. Parents of pupils at the rural schools have started a petition against the closures, which has gathered more than 8,000 signatures.

A final vote on the school closures is due in June. The council said the rural schools had lost a third of their pupils in a decade."""

RECALL = """On a Sunday morning in March, Tom Reilly poured cereal for his twin daughters and went out to wash the car. When he came back, one of the girls was coughing and could not catch her breath. He still does not like to talk about the drive to the hospital.

The toymaker Brightway has recalled 240,000 plastic building sets after reports that small magnets in the sets came loose and were swallowed by children. Brightway said the recall covers building sets sold in Britain and Ireland between 2021 and 2023, and that parents should take the magnets away from children at once. The company said it had received 19 reports of children swallowing loose magnets from the building sets, four of whom needed surgery.

Parents can return the building sets to any shop for a full refund, the company said. Safety officials said swallowed magnets can pull together inside the body and cause serious injuries.

Reilly's daughter made a full recovery."""

# A wire-style story with page furniture around it.
WIRE = """By . Staff Reporter .

PUBLISHED: 10:21 GMT, 3 May 2015 | UPDATED: 11:02 GMT, 3 May 2015

(CNN) -- A magnitude 6.1 earthquake struck off the coast of northern Chile on Sunday, the national seismic service said. The earthquake was centred 40 kilometres west of the port of Iquique at a depth of 30 kilometres. Scroll down for video No damage or injuries were reported after the earthquake, and no tsunami warning was issued for the Chilean coast. Chile is one of the most earthquake-prone countries in the world."""


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_nlp()


def _spans(nlp: Language, text: str) -> list[TextSpan]:
    return split_sentences(nlp, text)


def _indices(spans: list[TextSpan], result: SummaryResult) -> list[int]:
    starts = [span.start for span in spans]
    return [starts.index(sentence.start) for sentence in result.sentences]


@pytest.mark.parametrize("text", [FERRY, SCHOOL, RECALL, WIRE])
def test_sentences_are_whole_spans_in_document_order(nlp: Language, text: str) -> None:
    spans = _spans(nlp, text)
    result = summarize(text=text, sentences=spans, count=3)
    assert len(result.sentences) == 3
    assert {(s.start, s.end) for s in result.sentences} <= {(s.start, s.end) for s in spans}
    assert [s.start for s in result.sentences] == sorted(s.start for s in result.sentences)
    for sentence in result.sentences:
        assert text[sentence.start : sentence.end] == sentence.text
        assert 0.0 <= sentence.score <= 1.0
    assert result.text == " ".join(s.text for s in result.sentences)
    assert max(s.score for s in result.sentences) == pytest.approx(1.0)


@pytest.mark.parametrize("count", [1, 2, 4])
def test_returns_count_sentences(nlp: Language, count: int) -> None:
    spans = _spans(nlp, FERRY)
    assert len(summarize(text=FERRY, sentences=spans, count=count).sentences) == count


def test_count_larger_than_sentence_count_returns_every_sentence(nlp: Language) -> None:
    text = "The bridge reopened on Monday after repairs. Traffic returned to normal by noon."
    spans = _spans(nlp, text)
    result = summarize(text=text, sentences=spans, count=10)
    assert [(s.start, s.end) for s in result.sentences] == [(s.start, s.end) for s in spans]


@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_empty_text_gives_empty_summary(nlp: Language, text: str) -> None:
    assert summarize(text=text, sentences=_spans(nlp, text)) == SummaryResult()


def test_no_sentences_or_zero_count_gives_empty_summary() -> None:
    assert summarize(text="Some text.", sentences=[]) == SummaryResult()
    assert summarize(text="Some text.", sentences=[TextSpan(0, 10)], count=0) == SummaryResult()


@pytest.mark.parametrize("text", [FERRY, SCHOOL, RECALL])
def test_ranking_alone_finds_central_facts_after_an_anecdotal_opening(
    nlp: Language, text: str
) -> None:
    spans = _spans(nlp, text)
    result = summarize(text=text, sentences=spans, count=3, scorer=HAND_SET, swap_margin=RANK_ONLY)
    # Sentences 0-2 are the anecdote; 3-5 state and develop the news.
    assert _indices(spans, result) == [3, 4, 5]


@pytest.mark.parametrize("text", [FERRY, SCHOOL, RECALL])
def test_the_default_keeps_the_lead_and_swaps_only_for_a_much_stronger_sentence(
    nlp: Language, text: str
) -> None:
    spans = _spans(nlp, text)
    lead = summarize(text=text, sentences=spans, count=3, swap_margin=math.inf)
    assert _indices(spans, lead) == [0, 1, 2], "an infinite margin never swaps"
    default = _indices(spans, summarize(text=text, sentences=spans, count=3))
    assert 3 in default, "the sentence stating the news is swapped in"
    assert set(default) & {0, 1, 2}, "not every lead sentence is replaced"


def test_near_duplicate_sentence_is_not_chosen_twice(nlp: Language) -> None:
    lead = (
        "Ferry delays on the Harwick crossing have tripled over the past year, "
        "the regional transport authority said on Tuesday."
    )
    repeat = (
        "Ferry delays on the Harwick crossing have tripled over the past year, "
        "the transport authority said."
    )
    body = FERRY.split("\n\n", 1)[1]
    text = f"{lead}\n\n{repeat}\n\n{body}"
    spans = _spans(nlp, text)
    result = summarize(text=text, sentences=spans, count=3)
    chosen = [s.text for s in result.sentences]
    assert not (lead in chosen and repeat in chosen)
    assert len(chosen) == 3


def test_skips_bylines_timestamps_and_page_furniture(nlp: Language) -> None:
    spans = _spans(nlp, WIRE)
    result = summarize(text=WIRE, sentences=spans, count=3)
    chosen = " ".join(s.text for s in result.sentences)
    assert "Staff Reporter" not in chosen
    assert "PUBLISHED" not in chosen
    assert "Scroll down" not in chosen
    assert result.sentences[0].text.startswith("(CNN) -- A magnitude 6.1 earthquake")


def test_title_favours_the_sentences_it_names(nlp: Language) -> None:
    spans = _spans(nlp, FERRY)
    title = "Northsea Lines to add a third ferry and hire forty more crew"
    with_title = summarize(text=FERRY, sentences=spans, count=3, title=title)
    without = summarize(text=FERRY, sentences=spans, count=3)
    named = "The ferry operator, Northsea Lines, said it would add a third ferry"
    assert any(s.text.startswith(named) for s in with_title.sentences)
    assert not any(s.text.startswith(named) for s in without.sentences)


def test_a_very_long_document_is_ranked_within_bounded_memory() -> None:
    sentence = "Officials in district {n} reported heavy rain and closed road {n} on Monday."
    text = " ".join(sentence.format(n=n) for n in range(20_000))
    spans, position = [], 0
    for n in range(20_000):
        length = len(sentence.format(n=n))
        spans.append(TextSpan(position, position + length))
        position += length + 1
    tracemalloc.start()
    try:
        result = summarize(text=text, sentences=spans, count=3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Ranking all 20,000 sentences would need a 20,000 × 20,000 similarity matrix (3.2 GB).
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert len(result.sentences) == 3
    assert all(text[s.start : s.end] == s.text for s in result.sentences)
    assert result.sentences[-1].start < spans[MAX_RANKED_SENTENCES].start
