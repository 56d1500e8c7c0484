"""Unit tests of the clean stage's pure functions, including the seed article."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workers.pipeline.clean import UnprocessableDocument, clean_document, normalize_text
from workers.pipeline.clean_boilerplate import byline_author, is_boilerplate_line, is_dateline
from workers.pipeline.clean_html import filter_lines
from workers.pipeline.clean_text import LineKind, classify_line, clean_plain_text

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CONTENT_TYPES = {"article.txt": "text/plain", "article.html": "text/html"}
PROSE = (
    "The council approved the new budget on Tuesday after a long debate about schools, "
    "roads and the future of the public library."
)


def _seed(name: str) -> tuple[str, dict[str, Any]]:
    content = (SEEDS / name).read_text(encoding="utf-8")
    expect = json.loads((SEEDS / f"{name}.expect.json").read_text(encoding="utf-8"))
    return content, expect


@pytest.mark.parametrize("name", sorted(CONTENT_TYPES))
def test_seed_article_is_cleaned(name: str) -> None:
    content, expect = _seed(name)
    result = clean_document(content=content, content_type=CONTENT_TYPES[name])
    for kept in expect["must_keep"]:
        assert kept in result.text
    for dropped in expect["must_drop"]:
        assert dropped not in result.text
    assert result.title == expect["title"]
    assert len(result.text.split("\n\n")) == expect["paragraphs"]
    assert "Israel kills a senior IRGC official in Syria" in result.text.split("\n\n")


@pytest.mark.parametrize("name", sorted(CONTENT_TYPES))
def test_seed_expected_entities_are_in_the_text(name: str) -> None:
    content, expect = _seed(name)
    text = clean_document(content=content, content_type=CONTENT_TYPES[name]).text
    for entity in expect["entities"]:
        assert entity["text"] in text


def test_seed_html_metadata() -> None:
    content, _ = _seed("article.html")
    result = clean_document(content=content, content_type="text/html", url="https://x.test/a")
    assert result.author == "Peoples Dispatch"
    assert result.date == "2023-12-27"
    assert result.site == "Peoples Dispatch"
    assert result.language is None and result.warnings == []


def test_text_output_is_normalised() -> None:
    tabbed = PROSE.replace(" ", "\t ")
    raw = f"Menu\n\n\n  {PROSE}  \n\n\n\n{tabbed}\n\n\n"
    text = clean_document(content=raw, content_type="text/plain").text
    assert text == f"{PROSE}\n\n{PROSE}"


def test_normalize_text_nfc_spaces_and_blank_lines() -> None:
    assert normalize_text("\n\n Cafe\u0301  au\t lait \n\n\n\nx\n\n") == "Café au lait\n\nx"


def test_lines_without_blank_lines_each_become_a_paragraph() -> None:
    raw = f"Home\nNews\n{PROSE}\n{PROSE}\nShare\nFacebook\nTwitter"
    result = clean_plain_text(raw)
    assert result.text == f"{PROSE}\n\n{PROSE}"
    assert "Facebook" in result.removed


def test_title_above_the_body_is_returned_apart() -> None:
    result = clean_plain_text(f"Menu Close\n\nCouncil passes budget\n\nBy Jane Doe\n\n{PROSE}")
    assert result.title == "Council passes budget"
    assert result.text == PROSE
    assert result.removed == ["Menu Close", "By Jane Doe"]


def test_related_link_list_after_the_body_is_dropped() -> None:
    links = "\n".join(f"Headline number {n} about something" for n in range(5))
    result = clean_plain_text(f"{PROSE}\n{PROSE}\nRelated\n{links}\n{PROSE[:40]}")
    assert result.text == f"{PROSE}\n\n{PROSE}"


@pytest.mark.parametrize(
    "line",
    [
        "Menu Close",
        "Share This Article:",
        "Advertisement",
        "Picture: Jane Doe / AFP – A man walks past a banner.",
        "By Peoples Dispatch",
        "This article was published on Peoples Dispatch",
        "Sign up for our daily newsletter",
        "We use cookies to improve your experience. By continuing you agree to our use of cookies.",
        "© 2023 Example News. All rights reserved.",
        "Related: Ten things to know about the moon",
        "Follow us on Twitter @example",
        "Facebook Twitter WhatsApp Email",
        "Image caption: The minister arrives at the summit in Brussels on Monday",
        "Media caption The moment the bridge collapsed",
        "Photo: Jane Doe/Reuters",
        "Picture: PA",
        "A protester holds a sign outside parliament (Getty Images)",
        "ADVERTISEMENT - CONTINUE READING BELOW",
        "Story continues below advertisement",
        "1.2K comments",
        "1,234 Comments",
        "Comments (12)",
        "View 45 comments",
        "@jane_doe",
        "Follow @janedoe on Twitter",
        "Twitter: @janedoe",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert is_boilerplate_line(line)
    assert classify_line(line) is LineKind.BOILERPLATE


@pytest.mark.parametrize(
    "line",
    [
        PROSE,
        "Israel kills a senior IRGC official in Syria",
        "By contrast, the opposition said the cuts went too far and would hurt the schools.",
        "Posted on social media by the analysts, the video shows the game running slowly.",
        "Comments are closed on this story because of legal reasons, the editor said on Monday.",
        "Follow the money, said the detective who led the inquiry into the missing millions.",
        "Media: a changing landscape",
        "LONDON (Reuters) - Britain's economy grew faster than expected in the third quarter.",
    ],
)
def test_body_lines_are_not_boilerplate(line: str) -> None:
    assert not is_boilerplate_line(line)


def test_pasted_captions_credits_counts_and_handles_inside_the_body_are_dropped() -> None:
    furniture = [
        "Image caption: Rescue teams at the harbour on Sunday",
        "Photo: Jane Doe/AFP",
        "Advertisement",
        "Updated 2 hours ago",
        "342 comments",
        "@harbour_news",
        "A crowd gathers at the pier (Getty Images)",
    ]
    paragraph = " ".join([PROSE] * 3)
    raw = "\n".join([paragraph, *furniture[:4], paragraph, *furniture[4:], paragraph])
    result = clean_plain_text(raw)
    assert result.text == "\n\n".join([paragraph] * 3)
    assert all(line in result.removed for line in furniture)


def test_datelines() -> None:
    assert is_dateline("Updated 3 hours ago") and is_dateline("Updated an hour ago")
    assert classify_line("Updated 3 hours ago") is LineKind.BOILERPLATE
    assert is_dateline("Nov 19, 2019 at 9:08 GMT")
    assert is_dateline("Updated at 1:23 p.m.")
    assert not is_dateline("What’s new in 2.26 (September pack)?")
    assert not is_dateline(PROSE)


def test_html_line_filter_drops_repeated_title_prompts_and_link_lists() -> None:
    lines = ["Big news", "May 5, 2020", PROSE, "Related: More", "- One", "- Two", PROSE]
    kept, dropped = filter_lines(lines, title="Big News!", intro=None)
    assert kept == [PROSE, PROSE]
    assert dropped == ["Big news", "May 5, 2020", "Related: More", "- One", "- Two"]


def test_html_standfirst_is_dropped_but_a_first_paragraph_is_kept() -> None:
    standfirst = "A short summary without a full stop"
    kept, _ = filter_lines([standfirst, PROSE], title=None, intro=standfirst)
    assert kept == [PROSE]
    kept, _ = filter_lines([PROSE, PROSE], title=None, intro=PROSE)
    assert kept == [PROSE, PROSE]


def test_hidden_html_is_not_extracted() -> None:
    body = "".join(f"<p>{PROSE} {n}</p>" for n in range(4))
    html = (
        f"<html><head><title>T</title></head><body><article>{body}"
        f'<p style="display:none">Secret hidden paragraph that nobody sees at all.</p>'
        f"</article></body></html>"
    )
    result = clean_document(content=html, content_type="text/html")
    assert "Secret" not in result.text
    assert result.text.count("\n\n") == 3
    assert any("Secret" in entry for entry in result.removed)


def test_removed_is_bounded() -> None:
    raw = "\n".join(f"Menu item {n} " + "x" * 300 for n in range(150)) + f"\n{PROSE}"
    removed = clean_document(content=raw, content_type="text/plain").removed
    assert len(removed) == 100
    assert all(len(entry) <= 200 for entry in removed)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("<html><body><div></div></body></html>", "text/html"),
        ("", "text/html"),
        ("   \n\n ", "text/plain"),
        ("Menu\nShare\nAdvertisement", "text/plain"),
        ("some text", "application/pdf"),
    ],
)
def test_unprocessable_documents(content: str, content_type: str) -> None:
    with pytest.raises(UnprocessableDocument):
        clean_document(content=content, content_type=content_type)
    assert issubclass(UnprocessableDocument, ValueError)


def test_content_type_parameters_are_ignored() -> None:
    result = clean_document(content=PROSE, content_type="text/plain; charset=utf-8")
    assert result.text == PROSE


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("By Peoples Dispatch", "Peoples Dispatch"),
        ("By Jane Doe, Reuters", "Jane Doe"),
        ("BY JOHN SMITH | Updated 5:30 PM", "JOHN SMITH"),
        ("By May 5 the plan was dropped", None),
        ("Bystanders gathered outside the court", None),
        ("The report was written by staff", None),
    ],
)
def test_byline_author(line: str, author: str | None) -> None:
    assert byline_author(line) == author


def test_plain_text_author_comes_from_the_dropped_byline() -> None:
    result = clean_document(content=(SEEDS / "article.txt").read_text(), content_type="text/plain")
    assert result.author == "Peoples Dispatch"
    assert "By Peoples Dispatch" in result.removed
