"""Errors the client raises, each carrying the API's problem ``code``, ``status`` and ``detail``.

NewsdeskError                     status, code, detail, problem, doc_id, retry_after
├── ConnectionFailed              no answer: refused, reset or timed out (after retries)
├── Unauthorized                  401 unauthorized (no key, or not a valid one)
├── NotFound                      404 document_not_found (also another key's document)
├── Gone                          410 document_expired (expired or deleted)
├── Conflict                      409 idempotency_key_reused (same key, other content)
├── InvalidDocument               422 invalid_document / invalid_request (names the field)
│   ├── DocumentTooLarge          413 document_too_large
│   └── UnsupportedContentType    415 unsupported_content_type
├── QuotaExceeded                 429 quota_exceeded (retry_after)
├── Unavailable                   503 storage_unavailable, 408, 502, 504 (retry_after, doc_id)
│   └── StorageFull               507 storage_full
└── ServerError                   500 internal_error and any other unexpected answer

``transient`` errors are retried by the client (with backoff) before they are raised.
"""

from __future__ import annotations

import email.utils
import json
import math
import time

import httpx
from pydantic import ValidationError

from contracts.documents import Problem


class NewsdeskError(Exception):
    """An API call that did not succeed: the problem's code, HTTP status and detail."""

    transient = False
    default_code = "error"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        problem: Problem | None = None,
        retry_after: float | None = None,
        maybe_applied: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code or self.default_code
        self.problem = problem
        self.retry_after = retry_after
        # The request may have reached the server and taken effect even though it failed.
        self.maybe_applied = maybe_applied

    @property
    def doc_id(self) -> str | None:
        """On a 503 after which the document may have been stored: its id."""
        return self.problem.doc_id if self.problem is not None else None

    def __str__(self) -> str:
        status = f"{self.status} " if self.status is not None else ""
        return f"{status}{self.code}: {self.detail}"


class ConnectionFailed(NewsdeskError):
    transient, default_code = True, "connection_failed"


class Unauthorized(NewsdeskError):
    default_code = "unauthorized"


class NotFound(NewsdeskError):
    default_code = "document_not_found"


class Gone(NewsdeskError):
    default_code = "document_expired"


class Conflict(NewsdeskError):
    default_code = "idempotency_key_reused"


class InvalidDocument(NewsdeskError):
    default_code = "invalid_document"


class DocumentTooLarge(InvalidDocument):
    default_code = "document_too_large"


class UnsupportedContentType(InvalidDocument):
    default_code = "unsupported_content_type"


class QuotaExceeded(NewsdeskError):
    transient, default_code = True, "quota_exceeded"


class Unavailable(NewsdeskError):
    transient, default_code = True, "storage_unavailable"


class StorageFull(Unavailable):
    transient, default_code = False, "storage_full"


class ServerError(NewsdeskError):
    default_code = "internal_error"


_BY_STATUS: dict[int, type[NewsdeskError]] = {
    401: Unauthorized,
    404: NotFound,
    408: Unavailable,
    409: Conflict,
    410: Gone,
    413: DocumentTooLarge,
    415: UnsupportedContentType,
    422: InvalidDocument,
    429: QuotaExceeded,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
    507: StorageFull,
}
# Answers after which the server certainly did nothing: the request is refused before any write.
_NOT_APPLIED_STATUSES = frozenset({401, 404, 408, 409, 410, 413, 415, 422, 429, 507})


def error_from_response(response: httpx.Response) -> NewsdeskError:
    """The typed error for a failed answer: a problem+json body, or whatever a proxy sent."""
    status = response.status_code
    problem = _problem_of(response)
    code: str | None
    if problem is not None:
        detail, code = problem.detail, problem.code
    else:
        detail = response.text.strip()[:500] or response.reason_phrase or f"HTTP {status}"
        code = response.reason_phrase.lower().replace(" ", "_") if response.reason_phrase else None
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else NewsdeskError)
    return kind(
        detail,
        status=status,
        code=code,
        problem=problem,
        retry_after=retry_after_seconds(response.headers.get("retry-after")),
        maybe_applied=status not in _NOT_APPLIED_STATUSES,
    )


def error_from_exception(exc: httpx.TransportError) -> ConnectionFailed:
    """The error for a request that got no answer; whether it may have reached the server."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    error = ConnectionFailed(
        f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
        maybe_applied=not never_sent,
    )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        error.transient = False  # a wrong URL or request: sending it again cannot help
    error.__cause__ = exc
    return error


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header in seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _problem_of(response: httpx.Response) -> Problem | None:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return Problem.model_validate(response.json())
    except (ValidationError, json.JSONDecodeError, UnicodeDecodeError):
        return None
