"""A stage's soft time limit, measured from the start of that stage.

Celery's own soft limit counts from the start of the task, and one task may run several stages
(``WorkerSettings.chain``); each stage keeps its own limit here instead. When it passes,
``SoftTimeLimitExceeded`` is raised in the running stage, as Celery would raise it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from celery.exceptions import SoftTimeLimitExceeded


def _expire(signum: int, frame: FrameType | None) -> None:
    raise SoftTimeLimitExceeded()


@contextmanager
def soft_deadline(seconds: float) -> Iterator[None]:
    """Raise ``SoftTimeLimitExceeded`` in the block once ``seconds`` have passed.

    Only the main thread of a process can receive the alarm (a prefork pool process runs its
    tasks there); in another thread (a threads pool) the block runs without a limit, as Celery
    itself gives none there.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
