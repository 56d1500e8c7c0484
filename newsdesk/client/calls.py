"""The API's requests and how their answers are read, shared by ``Client`` and ``AsyncClient``."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from contracts.documents import (
    MAX_BATCH_ITEMS,
    BatchAccepted,
    DocumentStatus,
    DocumentSubmission,
)
from newsdesk.client.errors import error_from_response

DEFAULT_URL = "http://127.0.0.1:8000"
# The API's ceiling for ?wait= on GET /v1/documents/{id}; longer waits loop.
MAX_WAIT_SECONDS = 60.0
# The event stream sends a comment every 15 s; a minute of silence means the connection is gone.
STREAM_READ_TIMEOUT = 60.0
MAX_PAGE_SIZE = 200
# A batch body stays below the API's default limit (NEWSDESK_MAX_BATCH_BYTES, 20 MiB).
MAX_BATCH_BYTES = 16 * 1024 * 1024

Model = TypeVar("Model", bound=BaseModel)
# What submit_many takes: a submission model, a mapping of its fields, or plain text.
Item = DocumentSubmission | Mapping[str, Any] | str


@dataclass(frozen=True)
class Call:
    """One request of the API, as both clients send it."""

    method: str
    path: str
    params: dict[str, str | int | float] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    read_timeout: float | None = None
    # Whether it may be sent again after a failure that may have reached the server.
    resendable: bool = True


def base_url(url: str | None) -> str:
    """The API's address: the argument, else ``NEWSDESK_URL``, else the local default."""
    return (url or os.environ.get("NEWSDESK_URL") or DEFAULT_URL).rstrip("/")


def default_headers(api_key: str | None) -> dict[str, str]:
    """Headers of every request: who is calling, and the key (argument or ``NEWSDESK_API_KEY``)."""
    try:
        version = importlib.metadata.version("newsdesk")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    headers = {"User-Agent": f"newsdesk-python/{version}"}
    key = api_key if api_key is not None else os.environ.get("NEWSDESK_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def new_idempotency_key() -> str:
    """A fresh key for one submit call, reused by every attempt of that call."""
    return f"sdk-{uuid.uuid4().hex}"


def submission(
    content: str,
    *,
    content_type: str,
    title: str | None,
    url: str | None,
    language: str | None,
    metadata: Mapping[str, str | int | float | bool] | None,
    summary_sentences: int | None,
    callback_url: str | None,
) -> dict[str, Any]:
    """The JSON body of a submission; options left out are the server's defaults."""
    body: dict[str, Any] = {"content": content, "content_type": content_type}
    options = {
        "title": title,
        "url": url,
        "language": language,
        "metadata": dict(metadata) if metadata is not None else None,
        "summary_sentences": summary_sentences,
        "callback_url": callback_url,
    }
    body.update({name: value for name, value in options.items() if value is not None})
    return body


def submit(body: dict[str, Any], idempotency_key: str) -> Call:
    return Call("POST", "/v1/documents", body=body, headers={"Idempotency-Key": idempotency_key})


def batch_item(item: Item) -> Any:
    """One element of a batch body; the server validates it and answers per item."""
    if isinstance(item, DocumentSubmission):
        return item.model_dump(mode="json", exclude_none=True)
    if isinstance(item, str):
        return {"content": item}
    return dict(item)


def batches(
    items: Sequence[Any], idempotency_key: str, *, max_bytes: int = MAX_BATCH_BYTES
) -> list[Call]:
    """``POST /v1/batches`` calls of at most 1,000 items and about ``max_bytes`` of JSON each
    (an item larger than that goes alone), each with its own key derived from the call's."""
    chunks: list[list[Any]] = []
    size = 0
    for item in items:
        item_size = len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()) + 1
        full = chunks and (len(chunks[-1]) >= MAX_BATCH_ITEMS or size + item_size > max_bytes)
        if not chunks or full:
            chunks.append([])
            size = 2
        chunks[-1].append(item)
        size += item_size
    return [
        Call("POST", "/v1/batches", body=chunk,
             headers={"Idempotency-Key": _derived_key(idempotency_key, number)})
        for number, chunk in enumerate(chunks)
    ]  # fmt: skip


def _derived_key(key: str, number: int) -> str:
    """The key of a call's ``number``-th batch: the call's own for the first one."""
    if number == 0:
        return key
    derived = f"{key}.{number}"
    if len(derived) <= 255:
        return derived
    return f"{hashlib.sha256(key.encode()).hexdigest()}.{number}"


def renumbered(answers: Iterable[BatchAccepted]) -> list[BatchAccepted]:
    """Batch answers whose item indices count from the start of the caller's whole sequence."""
    result, offset = [], 0
    for answer in answers:
        items = [item.model_copy(update={"index": item.index + offset}) for item in answer.items]
        result.append(answer.model_copy(update={"items": items}))
        offset += len(answer.items)
    return result


def document(doc_id: str, *, wait: float = 0) -> Call:
    if wait <= 0:
        return Call("GET", f"/v1/documents/{_segment(doc_id)}")
    wait = min(wait, MAX_WAIT_SECONDS)
    return Call("GET", f"/v1/documents/{_segment(doc_id)}", params={"wait": round(wait, 3)},
                read_timeout=wait + 30)  # fmt: skip


def status(doc_id: str) -> Call:
    return Call("GET", f"/v1/documents/{_segment(doc_id)}/status")


def cancel(doc_id: str) -> Call:
    # Not resendable blindly: a second DELETE deletes what the first one cancelled.
    return Call("DELETE", f"/v1/documents/{_segment(doc_id)}", resendable=False)


def batch(batch_id: str) -> Call:
    return Call("GET", f"/v1/batches/{_segment(batch_id)}")


def events(doc_id: str, last_event_id: str | None) -> Call:
    headers = {"Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return Call("GET", f"/v1/documents/{_segment(doc_id)}/events", headers=headers,
                read_timeout=STREAM_READ_TIMEOUT)  # fmt: skip


def page(
    *,
    status: DocumentStatus | str | None,
    since: datetime | str | None,
    cursor: str | None,
    size: int,
) -> Call:
    params: dict[str, str | int | float] = {"limit": max(1, min(size, MAX_PAGE_SIZE))}
    if status is not None:
        params["status"] = DocumentStatus(status).value
    if since is not None:
        params["since"] = _timestamp(since)
    if cursor:
        params["cursor"] = cursor
    return Call("GET", "/v1/documents", params=params)


def _timestamp(moment: datetime | str) -> str:
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _segment(value: str) -> str:
    """An id as one path segment, whatever it holds (the server answers 404 to malformed ids)."""
    return quote(value, safe="") or "-"


def parsed(response: httpx.Response, model: type[Model]) -> Model:
    """The answer as a contract model, or the typed error for a failed one."""
    if response.status_code >= 400:
        raise error_from_response(response)
    return model.model_validate_json(response.content)


def request_timeout(default: httpx.Timeout, call: Call) -> httpx.Timeout:
    """The client's timeouts, with a longer read timeout for long polls and event streams."""
    if call.read_timeout is None or (
        default.read is not None and default.read >= call.read_timeout
    ):
        return default
    return httpx.Timeout(connect=default.connect, read=call.read_timeout, write=default.write,
                         pool=default.pool)  # fmt: skip
