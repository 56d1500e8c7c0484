"""k-fold cross-validation and paired bootstrap intervals for every tuned choice of newsdesk.

A *tunable system* is a list of candidate settings (each a name and a per-item scorer). On each
fold the candidate with the best score on the other folds (the training folds) is chosen, and
only its score on the held-out fold counts; the first candidate wins ties, so list the plainest
setting first. A setting with fitted parameters (a trained scorer) is fitted on the training
folds only, and judged there by an inner cross-validation, never on items it was fitted to.
Baselines are scored on the same folds.

Every item is thereby predicted by a setting chosen without it; these held-out predictions give
per-item scores, and the difference to a baseline gets a paired bootstrap 95% interval
(items resampled with replacement, the same resample for both systems).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FOLDS = 5
SEED = 20240601
BOOTSTRAP_SAMPLES = 2000

# Per-item rows (one row per item; columns are whatever the statistic needs) -> one figure.
Rows = NDArray[np.float64]
Statistic = Callable[[Rows], float]


def mean_of(column: int = 0) -> Statistic:
    """The mean of one column (e.g. per-article ROUGE)."""
    return lambda rows: float(np.nanmean(rows[:, column])) if len(rows) else 0.0


def kfold(count: int, *, folds: int = FOLDS, seed: int = SEED) -> list[list[int]]:
    """The held-out indices of each fold: a fixed shuffle of ``range(count)`` cut in ``folds``."""
    order = np.random.default_rng(seed).permutation(count)
    return [sorted(int(i) for i in order[f::folds]) for f in range(folds)]


@dataclass(frozen=True)
class Candidate:
    """One setting of a tunable system: its name and the per-item rows it produces, either
    fixed or, for a setting with fitted parameters, from a fit on the given training items."""

    name: str
    rows: Rows | Callable[[list[int]], Rows]

    def rows_after(self, train: list[int]) -> Rows:
        """The rows of every item once fitted on ``train`` (fixed rows ignore it)."""
        return self.rows(train) if callable(self.rows) else self.rows


def cross_validate(
    candidates: Sequence[Candidate],
    statistic: Statistic,
    *,
    count: int,
    baselines: Mapping[str, Rows] | None = None,
    select: Statistic | None = None,
    folds: int = FOLDS,
    seed: int = SEED,
    higher_is_better: bool = True,
) -> dict[str, Any]:
    """Choose a candidate on the training folds of ``count`` items (by ``select``, else
    ``statistic``), score it on the held-out fold; report each fold, mean and spread (standard
    deviation over folds), beside the baselines on the same folds, and the bootstrap interval of
    the difference to each baseline over the held-out predictions."""
    select = select or statistic
    held_out = kfold(count, folds=folds, seed=seed)
    sign = 1.0 if higher_is_better else -1.0
    predicted: Rows | None = None
    fold_rows: list[dict[str, Any]] = []
    for test in held_out:
        train = sorted(set(range(count)) - set(test))
        scores = [sign * select(_selection_rows(c, train, folds, seed)) for c in candidates]
        best = int(np.argmax(scores))
        fitted = {best: candidates[best].rows_after(train)}
        if predicted is None:
            predicted = np.zeros_like(fitted[best])
        predicted[test] = fitted[best][test]
        row: dict[str, Any] = {
            "chosen": candidates[best].name,
            "system": statistic(fitted[best][test]),
        }
        for name, rows in (baselines or {}).items():
            row[name] = statistic(rows[test])
        fold_rows.append(row)
    systems = ["system", *(baselines or {})]
    report: dict[str, Any] = {
        "folds": fold_rows,
        "mean": {s: statistics.fmean(r[s] for r in fold_rows) for s in systems},
        "spread": {s: statistics.stdev(r[s] for r in fold_rows) for s in systems},
        "pooled": {"system": statistic(predicted)},
        "vs": {},
    }
    for name, rows in (baselines or {}).items():
        report["pooled"][name] = statistic(rows)
        report["vs"][name] = paired_bootstrap(predicted, rows, statistic, seed=seed)
        report["vs"][name]["folds_won"] = sum(r["system"] > r[name] for r in fold_rows)
    assert predicted is not None
    whole = [sign * select(_selection_rows(c, list(range(count)), folds, seed)) for c in candidates]
    report["chosen_on_all"] = candidates[int(np.argmax(whole))].name
    return report


def _selection_rows(candidate: Candidate, train: list[int], folds: int, seed: int) -> Rows:
    """The rows a choice among candidates may look at: the training items' own rows for a fixed
    setting; for a fitted one, each training item's rows from a fit without it (an inner
    cross-validation over ``train``), so settings that fit their data more closely gain nothing."""
    if not callable(candidate.rows):
        return candidate.rows[train]
    inner = kfold(len(train), folds=folds - 1, seed=seed)
    assembled: Rows | None = None
    for test in inner:
        fit_on = [train[i] for i in range(len(train)) if i not in set(test)]
        rows = candidate.rows(fit_on)
        if assembled is None:
            assembled = np.zeros((len(train), *rows.shape[1:]))
        assembled[test] = rows[[train[i] for i in test]]
    assert assembled is not None
    return assembled


def paired_bootstrap(
    system: Rows,
    baseline: Rows,
    statistic: Statistic,
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = SEED,
) -> dict[str, float]:
    """Difference ``statistic(system) - statistic(baseline)`` and its 95% percentile interval
    over paired resamples of the items."""
    rng = np.random.default_rng(seed)
    count = len(system)
    differences = []
    for _ in range(samples):
        pick = rng.integers(0, count, count)
        differences.append(statistic(system[pick]) - statistic(baseline[pick]))
    low, high = np.percentile(differences, [2.5, 97.5])
    return {
        "difference": statistic(system) - statistic(baseline),
        "low": float(low),
        "high": float(high),
    }


def format_cv(title: str, report: Mapping[str, Any], *, scale: float = 1.0, digits: int = 3) -> str:
    """A Markdown table: one row per fold, then mean ± spread, then the bootstrap intervals."""
    systems = list(report["mean"])
    lines = [
        f"| {title} | " + " | ".join(systems) + " | chosen |",
        "|---" * (len(systems) + 2) + "|",
    ]
    for index, row in enumerate(report["folds"], 1):
        values = " | ".join(f"{scale * row[s]:.{digits}f}" for s in systems)
        lines.append(f"| fold {index} | {values} | {row['chosen']} |")
    values = " | ".join(
        f"{scale * report['mean'][s]:.{digits}f} ± {scale * report['spread'][s]:.{digits}f}"
        for s in systems
    )
    lines.append(f"| mean ± sd | {values} | (all data: {report['chosen_on_all']}) |")
    for name, vs in report["vs"].items():
        lines.append(
            f"| system − {name} | {scale * vs['difference']:+.{digits}f} "
            f"[{scale * vs['low']:+.{digits}f}, {scale * vs['high']:+.{digits}f}] (95% bootstrap), "
            f"better on {vs['folds_won']}/{len(report['folds'])} folds |" + " |" * len(systems)
        )
    return "\n".join(lines)
