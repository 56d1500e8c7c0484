"""Batch routes: up to 1,000 documents in one request, and their progress."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from redis.exceptions import RedisError

from contracts.documents import MAX_BATCH_ITEMS, BatchAccepted, BatchView
from records.store import RecordContention
from services.auth import authenticate
from services.batches import NDJSON_MEDIA_TYPE, fingerprint_of, parse_batch
from services.dependencies import (
    ERRORS,
    AdmissionDep,
    AdmittedDep,
    BatchesDep,
    OwnerDep,
    SettingsDep,
    idempotency_key,
    known_id,
    not_accepted,
    nothing_sent,
    unavailable,
)
from services.errors import DocumentNotFound, UnsupportedContentType
from services.intake import JSON_MEDIA_TYPE, media_type_of, read_body
from services.intake_routes import check_callback

batches_router = APIRouter(prefix="/v1", dependencies=[Depends(authenticate)], tags=["batches"])


@batches_router.post(
    "/batches",
    status_code=202,
    response_model=BatchAccepted,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON_MEDIA_TYPE: {"schema": {"type": "array", "maxItems": MAX_BATCH_ITEMS,
                                             "items": {"$ref": "#/components/schemas/DocumentSubmission"}}},
                NDJSON_MEDIA_TYPE: {"schema": {"type": "string"}},
            },
        }
    },
)  # fmt: skip
async def submit_batch(
    request: Request,
    response: Response,
    batches: BatchesDep,
    settings: SettingsDep,
    admission: AdmissionDep,
    owner: OwnerDep,
) -> BatchAccepted:
    """Store and queue up to 1,000 documents (a JSON array, or NDJSON one a line). Each item
    gets its own result: 202 with its id, or 422 with a problem; all accepted items are stored
    and queued in one MULTI."""
    key = idempotency_key(request)
    media_type, _ = media_type_of(request.headers.get("content-type"))
    if media_type not in (JSON_MEDIA_TYPE, NDJSON_MEDIA_TYPE):
        raise UnsupportedContentType(
            f"Content-Type {media_type or 'none'} is not accepted; send {JSON_MEDIA_TYPE} "
            f"(an array) or {NDJSON_MEDIA_TYPE}"
        )
    body = await read_body(request, max_bytes=settings.max_batch_bytes,
                           timeout=settings.body_timeout_seconds)  # fmt: skip
    items = parse_batch(body, media_type)
    problems = {
        item.index: problem
        for item in items
        if item.submission is not None
        and (problem := check_callback(item.submission.callback_url, settings))
    }
    accepted = [i for i in items if i.submission is not None and i.index not in problems]
    size = sum(len(i.submission.content.encode()) for i in accepted if i.submission is not None)
    try:
        await admission.check(owner, documents=len(accepted), content_bytes=size)
        answer, replayed = await batches.create(items, problems, owner=owner,
                                                fingerprint=fingerprint_of(body, media_type),
                                                idempotency_key=key)  # fmt: skip
    except (RedisError, RecordContention) as exc:
        if nothing_sent(exc):
            raise unavailable(settings, exc, not_accepted(key, "batch")) from exc
        again = "send it again with the same Idempotency-Key" if key else (
            "it may have been stored; to retry safely, send batches with an Idempotency-Key")  # fmt: skip
        raise unavailable(settings, exc, f"Redis did not confirm in time; {again}") from exc
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/batches/{answer.id}"
    return answer


@batches_router.get("/batches/{batch_id}", response_model=BatchView, responses=ERRORS)
async def read_batch(
    batch_id: str, batches: BatchesDep, settings: SettingsDep, owner: AdmittedDep
) -> BatchView:
    """How many of the batch's documents are in each status, and their ids in order."""
    known_id(batch_id, "batch")
    try:
        view = await batches.view(batch_id, owner=owner)
    except RedisError as exc:
        raise unavailable(settings, exc, "try again later") from exc
    if view is None:
        raise DocumentNotFound(f"no batch with id {batch_id}")
    return view
