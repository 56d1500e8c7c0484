"""HTTP routes: submit a document, read it back, liveness and readiness."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from typing import Annotated, Any

from celery import Celery
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from redis.exceptions import RedisError, ResponseError

from contracts.documents import DocumentAccepted, DocumentView, Problem
from contracts.wire import STAGE_ORDER
from services.dispatch import send_stage
from services.errors import (
    DocumentExpired,
    DocumentNotFound,
    InvalidDocument,
    StorageUnavailable,
)
from services.intake import read_submission
from services.settings import ApiSettings
from services.store import DocumentStore

router = APIRouter()
log = logging.getLogger("newsdesk.api")


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.store
    return store


def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def _producer(request: Request) -> Celery:
    producer: Celery = request.app.state.producer
    return producer


StoreDep = Annotated[DocumentStore, Depends(_store)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
ProducerDep = Annotated[Celery, Depends(_producer)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem} for status in (404, 409, 410, 413, 415, 422, 503)
}


def _unavailable(settings: ApiSettings, exc: Exception, detail: str) -> StorageUnavailable:
    """A 503 that says what the client should do; the cause goes to the log, not the client."""
    log.warning("storage unavailable: %r", exc)
    if isinstance(exc, ResponseError) and str(exc).startswith("OOM"):
        detail = f"storage (Redis) is full; {detail}"
    else:
        detail = f"storage (Redis) is unavailable; {detail}"
    return StorageUnavailable(detail, headers={"Retry-After": str(settings.retry_after_seconds)})


NOT_ACCEPTED = "the document was not accepted, send it again later"
SEND_AGAIN_WITH_KEY = "send it again later with the same Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _idempotency_key(request: Request) -> str | None:
    """The client's Idempotency-Key header: 1–255 visible ASCII characters, or absent."""
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise InvalidDocument("Idempotency-Key header: 1 to 255 visible ASCII characters")
    return key


@router.post(
    "/v1/documents",
    status_code=202,
    response_model=DocumentAccepted,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/DocumentSubmission"}},
                "text/plain": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        }
    },
)
async def submit_document(
    request: Request,
    response: Response,
    store: StoreDep,
    settings: SettingsDep,
    producer: ProducerDep,
) -> DocumentAccepted:
    """Store a document durably and queue its first stage; 202 only once both are done."""
    submission = await read_submission(request, max_bytes=settings.max_document_bytes)
    key = _idempotency_key(request)
    doc_id = uuid.uuid4().hex
    try:
        created = await store.create(
            doc_id=doc_id,
            content=submission.content,
            content_type=submission.content_type,
            options=submission.options(),
            idempotency_key=key,
        )
        if not created.replayed:
            await run_in_threadpool(send_stage, producer, doc_id=doc_id, stage=STAGE_ORDER[0])
    except (RedisError, StorageUnavailable) as exc:
        if key is not None:
            # What was stored stays: the reconciler queues it, and the client's retry with the
            # same key gets this same document back.
            raise _unavailable(settings, exc, SEND_AGAIN_WITH_KEY) from exc
        # Best effort: whatever was stored goes. If Redis cannot even do that, the record's
        # short deadline makes the reconciler process it anyway — never lost, at worst twice.
        with contextlib.suppress(RedisError):
            await store.withdraw(doc_id)
        raise _unavailable(settings, exc, NOT_ACCEPTED) from exc
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
        doc_id = created.doc_id
    else:
        with contextlib.suppress(RedisError):  # failing this only costs one duplicate message
            await store.mark_queued(doc_id, seen_updated_at=created.updated_at)
    response.headers["Location"] = f"/v1/documents/{doc_id}"
    return DocumentAccepted(id=doc_id)


@router.get("/v1/documents/{doc_id}", response_model=DocumentView, responses=_ERRORS)
async def read_document(doc_id: str, store: StoreDep, settings: SettingsDep) -> DocumentView:
    """The document's status, per-stage progress and whatever results exist."""
    try:
        view = await store.read(doc_id)
        if view is None and await store.is_expired(doc_id):
            raise DocumentExpired(f"document {doc_id} has expired and its results were deleted")
    except RedisError as exc:
        raise _unavailable(settings, exc, "try again later") from exc
    if view is None:
        raise DocumentNotFound(f"no document with id {doc_id}")
    return view


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": Problem}})
async def readyz(store: StoreDep, settings: SettingsDep) -> dict[str, str]:
    """Redis answers, so submissions can be accepted."""
    try:
        await store.redis.ping()
    except RedisError as exc:
        raise _unavailable(settings, exc, "submissions are refused until it is back") from exc
    return {"status": "ready"}
