"""Who a change notification wakes: every change for event streams, the end for long-polls."""

from __future__ import annotations

from records.layout import FINISHING_EVENT, notification, parse_notification
from services.notifications import Notifier


def test_a_long_poll_sleeps_through_stage_changes_and_wakes_at_the_end() -> None:
    notifier = Notifier("redis://unused", "notify")
    with (
        notifier.watching("a", end_only=True) as long_poll,
        notifier.watching("a") as stream,
        notifier.watching("b") as other,
    ):
        notifier._notify(*parse_notification(notification("a", "stage")))
        assert stream.is_set() and not long_poll.is_set() and not other.is_set()
        stream.clear()
        notifier._notify(*parse_notification(notification("a", FINISHING_EVENT)))
        assert stream.is_set() and long_poll.is_set() and not other.is_set()
        long_poll.clear()
        notifier._notify(*parse_notification("a"))  # names no event: could be the end
        assert long_poll.is_set()
        assert notifier.waiting == 3
    assert notifier.waiting == 0 and not notifier.waiters


def test_a_broken_subscription_wakes_every_waiter() -> None:
    notifier = Notifier("redis://unused", "notify")
    with notifier.watching("a", end_only=True) as long_poll, notifier.watching("b") as stream:
        notifier._wake_all()
        assert long_poll.is_set() and stream.is_set()
