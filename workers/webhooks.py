"""Delivering finished documents to their ``callback_url``, signed, with bounded retries.

A delivery is a task on its own queue (``webhooks``), served by a worker of its own, so a slow
or dead receiver never holds up a stage. Each attempt POSTs the document view (the same JSON as
``GET /v1/documents/{id}``) with these headers:

* ``Newsdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``
* ``Newsdesk-Event: document.completed`` (or ``document.failed``)
* ``Newsdesk-Delivery: <id>`` — the same for every retry of one delivery

A 2xx answer is a delivery; anything else (or no answer within the timeout) is retried after
``backoff * 2**(attempt-1)`` seconds, up to ``webhook_max_attempts``. Every attempt and the last
outcome are recorded in the document (``webhook`` in its view). Host names are resolved and
refused when they point at loopback, link-local or private addresses, unless allowed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from celery import Task
from pydantic import ValidationError
from redis.exceptions import RedisError

from contracts.callbacks import address_problem, callback_url_problem
from contracts.messages import WebhookMessage
from contracts.wire import STAGE_ORDER
from records.codec import utc_now
from records.store import RecordContention, RecordStore
from records.transitions import plan_webhook_attempt
from records.view import document_view
from workers.settings import WorkerSettings

log = logging.getLogger("newsdesk.webhooks")
USER_AGENT = "newsdesk-webhooks/1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature of a delivery: hex HMAC-SHA256 over ``"<timestamp>." + body``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def resolved_problem(url: str) -> str | None:
    """Why the URL's host resolves to an address webhooks must not reach, or None."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return f"cannot resolve {host}: {exc.strerror or exc}"
    for info in infos:
        problem = address_problem(str(info[4][0]))
        if problem:
            return f"{host} resolves to {problem}"
    return None


class WebhookSender:
    """Sends deliveries for one worker process; owns its Redis and HTTP clients."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._store: RecordStore | None = None
        self._client: httpx.Client | None = None

    @property
    def store(self) -> RecordStore:
        if self._store is None:
            self._store = RecordStore.connect(self.settings)
        return self._store

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            timeout = httpx.Timeout(self.settings.webhook_timeout_seconds)
            self._client = httpx.Client(timeout=timeout, follow_redirects=False)
        return self._client

    def deliver(self, task: Task, raw_message: Any) -> str:
        """One attempt; raises Celery's Retry when another attempt is due later."""
        try:
            doc_id = WebhookMessage.model_validate(raw_message).doc_id
        except ValidationError as exc:
            log.error("dropping a malformed webhook message: %s", exc)
            return "malformed"
        store = self.store
        record = store.read(doc_id)
        if record is None or record.webhook is None or record.webhook.status != "pending":
            return "nothing to deliver"
        url = record.options.callback_url or ""
        raw_outputs = store.redis.mget([store.keys.output(doc_id, stage) for stage in STAGE_ORDER])
        view = document_view(record, dict(zip(STAGE_ORDER, raw_outputs, strict=True)))
        body = view.model_dump_json().encode()
        attempt = int(task.request.retries) + 1
        status_code, error = self._post(url, body, event=f"document.{view.status}",
                                        delivery=str(task.request.id))  # fmt: skip
        delivered = status_code is not None and 200 <= status_code < 300
        final = delivered or attempt >= self.settings.webhook_max_attempts or error_is_final(error)
        try:
            store.transition(doc_id, lambda current: plan_webhook_attempt(
                store.keys, store.policy, current, delivered=delivered, final=final,
                status_code=status_code, error=error, now=utc_now()))  # fmt: skip
        except (RedisError, RecordContention) as exc:
            log.warning("could not record the webhook attempt: %s", type(exc).__name__,
                        extra={"doc_id": doc_id})  # fmt: skip
        log.info("webhook attempt", extra={"doc_id": doc_id, "attempt": attempt,
                                           "status_code": status_code, "error": error})  # fmt: skip
        if delivered:
            return "delivered"
        if final:
            return "failed"
        countdown = self.settings.webhook_backoff_seconds * 2 ** (attempt - 1)
        raise task.retry(countdown=countdown, max_retries=self.settings.webhook_max_attempts)

    def _post(
        self, url: str, body: bytes, *, event: str, delivery: str
    ) -> tuple[int | None, str | None]:
        allow_private = self.settings.webhook_allow_private
        problem = callback_url_problem(url, allow_private=allow_private)
        if problem is None and not allow_private:
            problem = resolved_problem(url)
        if problem is not None:
            return None, f"refused: {problem}"
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Newsdesk-Event": event,
            "Newsdesk-Delivery": delivery,
            "Newsdesk-Signature": f"t={timestamp},v1={signature(self.settings.webhook_secret, timestamp, body)}",
        }
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"the receiver answered {response.status_code}"


def error_is_final(error: str | None) -> bool:
    """A refused destination will not become acceptable by retrying."""
    return error is not None and error.startswith("refused:")
