"""``GET /metrics`` in the Prometheus text format.

Two sources:
* cluster-wide document metrics, kept in Redis by the record transitions themselves (see
  ``records.metrics``) and read on scrape, together with the queue depth of every stage, the
  pending and dead-letter counts and the live worker processes — so every API process answers
  the same and no worker process has to be scraped;
* this API process's own HTTP metrics (requests and their latency per route), collected by an
  ASGI middleware. When the API runs several processes, ``PROMETHEUS_MULTIPROC_DIR`` makes
  prometheus-client aggregate them.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector
from redis.asyncio import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.wire import QUEUE_BY_STAGE, WEBHOOK_QUEUE
from records.layout import Keys
from records.metrics import BIN, cumulative_buckets, parse_field
from records.presence import PRESENCE_TTL_FACTOR, live_workers_async
from services.warm_up import is_warm_up

PREFIX = "newsdesk_"
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
HELP = {
    "documents_accepted_total": "Documents accepted (202) and queued.",
    "documents_completed_total": "Documents whose last stage completed.",
    "documents_failed_total": "Documents that failed, by error code.",
    "documents_cancelled_total": "Documents cancelled before they finished.",
    "stage_starts_total": "Stage runs started (retries and take-overs included).",
    "stage_releases_total": "Stage runs that gave their lease back after a passing fault.",
    "stage_duration_seconds": "Time from a stage run's start to its result.",
    "reconciler_requeued_total": "Stages the reconciler queued again, by reason.",
    "webhook_attempts_total": "Webhook delivery attempts, by outcome.",
}


class HttpMetrics:
    """This process's request counter and latency histogram."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.requests = Counter(
            "newsdesk_http_requests", "HTTP requests answered, by route and status.",
            ["method", "route", "status"], registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "newsdesk_http_request_duration_seconds", "Time to answer an HTTP request, by route.",
            ["method", "route"], buckets=HTTP_BUCKETS, registry=registry,
        )  # fmt: skip


class HttpMetricsMiddleware:
    """Counts and times every HTTP request by its route template (pure ASGI: cheap)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_warm_up(scope):
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - began)


def http_metrics() -> tuple[HttpMetrics, CollectorRegistry]:
    """The HTTP metrics and the registry to expose them from (multiprocess-aware)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics = HttpMetrics(registry=None)  # values go to the shared directory
        exposed = CollectorRegistry()
        MultiProcessCollector(exposed)  # type: ignore[no-untyped-call]
        return metrics, exposed
    registry = CollectorRegistry()
    return HttpMetrics(registry=registry), registry


class _Snapshot:
    """Collector of what one scrape read from Redis."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self.metrics


async def cluster_metrics(redis: Redis, keys: Keys, *, heartbeat_seconds: float) -> list[Metric]:
    """Document metrics from Redis, plus queue depths, pending count and live workers."""
    queues = [*QUEUE_BY_STAGE.values(), WEBHOOK_QUEUE]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.metrics)
        for queue in queues:
            pipe.llen(queue)
        pipe.zcard(keys.pending)
        pipe.llen(keys.dead_letters)
        raw, *depths, pending, dead = await pipe.execute()
    workers = await live_workers_async(redis, keys, now=time.time(),
                                       ttl_seconds=heartbeat_seconds * PRESENCE_TTL_FACTOR)  # fmt: skip
    found = _from_hash({k.decode(): float(v) for k, v in raw.items()})
    depth = GaugeMetricFamily(f"{PREFIX}queue_depth", "Messages waiting in each queue.",
                              labels=["queue"])  # fmt: skip
    for queue, value in zip(queues, depths, strict=True):
        depth.add_metric([queue], value)
    alive = GaugeMetricFamily(f"{PREFIX}worker_processes", "Live worker processes, by queue.",
                              labels=["queue", "ready"])  # fmt: skip
    counts: defaultdict[tuple[str, str], int] = defaultdict(int)
    for worker in workers:
        for queue in worker.queues:
            counts[(queue, str(worker.ready).lower())] += 1
    for (queue, ready), value in sorted(counts.items()):
        alive.add_metric([queue, ready], value)
    return [
        *found,
        depth,
        GaugeMetricFamily(f"{PREFIX}pending_documents",
                          "Unfinished documents the reconciler watches.", value=pending),
        GaugeMetricFamily(f"{PREFIX}dead_letters", "Queue entries no worker could read.",
                          value=dead),
        alive,
    ]  # fmt: skip


def _from_hash(values: Mapping[str, float]) -> list[Metric]:
    counters: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    histograms: dict[str, dict[tuple[tuple[str, str], ...], dict[str, Any]]] = defaultdict(dict)
    for raw_field, value in values.items():
        name, labels = parse_field(raw_field)
        for suffix in (BIN, "_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name.removesuffix(suffix) in HELP:
                base = name.removesuffix(suffix)
                le = labels.pop("le", None)
                series = histograms[base].setdefault(tuple(sorted(labels.items())),
                                                     {BIN: {}, "_bucket": {}, "sum": 0.0})  # fmt: skip
                if suffix in (BIN, "_bucket") and le is not None:
                    series[suffix][le] = value
                elif suffix == "_sum":
                    series["sum"] = value
                break
        else:
            counters[name].append((labels, value))
    metrics: list[Metric] = []
    for name, series_list in sorted(counters.items()):
        label_names = sorted({k for labels, _ in series_list for k in labels})
        family = CounterMetricFamily(PREFIX + name.removesuffix("_total"), HELP.get(name, name),
                                     labels=label_names)  # fmt: skip
        for labels, value in series_list:
            family.add_metric([labels.get(k, "") for k in label_names], value)
        metrics.append(family)
    for name, series_map in sorted(histograms.items()):
        label_names = sorted({k for key in series_map for k, _ in key})
        family_h = HistogramMetricFamily(PREFIX + name, HELP.get(name, name), labels=label_names)
        for key, series in series_map.items():
            labels = dict(key)
            buckets = cumulative_buckets(series[BIN], series["_bucket"])
            family_h.add_metric([labels.get(k, "") for k in label_names], buckets,
                                sum_value=series["sum"])  # fmt: skip
        metrics.append(family_h)
    return metrics


async def exposition(
    redis: Redis, keys: Keys, local: CollectorRegistry, *, heartbeat_seconds: float, waiting: int
) -> tuple[bytes, str]:
    """The whole scrape: (body, content type)."""
    registry = CollectorRegistry()
    found = await cluster_metrics(redis, keys, heartbeat_seconds=heartbeat_seconds)
    found.append(GaugeMetricFamily(
        f"{PREFIX}api_waiting_requests",
        "Requests of this API process waiting for a document to change (long-poll, events).",
        value=waiting))  # fmt: skip
    registry.register(_Snapshot(found))
    return generate_latest(registry) + generate_latest(local), CONTENT_TYPE_LATEST
