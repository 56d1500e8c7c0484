"""The FastAPI application: lifespan-owned Redis client, routes, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from services.documents import DocumentService
from services.errors import EXCEPTION_HANDLERS
from services.routes import router
from services.settings import ApiSettings


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the API around ``settings`` (read from the environment when not given)."""
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=settings.redis_timeout_seconds,
            socket_timeout=settings.redis_timeout_seconds,
        )
        app.state.settings = settings
        app.state.documents = DocumentService(redis, settings)
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
    return app
