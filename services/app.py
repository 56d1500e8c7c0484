"""The FastAPI application: lifespan-owned Redis clients and services, routes, error handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from records.layout import Keys
from records.wire import RedisWire
from services.auth import load_keys
from services.batch_routes import batches_router
from services.batches import BatchService
from services.documents import DocumentService
from services.durability import needs_waitaof
from services.errors import EXCEPTION_HANDLERS
from services.intake_routes import IntakeFastLane, intake_router
from services.metrics import HttpMetricsMiddleware, http_metrics
from services.notifications import Notifier
from services.openapi import install_openapi
from services.ops_routes import router as ops_router
from services.quota import Admission, quota_limits
from services.routes import v1
from services.settings import ApiSettings
from services.warm_up import warm_up
from services.web_routes import web_router

log = logging.getLogger("newsdesk.api")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the API around ``settings`` (read from the environment when not given)."""
    settings = settings or ApiSettings()
    api_keys = load_keys(settings.api_keys, settings.api_keys_file)
    keys = Keys(settings.key_prefix)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A bounded pool: under a burst, requests queue for a connection instead of opening
        # hundreds at once (which makes every reply slower, and then time out).
        pool = BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
            socket_timeout=settings.redis_timeout_seconds,
        )
        redis = Redis(connection_pool=pool)
        wire = RedisWire(settings.redis_url, timeout=settings.redis_timeout_seconds)
        try:
            wait_for_disk: bool | None = await needs_waitaof(redis, settings)
        except RedisError:
            wait_for_disk = None  # Redis is down: decide on the first write
        notifier = Notifier(settings.redis_url, keys.notifications)
        await notifier.start()
        app.state.settings = settings
        app.state.api_keys = api_keys
        app.state.notifier = notifier
        documents = DocumentService(redis, wire, settings, wait_for_disk=wait_for_disk)
        app.state.documents = documents
        app.state.batches = BatchService(documents.records,
                                         idempotency_ttl=settings.idempotency_ttl_seconds,
                                         ensure_on_disk=documents.ensure_on_disk)  # fmt: skip
        app.state.admission = Admission(
            redis, wire, keys, quota_limits(settings, keys_required=api_keys.required),
            high_water=settings.storage_high_water,
        )  # fmt: skip
        await warm_up(app, redis)
        log.info("API keys: %s; durability: %s", "required" if api_keys.required else "off",
                 settings.durability)  # fmt: skip
        try:
            yield
        finally:
            await notifier.stop()
            await wire.close()
            await redis.aclose(close_connection_pool=True)

    app = FastAPI(
        title="newsdesk",
        version="0.2.0",
        summary="Clean, entities and summaries of news articles, asynchronously.",
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
    metrics, registry = http_metrics()
    app.state.metrics_registry = registry
    app.add_middleware(IntakeFastLane)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    app.include_router(ops_router)
    app.include_router(intake_router)
    app.include_router(v1)
    app.include_router(batches_router)
    app.include_router(web_router)
    install_openapi(app)
    return app
