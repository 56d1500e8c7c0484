"""The fault table (docs/RELIABILITY.md): each fault injected into the real stack, with the
documents submitted, completed, failed and lost, and the longest recovery. ``make chaos``.

The pool-child and whole-worker SIGKILL rows come from tests/test_recovery.py (in ``make test``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from redis import Redis

from newsdesk.embedded_redis import free_port, redis_server_command, wait_for_redis
from records.layout import Keys
from tests.chaos.conftest import ARTICLE, articles, statuses, submit, tally, wait_finished
from tests.conftest import FaultRow, RedisServer, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]
Report = Callable[[FaultRow], None]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _full_stack(stack_factory: Callable[[str], Stack], url: str, *, concurrency: int = 2) -> Stack:
    stack = stack_factory(url)
    stack.worker(concurrency=concurrency)
    stack.run("reconciler", "reconcile")
    stack.api()
    stack.wait_for_workers()
    return stack


def _accept_all(client: httpx.Client, texts: list[str]) -> list[str]:
    ids = []
    for text in texts:
        response = submit(client, text)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def test_worker_sigterm_mid_stage_finishes_the_stage_and_redoes_nothing(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack],
    fault_report: Report,
) -> None:  # fmt: skip
    stack = _full_stack(stack_factory, redis_server.url, concurrency=1)
    worker = next(s for s in stack.services if s.name == "worker")
    long_text = "\n\n".join([ARTICLE] * 25)
    with stack.client() as client:
        ids = _accept_all(client, [long_text, *articles(9, "sigterm")])
        deadline = time.monotonic() + 60
        while statuses(redis_client, ids[:1])[ids[0]] != b"processing":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.0)
        assert worker.process is not None
        os.kill(worker.process.pid, signal.SIGTERM)  # warm shutdown: running stages finish
        code = worker.process.wait(120)
        stopped = time.monotonic()
        stack.worker(concurrency=1)
        finished = wait_finished(redis_client, ids, timeout=240)
        views = [client.get(f"/v1/documents/{d}").json() for d in ids]
    completed, failed, lost = tally(redis_client, ids)
    redone = [v["id"] for v in views for s in v["stages"].values() if s["attempts"] != 1]
    fault_report(FaultRow("worker SIGTERM mid-stage (warm shutdown)", "tests/chaos/test_faults.py"
                          "::test_worker_sigterm_mid_stage_finishes_the_stage_and_redoes_nothing",
                          len(ids), completed, failed, lost,
                          round(max(finished.values()) - stopped, 1),
                          f"worker exit code {code}; stages run twice: {len(redone)}"))  # fmt: skip
    assert code == 0 and lost == 0 and completed == len(ids)
    assert redone == [], "a stage the stopping worker finished was not run again"


def _strict_redis(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    command = redis_server_command(data_dir=tmp, port=port, fsync_every_write=True)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
    wait_for_redis(f"redis://127.0.0.1:{port}/0", process=process)
    return process


def test_redis_sigkilled_right_after_a_burst_of_202s_loses_nothing_in_strict_mode(
    tmp_path: Path, stack_factory: Callable[[str], Stack], fault_report: Report
) -> None:
    port = free_port()
    redis = _strict_redis(tmp_path, port)
    url = f"redis://127.0.0.1:{port}/0"
    stack = stack_factory(url)
    stack.env["NEWSDESK_DURABILITY"] = "strict"
    stack.api()
    accepted: list[str] = []
    with stack.client() as client:
        for text in articles(100, "strict"):
            response = submit(client, text)
            if response.status_code == 202:
                accepted.append(response.json()["id"])
        os.killpg(redis.pid, signal.SIGKILL)  # at once: no shutdown, no fsync but the ones done
        redis.wait(10)
    killed = time.monotonic()
    redis = _strict_redis(tmp_path, port)
    try:
        client_redis = Redis.from_url(url)
        present = [d for d, s in statuses(client_redis, accepted).items() if s is not None]
        stack.worker(concurrency=2)
        stack.run("reconciler", "reconcile")
        finished = wait_finished(client_redis, accepted, timeout=300)
        completed, failed, lost = tally(client_redis, accepted)
        fault_report(FaultRow("Redis SIGKILL right after a burst of 202s (durability=strict)",
                              "tests/chaos/test_faults.py::test_redis_sigkilled_right_after_a_"
                              "burst_of_202s_loses_nothing_in_strict_mode", len(accepted),
                              completed, failed, lost,
                              round(max(finished.values(), default=killed) - killed, 1),
                              f"{len(present)} of {len(accepted)} acknowledged documents on disk "
                              "after the restart"))  # fmt: skip
        assert len(accepted) == 100 and len(present) == len(accepted), "every 202 survived"
        assert lost == 0 and completed == len(accepted)
    finally:
        stack.stop()
        os.killpg(redis.pid, signal.SIGTERM)
        redis.wait(30)


def test_redis_paused_20s_answers_503_and_every_accepted_document_completes(
    redis_factory: Callable[[], RedisServer], stack_factory: Callable[[str], Stack],
    fault_report: Report,
) -> None:  # fmt: skip
    redis = redis_factory()
    stack = _full_stack(stack_factory, redis.url)
    assert redis.process is not None
    accepted: list[str] = []
    maybe: list[str] = []
    refused = 0
    with stack.client() as client:
        accepted += _accept_all(client, articles(20, "before-pause"))
        os.kill(redis.process.pid, signal.SIGSTOP)
        paused = time.monotonic()
        while time.monotonic() - paused < 20:
            began = time.monotonic()
            response = submit(client, f"{ARTICLE}\n\nDuring the pause {len(maybe) + refused}.")
            assert time.monotonic() - began < 10, "the API answers, it does not hang"
            assert response.status_code == 503, response.text
            body = response.json()
            assert body["code"] == "storage_unavailable" and body["detail"]
            if "doc_id" in body:
                assert "may have been stored" in body["detail"]
                maybe.append(body["doc_id"])
            else:
                refused += 1
        os.kill(redis.process.pid, signal.SIGCONT)
        resumed = time.monotonic()
        accepted += _accept_all(client, articles(10, "after-pause"))
        finished = wait_finished(redis.client(), accepted, timeout=240)
        later = statuses(redis.client(), maybe)
    completed, failed, lost = tally(redis.client(), accepted)
    stored_anyway = sum(1 for s in later.values() if s is not None)
    fault_report(FaultRow("Redis paused 20 s (SIGSTOP)", "tests/chaos/test_faults.py::test_redis_"
                          "paused_20s_answers_503_and_every_accepted_document_completes",
                          len(accepted), completed, failed, lost,
                          round(max(finished.values()) - resumed, 1),
                          f"during the pause: {refused + len(maybe)} answered 503; {len(maybe)} "
                          f"of them named a document that may exist ({stored_anyway} did)"))  # fmt: skip
    assert lost == 0 and completed == len(accepted)


def test_api_killed_mid_burst_clients_retrying_with_their_key_get_one_document_each(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack],
    fault_report: Report,
) -> None:  # fmt: skip
    stack = _full_stack(stack_factory, redis_server.url)
    api = next(s for s in stack.services if s.name == "api")
    assert stack.api_port is not None
    texts = articles(200, "api-kill")
    ids: dict[int, str] = {}
    lock = threading.Lock()

    def client_thread(numbers: range) -> None:
        with httpx.Client(base_url=stack.base_url, timeout=5) as client:
            for number in numbers:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    try:
                        response = submit(client, texts[number], key=f"article-{number}")
                    except httpx.HTTPError:
                        time.sleep(0.2)
                        continue
                    if response.status_code == 202:
                        with lock:
                            ids[number] = response.json()["id"]
                        break
                    time.sleep(0.2)

    threads = [threading.Thread(target=client_thread, args=(range(i, 200, 4),)) for i in range(4)]
    for thread in threads:
        thread.start()
    while len(ids) < 60:
        time.sleep(0.01)
    api.kill()
    killed = time.monotonic()
    time.sleep(2)
    stack.services.append(stack.run("api", "api", "--port", str(stack.api_port)))
    for thread in threads:
        thread.join(180)
    accepted = list(ids.values())
    finished = wait_finished(redis_client, accepted, timeout=300)
    records = [k for k in redis_client.scan_iter(match=Keys().document("*"), count=1000)
               if k.count(b":") == 2]  # fmt: skip
    completed, failed, lost = tally(redis_client, accepted)
    fault_report(FaultRow("API killed mid-burst, clients retrying with the same Idempotency-Key",
                          "tests/chaos/test_faults.py::test_api_killed_mid_burst_clients_"
                          "retrying_with_their_key_get_one_document_each", len(texts), completed,
                          failed, lost, round(max(finished.values()) - killed, 1),
                          f"{len(set(accepted))} distinct documents for {len(texts)} keys; "
                          f"{len(records)} records stored"))  # fmt: skip
    assert len(ids) == 200 and len(set(accepted)) == 200, "one document per key, none missing"
    assert len(records) == 200, "a retry never stored a second document"
    assert lost == 0 and completed == 200


def test_reconciler_killed_then_restarted_recovers_what_was_lost_meanwhile(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack],
    fault_report: Report,
) -> None:  # fmt: skip
    stack = _full_stack(stack_factory, redis_server.url, concurrency=1)
    reconciler = next(s for s in stack.services if s.name == "reconciler")
    worker = next(s for s in stack.services if s.name == "worker")
    reconciler.kill()
    with stack.client() as client:
        long_text = "\n\n".join([ARTICLE] * 25)
        ids = _accept_all(client, [long_text])
        deadline = time.monotonic() + 60
        while statuses(redis_client, ids)[ids[0]] != b"processing":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        assert worker.process is not None
        for child in _children(worker.process.pid):
            os.kill(child, signal.SIGKILL)  # its stage's lease now runs out with nobody to see
        ids += _accept_all(client, articles(5, "reconciler"))
        redis_client.rpop("clean")  # and one queued message is lost outright
        time.sleep(15)
        stuck = [d for d, s in statuses(redis_client, ids).items() if s not in (b"completed",)]
        stack.run("reconciler", "reconcile")
        restarted = time.monotonic()
        finished = wait_finished(redis_client, ids, timeout=180)
    completed, failed, lost = tally(redis_client, ids)
    fault_report(FaultRow("reconciler killed (a worker dies and a message is lost meanwhile)",
                          "tests/chaos/test_faults.py::test_reconciler_killed_then_restarted_"
                          "recovers_what_was_lost_meanwhile", len(ids), completed, failed, lost,
                          round(max(finished.values()) - restarted, 1),
                          f"{len(stuck)} documents waited for the reconciler's restart"))  # fmt: skip
    assert stuck, "without a reconciler, lost work waits"
    assert lost == 0 and completed == len(ids)


def test_a_poison_document_fails_after_the_attempt_cap_and_the_rest_completes(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack],
    fault_report: Report,
) -> None:  # fmt: skip
    stack = stack_factory(redis_server.url)
    stack.env["NEWSDESK_LEASE_SECONDS"] = "2"
    stack.worker(concurrency=1)
    stack.run("reconciler", "reconcile")
    stack.api()
    stack.wait_for_workers()
    worker = next(s for s in stack.services if s.name == "worker")
    with stack.client() as client:
        poison = _accept_all(client, ["\n\n".join([ARTICLE] * 25)])[0]
        killed: set[tuple[str, int]] = set()  # (stage, attempt) runs already killed
        began = time.monotonic()
        while len(killed) < 10 and time.monotonic() - began < 180:
            view = client.get(f"/v1/documents/{poison}").json()
            if view["status"] in ("failed", "completed"):
                break
            running = {(name, s["attempts"]) for name, s in view["stages"].items()
                       if s["status"] == "running"} - killed  # fmt: skip
            if running:
                assert worker.process is not None
                for child in _children(worker.process.pid):
                    os.kill(child, signal.SIGKILL)  # the document kills its worker, every run
                killed |= running
            time.sleep(0.05)
        kills = len(killed)
        failed_at = time.monotonic()
        others = _accept_all(client, articles(5, "after-poison"))
        finished = wait_finished(redis_client, [poison, *others], timeout=180)
        view = client.get(f"/v1/documents/{poison}").json()
    completed, failed, lost = tally(redis_client, [poison, *others])
    fault_report(FaultRow("poison document (kills its worker at every attempt)",
                          "tests/chaos/test_faults.py::test_a_poison_document_fails_after_the_"
                          "attempt_cap_and_the_rest_completes", 1 + len(others), completed,
                          failed, lost, round(max(finished.values()) - failed_at, 1),
                          f"ended {view['status']} ({(view['error'] or {}).get('code')}) after "
                          f"{kills} kills"))  # fmt: skip
    assert view["status"] == "failed" and view["error"]["code"] == "attempts_exhausted"
    assert completed == len(others) and failed == 1 and lost == 0


def test_redis_at_maxmemory_refuses_new_documents_and_finishes_the_accepted_ones(
    redis_factory: Callable[[], RedisServer], stack_factory: Callable[[str], Stack],
    fault_report: Report,
) -> None:  # fmt: skip
    redis = redis_factory()
    client_redis = redis.client()
    stack = _full_stack(stack_factory, redis.url)
    with stack.client() as client:
        accepted = _accept_all(client, articles(20, "maxmemory"))
        used = int(client_redis.info("memory")["used_memory"])
        client_redis.config_set("maxmemory", used + 64 * 1024)
        time.sleep(1.5)  # the API's view of memory is at most a second old
        refused = [submit(client, text).status_code for text in articles(20, "refused")]
        time.sleep(5)
        client_redis.config_set("maxmemory", 0)
        freed = time.monotonic()
        finished = wait_finished(client_redis, accepted, timeout=240)
    completed, failed, lost = tally(client_redis, accepted)
    fault_report(FaultRow("Redis at maxmemory", "tests/chaos/test_faults.py::test_redis_at_"
                          "maxmemory_refuses_new_documents_and_finishes_the_accepted_ones",
                          len(accepted), completed, failed, lost,
                          round(max(finished.values(), default=freed) - freed, 1),
                          f"new documents answered {sorted(set(refused))} (507 before the limit, "
                          "503 at it), never 202"))  # fmt: skip
    assert set(refused) <= {507, 503} and 507 in set(refused)
    assert lost == 0 and completed == len(accepted)


@pytest.mark.timeout(2400)  # 10,000 documents on 2 cores take several minutes
def test_a_soak_of_10000_documents_completes_each_once(
    redis_server: RedisServer, redis_client: Redis, stack_factory: Callable[[str], Stack],
    fault_report: Report,
) -> None:  # fmt: skip
    stack = _full_stack(stack_factory, redis_server.url)
    sentences = [s for s in ARTICLE.split(". ") if len(s) > 40][:6]
    ids: list[str] = []
    began = time.monotonic()
    with stack.client() as client:
        for start in range(0, 10_000, 500):
            items = [{"content": f"Report {n}. " + ". ".join(sentences) + "."}
                     for n in range(start, start + 500)]  # fmt: skip
            response = client.post("/v1/batches", json=items, timeout=60)
            assert response.status_code == 202, response.text
            ids += [item["id"] for item in response.json()["items"]]
        finished = wait_finished(redis_client, ids, timeout=3000)
    took = max(finished.values()) - began
    completed, failed, lost = tally(redis_client, ids)
    starts = sum(
        int(v) for k, v in redis_client.hgetall(Keys().metrics).items()
        if k.startswith(b"stage_starts_total")
    )  # fmt: skip
    fault_report(FaultRow("10,000-document soak", "tests/chaos/test_faults.py::test_a_soak_of_"
                          "10000_documents_completes_each_once", len(ids), completed, failed, lost,
                          None, f"{len(ids) / took:.1f} documents/s; {starts} stage starts for "
                          f"{3 * len(ids)} stages"))  # fmt: skip
    assert len(set(ids)) == 10_000 and lost == 0 and completed == 10_000
    assert starts == 3 * 10_000, "no stage ran twice"
