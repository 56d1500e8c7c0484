"""The web page in a real browser (Debian's chromium, driven by Playwright) against the real
stack (redis-server, worker, reconciler, API): submit, follow the stages, read the result with
its marks at exactly the API's offsets; keyboard only, 375 px wide, untrusted content, API keys,
links, and the fallback from the event stream to long-polling."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect, sync_playwright

from contracts.documents import DocumentOptions, DocumentResult, DocumentView, StageView
from contracts.results import (
    CleanResult,
    EntitiesResult,
    Entity,
    Keyword,
    LanguageGuess,
    Mention,
    SummaryResult,
    SummarySentence,
)
from tests.conftest import FAST_RECOVERY_ENV, SEEDS, RedisServer, Stack

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing in the background: this machine refuses connections to the outside, and
# the page must not need any. Playwright gives each launch a fresh temporary profile.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
API_KEY = "web-page-test-key-0123456789"
ARTICLE = (SEEDS / "article.txt").read_text()
EMOJI_ARTICLE = """\
🎉 Celebrations 🇫🇷 spread across Paris on Monday after President Emmanuel Macron 👏 welcomed \
Chancellor Olaf Scholz of Germany 🇩🇪 for talks at the Élysée Palace about energy prices.

The two leaders 🤝 agreed that the European Union should buy gas jointly, officials in Berlin \
said on Tuesday, and 😀 Macron told reporters in Paris that the plan would be presented in \
Brussels next month.

Scholz said Germany 🇩🇪 would support the plan, while critics in Warsaw and Rome 🇮🇹 warned that \
it came too late for households facing higher bills this winter."""
HOSTILE_ARTICLE = """\
The city council in Springfield published a statement on Monday that contained an unusual line \
of code, <script>window.__pwned = true</script>, which a reporter copied into this article.

Mayor Jane Doe said the council website had been defaced by someone who also added \
<img src=x onerror="window.__pwned = true"> to the page, and that the police in Springfield \
were investigating the incident.

The council said no personal data had been taken and that the website would be restored by \
Friday, according to a spokesman for the city of Springfield."""
HOSTILE_TITLE = '<img src=x onerror="window.__pwned = true"> Council <b>statement</b>'

# Records every state each stage was shown in, in order, as [stage, state] pairs (a change's old
# value, since several changes can come before the observer runs).
RECORD_STAGE_STATES = """window.stageStates = [];
new MutationObserver((changes) => {
  for (const change of changes) {
    const item = change.target;
    if (item.dataset && item.dataset.stage && change.oldValue !== null)
      window.stageStates.push([item.dataset.stage, change.oldValue]);
  }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ["data-state"]});"""

# Where each highlight sits in the article, in code points (as Python counts), read from the DOM.
READ_MARKS = """(root) => {
  const ranges = new Map();
  let offset = 0;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const length = [...node.data].length;
    for (let el = node.parentElement; el && el !== root; el = el.parentElement) {
      const range = ranges.get(el);
      if (range) range.end = offset + length;
      else ranges.set(el, {start: offset, end: offset + length, length: 0});
      ranges.get(el).length += length;
    }
    offset += length;
  }
  const mentions = [], sentences = [];
  for (const [el, range] of ranges) {
    if (el.matches(".ent")) mentions.push({index: Number(el.dataset.mention),
      label: el.dataset.label, text: el.textContent, start: range.start, end: range.end,
      tag: getComputedStyle(el, "::after").content});
    if (el.matches("mark.summary")) sentences.push({index: Number(el.dataset.sentence),
      text: el.textContent, start: range.start, end: range.end, length: range.length});
  }
  return {mentions, sentences, text: root.textContent};
}"""


@dataclass
class Stacks:
    """One worker and reconciler; an open API and one that requires API keys."""

    open: Stack
    keyed: Stack


@pytest.fixture(scope="module")
def stacks(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stacks]:
    with redis_server.client() as redis:
        redis.flushall()
    tmp = tmp_path_factory.mktemp("web-stack")
    env = {**os.environ, **FAST_RECOVERY_ENV, "NEWSDESK_REDIS_URL": redis_server.url}
    open_stack = Stack(redis_url=redis_server.url, env=env, tmp=tmp)
    keyed = Stack(redis_url=redis_server.url, tmp=tmp,
                  env={**env, "NEWSDESK_API_KEYS": f"reader:{API_KEY}"})  # fmt: skip
    try:
        open_stack.worker(concurrency=2)
        open_stack.run("reconciler", "reconcile")
        open_stack.api()
        keyed.api()
        open_stack.wait_for_workers(timeout=90)
        yield Stacks(open_stack, keyed)
    finally:
        keyed.stop()
        open_stack.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "needs Debian's chromium (make test installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page in its own browser context, with what it requested and every error it logged."""

    page: Page
    base_url: str
    requests: list[Request]
    errors: list[str]
    # Console errors a test provokes on purpose (the browser logs refused requests as errors).
    expected_errors: list[str]

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.page.wait_for_selector("html[data-ready]")

    def document_id(self) -> str:
        match = re.search(r"/d/([0-9a-f]{32})$", self.page.url)
        assert match, self.page.url
        return match.group(1)

    def wait_finished(self, status: str = "completed", timeout: float = 60) -> None:
        self.page.wait_for_selector(f'#document[data-status="{status}"]', timeout=timeout * 1000)


@pytest.fixture
def open_tab(browser: Browser, stacks: Stacks) -> Iterator[Callable[..., Tab]]:
    """Opens tabs on a stack's API; checks afterwards that no page logged an error (a script
    error, a refused resource, a content-security-policy violation) or went to another origin."""
    contexts: list[tuple[BrowserContext, Tab]] = []

    def make(stack: Stack | None = None, **options: Any) -> Tab:
        stack = stack or stacks.open
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
        page = context.new_page()
        tab = Tab(page, stack.base_url, [], [], [])
        page.on("request", lambda request: tab.requests.append(request))
        page.on("pageerror", lambda error: tab.errors.append(f"page error: {error}"))
        page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        contexts.append((context, tab))
        return tab

    yield make
    for context, tab in contexts:
        context.close()
        foreign = [r.url for r in tab.requests if not r.url.startswith(tab.base_url + "/")]
        assert not foreign, f"requests to other origins: {foreign}"
        unexpected = [e for e in tab.errors if not any(x in e for x in tab.expected_errors)]
        assert not unexpected, unexpected


def submit(tab: Tab, text: str, *, content_type: str = "text/plain", title: str = "") -> str:
    """Fill the form with the mouse's help, submit, wait for completion; the document's id."""
    page = tab.page
    page.fill("#content", text)
    page.check(f'input[name="content_type"][value="{content_type}"]')
    if title:
        page.fill("#title-input", title)
    page.click("#submit-button")
    tab.wait_finished()
    return tab.document_id()


def fetch_view(stack: Stack, doc_id: str, key: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with stack.client() as client:
        response = client.get(f"/v1/documents/{doc_id}", headers=headers)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def create_document(stack: Stack, text: str, title: str | None = None) -> str:
    """A document made through the API directly, completed."""
    with stack.client() as client:
        body = {"content": text, **({"title": title} if title else {})}
        doc_id = str(client.post("/v1/documents", json=body).json()["id"])
        view = client.get(f"/v1/documents/{doc_id}", params={"wait": 30}, timeout=40).json()
    assert view["status"] == "completed", view
    return doc_id


def assert_marks_match(tab: Tab, view: dict[str, Any]) -> dict[str, Any]:
    """Every mention and summary sentence is marked at exactly its offsets, nothing else is."""
    result = view["result"]
    found = tab.page.eval_on_selector("#article", READ_MARKS)
    assert found["text"] == result["clean"]["text"], "the article shows the cleaned text verbatim"
    mentions = result["entities"]["mentions"]
    assert mentions, "the document has entities to mark"
    assert [(m["text"], m["label"], m["start"], m["end"]) for m in found["mentions"]] == [
        (m["text"], m["label"], m["start"], m["end"]) for m in mentions
    ], "same mentions, same order, same labels, same offsets"
    assert [m["index"] for m in found["mentions"]] == list(range(len(mentions)))
    for mark in found["mentions"]:  # the type is said in text too, not by colour alone
        assert re.fullmatch(r'"[a-z_]+"', mark["tag"]), mark
    sentences = result["summary"]["sentences"]
    assert sentences, "the document has a summary to mark"
    for index, sentence in enumerate(sentences):
        pieces = [s for s in found["sentences"] if s["index"] == index]
        assert pieces, f"sentence {index} is marked"
        assert "".join(p["text"] for p in pieces) == sentence["text"]
        assert pieces[0]["start"] == sentence["start"] and pieces[-1]["end"] == sentence["end"]
        assert sum(p["length"] for p in pieces) == sentence["end"] - sentence["start"]
    assert {s["index"] for s in found["sentences"]} == set(range(len(sentences)))
    return found  # type: ignore[no-any-return]


def assert_not_blank(path: Path, *, min_colours: int = 50) -> None:
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert colours is not None and len(colours) >= min_colours, f"{path} looks blank"


def test_the_page_is_served_by_the_api_as_static_files(stacks: Stacks) -> None:
    with stacks.open.client() as client:
        home = client.get("/")
        doc = client.get(f"/d/{'a' * 32}")
        script = client.get("/assets/app.js")
        unknown = client.get("/assets/secrets.txt")
        malformed = client.get("/d/not-an-id")
        openapi = client.get("/openapi.json").json()
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in home.headers["content-security-policy"]
    assert doc.status_code == 200 and doc.text == home.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert malformed.status_code == 404 and malformed.json()["code"] == "document_not_found"
    assert "/" not in openapi["paths"] and "/d/{doc_id}" not in openapi["paths"]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", home.text), "nothing from a CDN"


def test_the_seed_article_is_shown_with_its_entities_summary_and_keywords(
    open_tab: Callable[..., Tab], stacks: Stacks, tmp_path: Path
) -> None:
    tab = open_tab()
    page = tab.page
    page.add_init_script(RECORD_STAGE_STATES)
    tab.goto("/")
    doc_id = submit(tab, ARTICLE, title="US strikes in Iraq")
    view = fetch_view(stacks.open, doc_id)
    result = view["result"]
    found = assert_marks_match(tab, view)

    assert page.text_content("#doc-title") == "US strikes in Iraq"
    stages = page.eval_on_selector_all("#stages li", "els => els.map(e => e.dataset.state)")
    assert stages == ["completed", "completed", "completed"]
    seen = page.evaluate("window.stageStates")
    for stage in ("clean", "entities", "summarize"):
        states = [state for name, state in seen if name == stage] + ["completed"]
        changes = [state for i, state in enumerate(states) if i == 0 or states[i - 1] != state]
        assert changes == ["pending", "running", "completed"], f"{stage}: {states}"
    assert page.get_attribute("#status-line", "aria-live") == "polite"
    assert page.text_content("#status-line") == "Completed."

    listed = page.eval_on_selector_all(
        "#summary-list .sentence-text", "els => els.map(e => e.textContent)"
    )
    assert listed == [s["text"] for s in result["summary"]["sentences"]]
    keywords = page.eval_on_selector_all(
        "#keyword-list .keyword", "els => els.map(e => e.textContent)"
    )
    assert keywords == [k["text"] for k in result["keywords"]]
    language = result["language"]
    assert page.text_content('[data-field="language"]').startswith(f"{language['code']} (")
    assert page.get_attribute("#article", "lang") == language["code"]

    labels = {m["label"] for m in found["mentions"]}
    legend = page.eval_on_selector_all(
        "#legend .legend-item", "els => els.map(e => [e.dataset.label, e.textContent])"
    )
    assert {label for label, _ in legend} == labels
    assert all(re.search(r"\(\d+\)$", text) for _, text in legend), legend

    removed = result["clean"]["removed"]
    assert removed and page.get_attribute("#removed", "open") is None, "removed lines start folded"
    assert not page.is_visible("#removed-list")
    page.click("#removed summary")
    assert (
        page.eval_on_selector_all("#removed-list li", "els => els.map(e => e.textContent)")
        == removed
    )

    # Hovering a mention shows its entity: canonical name, type, count and salience.
    mentions = result["entities"]["mentions"]
    entity = max(result["entities"]["entities"], key=lambda e: (
        e["count"] > 1, mentions[e["mentions"][-1]]["text"] != e["name"]))  # fmt: skip
    page.hover(f'#article .ent[data-mention="{entity["mentions"][-1]}"]')
    tip = page.text_content("#entity-tip")
    assert page.is_visible("#entity-tip")
    assert entity["name"] in tip and f"{entity['count']} times" in tip
    assert f"salience {entity['salience']:.2f}" in tip

    # Showing a sentence of the list in the text, and a legend type hidden then shown again.
    page.click('#summary-list li[data-sentence="1"] button')
    assert page.evaluate("document.activeElement.id") == "sentence-1"
    first_label = legend[0][0]
    page.uncheck(f'#legend input[data-label="{first_label}"]')
    off = page.eval_on_selector_all(f'#article .ent[data-label="{first_label}"]',
                                    "els => els.every(e => e.hasAttribute('data-off'))")  # fmt: skip
    assert off

    page.check(f'#legend input[data-label="{first_label}"]')
    shown = page.eval_on_selector_all("#entity-list > li", "els => els.length")
    folded = page.eval_on_selector_all("#entity-more-list > li", "els => els.length")
    assert shown + folded == len(result["entities"]["entities"]) and shown <= 12

    # The screenshot (the README shows it): the top of the page, one name explained.
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.evaluate("window.scrollTo(0, 0)")
    person = next(i for i, m in enumerate(mentions) if m["label"] == "PERSON")
    page.hover(f'#article .ent[data-mention="{person}"]')
    screenshot = tmp_path / "web-page.png"
    page.screenshot(path=str(screenshot))
    whole = tmp_path / "web-page-full.png"
    page.screenshot(path=str(whole), full_page=True)
    print(f"\nscreenshots: {screenshot} {whole}")
    assert_not_blank(screenshot)
    assert_not_blank(whole)
    assert any(r.url.endswith(f"/v1/documents/{doc_id}/events") for r in tab.requests)
    assert page.get_attribute("#document", "data-transport") is None, "the stream delivered it"
    assert page.is_visible(f'#recent-list a[href="/d/{doc_id}"]')


def test_offsets_in_code_points_survive_emoji(open_tab: Callable[..., Tab], stacks: Stacks) -> None:
    tab = open_tab()
    tab.goto("/")
    doc_id = submit(tab, EMOJI_ARTICLE)
    view = fetch_view(stacks.open, doc_id)
    text = view["result"]["clean"]["text"]
    after_astral = [m for m in view["result"]["entities"]["mentions"]
                    if any(ord(c) > 0xFFFF for c in text[: m["start"]])]  # fmt: skip
    assert after_astral, "the test needs mentions after characters outside the BMP"
    assert_marks_match(tab, view)


def test_overlapping_marks_and_hostile_text_render_exactly(
    open_tab: Callable[..., Tab], stacks: Stacks
) -> None:
    """A made-up completed document (the API answer is replaced in the browser): a mention that
    crosses a summary sentence's end, emoji with joiners and flags, and markup in every field."""
    text = (
        "👩🏽‍💻 Ada Lovelace met 🇬🇧 Charles Babbage in London. The <script>window.__pwned = true"
        "</script> engine was never built.\n\nAda Lovelace wrote the notes <b>in 1843</b>."
    )

    def span(part: str, *, occurrence: int = 0) -> tuple[int, int]:
        start = -1
        for _ in range(occurrence + 1):
            start = text.index(part, start + 1)
        return start, start + len(part)

    parts = [("Ada Lovelace", "PERSON", 0), ("Charles Babbage", "PERSON", 0),
             ("London. The", "GPE", 0), ("Ada Lovelace", "PERSON", 1), ("1843", "DATE", 0)]  # fmt: skip
    mentions = [Mention(text=p, label=label, start=span(p, occurrence=n)[0], end=span(p, occurrence=n)[1])
                for p, label, n in parts]  # fmt: skip
    first = "👩🏽‍💻 Ada Lovelace met 🇬🇧 Charles Babbage in London."
    last = "Ada Lovelace wrote the notes <b>in 1843</b>."
    sentences = [
        SummarySentence(text=s, start=span(s)[0], end=span(s)[1], score=1.0) for s in (first, last)
    ]
    now = datetime.now(UTC)
    view = DocumentView(
        id="f" * 32, status="completed", created_at=now, updated_at=now, content_type="text/plain",
        options=DocumentOptions(title="<img src=x onerror=\"window.__pwned = true\">"),
        stages={s: StageView(status="completed", duration_ms=1.0, attempts=1)
                for s in ("clean", "entities", "summarize")},
        result=DocumentResult(
            clean=CleanResult(text=text, removed=["<script>window.__pwned = true</script>"]),
            language=LanguageGuess(code="en", confidence=0.99, source="detected"),
            entities=EntitiesResult(mentions=mentions, entities=[
                Entity(name="Ada Lovelace", label="PERSON", count=2, first_start=mentions[0].start,
                       salience=0.9, mentions=[0, 3]),
                Entity(name="Charles Babbage", label="PERSON", count=1,
                       first_start=mentions[1].start, salience=0.5, mentions=[1]),
                Entity(name="London. The", label="GPE", count=1, first_start=mentions[2].start,
                       salience=0.2, mentions=[2]),
                Entity(name="1843", label="DATE", count=1, first_start=mentions[4].start,
                       salience=0.1, mentions=[4]),
            ]),
            summary=SummaryResult(sentences=sentences, text=f"{first} {last}"),
            keywords=[Keyword(text="<i>engine</i>", score=0.5)],
        ),
    ).model_dump(mode="json")  # fmt: skip
    for mention in view["result"]["entities"]["mentions"]:
        assert text[mention["start"] : mention["end"]] == mention["text"]

    tab = open_tab()
    tab.page.route(f"**/v1/documents/{'f' * 32}", lambda route: route.fulfill(json=view))
    tab.goto(f"/d/{'f' * 32}")
    tab.wait_finished()
    assert_marks_match(tab, view)
    crossing = tab.page.eval_on_selector('.ent[data-mention="2"]',
                                         "e => [...e.querySelectorAll('mark')].map(m => m.textContent)")  # fmt: skip
    assert crossing == ["London."], "the mention holds the marked end of the sentence"
    page = tab.page
    assert page.evaluate("window.__pwned") is None
    assert page.eval_on_selector_all("#document script, #document img, #document b, #document i",
                                     "els => els.length") == 0  # fmt: skip
    assert page.text_content("#doc-title") == view["options"]["title"]
    assert page.text_content("#keyword-list .keyword") == "<i>engine</i>"
    assert page.text_content("#removed-list li") == "<script>window.__pwned = true</script>"


def test_an_article_with_script_is_shown_as_text_and_never_runs(
    open_tab: Callable[..., Tab], stacks: Stacks
) -> None:
    tab = open_tab()
    page = tab.page
    tab.goto("/")
    doc_id = submit(tab, HOSTILE_ARTICLE, title=HOSTILE_TITLE)
    view = fetch_view(stacks.open, doc_id)
    assert "<script>window.__pwned = true</script>" in view["result"]["clean"]["text"]
    assert_marks_match(tab, view)
    assert "<script>window.__pwned = true</script>" in page.text_content("#article")
    assert page.text_content("#doc-title") == HOSTILE_TITLE
    page.click("#recent-refresh")
    page.wait_for_selector(f'#recent-list a[href="/d/{doc_id}"]')
    assert page.text_content(f'#recent-list a[href="/d/{doc_id}"]') == HOSTILE_TITLE
    assert page.evaluate("window.__pwned") is None
    assert page.eval_on_selector_all("main script, main img, aside img", "els => els.length") == 0


def focus_by_tab(page: Page, selector: str, *, presses: int = 60) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with Tab")


def test_keyboard_only_submit_and_reading(open_tab: Callable[..., Tab], stacks: Stacks) -> None:
    tab = open_tab()
    page = tab.page
    tab.goto("/")
    focus_by_tab(page, "#content")
    page.keyboard.insert_text(ARTICLE)
    focus_by_tab(page, "#submit-button")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is visible"
    page.keyboard.press("Enter")
    tab.wait_finished()
    assert page.evaluate("document.activeElement.id") == "doc-title", "focus follows the new page"
    view = fetch_view(stacks.open, tab.document_id())
    result = view["result"]
    owner = {m: e for e in result["entities"]["entities"] for m in e["mentions"]}

    focus_by_tab(page, "#article .ent")
    assert page.evaluate("document.activeElement.dataset.mention") == "0"
    assert page.is_visible("#entity-tip")
    assert owner[0]["name"] in page.text_content("#entity-tip")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.mention") == "1"
    assert owner[1]["name"] in page.text_content("#entity-tip")
    assert f"salience {owner[1]['salience']:.2f}" in page.text_content("#entity-tip")
    page.keyboard.press("End")
    last = len(result["entities"]["mentions"]) - 1
    assert page.evaluate("document.activeElement.dataset.mention") == str(last)
    page.keyboard.press("Escape")
    assert not page.is_visible("#entity-tip")
    # One tab stop for the whole text: the next Tab leaves it.
    page.keyboard.press("Tab")
    assert not page.evaluate("document.activeElement.closest('#article')")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.dataset.mention") == str(last)

    # Ctrl+Enter submits from the text box too.
    page.go_back()
    page.wait_for_selector("#intake:not([hidden])")
    page.focus("#content")
    page.keyboard.insert_text(EMOJI_ARTICLE)
    page.keyboard.press("Control+Enter")
    tab.wait_finished()
    assert tab.document_id() != view["id"]


def test_readable_at_375_pixels(
    open_tab: Callable[..., Tab], stacks: Stacks, tmp_path: Path
) -> None:
    doc_id = create_document(stacks.open, ARTICLE, title="A narrow screen")
    tab = open_tab(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = tab.page
    for path in ("/", f"/d/{doc_id}"):
        tab.goto(path)
        if path != "/":
            tab.wait_finished()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} scrolls sideways ({width} px)"
        wider = page.eval_on_selector_all(
            "main *, aside *",
            "els => els.filter(e => e.getBoundingClientRect().right > 376)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className)",
        )
        assert not wider, wider
    size = page.eval_on_selector("#article", "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 16
    assert_marks_match(tab, fetch_view(stacks.open, doc_id))
    shot = tmp_path / "web-page-375.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")
    assert_not_blank(shot)


def test_api_keys_are_asked_for_kept_and_sent(open_tab: Callable[..., Tab], stacks: Stacks) -> None:
    tab = open_tab(stacks.keyed)
    tab.expected_errors.append("status of 401")
    page = tab.page
    tab.goto("/")
    page.wait_for_selector("#key-panel[open]")
    assert "API key" in page.text_content("#recent-note")
    page.fill("#content", ARTICLE)
    page.click("#submit-button")
    page.wait_for_selector("#form-error:not(:empty)")
    assert "needs a key" in page.text_content("#form-error")

    page.fill("#key-input", "not-the-right-key-at-all")
    page.press("#key-input", "Enter")
    page.wait_for_selector("#key-panel[open]")
    expect(page.locator("#key-note")).to_contain_text("not valid")

    page.fill("#key-input", API_KEY)
    page.press("#key-input", "Enter")
    expect(page.locator("#recent-note")).to_have_text("No documents yet.")
    assert page.text_content("#key-state") == "saved"
    doc_id = submit(tab, ARTICLE, title="Behind a key")
    events = [r for r in tab.requests if r.url.endswith(f"/v1/documents/{doc_id}/events")]
    assert events and events[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert_marks_match(tab, fetch_view(stacks.keyed, doc_id, key=API_KEY))

    tab.goto(f"/d/{doc_id}")  # a new page load: the key was kept
    tab.wait_finished()
    assert page.text_content("#key-state") == "saved"
    page.wait_for_selector(f'#recent-list a[href="/d/{doc_id}"]')
    assert page.evaluate("localStorage.getItem('newsdesk.apiKey')") == API_KEY

    if page.get_attribute("#key-panel", "open") is None:
        page.click("#key-panel summary")
    page.click("#key-forget")
    tab.goto(f"/d/{doc_id}")
    tab.wait_finished("error")
    assert "needs a key" in page.text_content("#doc-error")


def test_a_document_page_is_linkable_and_listed(
    open_tab: Callable[..., Tab], stacks: Stacks
) -> None:
    first = create_document(stacks.open, ARTICLE, title="First of two")
    second = create_document(stacks.open, EMOJI_ARTICLE, title="Second of two")
    tab = open_tab()
    tab.expected_errors += ["status of 404", "status of 410"]
    page = tab.page
    tab.goto(f"/d/{first}")
    tab.wait_finished()
    assert page.text_content("#doc-title") == "First of two"
    page.wait_for_selector(f'#recent-list a[href="/d/{second}"]')
    assert page.get_attribute(f'#recent-list a[href="/d/{first}"]', "aria-current") == "page"
    titles = page.eval_on_selector_all("#recent-list a", "els => els.map(e => e.textContent)")
    assert titles.index("Second of two") < titles.index("First of two"), "newest first"

    page.click(f'#recent-list a[href="/d/{second}"]')
    tab.wait_finished()
    assert tab.document_id() == second and page.text_content("#doc-title") == "Second of two"
    assert_marks_match(tab, fetch_view(stacks.open, second))

    tab.goto(f"/d/{'0' * 32}")
    tab.wait_finished("error")
    assert "no document" in page.text_content("#doc-error")

    tab.goto(f"/d/{first}")
    tab.wait_finished()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-button")
    tab.wait_finished("gone")
    with stacks.open.client() as client:
        assert client.get(f"/v1/documents/{first}").status_code == 410


def test_without_the_event_stream_the_page_long_polls(
    open_tab: Callable[..., Tab], stacks: Stacks
) -> None:
    tab = open_tab()
    tab.expected_errors.append("net::ERR_FAILED")
    page = tab.page
    page.route("**/v1/documents/*/events", lambda route: route.abort())
    tab.goto("/")
    doc_id = submit(tab, EMOJI_ARTICLE)
    assert page.get_attribute("#document", "data-transport") == "long-poll"
    polls = [r.url for r in tab.requests if f"/v1/documents/{doc_id}?wait=" in r.url]
    assert polls, "the page asked the API to wait"
    assert_marks_match(tab, fetch_view(stacks.open, doc_id))
    states = page.eval_on_selector_all("#stages li", "els => els.map(e => e.dataset.state)")
    assert states == ["completed"] * 3


def test_a_dropped_html_file_is_sent_as_html(open_tab: Callable[..., Tab], stacks: Stacks) -> None:
    html = (SEEDS / "article.html").read_text()
    tab = open_tab()
    page = tab.page
    tab.goto("/")
    dropped = page.evaluate_handle(
        """(html) => {
          const data = new DataTransfer();
          data.items.add(new File([html], "article.html", {type: "text/html"}));
          return data;
        }""",
        html,
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": dropped})
    expect(page.locator("#content-hint")).to_contain_text("article.html")
    assert page.input_value("#content") == html
    assert page.is_checked('input[name="content_type"][value="text/html"]')
    page.click("#submit-button")
    tab.wait_finished()
    view = fetch_view(stacks.open, tab.document_id())
    assert view["content_type"] == "text/html"
    assert page.text_content("#doc-title") == view["result"]["clean"]["title"]
    assert_marks_match(tab, view)

    # A text file chosen with the file picker is sent as plain text.
    tab.goto("/")
    page.set_input_files(
        "#file-input",
        files=[{"name": "article.txt", "mimeType": "text/plain", "buffer": ARTICLE.encode()}],
    )
    expect(page.locator("#content-hint")).to_contain_text("article.txt")
    assert page.is_checked('input[name="content_type"][value="text/plain"]')
    assert page.input_value("#content") == ARTICLE
