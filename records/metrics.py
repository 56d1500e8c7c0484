"""Cluster-wide counters and histograms, written by the transitions themselves.

Every metric that describes documents (accepted, completed, failed by code, stage durations,
reconciler re-queues, webhook deliveries) is an increment in one Redis hash, applied in the
same MULTI as the change it counts. So nothing is lost across worker processes, pool children
that die, or restarts, and nothing is counted twice: the API exposes the hash on scrape.

Field names are ``name`` or ``name|label=value|label=value``.
"""

from __future__ import annotations

from collections.abc import Mapping

from records.layout import Keys
from records.writes import HashIncrement, Write

# Seconds; the upper bounds (Prometheus's le) of the stage-duration buckets.
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
INFINITY = "+Inf"
# A histogram's per-bucket counts: ``{name}_bin|le=<bound>|...``, not cumulative.
BIN = "_bin"


def field(name: str, labels: Mapping[str, str] | None = None) -> str:
    """The hash field of one series."""
    if not labels:
        return name
    return name + "".join(f"|{key}={value}" for key, value in sorted(labels.items()))


def parse_field(raw: str) -> tuple[str, dict[str, str]]:
    """(name, labels) of a hash field."""
    name, *pairs = raw.split("|")
    return name, dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def count(keys: Keys, name: str, amount: int = 1, **labels: str) -> Write:
    """Add ``amount`` to a counter."""
    return HashIncrement(keys.metrics, field(name, labels), amount)


def observe(keys: Keys, name: str, seconds: float, **labels: str) -> list[Write]:
    """Record one observation in a histogram: one increment of the one bucket it falls in
    (``{name}_bin``, the lowest bound it does not exceed), its sum and its count. The scrape
    adds the bins up into Prometheus's cumulative buckets (``cumulative_buckets``)."""
    bound = next((_le(b) for b in DURATION_BUCKETS if seconds <= b), INFINITY)
    return [
        HashIncrement(keys.metrics, field(f"{name}{BIN}", {**labels, "le": bound}), 1),
        HashIncrement(keys.metrics, field(f"{name}_sum", labels), round(seconds, 6)),
        HashIncrement(keys.metrics, field(f"{name}_count", labels), 1),
    ]


def cumulative_buckets(
    bins: Mapping[str, float], cumulative: Mapping[str, float]
) -> list[tuple[str, float]]:
    """Prometheus's buckets (``le``, observations at or under it) of one series, from its
    one-bucket counts and from cumulative counts older writers stored (``{name}_bucket``)."""
    bounds = [_le(b) for b in DURATION_BUCKETS] + [INFINITY]
    buckets, running = [], 0.0
    for bound in bounds:
        running += bins.get(bound, 0.0)
        buckets.append((bound, running + cumulative.get(bound, 0.0)))
    return buckets


def _le(bound: float) -> str:
    return repr(float(bound))
