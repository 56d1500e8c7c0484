"""A task message in the exact form Celery's Redis transport keeps in a queue list.

Writing the message ourselves lets a record and its next message go to Redis in one MULTI: a
document is never stored without being queued, or queued without being stored. The layout is
Celery's task protocol 2 inside kombu's Redis envelope (JSON, base64 body); a test checks it
against what Celery itself writes, and the workers consume it unchanged. The bytes depend only
on the arguments (no clock, no host name), so a message can be found again (LREM on cancel).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import lru_cache

from contracts.messages import SCHEMA_VERSION
from contracts.wire import QUEUE_BY_STAGE, TASK_BY_STAGE, Stage

ORIGIN = "newsdesk"
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


# Stand-ins in the cached envelope of each (task, queue), replaced per message.
_TAG, _BODY, _KWARGS = "@newsdesk-tag@", "@newsdesk-body@", "@newsdesk-kwargs@"


def task_message(*, task: str, queue: str, kwargs: Mapping[str, object], tag: str) -> str:
    """The queue entry calling ``task`` with ``kwargs``; ``tag`` makes it unique."""
    body = base64.b64encode(json.dumps([[], dict(kwargs), _EMBED]).encode()).decode()
    kwargs_repr = json.dumps(repr(dict(kwargs)))[1:-1]  # as a JSON string's content
    return (
        _envelope(task, queue).replace(_TAG, tag).replace(_BODY, body).replace(_KWARGS, kwargs_repr)
    )


@lru_cache(maxsize=16)
def _envelope(task: str, queue: str) -> str:
    """The message of ``task`` on ``queue`` with stand-ins for what differs per message."""
    tag = _TAG
    envelope = {
        "body": _BODY,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": task,
            "id": tag,
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": tag,
            "parent_id": None,
            "argsrepr": "()",
            "kwargsrepr": _KWARGS,
            "origin": ORIGIN,
            "ignore_result": True,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        },
        "properties": {
            "correlation_id": tag,
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": tag,
        },
    }
    return json.dumps(envelope)


def stage_message(*, doc_id: str, stage: Stage, tag: str) -> str:
    """The queue entry asking a worker to run ``stage`` on ``doc_id``."""
    # StageMessage's JSON form, written out (this runs for every document; a test compares).
    kwargs = {"message": {"schema_version": SCHEMA_VERSION, "doc_id": doc_id, "stage": stage.value}}
    return task_message(
        task=TASK_BY_STAGE[stage], queue=QUEUE_BY_STAGE[stage], kwargs=kwargs, tag=tag
    )
