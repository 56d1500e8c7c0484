"""How ``newsdesk get`` and ``newsdesk watch`` show a document and its events in a terminal.

Entity mentions are coloured by label, with a legend; without colour (not a terminal,
``NO_COLOR``, ``--no-color``) each mention carries its label in the text: ``[Lloyd Austin|PERSON]``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from contracts.documents import DocumentStatus, DocumentView
from contracts.results import Mention
from newsdesk.client.events import DocumentEvent, Event, QueuedEvent, StageEvent, WebhookEvent

LABEL_STYLES = {
    "PERSON": "bold magenta",
    "ORG": "bold cyan",
    "GPE": "bold green",
    "LOC": "green",
    "FAC": "blue",
    "NORP": "yellow",
    "PRODUCT": "bright_blue",
    "EVENT": "bright_magenta",
    "WORK_OF_ART": "bright_cyan",
    "LAW": "bright_yellow",
    "LANGUAGE": "bright_green",
}
VALUE_STYLE = "italic bright_black"  # dates, numbers, money and other values
STATUS_STYLES = {
    DocumentStatus.COMPLETED: "green",
    DocumentStatus.FAILED: "bold red",
    DocumentStatus.CANCELLED: "yellow",
}


def coloured(console: Console) -> bool:
    """Whether the console shows colour; without it labels are written into the text."""
    return console.color_system is not None and not console.no_color


def label_style(label: str) -> str:
    return LABEL_STYLES.get(label, VALUE_STYLE)


def print_document(console: Console, view: DocumentView) -> None:
    """The cleaned text with its entity mentions marked, then the summary and key phrases."""
    result = view.result
    clean = result.clean if result is not None else None
    console.print(Text(_title(view), style="bold"))
    console.print(Text(_facts(view), style="dim"))
    if view.error is not None:
        stage = f" in {view.error.stage}" if view.error.stage else ""
        console.print(Text(f"failed{stage}: {view.error.code}: {view.error.message}", "red"))
    if result is None or clean is None:
        return
    entities = result.entities
    mentions = entities.mentions if entities is not None else []
    if mentions:
        console.print(legend(mentions, colour=coloured(console)))
    elif entities is not None and entities.skipped:
        console.print(Text(f"entities skipped: {entities.skipped}", style="dim"))
    console.print()
    console.print(marked_text(clean.text, mentions, colour=coloured(console)))
    print_result_summary(console, view)


def print_result_summary(console: Console, view: DocumentView) -> None:
    """The summary, the most salient entities and the key phrases."""
    result = view.result
    if result is None:
        return
    if result.summary is not None and result.summary.sentences:
        console.print()
        console.print(Text("Summary", style="bold"))
        for sentence in result.summary.sentences:
            console.print(Text(f"  • {sentence.text}"))
    if result.entities is not None and result.entities.entities:
        console.print()
        line = Text.assemble(("Entities: ", "bold"))
        for number, entity in enumerate(result.entities.entities[:12]):
            line.append(", " if number else "")
            line.append(entity.name, style=label_style(entity.label))
            line.append(f" ({entity.label}, {entity.count})")
        console.print(line)
    if result.keywords:
        console.print()
        keywords = ", ".join(keyword.text for keyword in result.keywords)
        console.print(Text.assemble(("Keywords: ", "bold"), keywords))
    for warning in result.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))


def legend(mentions: Sequence[Mention], *, colour: bool) -> Text:
    """Each label found, in its colour, with how many mentions carry it."""
    counts = Counter(mention.label for mention in mentions)
    line = Text.assemble(("Entities: " if colour else "Entities, marked [text|LABEL]: ", "bold"))
    for number, (label, count) in enumerate(sorted(counts.items(), key=lambda i: (-i[1], i[0]))):
        line.append("  " if number else "")
        line.append(label, style=label_style(label) if colour else "")
        line.append(f" {count}")
    return line


def marked_text(text: str, mentions: Sequence[Mention], *, colour: bool) -> Text:
    """``text`` with each mention coloured by its label, or labelled in brackets."""
    marked, position = Text(), 0
    for mention in sorted(mentions, key=lambda m: (m.start, -m.end)):
        if mention.start < position or mention.end > len(text):
            continue  # overlapping or out of range: the text stays as it is
        marked.append(text[position : mention.start])
        span = text[mention.start : mention.end]
        if colour:
            marked.append(span, style=label_style(mention.label))
        else:
            marked.append(f"[{span}|{mention.label}]")
        position = mention.end
    marked.append(text[position:])
    return marked


def event_line(event: Event) -> Text:
    """One line per event: local time, then what changed."""
    moment = event.at.astimezone().strftime("%H:%M:%S.%f")[:-3] if event.at else "--:--:--.---"
    line = Text(f"{moment}  ", style="dim")
    if isinstance(event, QueuedEvent):
        line.append("queued")
    elif isinstance(event, StageEvent):
        line.append(f"{event.stage:<10} ", style="bold")
        line.append(event.stage_status.value)
        if event.attempt > 1:
            line.append(f" (attempt {event.attempt})", style="yellow")
    elif isinstance(event, WebhookEvent):
        hook = event.webhook
        line.append(f"{'webhook':<10} ", style="bold")
        line.append(f"{hook.status} (attempt {hook.attempts}")
        line.append(f", HTTP {hook.last_status_code})" if hook.last_status_code else ")")
        if hook.last_error:
            line.append(f": {hook.last_error}", style="dim")
    elif isinstance(event, DocumentEvent):
        line.append(f"{'document':<10} ", style="bold")
        if event.status is None:
            line.append("gone (deleted meanwhile)", style="yellow")
        else:
            line.append(event.status.value, style=STATUS_STYLES.get(event.status, ""))
        if event.error is not None:
            line.append(f": {event.error.code}: {event.error.message}", style="red")
    return line


def outcome_line(view: DocumentView) -> str:
    """What a finished document amounts to, in a few words."""
    parts = [view.status.value]
    durations = [stage.duration_ms for stage in view.stages.values() if stage.duration_ms]
    if durations:
        parts.append(f"in {sum(durations):.0f} ms of processing")
    result = view.result
    if result is not None:
        if result.entities is not None:
            parts.append(f"{len(result.entities.entities)} entities")
        if result.summary is not None:
            parts.append(f"{len(result.summary.sentences)} summary sentences")
        if result.keywords is not None:
            parts.append(f"{len(result.keywords)} key phrases")
    if view.error is not None:
        parts.append(f"{view.error.code}: {view.error.message}")
    return ", ".join(parts)


def _title(view: DocumentView) -> str:
    clean = view.result.clean if view.result is not None else None
    return (clean.title if clean is not None else None) or view.options.title or "(no title)"


def _facts(view: DocumentView) -> str:
    facts = [view.id, view.status.value, view.content_type]
    result = view.result
    if result is not None and result.language is not None:
        facts.append(f"language {result.language.code} ({result.language.source})")
    clean = result.clean if result is not None else None
    if clean is not None:
        facts += [value for value in (clean.author, clean.date, clean.site) if value]
    return " · ".join(facts)
