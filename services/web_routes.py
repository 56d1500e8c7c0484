"""The web page for people: ``/`` and ``/d/{id}`` serve one static page that uses the API.

The page is a few small files in ``services/web/`` (HTML, CSS, framework-free JavaScript
modules), served as they are: no build step, nothing fetched from another origin. Its content
security policy allows scripts and styles from this origin only, so text taken from a document
can never run even if it reached the page as markup.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException

from services.dependencies import known_id

WEB_DIR = Path(__file__).resolve().parent / "web"
# The files the page is made of, and their media types; nothing else under WEB_DIR is served.
_SCRIPT = "text/javascript; charset=utf-8"
ASSETS = {
    "app.js": _SCRIPT,  # the page's entry point; the other modules are what it imports
    "api.js": _SCRIPT,
    "document.js": _SCRIPT,
    "dom.js": _SCRIPT,
    "highlight.js": _SCRIPT,
    "result.js": _SCRIPT,
    "app.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

web_router = APIRouter(include_in_schema=False)


def _page() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)  # fmt: skip


@web_router.get("/")
async def home_page() -> FileResponse:
    """The page: submit a document, follow its stages, read its result; recent documents."""
    return _page()


@web_router.get("/d/{doc_id}")
async def document_page(doc_id: str) -> FileResponse:
    """The same page, showing one document (its id is read from the path); linkable."""
    known_id(doc_id)
    return _page()


@web_router.get("/assets/{name}")
async def page_asset(name: str) -> FileResponse:
    """One of the page's own files (a fixed list; anything else is 404)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"the page has no file {name[:100]!r}")
    return FileResponse(WEB_DIR / name, media_type=media_type, headers=PAGE_HEADERS)
