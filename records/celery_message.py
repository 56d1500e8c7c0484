"""A stage message in the exact form Celery's Redis transport keeps in a queue list.

Writing the message ourselves lets the record and its first (or next) message go to Redis in
one MULTI: a document is never stored without being queued, or queued without being stored.
The layout is Celery's task protocol 2 inside kombu's Redis envelope (JSON, base64 body); a
test checks it against what Celery itself writes, and the workers consume it unchanged.
The bytes depend only on (document, stage, tag), so the reconciler can look for a message it
queued (LPOS) to tell a queued message from a lost one.
"""

from __future__ import annotations

import base64
import json

from contracts.messages import StageMessage
from contracts.wire import QUEUE_BY_STAGE, TASK_BY_STAGE, Stage

ORIGIN = "newsdesk"
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def stage_message(*, doc_id: str, stage: Stage, tag: str) -> str:
    """The queue entry asking a worker to run ``stage`` on ``doc_id``; ``tag`` makes it unique."""
    kwargs = {"message": StageMessage(doc_id=doc_id, stage=stage).model_dump(mode="json")}
    body = json.dumps([[], kwargs, _EMBED])
    task = TASK_BY_STAGE[stage]
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
            "kwargsrepr": repr(kwargs),
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
            "delivery_info": {"exchange": "", "routing_key": QUEUE_BY_STAGE[stage]},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": tag,
        },
    }
    return json.dumps(envelope)
