"""HTTP routes: submit, read and cancel documents; liveness and readiness."""

from __future__ import annotations

import logging
import re
import uuid
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, RedisError, ResponseError

from contracts.documents import DOC_ID_PATTERN, DocumentAccepted, DocumentView
from records.store import NotARecord, RecordContention
from records.transitions import CancelOutcome, NewDocument
from services.auth import authenticate
from services.documents import DocumentService
from services.errors import (
    DocumentExpired,
    DocumentNotFound,
    InvalidDocument,
    StorageUnavailable,
)
from services.intake import read_submission
from services.quota import Admission
from services.settings import ApiSettings

router = APIRouter()  # liveness and readiness: open even when API keys are required
v1 = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)])
log = logging.getLogger("newsdesk.api")


def _documents(request: Request) -> DocumentService:
    documents: DocumentService = request.app.state.documents
    return documents


def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def _admission(request: Request) -> Admission:
    admission: Admission = request.app.state.admission
    return admission


async def _admitted(
    owner: Annotated[str, Depends(authenticate)],
    admission: Annotated[Admission, Depends(_admission)],
    settings: Annotated[ApiSettings, Depends(_settings)],
) -> str:
    """The caller, once its request rate is within its quota (for reads and cancels)."""
    try:
        await admission.check(owner)
    except RedisError as exc:
        raise _unavailable(settings, exc, "try again later") from exc
    return owner


DocumentsDep = Annotated[DocumentService, Depends(_documents)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
AdmissionDep = Annotated[Admission, Depends(_admission)]
OwnerDep = Annotated[str, Depends(authenticate)]
AdmittedDep = Annotated[str, Depends(_admitted)]

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": HTTPStatus(status).phrase, "content": PROBLEM_CONTENT}
    for status in (401, 404, 408, 409, 410, 413, 415, 422, 429, 503, 507)
}
_DOC_ID = re.compile(DOC_ID_PATTERN)
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _unavailable(
    settings: ApiSettings, exc: Exception, detail: str, *, doc_id: str | None = None
) -> StorageUnavailable:
    """A 503 that says what the client should do; the cause goes to the log, not the client."""
    log.warning("storage unavailable: %s", type(exc).__name__)
    if isinstance(exc, OutOfMemoryError) or (isinstance(exc, ResponseError) and "OOM" in str(exc)):
        detail = f"storage (Redis) is full; {detail}"
    else:
        detail = f"storage (Redis) is unavailable; {detail}"
    headers = {"Retry-After": str(settings.retry_after_seconds)}
    return StorageUnavailable(detail, headers=headers, doc_id=doc_id)


def _nothing_sent(exc: Exception) -> bool:
    """Whether the request certainly never reached Redis (it could not even connect), or was
    refused as a whole (a MULTI aborted, Redis full): then nothing was stored."""
    if isinstance(exc, RedisConnectionError):
        return "connecting to" in str(exc)
    return isinstance(exc, ResponseError | RecordContention)


def _not_accepted(key: str | None) -> str:
    again = " with the same Idempotency-Key" if key else ""
    return f"the document was not accepted; send it again later{again}"


def _idempotency_key(request: Request) -> str | None:
    """The client's Idempotency-Key header: 1–255 visible ASCII characters, or absent."""
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise InvalidDocument(
            "Idempotency-Key header: 1 to 255 visible ASCII characters "
            f"(got {min(len(key), 10_000)} characters)"
        )
    return key


def _known_id(doc_id: str) -> str:
    """Ids are checked before they become Redis keys: anything malformed is simply unknown."""
    if not _DOC_ID.match(doc_id):
        raise DocumentNotFound(f"no document with id {doc_id[:100]!r}")
    return doc_id


@v1.post(
    "/documents",
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
    documents: DocumentsDep,
    settings: SettingsDep,
    admission: AdmissionDep,
    owner: OwnerDep,
) -> DocumentAccepted:
    """Store a document durably and queue its first stage (one MULTI); 202 only once done."""
    key = _idempotency_key(request)
    submission = await read_submission(
        request, max_bytes=settings.max_document_bytes, timeout=settings.body_timeout_seconds
    )
    try:
        await admission.check(owner, documents=1, content_bytes=len(submission.content.encode()))
    except RedisError as exc:
        raise _unavailable(settings, exc, _not_accepted(key)) from exc
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
        if _nothing_sent(exc):
            raise _unavailable(settings, exc, _not_accepted(key)) from exc
        again = "send it again with the same Idempotency-Key" if key else (
            f"it may have been stored as {doc_id} (GET /v1/documents/{doc_id} tells); to retry "
            "safely, send it with an Idempotency-Key header")  # fmt: skip
        raise _unavailable(settings, exc, f"Redis did not confirm in time; {again}",
                           doc_id=doc_id) from exc  # fmt: skip
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/documents/{created.doc_id}"
    return DocumentAccepted(id=created.doc_id)


@v1.get("/documents/{doc_id}", response_model=DocumentView, responses=_ERRORS)
async def read_document(
    doc_id: str, documents: DocumentsDep, settings: SettingsDep, owner: AdmittedDep
) -> DocumentView:
    """The document's status, per-stage progress and whatever results exist."""
    _known_id(doc_id)
    try:
        view = await documents.view(doc_id, owner=owner)
        if view is None and await documents.is_gone(doc_id, owner=owner):
            raise DocumentExpired(f"document {doc_id} has expired or was deleted")
    except NotARecord as exc:
        raise DocumentNotFound(f"no document with id {doc_id}") from exc
    except RedisError as exc:
        raise _unavailable(settings, exc, "try again later") from exc
    if view is None:
        raise DocumentNotFound(f"no document with id {doc_id}")
    return view


@v1.delete("/documents/{doc_id}", status_code=204, responses=_ERRORS, response_class=Response)
async def delete_document(
    doc_id: str, documents: DocumentsDep, settings: SettingsDep, owner: AdmittedDep
) -> Response:
    """Cancel an unfinished document (it is not processed further), or delete a finished one's
    content and results (its id answers 410 afterwards)."""
    _known_id(doc_id)
    try:
        outcome = await documents.cancel(doc_id, owner=owner)
        if outcome == CancelOutcome.MISSING and await documents.is_gone(doc_id, owner=owner):
            raise DocumentExpired(f"document {doc_id} has expired or was deleted")
    except NotARecord as exc:
        raise DocumentNotFound(f"no document with id {doc_id}") from exc
    except (RedisError, RecordContention) as exc:
        raise _unavailable(settings, exc, "try again later") from exc
    if outcome == CancelOutcome.MISSING:
        raise DocumentNotFound(f"no document with id {doc_id}")
    return Response(status_code=204)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: _ERRORS[503]})
async def readyz(documents: DocumentsDep, settings: SettingsDep) -> dict[str, str]:
    """Redis answers, so submissions can be accepted."""
    try:
        await documents.redis.ping()
    except RedisError as exc:
        raise _unavailable(settings, exc, "submissions are refused until it is back") from exc
    return {"status": "ready"}
