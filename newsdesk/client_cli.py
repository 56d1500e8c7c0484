"""The client's commands: ``newsdesk submit | get | watch``, all through the Python SDK."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from contracts.documents import ContentType, DocumentView
    from newsdesk.client import Client
    from newsdesk.inputs import SourceDocument

# Documents per batch request: small enough for the progress bar to move.
SUBMIT_CHUNK = 100
CONTENT_TYPES: dict[str, ContentType] = {"text": "text/plain", "html": "text/html"}
Subcommands = argparse._SubParsersAction  # argparse's type for add_subparsers()


def add_client_commands(commands: Subcommands[argparse.ArgumentParser]) -> None:
    """Register ``submit``, ``get`` and ``watch`` on the ``newsdesk`` command."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--url", default=None,
                            help="the API (default: NEWSDESK_URL, else http://127.0.0.1:8000)")  # fmt: skip
    connection.add_argument("--api-key", default=None, help="default: NEWSDESK_API_KEY")

    submit = commands.add_parser(
        "submit", parents=[connection],
        help="submit files, folders (recursively), glob patterns or - (standard input)",
    )  # fmt: skip
    submit.add_argument("paths", nargs="+", metavar="PATH")
    submit.add_argument("--wait", action="store_true",
                        help="wait until every document finished; exit 1 if any did not complete")  # fmt: skip
    submit.add_argument("--timeout", type=float, default=600.0,
                        help="seconds --wait waits at most (default: 600)")  # fmt: skip
    submit.add_argument("--json", action="store_true", help="one JSON line per document")
    submit.add_argument("--type", choices=sorted(CONTENT_TYPES),
                        help="treat every input as this (default: by extension, else sniffed)")  # fmt: skip
    submit.add_argument("--language", help="BCP 47 tag of the documents, e.g. en")
    submit.add_argument("--summary-sentences", type=int, metavar="N")
    submit.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE",
                        help="attach to every document (repeatable; numbers and true/false "
                        "are sent as such)")  # fmt: skip
    submit.set_defaults(run=_command(run_submit), client_command=True)

    get = commands.add_parser("get", parents=[connection],
                              help="print a document: text with its entities marked, summary, keywords")  # fmt: skip
    get.add_argument("id")
    get.add_argument("--json", action="store_true", help="print the document as JSON")
    get.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                     help="wait up to this long for it to finish first")  # fmt: skip
    get.add_argument("--no-color", action="store_true", help="label entities in the text instead")
    get.set_defaults(run=_command(run_get), client_command=True)

    watch = commands.add_parser("watch", parents=[connection],
                                help="follow a document's progress until it finishes")  # fmt: skip
    watch.add_argument("id")
    watch.add_argument("--json", action="store_true", help="one JSON line per event")
    watch.add_argument("--no-color", action="store_true")
    watch.set_defaults(run=_command(run_watch), client_command=True)


def _command(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Quiet httpx's request log; turn API errors, Ctrl-C and a closed pipe into an exit code."""

    def command(args: argparse.Namespace) -> int:
        from newsdesk.client import NewsdeskError

        logging.getLogger("httpx").setLevel(logging.WARNING)
        try:
            return run(args)
        except NewsdeskError as exc:
            print(f"newsdesk {run.__name__.removeprefix('run_')}: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return command


@dataclass
class Outcome:
    """What became of one input: its id and status, or why it was refused or failed."""

    source: str
    id: str | None
    status: str
    problem: str | None = None
    document: DocumentView | None = None

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"source": self.source, "id": self.id, "status": self.status}
        if self.problem:
            answer["problem"] = self.problem
        if self.document is not None:
            answer["document"] = self.document.model_dump(mode="json")
        return answer


def run_submit(args: argparse.Namespace) -> int:
    from rich.console import Console

    from newsdesk.client import Client, NewsdeskError
    from newsdesk.inputs import UnreadableInput, collect_documents

    try:
        documents = collect_documents(args.paths, stdin=sys.stdin.buffer,
                                      content_type=CONTENT_TYPES.get(args.type))  # fmt: skip
        options = _options(args)
    except (UnreadableInput, ValueError) as exc:
        for line in str(exc).splitlines():
            print(f"newsdesk submit: {line}", file=sys.stderr)
        return 2
    outcomes: list[Outcome] = []
    status = Console(stderr=True)
    try:
        with Client(args.url, args.api_key) as client, _progress(status, len(documents)) as bar:
            _send(client, documents, options, outcomes, bar)
            if args.wait:
                _await(client, outcomes, time.monotonic() + args.timeout, bar)
    except (NewsdeskError, KeyboardInterrupt) as exc:
        _report(outcomes, as_json=args.json)  # what was submitted, so its ids are not lost
        if isinstance(exc, NewsdeskError):
            print(f"newsdesk submit: {exc}", file=sys.stderr)
        if len(outcomes) < len(documents):
            print(f"newsdesk submit: {len(documents) - len(outcomes)} of {len(documents)} "
                  "documents were not submitted", file=sys.stderr)  # fmt: skip
        return 1 if isinstance(exc, NewsdeskError) else 130
    _report(outcomes, as_json=args.json)
    wanted = {"completed"} if args.wait else {"queued", "processing", "completed"}
    return 0 if all(outcome.status in wanted for outcome in outcomes) else 1


def _options(args: argparse.Namespace) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for pair in args.metadata:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--metadata {pair!r}: expected KEY=VALUE")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        metadata[key] = parsed if isinstance(parsed, int | float | bool) else value
    return {"language": args.language, "summary_sentences": args.summary_sentences,
            "metadata": metadata or None}  # fmt: skip


@contextmanager
def _progress(console: Console, total: int) -> Iterator[Progress]:
    """A progress bar on standard error, for more than one document on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(),
                   console=console, transient=True,
                   disable=total < 2 or not console.is_terminal)  # fmt: skip
    with bar:
        yield bar


def _send(
    client: Client,
    documents: list[SourceDocument],
    options: dict[str, Any],
    outcomes: list[Outcome],
    bar: Progress,
) -> None:
    """Submit one document as such, more in batches; each gets an outcome as it is answered."""
    from newsdesk.client import InvalidDocument
    from newsdesk.client.calls import submission

    if len(documents) == 1:
        document = documents[0]
        try:
            accepted = client.submit(document.content, content_type=document.content_type,
                                     **options)  # fmt: skip
        except InvalidDocument as exc:
            outcomes.append(Outcome(document.source, None, "rejected", str(exc)))
            return
        outcomes.append(Outcome(document.source, accepted.id, accepted.status.value))
        return
    task = bar.add_task("submitting", total=len(documents))
    for start in range(0, len(documents), SUBMIT_CHUNK):
        chunk = documents[start : start + SUBMIT_CHUNK]
        bodies = [submission(d.content, content_type=d.content_type, title=None, url=None,
                             callback_url=None, **options) for d in chunk]  # fmt: skip
        for answer in client.submit_many(bodies):
            for item in answer.items:
                source = chunk[item.index].source
                if item.id is None:
                    problem = item.problem
                    reason = (
                        f"{problem.status} {problem.code}: {problem.detail}" if problem else None
                    )
                    outcomes.append(Outcome(source, None, "rejected", reason))
                else:
                    outcomes.append(Outcome(source, item.id, "queued"))
        bar.advance(task, len(chunk))


def _await(client: Client, outcomes: list[Outcome], deadline: float, bar: Progress) -> None:
    """Wait for every accepted document to finish, or for the deadline."""
    from newsdesk.rendering import outcome_line

    waiting = [outcome for outcome in outcomes if outcome.id is not None]
    task = bar.add_task("processing", total=len(waiting))
    for outcome in waiting:
        assert outcome.id is not None
        view = client.wait(outcome.id, timeout=max(0.0, deadline - time.monotonic()))
        outcome.document, outcome.status = view, view.status.value
        if view.status.value != "completed":
            outcome.problem = outcome_line(view) if view.error else f"not finished: {view.status}"
        bar.advance(task)


def _report(outcomes: list[Outcome], *, as_json: bool) -> None:
    from newsdesk.rendering import outcome_line

    for outcome in outcomes:
        if as_json:
            print(json.dumps(outcome.as_json(), ensure_ascii=False))
            continue
        line = f"{outcome.id or '-':<32}  {outcome.status:<10}  {outcome.source}"
        if outcome.document is not None and outcome.status == "completed":
            line += f"  ({outcome_line(outcome.document).removeprefix('completed, ')})"
        elif outcome.problem:
            line += f"  {outcome.problem}"
        print(line)
    if len(outcomes) > 1 and not as_json:
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        tally = ", ".join(f"{count} {status}" for status, count in counts.items())
        print(f"{len(outcomes)} documents: {tally}", file=sys.stderr)


def run_get(args: argparse.Namespace) -> int:
    from newsdesk.client import Client
    from newsdesk.rendering import print_document

    with Client(args.url, args.api_key) as client:
        view = client.wait(args.id, timeout=args.wait) if args.wait > 0 else client.get(args.id)
    if args.json:
        print(view.model_dump_json(indent=2))
    else:
        print_document(_console(args), view)
    return 0


def run_watch(args: argparse.Namespace) -> int:
    from newsdesk.client import Client, DocumentEvent
    from newsdesk.rendering import event_line, outcome_line, print_result_summary

    console = _console(args)
    last = None
    with Client(args.url, args.api_key) as client:
        for last in client.events(args.id):
            if args.json:
                print(last.model_dump_json(), flush=True)
            else:
                console.print(event_line(last))
    if not isinstance(last, DocumentEvent):
        return 1
    if last.document is not None and not args.json:
        console.print()
        console.print(outcome_line(last.document), markup=False)
        print_result_summary(console, last.document)
    return 0 if last.status == "completed" else 1


def _console(args: argparse.Namespace) -> Console:
    from rich.console import Console

    console = Console(no_color=True if args.no_color else None, highlight=False)
    console.soft_wrap = not console.is_terminal  # piped output keeps its lines as they are
    return console
