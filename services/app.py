"""The FastAPI application: lifespan-owned Redis client, routes, error handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError

from records.layout import Keys
from services.auth import load_keys
from services.documents import DocumentService
from services.durability import needs_waitaof
from services.errors import EXCEPTION_HANDLERS
from services.openapi import install_openapi
from services.quota import Admission, quota_limits
from services.routes import router, v1
from services.settings import ApiSettings

log = logging.getLogger("newsdesk.api")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the API around ``settings`` (read from the environment when not given)."""
    settings = settings or ApiSettings()
    api_keys = load_keys(settings.api_keys, settings.api_keys_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=settings.redis_timeout_seconds,
            socket_timeout=settings.redis_timeout_seconds,
        )
        try:
            wait_for_disk: bool | None = await needs_waitaof(redis, settings)
        except RedisError:
            wait_for_disk = None  # Redis is down: decide on the first write
        app.state.settings = settings
        app.state.api_keys = api_keys
        app.state.documents = DocumentService(redis, settings, wait_for_disk=wait_for_disk)
        app.state.admission = Admission(
            redis, Keys(settings.key_prefix),
            quota_limits(settings, keys_required=api_keys.required),
            high_water=settings.storage_high_water,
        )  # fmt: skip
        log.info("API keys: %s; durability: %s", "required" if api_keys.required else "off",
                 settings.durability)  # fmt: skip
        try:
            yield
        finally:
            await redis.aclose()

    app = FastAPI(
        title="newsdesk",
        version="0.2.0",
        summary="Clean, entities and summaries of news articles, asynchronously.",
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
    app.include_router(router)
    app.include_router(v1)
    install_openapi(app)
    return app
