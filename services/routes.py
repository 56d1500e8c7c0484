"""Document routes: submit, read (or wait for), list, follow and cancel documents."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from redis.exceptions import RedisError

from contracts.documents import (
    FINISHED_STATUSES,
    DocumentPage,
    DocumentStatus,
    DocumentStatusView,
    DocumentView,
)
from records.codec import DocumentRecord
from records.layout import FINISHING_EVENT
from records.store import NotARecord, RecordContention
from records.transitions import CancelOutcome
from records.view import stage_view
from services.auth import authenticate
from services.dependencies import (
    ERRORS,
    AdmittedDep,
    DocumentsDep,
    NotifierDep,
    SettingsDep,
    known_id,
    unavailable,
)
from services.documents import DocumentService, view_etag
from services.errors import DocumentExpired, DocumentNotFound, InvalidDocument
from services.listing import BadCursor, list_documents
from services.notifications import wait_for_change

v1 = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)], tags=["documents"])
MAX_WAIT_SECONDS = 60
KEEP_ALIVE_SECONDS = 15.0
MAX_STREAM_SECONDS = 3600.0
FoundT = TypeVar("FoundT")


@v1.get(
    "/documents/{doc_id}",
    response_model=DocumentView,
    responses={**ERRORS, 304: {"description": "Not Modified (If-None-Match matched the ETag)"}},
)
async def read_document(
    doc_id: str,
    request: Request,
    response: Response,
    documents: DocumentsDep,
    settings: SettingsDep,
    notifier: NotifierDep,
    owner: AdmittedDep,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_SECONDS,
              description="seconds to wait for the document to finish before answering"),
    ] = 0,
) -> DocumentView | Response:  # fmt: skip
    """The document's status, per-stage progress and whatever results exist.

    With ``?wait=N`` the answer comes as soon as the document finishes, or after N seconds.
    ``If-None-Match`` with the last ``ETag`` answers 304 when nothing changed.
    """
    known_id(doc_id)
    try:
        if wait == 0 and (tag := request.headers.get("if-none-match")):
            current = await documents.etag(doc_id, owner=owner)
            if current is not None and current == tag:
                return Response(status_code=304, headers={"ETag": current})
        if not wait:
            view = await _view_or_raise(documents, doc_id, owner)
        else:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait
            # Watching before reading: no change is missed. Unless the document has already
            # finished, only its end (or a broken subscription) wakes the request, to read the
            # record alone; the results are read again once, when the wait is over.
            with notifier.watching(doc_id, end_only=True) as changed:
                view = await _view_or_raise(documents, doc_id, owner)
                if view.status not in FINISHED_STATUSES:
                    while await wait_for_change(changed, deadline - loop.time()):
                        record = await _record_or_raise(documents, doc_id, owner)
                        if record.visible_status() in FINISHED_STATUSES:
                            break
                    view = await _view_or_raise(documents, doc_id, owner)
    except RedisError as exc:
        raise unavailable(settings, exc, "try again later") from exc
    response.headers["ETag"] = view_etag(view)
    return view


async def _found(
    read: Callable[..., Awaitable[FoundT | None]], documents: DocumentService, doc_id: str,
    owner: str,
) -> FoundT:  # fmt: skip
    """What ``read`` (the view, or the record alone) finds of the owner's document; 404 when there
    is none, 410 when it expired or was deleted."""
    try:
        found = await read(doc_id, owner=owner)
    except NotARecord as exc:
        raise DocumentNotFound(f"no document with id {doc_id}") from exc
    if found is None:
        if await documents.is_gone(doc_id, owner=owner):
            raise DocumentExpired(f"document {doc_id} has expired or was deleted")
        raise DocumentNotFound(f"no document with id {doc_id}")
    return found


async def _view_or_raise(documents: DocumentService, doc_id: str, owner: str) -> DocumentView:
    return await _found(documents.view, documents, doc_id, owner)


async def _record_or_raise(documents: DocumentService, doc_id: str, owner: str) -> DocumentRecord:
    return await _found(documents.record, documents, doc_id, owner)


@v1.get("/documents/{doc_id}/status", response_model=DocumentStatusView, responses=ERRORS)
async def read_status(
    doc_id: str, documents: DocumentsDep, settings: SettingsDep, owner: AdmittedDep
) -> DocumentStatusView:
    """Status and per-stage progress only, without results: one small Redis round trip."""
    known_id(doc_id)
    try:
        record = await _record_or_raise(documents, doc_id, owner)
    except RedisError as exc:
        raise unavailable(settings, exc, "try again later") from exc
    return DocumentStatusView(
        id=doc_id,
        status=record.visible_status(),
        created_at=record.created_at,
        updated_at=record.updated_at,
        stages={stage.value: stage_view(record, stage) for stage in record.stages},
        error=record.visible_error(),
    )


@v1.get("/documents", response_model=DocumentPage, responses=ERRORS)
async def list_my_documents(
    documents: DocumentsDep,
    settings: SettingsDep,
    owner: AdmittedDep,
    status: Annotated[DocumentStatus | None, Query(description="only documents in this status")] = None,
    since: Annotated[datetime | None, Query(description="only documents created at or after")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DocumentPage:  # fmt: skip
    """The caller's documents still retained, newest first, a page at a time."""
    try:
        items, next_cursor = await list_documents(
            documents.redis, documents.keys, owner=owner, status=status,
            since=since.timestamp() if since else None, cursor=cursor, limit=limit,
        )  # fmt: skip
    except BadCursor as exc:
        raise InvalidDocument(str(exc)) from exc
    except RedisError as exc:
        raise unavailable(settings, exc, "try again later") from exc
    return DocumentPage(items=items, next_cursor=next_cursor)


@v1.delete("/documents/{doc_id}", status_code=204, responses=ERRORS, response_class=Response)
async def delete_document(
    doc_id: str, documents: DocumentsDep, settings: SettingsDep, owner: AdmittedDep
) -> Response:
    """Cancel an unfinished document (it is not processed further; its status becomes
    ``cancelled``), or delete a finished one's content and results (its id answers 410)."""
    known_id(doc_id)
    try:
        outcome = await documents.cancel(doc_id, owner=owner)
        if outcome == CancelOutcome.MISSING and await documents.is_gone(doc_id, owner=owner):
            raise DocumentExpired(f"document {doc_id} has expired or was deleted")
    except NotARecord as exc:
        raise DocumentNotFound(f"no document with id {doc_id}") from exc
    except (RedisError, RecordContention) as exc:
        raise unavailable(settings, exc, "try again later") from exc
    if outcome == CancelOutcome.MISSING:
        raise DocumentNotFound(f"no document with id {doc_id}")
    return Response(status_code=204)


@v1.get(
    "/documents/{doc_id}/events",
    responses={**ERRORS, 200: {"description": "a text/event-stream of the document's changes",
                               "content": {"text/event-stream": {}}}},
    response_class=StreamingResponse,
)  # fmt: skip
async def follow_document(
    doc_id: str,
    request: Request,
    documents: DocumentsDep,
    notifier: NotifierDep,
    settings: SettingsDep,
    owner: AdmittedDep,
) -> StreamingResponse:
    """Server-Sent Events: one event per stage change, then a ``document`` event carrying the
    finished document. Reconnect with ``Last-Event-ID`` to continue where the stream broke."""
    known_id(doc_id)
    try:
        await _view_or_raise(documents, doc_id, owner)
    except RedisError as exc:
        raise unavailable(settings, exc, "try again later") from exc
    last_id = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if last_id is not None and not _stream_id(last_id):
        raise InvalidDocument("Last-Event-ID: not an event id of this stream")
    stream = _events(documents, notifier, doc_id, owner, last_id)
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})  # fmt: skip


def _stream_id(value: str) -> bool:
    first, _, second = value.partition("-")
    return first.isdigit() and second.isdigit()


async def _events(
    documents: DocumentService, notifier: NotifierDep, doc_id: str, owner: str, last_id: str | None
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    ends = loop.time() + MAX_STREAM_SECONDS
    with notifier.watching(doc_id) as changed:
        while loop.time() < ends:
            try:
                events = await documents.events_after(doc_id, last_id)
                for event_id, kind, data in events:
                    last_id = event_id
                    if kind == FINISHING_EVENT:
                        view = await documents.view(doc_id, owner=owner)
                        payload = view.model_dump_json() if view is not None else data
                        yield _sse(event_id, kind, payload)
                        return
                    yield _sse(event_id, kind, data)
                if not events:  # a change without an event: did the document finish?
                    record = await documents.record(doc_id, owner=owner)
                    if record is None or record.visible_status() in FINISHED_STATUSES:
                        view = await documents.view(doc_id, owner=owner) if record else None
                        payload = view.model_dump_json() if view else json.dumps({"id": doc_id})
                        yield _sse(last_id or "0-1", "document", payload)
                        return
            except RedisError:
                yield ": storage unavailable, retrying\n\n"
            if not await wait_for_change(changed, KEEP_ALIVE_SECONDS):
                yield ": keep-alive\n\n"


def _sse(event_id: str, kind: str, data: str) -> str:
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n"
