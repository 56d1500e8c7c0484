"""The newsdesk Python SDK: submit documents and read them back, from blocking or asyncio code.

    from newsdesk.client import Client

    with Client("http://127.0.0.1:8000", api_key="...") as client:
        accepted = client.submit(open("article.html").read(), content_type="text/html")
        document = client.wait(accepted.id, timeout=60)
        print(document.result.summary.text)

``AsyncClient`` has the same methods as coroutines (``events`` and ``list`` are async
iterators). Answers are the contract models of ``contracts.documents``; failures raise the
typed errors of ``newsdesk.client.errors`` (their hierarchy is drawn there).
"""

from newsdesk.client.async_client import AsyncClient
from newsdesk.client.errors import (
    Conflict,
    ConnectionFailed,
    DocumentTooLarge,
    Gone,
    InvalidDocument,
    NewsdeskError,
    NotFound,
    QuotaExceeded,
    ServerError,
    StorageFull,
    Unauthorized,
    Unavailable,
    UnsupportedContentType,
)
from newsdesk.client.events import DocumentEvent, Event, QueuedEvent, StageEvent, WebhookEvent
from newsdesk.client.retries import RetryPolicy
from newsdesk.client.sync_client import Client

__all__ = [
    "AsyncClient",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "DocumentEvent",
    "DocumentTooLarge",
    "Event",
    "Gone",
    "InvalidDocument",
    "NewsdeskError",
    "NotFound",
    "QueuedEvent",
    "QuotaExceeded",
    "RetryPolicy",
    "ServerError",
    "StageEvent",
    "StorageFull",
    "Unauthorized",
    "Unavailable",
    "UnsupportedContentType",
    "WebhookEvent",
]
