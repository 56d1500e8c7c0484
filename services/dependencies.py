"""What every route needs: the services from the app's state, the caller, shared checks."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, Request
from redis.exceptions import AuthenticationError, OutOfMemoryError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from contracts.documents import DOC_ID_PATTERN
from records.store import RecordContention
from services.auth import authenticate
from services.batches import BatchService
from services.documents import DocumentService
from services.errors import DocumentNotFound, InvalidDocument, StorageUnavailable
from services.notifications import Notifier
from services.quota import Admission
from services.settings import ApiSettings

log = logging.getLogger("newsdesk.api")


async def _documents(request: Request) -> DocumentService:
    documents: DocumentService = request.app.state.documents
    return documents


async def _batches(request: Request) -> BatchService:
    batches: BatchService = request.app.state.batches
    return batches


async def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def _admission(request: Request) -> Admission:
    admission: Admission = request.app.state.admission
    return admission


async def _notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


async def _admitted(
    owner: Annotated[str, Depends(authenticate)],
    admission: Annotated[Admission, Depends(_admission)],
    settings: Annotated[ApiSettings, Depends(_settings)],
) -> str:
    """The caller, once its request rate is within its quota (for reads and cancels)."""
    try:
        await admission.check(owner)
    except RedisError as exc:
        raise unavailable(settings, exc, "try again later") from exc
    return owner


DocumentsDep = Annotated[DocumentService, Depends(_documents)]
BatchesDep = Annotated[BatchService, Depends(_batches)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
AdmissionDep = Annotated[Admission, Depends(_admission)]
NotifierDep = Annotated[Notifier, Depends(_notifier)]
OwnerDep = Annotated[str, Depends(authenticate)]
AdmittedDep = Annotated[str, Depends(_admitted)]

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": HTTPStatus(status).phrase, "content": PROBLEM_CONTENT}
    for status in (401, 404, 408, 409, 410, 413, 415, 422, 429, 503, 507)
}
_DOC_ID = re.compile(DOC_ID_PATTERN)
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def unavailable(
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


def nothing_sent(exc: Exception) -> bool:
    """Whether the request certainly never reached Redis (it could not even connect), or was
    refused as a whole (a MULTI aborted, Redis full): then nothing was stored."""
    if isinstance(exc, AuthenticationError):
        return True
    if isinstance(exc, RedisConnectionError):
        return "connecting to" in str(exc)
    return isinstance(exc, ResponseError | RecordContention)


def not_accepted(key: str | None, what: str = "document") -> str:
    again = " with the same Idempotency-Key" if key else ""
    return f"the {what} was not accepted; send it again later{again}"


def idempotency_key(request: Request) -> str | None:
    """The client's Idempotency-Key header: 1–255 visible ASCII characters, or absent."""
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise InvalidDocument(
            "Idempotency-Key header: 1 to 255 visible ASCII characters "
            f"(got {min(len(key), 10_000)} characters)"
        )
    return key


def known_id(doc_id: str, what: str = "document") -> str:
    """Ids are checked before they become Redis keys: anything malformed is simply unknown."""
    if not _DOC_ID.match(doc_id):
        raise DocumentNotFound(f"no {what} with id {doc_id[:100]!r}")
    return doc_id
