"""Operators' view: Prometheus metrics that move by the right amounts, JSON logs with the
document's fields, and the monitoring profile's scrape configuration against the real stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from tests.conftest import REPO, SEEDS, RedisServer, Stack, wait_for_status

pytestmark = pytest.mark.e2e
STAGES = ("clean", "entities", "summarize")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:  # fmt: skip
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def stack(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack]
) -> Stack:
    stack = stack_factory(redis_server.url)
    stack.env["NEWSDESK_LOG_FORMAT"] = "json"
    stack.worker(concurrency=1)
    stack.run("reconciler", "reconcile")
    stack.api()
    return stack


def test_metrics_move_by_the_right_amounts_after_the_seed(stack: Stack) -> None:
    with stack.client() as client:
        before = _samples(client.get("/metrics").text)
        response = client.post("/v1/documents", content=(SEEDS / "article.txt").read_bytes(),
                               headers={"Content-Type": "text/plain"})  # fmt: skip
        view = wait_for_status(client, response.json()["id"], {"completed", "failed"})
        assert view["status"] == "completed"
        failed = client.post("/v1/documents", content=b"<html><nav>menu</nav></html>",
                             headers={"Content-Type": "text/html"})  # fmt: skip
        assert wait_for_status(client, failed.json()["id"], {"failed"})["status"] == "failed"
        scrape = client.get("/metrics")
    assert scrape.headers["content-type"].startswith("text/plain")
    after = _samples(scrape.text)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("newsdesk_documents_accepted_total") == 2
    assert moved("newsdesk_documents_completed_total") == 1
    assert moved("newsdesk_documents_failed_total", code="unprocessable_document") == 1
    for stage in STAGES:
        assert moved("newsdesk_stage_starts_total", stage=stage) == (2 if stage == "clean" else 1)
        count = moved("newsdesk_stage_duration_seconds_count", stage=stage, outcome="completed")
        assert count == 1, stage
        assert moved("newsdesk_stage_duration_seconds_bucket", stage=stage, outcome="completed",
                     le="+Inf") == 1  # fmt: skip
        took = moved("newsdesk_stage_duration_seconds_sum", stage=stage, outcome="completed")
        expected = view["stages"][stage]["duration_ms"] / 1000
        assert took == pytest.approx(expected, abs=0.01), stage
    assert moved("newsdesk_stage_duration_seconds_count", stage="clean", outcome="failed") == 1
    assert moved("newsdesk_http_requests_total", method="POST", route="/v1/documents",
                 status="202") == 2  # fmt: skip
    assert moved("newsdesk_http_request_duration_seconds_count", method="POST",
                 route="/v1/documents") == 2  # fmt: skip
    for queue in (*STAGES, "webhooks"):
        assert ("newsdesk_queue_depth", (("queue", queue),)) in after
    assert _value(after, "newsdesk_pending_documents") == 0
    assert _value(after, "newsdesk_worker_processes", queue="entities", ready="true") == 1


def test_logs_are_json_lines_carrying_the_documents_fields(stack: Stack) -> None:
    with stack.client() as client:
        response = client.post("/v1/documents", content=(SEEDS / "article.txt").read_bytes(),
                               headers={"Content-Type": "text/plain"})  # fmt: skip
        doc_id = response.json()["id"]
        wait_for_status(client, doc_id, {"completed"})
    lines = [
        line for service in stack.services for line in service.log().splitlines() if line.strip()
    ]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    done = [r for r in records if r.get("doc_id") == doc_id and r["message"] == "stage done"]
    assert sorted(r["stage"] for r in done) == sorted(STAGES)
    assert all(r["attempt"] == 1 and r["run"] and r["duration_ms"] > 0 for r in done)
    assert {r["logger"] for r in records} >= {"newsdesk.worker", "newsdesk.reconciler"}


def test_the_monitoring_profile_scrapes_endpoints_the_stack_serves(stack: Stack) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    prometheus = compose["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert "flower" in compose["services"] and compose["services"]["flower"]["profiles"] == [
        "monitoring"
    ]
    config = yaml.safe_load((REPO / "monitoring" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api = jobs["newsdesk-api"]
    assert api["static_configs"][0]["targets"] == ["api:8000"]
    path = api.get("metrics_path", "/metrics")
    with stack.client() as client:
        scraped = client.get(path)
    assert scraped.status_code == 200
    names = {family.name for family in text_string_to_metric_families(scraped.text)}
    assert {"newsdesk_queue_depth", "newsdesk_pending_documents", "newsdesk_worker_processes",
            "newsdesk_http_request_duration_seconds"} <= names  # fmt: skip
    mounted = [v for v in prometheus["volumes"] if "prometheus.yml" in v]
    assert (
        mounted
        and Path(REPO, mounted[0].split(":")[0]).resolve()
        == (REPO / "monitoring" / "prometheus.yml").resolve()
    )


def test_a_histogram_stored_one_bucket_per_observation_scrapes_as_cumulative_buckets() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from records.layout import Keys
    from records.metrics import observe
    from records.writes import HashIncrement
    from services.metrics import _from_hash

    stored: dict[str, float] = {}
    labels = {"stage": "clean", "outcome": "completed"}
    for seconds in (0.004, 0.02, 0.02, 3.0, 400.0):
        writes = observe(Keys("t:"), "stage_duration_seconds", seconds, **labels)
        assert len(writes) == 3, "one bucket, the sum and the count"
        for write in writes:
            assert isinstance(write, HashIncrement)
            stored[write.field] = stored.get(write.field, 0) + write.amount
    # What a worker from before this layout wrote for one 0.07 s observation: cumulative buckets.
    for le in ("0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "60.0", "300.0", "+Inf"):
        stored[f"stage_duration_seconds_bucket|le={le}|outcome=completed|stage=clean"] = 1
    stored["stage_duration_seconds_count|outcome=completed|stage=clean"] += 1
    registry = CollectorRegistry()

    class Found:
        def collect(self) -> object:
            return _from_hash(stored)

    registry.register(Found())  # type: ignore[arg-type]
    samples = _samples(generate_latest(registry).decode())

    def bucket(le: str) -> float:
        return _value(samples, "newsdesk_stage_duration_seconds_bucket", le=le, **labels)

    assert [bucket(le) for le in ("0.01", "0.025", "0.05", "0.1", "2.5", "5.0", "300.0", "+Inf")] \
        == [1, 3, 3, 4, 4, 5, 5, 6]  # fmt: skip
    assert _value(samples, "newsdesk_stage_duration_seconds_count", **labels) == 6
