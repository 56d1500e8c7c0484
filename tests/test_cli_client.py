"""``newsdesk submit | get | watch`` run as real processes against the real stack."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.documents import DocumentView
from newsdesk.client import Client
from newsdesk.inputs import UnreadableInput, collect_documents, content_type_of, decode
from tests.conftest import REPO, SEEDS, Stack
from tests.test_sdk import KEY, running_stack

pytestmark = pytest.mark.e2e
ARTICLE = (SEEDS / "article.txt").read_text()
HTML = (SEEDS / "article.html").read_text()
NO_TEXT = "<html><head><title>Menu</title></head><body><script>var a = 1;</script></body></html>"
ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("cli"), workers=True) as stack:
        yield stack


def newsdesk(
    stack: Stack, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The ``newsdesk`` command with the API's address and key in the environment."""
    environment = {**os.environ, "NEWSDESK_URL": stack.base_url, "NEWSDESK_API_KEY": KEY,
                   **(env or {})}  # fmt: skip
    for name in ("FORCE_COLOR", "NO_COLOR"):
        if name not in (env or {}):
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-m", "newsdesk", *args], input=stdin, env=environment,
                          capture_output=True, text=True, timeout=180, cwd=REPO, check=False)  # fmt: skip


def json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_submit_takes_folders_globs_and_stdin_and_waits_for_every_document(
    live: Stack, tmp_path: Path
) -> None:
    (tmp_path / "desk" / "world").mkdir(parents=True)
    (tmp_path / "desk" / "one.txt").write_text(ARTICLE)
    (tmp_path / "desk" / "world" / "two.html").write_text(HTML)
    (tmp_path / "desk" / "notes.json").write_text("{}")  # not a document type: left out
    (tmp_path / "desk" / ".drafts").mkdir()
    (tmp_path / "desk" / ".drafts" / "draft.txt").write_text("hidden")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "wire-story").write_text(HTML)  # no extension: sniffed as HTML
    desk, pattern = str(tmp_path / "desk"), str(tmp_path / "inbox" / "wire-*")
    done = newsdesk(live, "submit", "--wait", "--json", "--summary-sentences", "2",
                    "--metadata", "desk=world", "--metadata", "priority=2",
                    desk, pattern, "-", stdin=ARTICLE.replace("Mousavi", "Moussavi"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stdout)
    sources = [str(line["source"]) for line in lines]
    assert sources == [f"{desk}/one.txt", f"{desk}/world/two.html",
                       str(tmp_path / "inbox" / "wire-story"), "-"]  # fmt: skip
    views = [DocumentView.model_validate(line["document"]) for line in lines]
    assert [line["status"] for line in lines] == ["completed"] * 4
    assert [v.content_type for v in views] == ["text/plain", "text/html", "text/html", "text/plain"]
    assert all(v.options.summary_sentences == 2 for v in views)
    assert all(v.options.metadata == {"desk": "world", "priority": 2} for v in views)
    assert all(v.batch_id == views[0].batch_id is not None for v in views), "one batch"
    assert views[3].result is not None and views[3].result.clean is not None
    assert "Moussavi" in views[3].result.clean.text, "read from standard input"


def test_submit_prints_ids_and_exits_non_zero_on_rejected_or_failed_documents(
    live: Stack, tmp_path: Path
) -> None:
    (tmp_path / "good.txt").write_text(ARTICLE)
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "menu.html").write_text(NO_TEXT)
    one = newsdesk(live, "submit", str(tmp_path / "good.txt"))
    assert one.returncode == 0, one.stderr
    doc_id, status, source = one.stdout.split()
    assert ID.match(doc_id) and status == "queued" and source.endswith("good.txt")
    rejected = newsdesk(live, "submit", str(tmp_path / "good.txt"), str(tmp_path / "empty.txt"))
    assert rejected.returncode == 1
    rows = [line.split(None, 2) for line in rejected.stdout.splitlines()]
    assert [row[1] for row in rows] == ["queued", "rejected"]
    assert "422 invalid_document" in rows[1][2] and "2 documents: 1 queued, 1 rejected" in (
        rejected.stderr)  # fmt: skip
    failed = newsdesk(live, "submit", "--wait", str(tmp_path / "menu.html"))
    assert failed.returncode == 1 and " failed " in failed.stdout, failed.stdout
    assert "unprocessable_document" in failed.stdout
    missing = newsdesk(live, "submit", str(tmp_path / "good.txt"), str(tmp_path / "nope*.txt"))
    assert missing.returncode == 2 and "nope*.txt: no such file" in missing.stderr
    assert missing.stdout == "", "nothing is submitted when an input is wrong"
    denied = newsdesk(
        live, "submit", "--api-key", "wrong-key-0123456789", str(tmp_path / "good.txt")
    )
    assert denied.returncode == 1 and "401 unauthorized" in denied.stderr
    away = newsdesk(live, "submit", "--url", "http://127.0.0.1:9", str(tmp_path / "good.txt"),
                    env={"NEWSDESK_URL": live.base_url})  # fmt: skip
    assert away.returncode == 1 and "connection_failed" in away.stderr, "--url wins"


def _completed(stack: Stack, content: str = ARTICLE) -> DocumentView:
    with Client(stack.base_url, KEY) as client:
        return client.wait(client.submit(content).id, timeout=60)


def test_get_prints_the_text_with_labelled_entities_the_summary_and_keywords(live: Stack) -> None:
    view = _completed(live)
    assert view.result is not None and view.result.entities is not None
    assert view.result.summary is not None and view.result.keywords
    plain = newsdesk(live, "get", view.id)
    assert plain.returncode == 0, plain.stderr
    assert "\x1b[" not in plain.stdout, "no colour when the output is not a terminal"
    for mention in view.result.entities.mentions[:10]:
        assert f"[{mention.text}|{mention.label}]" in plain.stdout
    assert "Entities, marked [text|LABEL]: " in plain.stdout
    for sentence in view.result.summary.sentences:
        assert f"• {sentence.text}" in plain.stdout
    keywords = next(line for line in plain.stdout.splitlines() if line.startswith("Keywords: "))
    assert keywords == "Keywords: " + ", ".join(k.text for k in view.result.keywords)
    colour = newsdesk(live, "get", view.id, env={"FORCE_COLOR": "1"})
    assert "\x1b[" in colour.stdout and "|PERSON]" not in colour.stdout
    assert re.search(r"\x1b\[[0-9;]*m" + re.escape(view.result.entities.mentions[0].text),
                     colour.stdout)  # fmt: skip
    as_json = newsdesk(live, "get", "--json", view.id)
    assert DocumentView.model_validate_json(as_json.stdout) == view
    unknown = newsdesk(live, "get", "0" * 32)
    assert unknown.returncode == 1 and "404 document_not_found" in unknown.stderr


def test_watch_prints_each_stage_change_then_the_outcome(live: Stack) -> None:
    with Client(live.base_url, KEY) as client:
        doc_id = client.submit(HTML, content_type="text/html").id
    watched = newsdesk(live, "watch", doc_id)
    assert watched.returncode == 0, watched.stderr
    lines = watched.stdout.splitlines()
    changes = [line.split()[1:3] for line in lines if re.match(r"^\d\d:\d\d:\d\d\.\d{3}  ", line)]
    assert changes[0] == ["queued"] and changes[-1] == ["document", "completed"]
    for stage in ("clean", "entities", "summarize"):
        assert [stage, "running"] in changes and [stage, "completed"] in changes
    outcome = lines[len(changes) + 1]
    assert outcome.startswith("completed, in ") and "entities" in outcome
    assert "Summary" in lines and any(line.startswith("Keywords: ") for line in lines)
    events = json_lines(newsdesk(live, "watch", "--json", doc_id).stdout)
    assert events[0]["kind"] == "queued" and events[-1]["kind"] == "document"
    with Client(live.base_url, KEY) as client:
        cancelled = client.submit("\n\n".join([ARTICLE] * 20)).id
        client.cancel(cancelled)
    stopped = newsdesk(live, "watch", cancelled)
    assert stopped.returncode == 1 and "document   cancelled" in stopped.stdout


def test_submit_shows_progress_bars_on_a_terminal(live: Stack, tmp_path: Path) -> None:
    for number in range(3):
        (tmp_path / f"story-{number}.txt").write_text(f"{ARTICLE}\n\nEdition {number}.")
    controller, terminal = pty.openpty()
    environment = {**os.environ, "NEWSDESK_URL": live.base_url, "NEWSDESK_API_KEY": KEY,
                   "COLUMNS": "100"}  # fmt: skip
    command = [sys.executable, "-m", "newsdesk", "submit", "--wait", str(tmp_path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal, env=environment,
                          cwd=REPO) as process:  # fmt: skip
        os.close(terminal)
        seen = _read_terminal(controller, process, deadline=time.monotonic() + 120)
        stdout = process.stdout.read().decode() if process.stdout else ""
        assert process.wait(30) == 0
    shown = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", seen).decode(errors="replace")
    assert "submitting" in shown and "processing" in shown and "3/3" in shown, shown
    assert len(stdout.splitlines()) == 3 and "3 documents: 3 completed" in shown


def _read_terminal(controller: int, process: subprocess.Popen[bytes], *, deadline: float) -> bytes:
    """Everything written to the terminal until the process ends (then the terminal closes)."""
    seen = b""
    try:
        while time.monotonic() < deadline:
            if select.select([controller], [], [], 0.5)[0]:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the process ended and closed its side
                    break
                if not chunk:
                    break
                seen += chunk
            elif process.poll() is not None:
                break
    finally:
        os.close(controller)
    return seen


# -- reading inputs ------------------------------------------------------------------------------


def test_inputs_are_typed_by_extension_else_by_their_first_bytes() -> None:
    assert content_type_of("a.HTM", b"plain words") == "text/html"
    assert content_type_of("notes.md", b"<p>markup in markdown</p>") == "text/plain"
    assert content_type_of("-", b"\xef\xbb\xbf  <!DOCTYPE html><html>") == "text/html"
    assert content_type_of("story", b"<div class=x>News</div>") == "text/html"
    assert content_type_of("story", b"<3 the city council met on Monday") == "text/plain"


def test_inputs_are_decoded_by_bom_declared_charset_else_utf8(tmp_path: Path) -> None:
    page = '<html><head><meta charset="windows-1252"></head><body>café “quoted”</body></html>'
    assert "café “quoted”" in decode(page.encode("cp1252"), "text/html")
    assert decode("é".encode("utf-16"), "text/plain") == "é"
    with pytest.raises(UnreadableInput, match="not utf-8 text"):
        decode("café".encode("latin-1"), "text/plain")
    with pytest.raises(UnreadableInput, match="NUL"):
        decode(b"a\x00b", "text/plain")
    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "b.bin").write_bytes(b"\x80\x81\x82")
    found = collect_documents([str(tmp_path), str(tmp_path / "a.txt")], stdin=io.BytesIO())
    assert [d.source for d in found] == [str(tmp_path / "a.txt")], "each file once"
    with pytest.raises(UnreadableInput, match=r"b\.bin: not utf-8"):
        collect_documents([str(tmp_path / "b.bin")], stdin=io.BytesIO())
