"""``POST /v1/documents``: the hot path, kept lean (no dependency injection, no response model
validation; the OpenAPI description says the same as the other routes)."""

from __future__ import annotations

import json
import logging
import uuid

from fastapi import APIRouter, Request, Response
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.callbacks import callback_url_problem
from contracts.documents import DocumentAccepted
from records.store import RecordContention
from records.transitions import NewDocument
from services.auth import authenticate
from services.dependencies import ERRORS, idempotency_key, not_accepted, nothing_sent, unavailable
from services.documents import DocumentService
from services.errors import (
    ApiError,
    InvalidDocument,
    api_error_response,
    unexpected_error_response,
)
from services.intake import read_submission
from services.quota import Admission
from services.settings import ApiSettings

intake_router = APIRouter(prefix="/v1", tags=["documents"])


def check_callback(url: str | None, settings: ApiSettings) -> str | None:
    """Why a callback URL cannot be used on this server, or None."""
    if url is None:
        return None
    if not settings.webhook_secret:
        return "callback_url: this server has no NEWSDESK_WEBHOOK_SECRET to sign deliveries with"
    return callback_url_problem(url, allow_private=settings.webhook_allow_private)


@intake_router.post(
    "/documents",
    status_code=202,
    response_class=Response,
    responses={
        202: {
            "description": "stored and queued; poll the Location",
            "content": {"application/json": {"schema": DocumentAccepted.model_json_schema()}},
        },
        **ERRORS,
    },
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
async def submit_document(request: Request) -> Response:
    """Store a document durably and queue its first stage (one atomic write); 202 only once
    both are done."""
    owner = await authenticate(request)
    state = request.app.state
    settings: ApiSettings = state.settings
    documents: DocumentService = state.documents
    admission: Admission = state.admission
    key = idempotency_key(request)
    submission = await read_submission(
        request, max_bytes=settings.max_document_bytes, timeout=settings.body_timeout_seconds
    )
    problem = check_callback(submission.callback_url, settings)
    if problem:
        raise InvalidDocument(problem)
    try:
        await admission.check(owner, documents=1, content_bytes=len(submission.content.encode()))
    except RedisError as exc:
        raise unavailable(settings, exc, not_accepted(key)) from exc
    doc_id = uuid.uuid4().hex
    document = NewDocument(
        doc_id=doc_id,
        content=submission.content,
        content_type=submission.content_type,
        options=submission.options(),
        owner=owner,
    )
    try:
        created = await documents.create(document, idempotency_key=key)
    except (RedisError, RecordContention) as exc:
        if nothing_sent(exc):
            raise unavailable(settings, exc, not_accepted(key)) from exc
        again = "send it again with the same Idempotency-Key" if key else (
            f"it may have been stored as {doc_id} (GET /v1/documents/{doc_id} tells); to retry "
            "safely, send it with an Idempotency-Key header")  # fmt: skip
        raise unavailable(settings, exc, f"Redis did not confirm in time; {again}",
                          doc_id=doc_id) from exc  # fmt: skip
    headers = {"Location": f"/v1/documents/{created.doc_id}"}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    body = json.dumps({"id": created.doc_id, "status": "queued"})
    return Response(body, status_code=202, media_type="application/json", headers=headers)


class IntakeFastLane:
    """Serves ``POST /v1/documents`` straight from the middleware stack, past FastAPI's routing
    and dependency machinery (about a third of the CPU of an accepted document); every other
    request goes on to the application. Same handler, same errors as the declared route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/v1/documents":
            await self.app(scope, receive, send)
            return
        scope["route"] = _DECLARED  # for the HTTP metrics' route label
        request = Request(scope, receive)
        try:
            response = await submit_document(request)
        except ApiError as exc:
            response = api_error_response(exc)
        except Exception:
            log.exception("unexpected error accepting a document")
            response = unexpected_error_response()
        await response(scope, receive, send)


_DECLARED = next(
    route for route in intake_router.routes if getattr(route, "path", "") == "/v1/documents"
)
log = logging.getLogger("newsdesk.api")
