"""A document's event stream: Server-Sent Events decoded line by line into typed events.

``queued`` → ``stage`` (one per stage change) → ``webhook`` (deliveries) → ``document`` (the
last one, carrying the finished document).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict

from contracts.documents import (
    DocumentError,
    DocumentStatus,
    DocumentView,
    StageStatus,
    WebhookState,
)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    doc_id: str
    status: DocumentStatus | None = None  # the document's status after this event

    @property
    def at(self) -> datetime | None:
        """When it happened: the stream's ids start with the milliseconds since the epoch."""
        milliseconds, _, _ = self.event_id.partition("-")
        if not milliseconds.isdigit():
            return None
        return datetime.fromtimestamp(int(milliseconds) / 1000, tz=UTC)


class QueuedEvent(_Event):
    """The document was accepted and its first stage queued."""

    kind: Literal["queued"] = "queued"


class StageEvent(_Event):
    """A stage started, finished, failed or was given back for another try."""

    kind: Literal["stage"] = "stage"
    stage: str
    stage_status: StageStatus
    attempt: int = 0


class WebhookEvent(_Event):
    """A delivery to the document's callback_url was tried."""

    kind: Literal["webhook"] = "webhook"
    webhook: WebhookState


class DocumentEvent(_Event):
    """The document finished (completed, failed or cancelled): the stream's last event."""

    kind: Literal["document"] = "document"
    document: DocumentView | None = None  # None only when it was deleted meanwhile
    error: DocumentError | None = None


Event = QueuedEvent | StageEvent | WebhookEvent | DocumentEvent
_KINDS: dict[str, type[_Event]] = {
    "queued": QueuedEvent,
    "stage": StageEvent,
    "webhook": WebhookEvent,
    "document": DocumentEvent,
}


@dataclass(frozen=True)
class ServerSentEvent:
    """One event of a ``text/event-stream`` as the HTML standard defines it."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed it the stream's lines; it answers an event at each blank line that ends one."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        return self._last_id

    def decode(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            sse = ServerSentEvent(self._event or "message", "\n".join(self._data), self._last_id,
                                  self._retry)  # fmt: skip
            self._event, self._data = "", []
            return sse
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None


def typed_event(sse: ServerSentEvent, doc_id: str) -> Event | None:
    """The typed event for a server-sent one; None for a kind this client does not know."""
    kind = _KINDS.get(sse.event)
    if kind is None:
        return None
    data: dict[str, Any] = json.loads(sse.data)
    fields: dict[str, Any] = {"event_id": sse.id or "", "doc_id": doc_id}
    if kind is DocumentEvent:
        if "created_at" in data:
            view = DocumentView.model_validate(data)
            fields |= {"document": view, "status": view.status, "error": view.error}
        else:
            fields |= {"status": data.get("status"), "error": data.get("error")}
    else:
        fields |= {name: value for name, value in data.items() if name in kind.model_fields}
    return cast(Event, kind.model_validate(fields))
