"""The OpenAPI description: every schema a route refers to, and problem+json error bodies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from contracts.documents import DocumentSubmission, Problem

# Models that routes refer to by hand (request bodies read from the raw stream, error bodies).
EXTRA_SCHEMAS: tuple[type[BaseModel], ...] = (DocumentSubmission, Problem)


def install_openapi(app: FastAPI) -> None:
    """Generate the description once, adding the hand-referenced schemas to its components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in EXTRA_SCHEMAS:
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in found.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components.setdefault(model.__name__, found)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
