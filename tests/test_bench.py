"""A smoke run of ``make bench``: every measurement on a few documents, the report written."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evaluation.lean_http import HttpError, LeanClient
from evaluation.occupancy import Span, occupancy
from evaluation.record_writes import measure as measure_record_writes


def test_occupancy_counts_time_on_documents_and_the_waits_between_them() -> None:
    spans = [Span(10.0, 10.040), Span(10.044, 10.084), Span(10.090, 10.130)]
    one = occupancy(spans, processes=1)
    assert one["pool_ms_per_document"] == 40.0
    assert one["wall_ms_per_document"] == round(130 / 3, 1)
    assert one["busy_share"] == round(120 / 130, 3)
    assert (one["handoff_median_ms"], one["handoff_mean_ms"]) == (5.0, 5.0)
    two = occupancy(spans, processes=2)  # the same time spread over twice the processes
    assert two["busy_share"] == round(120 / 260, 3) and "handoff_median_ms" not in two
    assert occupancy([], processes=1) == {}


@pytest.mark.e2e
def test_a_smoke_run_of_the_benchmark_measures_every_step_and_writes_the_report(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evaluation.bench", "--smoke", "--out", str(tmp_path),
         "--docs", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["bare"]["now"]["median_docs_per_second"]["2"] > 0
    service = report["service"]["2"]
    assert service["corpus"]["statuses"].get("completed", 0) >= 1
    assert sum(service["corpus"]["statuses"].values()) == report["corpus"]["documents"]
    assert 0 < service["idle_latency_ms"]["p50"] < 30_000
    target = service["latency_under_load"]["levels"][0]  # the smoke run's one level, 50%
    assert target["failed"] == 0
    assert len(target["p99_runs"]) == 3 and target["p99"] == sorted(target["p99_runs"])[1], target
    assert target["samples_all_runs"] > target["samples"], "the failures of every run counted"
    assert service["worker_rss_mb"]["largest_pool_process"] > 50  # a model is loaded in it
    spent = service["cpu_ms_per_document"]
    assert {"redis", "api", "worker", "worker pool", "client"} <= set(spent), spent
    assert spent["worker pool"] > 0, "the pool did the stages (CPU times tick every 10 ms)"
    assert service["bare_docs_per_second"] > 0, "the bare pipeline, measured alongside"
    # one pair in a smoke run: its ratio (kept to 3 places, shown to 2) is the median
    assert service["service_over_bare"] == pytest.approx(
        service["corpus"]["docs_per_second"] / service["bare_docs_per_second"], abs=0.001
    )
    assert report["ratios"]["service/bare, 2 process(es)"] == round(service["service_over_bare"], 2)
    pool = service["pool"]  # read off the records of the documents just processed
    assert 0 < pool["pool_ms_per_document"] <= 2 * pool["wall_ms_per_document"], pool
    assert 0 < pool["busy_share"] <= 1, pool
    stopped, busy = report["intake"]
    assert stopped["accepted"] > 0 and stopped["every_accepted_queued"]
    assert busy["accepted"] > 0
    markdown = (tmp_path / "BENCHMARKS.md").read_text()
    assert "| target | measured | met |" in markdown and "## (d) Intake" in markdown
    assert "seed p99 <= 250 ms at 50% load" in markdown and "(median of 3 runs: " in markdown
    assert (tmp_path / "benchmarks.png").stat().st_size > 10_000


def test_the_record_writes_benchmark_carries_documents_through_every_way() -> None:
    report: Any = measure_record_writes(rounds=1, documents=3)  # each way checks its documents
    for way in ("watched", "kept", "snapshot"):
        assert report[way]["median_wall_ms_per_document"] > 0
    sent = {way: report[way]["commands_per_document"] for way in ("watched", "kept", "snapshot")}
    # Round trips: WATCH, read, EXEC for each of the 4 transitions, and the content apart ...
    assert sent["watched"] == {"watch": 4, "exec": 4, "evalsha": 0, "get": 1, "hgetall": 4}
    # ... the begin that way (its MULTI reads the record back), then one call per completion
    # (each script reads the record twice: the guard, the reply) ...
    assert sent["kept"] == {"watch": 1, "exec": 1, "evalsha": 3, "get": 1, "hgetall": 2 + 6}
    # ... the record and the content in one round trip, then one call per transition.
    assert sent["snapshot"] == {"watch": 0, "exec": 0, "evalsha": 4, "get": 1, "hgetall": 1 + 8}
    gain = report["gain_kept_to_snapshot"]
    assert gain["low"] <= gain["difference"] <= gain["high"]


def test_the_lean_client_reads_sized_chunked_and_closing_answers() -> None:
    accepted: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        with contextlib.suppress(asyncio.IncompleteReadError):
            await answer_each(reader, writer)
        writer.close()
        await writer.wait_closed()

    async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
            if head.startswith(b"GET /close"):  # a body that ends with the connection
                writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"closed": true}')
                await writer.drain()
                return
            if head.startswith(b"GET /chunked"):
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"3\r\n{\"a\r\n5\r\n\": 1}\r\n0\r\n\r\n")  # fmt: skip
            else:
                answer = b'{"echo": "%s"}' % body
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(answer), answer))  # fmt: skip
            await writer.drain()

    async def run() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, LeanClient(f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/chunked", params={"wait": 1})).json() == {"a": 1}
            missing = await client.post("/x", b"hi", "text/plain")
            assert missing.status == 404 and missing.json() == {"echo": "hi"}
            with pytest.raises(HttpError, match="404"):
                missing.raise_for_status()
            assert accepted == [1]  # both requests on one kept-alive connection
            assert (await client.get("/close")).json() == {"closed": True}
            assert (await client.get("/chunked")).json() == {"a": 1}
        assert accepted == [1, 1]  # the closed connection was not reused

    asyncio.run(run())
