"""Which queue entries may reach Celery: only JSON task messages for newsdesk's own tasks."""

from __future__ import annotations

import base64
import json
import pickle

import pytest
from kombu.connection import Connection
from kombu.simple import SimpleQueue

from contracts.wire import TASK_BY_STAGE, Stage
from records.celery_message import stage_message
from tests.conftest import RedisServer
from workers.broker import TRANSPORT, envelope_problem

OURS = frozenset(TASK_BY_STAGE.values())
GOOD = json.loads(stage_message(doc_id="a" * 32, stage=Stage.CLEAN, tag="t"))


def _with(**changes: object) -> str:
    return json.dumps({**GOOD, **changes})


def test_our_own_stage_messages_pass() -> None:
    for stage in Stage:
        payload, problem = envelope_problem(
            stage_message(doc_id="b" * 32, stage=stage, tag="x"), OURS
        )
        assert problem is None and payload is not None


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (b"\x00\xff junk", "not JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (_with(properties={"delivery_info": {}}), "delivery_tag"),
        (_with(**{"content-type": "application/x-python-serialize",
                  "body": base64.b64encode(pickle.dumps({"x": 1})).decode()}), "not accepted"),
        (_with(headers={**GOOD["headers"], "task": "os.system"}), "not one of ours"),
        (_with(headers={"task": "newsdesk.clean"}), "no task headers"),
        (_with(body="%%% not base64"), "base64"),
        (_with(body=base64.b64encode(b"\xff\xfe").decode()), "base64 of UTF-8"),
        (_with(body=base64.b64encode(b'{"a": 1}').decode()), "not a task call"),
        (_with(body=12), "not a string"),
    ],
)  # fmt: skip
def test_anything_else_is_refused_with_a_reason(entry: bytes | str, problem: str) -> None:
    payload, found = envelope_problem(entry, OURS)
    assert payload is None and found is not None and problem in found, found


def test_the_consumer_reuses_one_redis_client_for_its_acks(redis_server: RedisServer) -> None:
    # kombu would build a new client for every ack and every delivery it records.
    with Connection(redis_server.url, transport=TRANSPORT) as connection:  # type: ignore[no-untyped-call]
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second and first.ping()
        channel._after_fork()  # kombu drops its connection pools (after a fork, or on close)
        with channel.conn_or_acquire() as renewed:
            assert renewed is not first and renewed.connection_pool is channel.pool
            assert renewed.ping()
        queue = SimpleQueue(channel, "broker-test")  # type: ignore[no-untyped-call]
        channel.client.lpush("broker-test", stage_message(doc_id="c" * 32, stage=Stage.CLEAN,
                                                          tag="t"))  # fmt: skip
        message = queue.get(timeout=5)  # type: ignore[no-untyped-call]
        assert channel.qos._delivered  # recorded as unacknowledged, in Redis too
        assert channel.client.hlen(channel.unacked_key) == 1
        message.ack()
        assert channel.client.hlen(channel.unacked_key) == 0
        queue.close()  # type: ignore[no-untyped-call]
