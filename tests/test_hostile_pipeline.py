"""Hostile and odd input: bounded time (the interpreter never held for long) or a clear refusal."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from spacy.language import Language

from contracts.documents import DocumentOptions
from contracts.results import CleanResult
from workers.pipeline.clean import UnprocessableDocument, clean_document
from workers.pipeline.clean_html import MAX_DEPTH, MAX_ELEMENTS
from workers.pipeline.nlp import load_nlp
from workers.pipeline.stages import run_clean, run_entities, run_summarize

PROSE = (
    "The council approved the new budget on Tuesday after a long debate about schools, "
    "roads and the future of the public library in Springfield."
)
# The worker's lease heartbeat needs the interpreter every 2.5 s; leave it a wide margin.
MAX_HELD_SECONDS = 1.0


@dataclass
class Held:
    """The longest stretch during which a ticking thread could not run."""

    longest: float = 0.0
    gaps: list[float] = field(default_factory=list)


@contextmanager
def interpreter_watch() -> Iterator[Held]:
    """Measure how long the code inside holds the interpreter without letting a thread run."""
    held, done = Held(), threading.Event()

    def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.01)
            now = time.perf_counter()
            held.gaps.append(now - last)
            last = now

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield held
    finally:
        done.set()
        thread.join()
        held.longest = max(held.gaps, default=0.0)


def _timed(function: Callable[[], object]) -> tuple[object, float, float]:
    """What ``function`` returned or raised, its wall time, and the longest interpreter hold."""
    started = time.perf_counter()
    with interpreter_watch() as held:
        try:
            outcome: object = function()
        except UnprocessableDocument as exc:
            outcome = exc
    return outcome, time.perf_counter() - started, held.longest


def _html(body: str) -> str:
    return f"<html><head><title>T</title></head><body>{body}</body></html>"


def test_html_nested_100000_levels_is_refused_at_once() -> None:
    page = _html("<div>" * 100_000 + PROSE + "</div>" * 100_000)
    outcome, seconds, held = _timed(lambda: clean_document(content=page, content_type="text/html"))
    assert isinstance(outcome, UnprocessableDocument)
    assert f"deeper than {MAX_DEPTH}" in str(outcome)
    assert seconds < 2.0 and held < MAX_HELD_SECONDS


def test_a_million_tiny_paragraphs_are_refused_at_once() -> None:
    page = _html("<p>a</p>" * 600_000)  # 4.8 MB
    outcome, seconds, held = _timed(lambda: clean_document(content=page, content_type="text/html"))
    assert isinstance(outcome, UnprocessableDocument)
    assert f"more than {MAX_ELEMENTS}" in str(outcome)
    assert seconds < 5.0 and held < MAX_HELD_SECONDS


@pytest.mark.parametrize(
    "unit",
    [
        "<p>a</p>",
        '<li><a href="/x">link text here</a></li>',
        "<div><span>a b</span> c</div>",
        "<tr><td>cell text</td></tr>",
    ],
)
def test_pages_just_under_the_element_bound_finish_in_bounded_time(unit: str) -> None:
    elements_per_unit = unit.count("</")
    page = _html(unit * ((MAX_ELEMENTS - 10) // elements_per_unit))
    _, seconds, held = _timed(lambda: clean_document(content=page, content_type="text/html"))
    assert seconds < 20.0, "cleaning time at the bound stays far below the stage's time limit"
    assert held < MAX_HELD_SECONDS


def test_five_megabytes_inside_one_tag_never_hold_the_interpreter_for_long() -> None:
    page = _html("<p>" + "word " * 1_000_000 + "</p>")
    outcome, seconds, held = _timed(lambda: clean_document(content=page, content_type="text/html"))
    assert not isinstance(outcome, UnprocessableDocument)
    assert seconds < 30.0 and held < MAX_HELD_SECONDS


def test_five_megabytes_of_plain_text_on_one_line_never_hold_the_interpreter_for_long() -> None:
    text = "word " * 1_000_000
    outcome, seconds, held = _timed(lambda: clean_document(content=text, content_type="text/plain"))
    assert not isinstance(outcome, UnprocessableDocument)
    assert seconds < 30.0 and held < MAX_HELD_SECONDS


def test_control_characters_and_nul_bytes_are_removed() -> None:
    raw = f"{PROSE[:40]}\x00\x07{PROSE[40:]}\x1b\n\n\x0c{PROSE}\u2029{PROSE}\x85"
    text = clean_document(content=raw, content_type="text/plain").text
    assert text == f"{PROSE}\n\n{PROSE}\n\n{PROSE}"
    html = clean_document(
        content=_html(f"<p>{PROSE}\x00</p><p>\x01{PROSE}</p>"), content_type="text/html"
    )
    assert "\x00" not in html.text and "\x01" not in html.text and PROSE in html.text


def test_a_document_of_nul_bytes_is_refused() -> None:
    for content_type in ("text/plain", "text/html"):
        with pytest.raises(UnprocessableDocument):
            clean_document(content="\x00" * 10_000, content_type=content_type)


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧, one emoji of three joined
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"
EMOJI_TEXT = (
    f"Family day {FAMILY} at the beach in Brighton was a success, Mayor Jane Smith said on "
    f"Sunday. 🎉🎉 The council will hold the festival again next year {RAINBOW_FLAG}.\n\n"
    "Thousands of visitors came from London and Paris 😍, organisers said. The Brighton "
    "Council thanked volunteers from the Red Cross for their help 👏👏.\n\n"
    "Officials said the festival raised £20,000 for local schools."
)
RTL_TEXT = (
    "مرحبا بالعالم. وزير الخارجية زار القاهرة يوم الاثنين.\n\n"
    "The foreign minister of Egypt, Sameh Shoukry, met reporters in Cairo on Monday "
    "and said talks with Israel would continue. שלום עליכם‎ is how the guests were greeted.\n\n"
    "He said the next meeting would be in Amman, Jordan, in March."
)


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_nlp()


@pytest.mark.parametrize("content", [EMOJI_TEXT, RTL_TEXT, f"<p>{EMOJI_TEXT}</p>"])
def test_every_offset_is_exact_in_emoji_and_right_to_left_text(nlp: Language, content: str) -> None:
    content_type = "text/html" if content.startswith("<p>") else "text/plain"
    if content_type == "text/html":
        content = _html(content.replace("\n\n", "</p><p>") * 3)
    options = DocumentOptions(language="en")
    clean = run_clean(content=content, content_type=content_type, options=options)
    analysis = run_entities(clean=clean, nlp=nlp)
    summary = run_summarize(clean=clean, analysis=analysis, options=options).summary
    text = clean.text
    assert analysis.entities.mentions, "entities are found"
    for mention in analysis.entities.mentions:
        assert text[mention.start : mention.end] == mention.text
    assert summary.sentences
    for sentence in summary.sentences:
        assert text[sentence.start : sentence.end] == sentence.text
    for span in analysis.sentences:
        assert text[span.start : span.end].strip() == text[span.start : span.end]


def test_joined_emoji_sequences_stay_whole(nlp: Language) -> None:
    clean = run_clean(content=EMOJI_TEXT, content_type="text/plain", options=DocumentOptions())
    assert FAMILY in clean.text and RAINBOW_FLAG in clean.text
    assert clean.language is not None and clean.language.code == "en"
    analysis = run_entities(clean=clean, nlp=nlp)
    assert analysis.entities.skipped is None


def test_a_paragraph_longer_than_a_model_block_never_holds_the_interpreter(nlp: Language) -> None:
    sentence = "The council in Springfield approved the budget on Tuesday, Mayor Jane Smith said. "
    clean = CleanResult(text=(sentence * 1500).strip())  # 125,000 characters, one paragraph
    options = DocumentOptions()
    started = time.perf_counter()
    with interpreter_watch() as held:
        analysis = run_entities(clean=clean, nlp=nlp)
        summary = run_summarize(clean=clean, analysis=analysis, options=options).summary
    assert held.longest < MAX_HELD_SECONDS
    assert time.perf_counter() - started < 60
    assert len(analysis.sentences) >= 1500 and summary.sentences
    for sentence_span in summary.sentences:
        assert clean.text[sentence_span.start : sentence_span.end] == sentence_span.text
