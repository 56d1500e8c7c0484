"""Errors the API answers with, all rendered as one problem+json shape.

ApiError                      -> status, code, detail
├── Unauthorized              401 unauthorized (no key, or not a valid one)
├── RequestTimedOut           408 request_timeout (the body stopped arriving)
├── QuotaExceeded             429 quota_exceeded (rate, documents or bytes in flight; Retry-After)
├── StorageFull               507 storage_full (Redis is close to its memory limit)
├── UnsupportedContentType    415 unsupported_content_type
├── DocumentTooLarge          413 document_too_large
├── InvalidDocument           422 invalid_document (names the field)
├── IdempotencyKeyReused      409 idempotency_key_reused (same key, another document)
├── DocumentNotFound          404 document_not_found
├── DocumentExpired           410 document_expired
└── StorageUnavailable        503 storage_unavailable (Redis unreachable or full)
anything else                 500 internal_error (logged by the server)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.documents import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a message naming the problem."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self, detail: str, *, headers: dict[str, str] | None = None, doc_id: str | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.doc_id = doc_id


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="newsdesk"'})


class RequestTimedOut(ApiError):
    status, code = 408, "request_timeout"


class QuotaExceeded(ApiError):
    status, code = 429, "quota_exceeded"


class StorageFull(ApiError):
    status, code = 507, "storage_full"


class UnsupportedContentType(ApiError):
    status, code = 415, "unsupported_content_type"


class DocumentTooLarge(ApiError):
    status, code = 413, "document_too_large"


class InvalidDocument(ApiError):
    status, code = 422, "invalid_document"


class IdempotencyKeyReused(ApiError):
    status, code = 409, "idempotency_key_reused"


class DocumentNotFound(ApiError):
    status, code = 404, "document_not_found"


class DocumentExpired(ApiError):
    status, code = 410, "document_expired"


class StorageUnavailable(ApiError):
    status, code = 503, "storage_unavailable"


def problem_response(
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    *,
    doc_id: str | None = None,
) -> JSONResponse:
    """The one error shape newsdesk answers with."""
    problem = Problem(
        title=HTTPStatus(status).phrase, status=status, detail=detail, code=code, doc_id=doc_id
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def describe_validation_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    """One line per invalid field: ``content_type: Input should be 'text/plain' or 'text/html'``."""
    lines = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        field = ".".join(location) or "body"
        lines.append(f"{field}: {error.get('msg', 'invalid value')}")
    return "; ".join(lines) or "the request is not valid"


def api_error_response(exc: ApiError) -> JSONResponse:
    """The answer to an ``ApiError``."""
    return problem_response(exc.status, exc.code, exc.detail, exc.headers, doc_id=exc.doc_id)


def unexpected_error_response() -> JSONResponse:
    """The answer to anything unexpected (the traceback goes to the log, never to the client)."""
    return problem_response(500, "internal_error", "an unexpected error occurred; it was logged")


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return api_error_response(exc)


async def _on_request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(422, "invalid_request", describe_validation_errors(list(exc.errors())))


async def _on_http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return problem_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    # The server still logs the traceback: Starlette re-raises after this answer is sent.
    return unexpected_error_response()


EXCEPTION_HANDLERS = {
    Exception: _on_unexpected,
    ApiError: _on_api_error,
    RequestValidationError: _on_request_validation,
    StarletteHTTPException: _on_http_exception,
}
