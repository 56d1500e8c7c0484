"""The running API against its own OpenAPI description, fuzzed by schemathesis: no server
error, and every answer (status, content type, headers, body) as documented."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RedisServer, Stack

pytestmark = pytest.mark.e2e
CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance",
])  # fmt: skip


def test_the_api_conforms_to_its_openapi_description_under_fuzzing(
    redis_server: RedisServer, redis_client: object, stack_factory: Callable[[str], Stack]
) -> None:
    stack = stack_factory(redis_server.url)
    stack.api()
    # A worker finishes the documents the fuzzer submits, so `?wait=` on them answers at once.
    stack.worker()
    stack.wait_for_workers()
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [str(schemathesis), "run", f"{stack.base_url}/openapi.json", "--checks", CHECKS,
         "--phases", "examples,coverage,fuzzing", "--max-time", "30", "--workers", "2",
         "--request-timeout", "70", "--seed", "1", "--no-color"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    report = result.stdout + result.stderr
    print(report[-1500:])
    assert result.returncode == 0, report[-6000:]
    generated = [line for line in report.splitlines() if "generated" in line and "passed" in line]
    assert generated, report[-3000:]
    total = int(generated[-1].split()[0])
    assert total >= 200, f"too few cases to mean anything: {generated[-1]}"
