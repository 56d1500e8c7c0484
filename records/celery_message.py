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

from contracts.messages import StageMessage
from contracts.wire import QUEUE_BY_STAGE, TASK_BY_STAGE, Stage

ORIGIN = "newsdesk"
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def task_message(*, task: str, queue: str, kwargs: Mapping[str, object], tag: str) -> str:
    """The queue entry calling ``task`` with ``kwargs``; ``tag`` makes it unique."""
    body = json.dumps([[], dict(kwargs), _EMBED])
    envelope = {
        "body": base64.b64encode(body.encode()).decode(),
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
            "kwargsrepr": repr(dict(kwargs)),
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
    kwargs = {"message": StageMessage(doc_id=doc_id, stage=stage).model_dump(mode="json")}
    return task_message(
        task=TASK_BY_STAGE[stage], queue=QUEUE_BY_STAGE[stage], kwargs=kwargs, tag=tag
    )
