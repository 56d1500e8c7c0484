"""Language detection, unsupported languages, keywords and sentence boundaries."""

from __future__ import annotations

import pytest

from contracts.documents import DocumentOptions
from contracts.results import LanguageGuess
from workers.pipeline.keywords import extract_keywords
from workers.pipeline.language import (
    CONFIDENT,
    UNDETERMINED,
    declared_language,
    detect_language,
    entity_support,
)
from workers.pipeline.nlp import load_nlp
from workers.pipeline.sentences import split_paragraphs, split_sentences
from workers.pipeline.stages import run_clean, run_entities, run_summarize

GERMAN = (
    "Der Bundestag hat am Dienstag ein neues Gesetz beschlossen, das die Mieten in großen Städten begrenzt.\n\n"
    "Die Opposition kritisierte den Entwurf scharf. Vertreter der Mieterverbände begrüßten die Entscheidung "
    "dagegen und sprachen von einem wichtigen Schritt für Familien mit kleinen Einkommen.\n\n"
    "Das Gesetz soll im kommenden Jahr in Kraft treten, sofern der Bundesrat zustimmt."
)
ENGLISH = (
    "The city council approved the new budget on Monday after a long debate.\n\n"
    "Mayor Jane Smith said the plan would fund three new schools. Critics said taxes would rise."
)


def test_detects_english_and_german_with_confidence() -> None:
    english, german = detect_language(ENGLISH), detect_language(GERMAN)
    assert (english.code, german.code) == ("en", "de")
    assert english.confidence > 0.9 and german.confidence > 0.9
    assert english.source == "detected"


def test_declared_language_wins() -> None:
    assert declared_language("en-GB").model_dump() == {
        "code": "en",
        "confidence": 1.0,
        "source": "declared",
    }


def test_unsupported_language_is_cleaned_and_summarized_but_entities_are_skipped_with_a_warning() -> (
    None
):
    nlp = load_nlp()
    clean = run_clean(content=GERMAN, content_type="text/plain", options=DocumentOptions())
    assert clean.language is not None and clean.language.code == "de"
    assert any("not 'de'" in w for w in clean.warnings)
    analysis = run_entities(clean=clean, nlp=nlp)
    entities = analysis.entities
    assert entities.skipped and not entities.mentions and not entities.entities
    assert len(analysis.sentences) >= 2, "sentences are found even when entities are skipped"
    options = DocumentOptions(summary_sentences=2)
    summarized = run_summarize(clean=clean, analysis=analysis, options=options)
    assert len(summarized.summary.sentences) == 2
    assert summarized.keywords


def test_uncertain_detection_still_extracts_but_warns() -> None:
    uncertain = LanguageGuess(code="fr", confidence=CONFIDENT - 0.01, source="detected")
    supported, warning = entity_support(uncertain)
    assert supported
    assert warning is not None and "unreliable" in warning and "'fr'" in warning
    certain = LanguageGuess(code="fr", confidence=CONFIDENT, source="detected")
    assert entity_support(certain)[0] is False


@pytest.mark.parametrize("text", ["ok ok", "👍👍👍 !!! 123", ""])
def test_too_little_text_is_undetermined_not_guessed(text: str) -> None:
    guess = detect_language(text)
    assert (guess.code, guess.confidence) == (UNDETERMINED, 0.0)
    supported, warning = entity_support(guess)
    assert supported and warning is not None and "unreliable" in warning


@pytest.mark.parametrize(
    "text",
    [
        "Love this 😍😍😍😍😍😍😍😍 so much 🙌🙌🙌🙌🙌",
        "👨‍👩‍👧 family day at the beach ☀️🌊🏖️ best day ever",
        "The vote is today 🗳️🗳️🗳️🗳️🗳️🗳️🗳️🗳️🗳️🗳️🗳️🗳️",
        "Happy birthday mom! 🎂🎉🎈🎁❤️❤️❤️",
    ],
)
def test_emoji_do_not_make_short_english_text_a_confident_other_language(text: str) -> None:
    guess = detect_language(text)
    assert guess.code == "en" or guess.confidence < CONFIDENT
    assert guess.confidence < CONFIDENT, "a few words are never detected with certainty"
    assert entity_support(guess)[0], "entities are still extracted"


def test_keywords_are_ranked_phrases_scored_in_unit_range() -> None:
    keywords = extract_keywords(ENGLISH * 3)
    assert keywords and keywords[0].score == 1.0
    assert all(0 < k.score <= 1 for k in keywords)
    assert [k.score for k in keywords] == sorted((k.score for k in keywords), reverse=True)
    assert any("budget" in k.text.lower() or "council" in k.text.lower() for k in keywords)
    assert extract_keywords("   ") == []


def test_paragraphs_and_sentences_are_trimmed_spans() -> None:
    text = "  First one. Second one.\n\n\n Third paragraph here.  \n"
    paragraphs = split_paragraphs(text)
    assert [text[p.start : p.end] for p in paragraphs] == [
        "First one. Second one.",
        "Third paragraph here.",
    ]
    sentences = split_sentences(load_nlp(), text)
    assert [text[s.start : s.end] for s in sentences] == [
        "First one.",
        "Second one.",
        "Third paragraph here.",
    ]


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_text_has_no_spans(text: str) -> None:
    assert split_paragraphs(text) == [] and split_sentences(load_nlp(), text) == []


def test_a_paragraph_longer_than_the_block_limit_is_cut_at_white_space() -> None:
    text = " ".join(f"word{n}" for n in range(30_000))  # one line, about 250,000 characters
    blocks = split_paragraphs(text, max_chars=100_000)
    assert len(blocks) == 3
    assert all(b.end - b.start <= 100_000 for b in blocks)
    assert " ".join(text[b.start : b.end] for b in blocks) == text, "nothing lost, no word cut"
