"""``Client``: the newsdesk API from blocking code."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Self

import httpx

from contracts.documents import (
    FINISHED_STATUSES,
    BatchAccepted,
    BatchView,
    ContentType,
    DocumentAccepted,
    DocumentPage,
    DocumentStatus,
    DocumentStatusView,
    DocumentSummary,
    DocumentView,
)
from newsdesk.client import calls
from newsdesk.client.errors import (
    ConnectionFailed,
    Gone,
    NewsdeskError,
    error_from_exception,
    error_from_response,
)
from newsdesk.client.events import DocumentEvent, Event, SSEDecoder, typed_event
from newsdesk.client.retries import RetryPolicy

BatchAnswers = list[BatchAccepted]  # (the class below has a method named ``list``)


class Client:
    """The newsdesk API for blocking code; a context manager that closes its connections.

    ``url`` and ``api_key`` default to the ``NEWSDESK_URL`` and ``NEWSDESK_API_KEY`` environment
    variables. Transient failures are retried according to ``retries``; submissions always carry
    an Idempotency-Key, so a retry never creates a second document.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = calls.base_url(url)
        self.retries = retries or RetryPolicy()
        self._timeout = httpx.Timeout(timeout)
        self._http = httpx.Client(base_url=self.url, headers=calls.default_headers(api_key),
                                  timeout=self._timeout, transport=transport)  # fmt: skip

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def submit(
        self,
        content: str,
        *,
        content_type: ContentType = "text/plain",
        title: str | None = None,
        url: str | None = None,
        language: str | None = None,
        metadata: Mapping[str, str | int | float | bool] | None = None,
        summary_sentences: int | None = None,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> DocumentAccepted:
        """Store one document and queue it; the answer names the id to read it by."""
        body = calls.submission(content, content_type=content_type, title=title, url=url,
                                language=language, metadata=metadata,
                                summary_sentences=summary_sentences, callback_url=callback_url)  # fmt: skip
        key = idempotency_key or calls.new_idempotency_key()
        return calls.parsed(self._send(calls.submit(body, key)), DocumentAccepted)

    def submit_many(
        self,
        items: Iterable[calls.Item],
        *,
        idempotency_key: str | None = None,
        max_batch_bytes: int = calls.MAX_BATCH_BYTES,
    ) -> BatchAnswers:
        """Submit documents in batches of at most 1,000 (and ``max_batch_bytes`` of JSON): one
        answer per batch, whose item indices count from the start of ``items``. Invalid items are
        rejected one by one (status 422)."""
        body = [calls.batch_item(item) for item in items]
        key = idempotency_key or calls.new_idempotency_key()
        answers = [calls.parsed(self._send(call), BatchAccepted)
                   for call in calls.batches(body, key, max_bytes=max_batch_bytes)]  # fmt: skip
        return calls.renumbered(answers)

    def get(self, doc_id: str) -> DocumentView:
        """The document: status, per-stage progress and whatever results exist so far."""
        return calls.parsed(self._send(calls.document(doc_id)), DocumentView)

    def wait(self, doc_id: str, *, timeout: float | None = 300.0) -> DocumentView:
        """The document once it finished, or as it is when ``timeout`` seconds have passed
        (None: no limit); long-polls the API, a minute at a time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = calls.MAX_WAIT_SECONDS if deadline is None else deadline - time.monotonic()
            view = calls.parsed(self._send(calls.document(doc_id, wait=left)), DocumentView)
            if view.status in FINISHED_STATUSES:
                return view
            if deadline is not None and time.monotonic() >= deadline:
                return view

    def status(self, doc_id: str) -> DocumentStatusView:
        """Status and per-stage progress only, without results (cheap to poll)."""
        return calls.parsed(self._send(calls.status(doc_id)), DocumentStatusView)

    def batch(self, batch_id: str) -> BatchView:
        """How many of a batch's documents are in each status, and their ids."""
        return calls.parsed(self._send(calls.batch(batch_id)), BatchView)

    def cancel(self, doc_id: str) -> None:
        """Cancel an unfinished document, or delete a finished one (its id then answers 410).

        After a failure that may have reached the server, the document is read before the
        request is sent again: one found cancelled or gone counts as done, so a retry never
        turns a cancel into a delete.
        """
        for attempt in range(1, self.retries.attempts + 1):
            try:
                self._send(calls.cancel(doc_id))
                return
            except NewsdeskError as error:
                if (
                    not (error.transient and error.maybe_applied)
                    or attempt == self.retries.attempts
                ):
                    raise
            try:
                if self.status(doc_id).status == DocumentStatus.CANCELLED:
                    return
            except Gone:
                return

    def events(self, doc_id: str, *, last_event_id: str | None = None) -> Iterator[Event]:
        """The document's events as they happen, ending with the ``DocumentEvent`` that carries
        the finished document; a dropped connection is resumed after the last event received."""
        last, failures = last_event_id, 0
        while True:
            response = self._send(calls.events(doc_id, last), stream=True)
            received = False
            try:
                decoder = SSEDecoder()
                for line in response.iter_lines():
                    sse = decoder.decode(line)
                    if sse is None:
                        continue
                    last, received = sse.id or last, True
                    event = typed_event(sse, doc_id)
                    if event is not None:
                        yield event
                        if isinstance(event, DocumentEvent):
                            return
                error: NewsdeskError = ConnectionFailed(
                    "the event stream ended before the document finished", maybe_applied=True
                )
            except httpx.TransportError as exc:
                error = error_from_exception(exc)
            finally:
                response.close()
            failures = (0 if received else failures) + 1
            delay = self.retries.delay(failures, error)
            if delay is None:
                raise error
            time.sleep(delay)

    def list(
        self,
        *,
        status: DocumentStatus | str | None = None,
        since: datetime | str | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Iterator[DocumentSummary]:
        """The caller's documents, newest first, at most ``limit`` of them (None: all), read a
        page at a time as the iteration goes on."""
        cursor, count = None, 0
        while limit is None or count < limit:
            size = page_size if limit is None else min(page_size, limit - count)
            call = calls.page(status=status, since=since, cursor=cursor, size=size)
            page = calls.parsed(self._send(call), DocumentPage)
            for item in page.items[: None if limit is None else limit - count]:
                count += 1
                yield item
            if not page.next_cursor or not page.items:
                return
            cursor = page.next_cursor

    def _send(self, call: calls.Call, *, stream: bool = False) -> httpx.Response:
        """Send ``call``, again after transient failures as the retry policy allows; any other
        failure, or the last one, is raised as its typed error."""
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request(
                call.method, call.path, params=call.params or None, json=call.body,
                headers=call.headers, timeout=calls.request_timeout(self._timeout, call),
            )  # fmt: skip
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                error: NewsdeskError = error_from_exception(exc)
            else:
                if response.status_code < 400:
                    return response
                if stream:
                    response.read()
                    response.close()
                error = error_from_response(response)
            delay = self.retries.delay(attempt, error, resendable=call.resendable)
            if delay is None:
                raise error
            time.sleep(delay)
