"""Turning an HTTP request into a validated submission, counting the bytes actually received."""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Mapping

from fastapi import Request
from pydantic import ValidationError

from contracts.documents import CONTENT_TYPES, DocumentOptions, DocumentSubmission
from services.errors import (
    DocumentTooLarge,
    InvalidDocument,
    RequestTimedOut,
    UnsupportedContentType,
    describe_validation_errors,
)

JSON_MEDIA_TYPE = "application/json"
ACCEPTED_MEDIA_TYPES = (JSON_MEDIA_TYPE, *CONTENT_TYPES)


async def read_submission(
    request: Request, *, max_bytes: int, timeout: float = 10.0
) -> DocumentSubmission:
    """The submission in ``request``: a JSON document, or a raw text/plain or text/html body.

    A raw body takes its options from the query string (``?title=...&summary_sentences=5``);
    its charset comes from the Content-Type, else from a byte-order mark, else UTF-8.
    """
    media_type, charset = media_type_of(request.headers.get("content-type"))
    if media_type not in ACCEPTED_MEDIA_TYPES:
        shown = media_type or "none"
        raise UnsupportedContentType(
            f"Content-Type {shown} is not accepted; send {', '.join(ACCEPTED_MEDIA_TYPES)}"
        )
    body = await read_body(request, max_bytes=max_bytes, timeout=timeout)
    if media_type == JSON_MEDIA_TYPE:
        submission = _parse_json(body)
    else:
        submission = _parse_raw(body, media_type, charset, request.query_params)
    if not submission.content.strip():
        raise InvalidDocument("content: must not be empty or only white space")
    return submission


def media_type_of(header: str | None) -> tuple[str, str | None]:
    """The media type (lower case) and charset parameter of a Content-Type header."""
    if not header:
        return "", None
    media_type, *params = (part.strip() for part in header.split(";"))
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    return media_type.lower(), charset


async def read_body(request: Request, *, max_bytes: int, timeout: float) -> bytes:
    """The body, counted as it arrives: 413 past ``max_bytes`` (before the rest is read), 408
    when nothing arrives for ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise DocumentTooLarge(_too_large(int(declared), max_bytes))
    chunks: list[bytes] = []
    received = 0
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout) as idle:
            async for chunk in request.stream():
                idle.reschedule(loop.time() + timeout)
                received += len(chunk)
                if received > max_bytes:
                    raise DocumentTooLarge(_too_large(received, max_bytes, at_least=True))
                chunks.append(chunk)
    except TimeoutError as exc:
        raise RequestTimedOut(
            f"the request body stopped arriving ({received} bytes in, nothing for {timeout:g}s)"
        ) from exc
    return b"".join(chunks)


def _too_large(size: int, limit: int, *, at_least: bool = False) -> str:
    amount = f"at least {size}" if at_least else str(size)
    return f"the request body is {amount} bytes; the limit is {limit} bytes"


def _parse_json(body: bytes) -> DocumentSubmission:
    if not body.strip():
        raise InvalidDocument("body: a JSON object with a 'content' field is required")
    try:
        return DocumentSubmission.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise InvalidDocument(f"body: not valid JSON ({errors[0]['msg']})") from exc
        raise InvalidDocument(describe_validation_errors(list(errors))) from exc


# Byte-order marks, longest first (a UTF-32 LE mark starts like a UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def sniff_encoding(body: bytes, charset: str | None) -> str:
    """The declared charset, else the one a byte-order mark names, else UTF-8."""
    if charset:
        return charset
    return next((name for bom, name in _BOMS if body.startswith(bom)), "utf-8")


def _parse_raw(
    body: bytes, media_type: str, charset: str | None, query: Mapping[str, str]
) -> DocumentSubmission:
    encoding = sniff_encoding(body, charset)
    try:
        content = body.decode(encoding)
    except LookupError as exc:
        raise UnsupportedContentType(f"charset {encoding!r} is not known") from exc
    except UnicodeDecodeError as exc:
        raise InvalidDocument(
            f"content: not valid {encoding} at byte {exc.start}; declare the charset"
        ) from exc
    if not content.isascii():
        try:
            content.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidDocument(
                f"content: decoding as {encoding} gave no valid text at character {exc.start}"
            ) from exc
    try:
        options = DocumentOptions.model_validate(dict(query))
    except ValidationError as exc:
        raise InvalidDocument(describe_validation_errors(list(exc.errors()))) from exc
    return DocumentSubmission(
        content=content,
        content_type=media_type,
        **options.model_dump(),
    )
