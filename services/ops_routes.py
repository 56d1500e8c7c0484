"""Liveness, readiness and worker status: open even when API keys are required."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from redis.exceptions import RedisError

from contracts.wire import QUEUE_BY_STAGE, STAGE_ORDER
from records.presence import PRESENCE_TTL_FACTOR, live_workers_async, ready_queues
from services.dependencies import ERRORS, DocumentsDep, SettingsDep, unavailable
from services.metrics import exposition

router = APIRouter(tags=["operations"])


class WorkerStatus(BaseModel):
    """One worker process as it announced itself."""

    name: str
    host: str
    pid: int
    queues: list[str]
    ready: bool
    seen_at: float


class WorkersReport(BaseModel):
    """Whether every stage has a worker process with its models loaded."""

    ready: bool
    missing_queues: list[str]
    workers: list[WorkerStatus]


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request, documents: DocumentsDep, settings: SettingsDep) -> Response:
    """Prometheus metrics: document counters and stage durations for the whole cluster (kept
    in Redis), queue depths, pending documents, live workers, and this process's HTTP
    requests and latencies."""
    try:
        body, content_type = await exposition(
            documents.redis, documents.keys, request.app.state.metrics_registry,
            heartbeat_seconds=settings.policy().heartbeat_seconds,
            waiting=request.app.state.notifier.waiting,
        )  # fmt: skip
    except RedisError as exc:
        raise unavailable(settings, exc, "try again later") from exc
    return Response(body, media_type=content_type)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: ERRORS[503]})
async def readyz(documents: DocumentsDep, settings: SettingsDep) -> dict[str, str]:
    """Redis answers, so submissions can be accepted (whether or not any worker runs)."""
    try:
        await documents.redis.ping()
    except RedisError as exc:
        raise unavailable(settings, exc, "submissions are refused until it is back") from exc
    return {"status": "ready"}


@router.get("/readyz/workers", response_model=WorkersReport, responses={503: ERRORS[503]})
async def workers_ready(documents: DocumentsDep, settings: SettingsDep) -> WorkersReport:
    """The worker processes alive now, and the stage queues no ready worker serves yet.
    (Always 200: a stack with workers scaled to zero still accepts documents.)"""
    ttl = settings.policy().heartbeat_seconds * PRESENCE_TTL_FACTOR
    try:
        workers = await live_workers_async(documents.redis, documents.keys, now=time.time(),
                                           ttl_seconds=ttl)  # fmt: skip
    except RedisError as exc:
        raise unavailable(settings, exc, "try again later") from exc
    missing = sorted({QUEUE_BY_STAGE[stage] for stage in STAGE_ORDER} - ready_queues(workers))
    return WorkersReport(
        ready=not missing,
        missing_queues=missing,
        workers=[WorkerStatus(**worker.as_json()) for worker in workers],
    )
