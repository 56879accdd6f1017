"""Intervals and tests for results: a t-interval over seeds (alone, or with the test rows' variance added, with its
one-sided test), Holm's step-down, scipy's bootstrap of one sample, and a hierarchical bootstrap over source seeds,
target seeds and test rows.

``t_interval`` and ``bootstrap_interval`` take one list of numbers (e.g. a method's seed-paired gains). A method's
score in one cell (target task, k) varies for three reasons: which source stage it started from (the source seed),
which target run it is (the target seed: init, k-shot sample, data order) and which test rows were drawn (the test
set is a sample too). ``hierarchical_bootstrap`` resamples all three, nested, and paired across methods (every
method sees the same drawn seeds and the same drawn rows), then recomputes a statistic of the cell means; the
percentile interval of those resamples is the confidence interval.

Row resampling is done by multiplicity weights (a multinomial draw per resample), and every metric is computed from
the weighted confusion counts, so a resample costs a matrix product rather than a metric call. ``weighted_metric``
with all weights 1 equals ``mpt_nb.metrics.compute_metric`` (tested).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "BootstrapResult",
    "RunPredictions",
    "SeedMean",
    "bootstrap_interval",
    "hierarchical_bootstrap",
    "holm",
    "runs_from_records",
    "seed_mean_with_rows",
    "standard_error",
    "t_interval",
    "t_interval_with_rows",
    "weighted_metric",
]


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float | None]:
    """Mean of ``values`` and the half-width of its t-interval, t(1 − α/2, n − 1)·sd/√n; None with one value."""
    from scipy.stats import t

    _check_confidence(confidence)
    values = [float(v) for v in values]
    if not values:
        raise ValueError("t_interval needs at least one value")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None
    n = len(values)
    return mean, float(t.ppf(0.5 + confidence / 2, n - 1)) * statistics.stdev(values) / math.sqrt(n)


class SeedMean(NamedTuple):
    """A mean over source seeds with the test rows' variance added (``seed_mean_with_rows``): the mean, its standard
    error and the degrees of freedom of its t. Its interval and its one-sided test read the same three numbers."""

    mean: float
    se: float
    df: float

    def interval(self, confidence: float = 0.95) -> tuple[float, float, float]:
        """(mean, low, high): mean ± t(1 − α/2, df)·se."""
        from scipy.stats import t

        _check_confidence(confidence)
        if self.se == 0:
            return self.mean, self.mean, self.mean
        half = float(t.ppf(0.5 + confidence / 2, self.df)) * self.se
        return self.mean, self.mean - half, self.mean + half

    def p_above_zero(self) -> float:
        """One-sided p-value of "the true mean is above 0": P(T_df > mean / se)."""
        from scipy.stats import t

        if self.se == 0:
            return 0.0 if self.mean > 0 else 1.0
        return float(t.sf(self.mean / self.se, self.df))


def seed_mean_with_rows(values: Sequence[float], row_variance: float) -> SeedMean:
    """Mean of ``values`` (one per source seed), its standard error √(s²/n + ``row_variance``) and the degrees of
    freedom of its t: Welch–Satterthwaite's, (n − 1)·(s²/n + v)² / (s²/n)², with the rows' part counted as known
    (infinite when the seeds agree exactly)."""
    if row_variance < 0:
        raise ValueError(f"row_variance is a variance, >= 0; got {row_variance}")
    data = [float(v) for v in values]
    if len(data) < 2:
        raise ValueError(f"an interval over seeds needs at least two values, got {len(data)}")
    n, mean = len(data), statistics.fmean(data)
    seeds = statistics.variance(data) / n
    total = seeds + row_variance
    df = (n - 1) * total**2 / seeds**2 if seeds > 0 else math.inf
    return SeedMean(mean, math.sqrt(total), df)


def t_interval_with_rows(
    values: Sequence[float], row_variance: float, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean of ``values`` (one per source seed) and its interval when the test rows are a sample too: (mean, low,
    high).

    The seeds' variance of the mean, s²/n, and ``row_variance`` (the test rows' variance of the same mean, e.g. from
    ``hierarchical_bootstrap(..., resample=("row",))``: a fixed test set adds it to every seed alike, so more seeds
    never shrink it) are added; the t quantile takes Welch–Satterthwaite's degrees of freedom
    (``seed_mean_with_rows``, whose ``p_above_zero`` is the matching one-sided test). With ``row_variance`` 0 this is
    ``t_interval``. ``benchmarks/simulate_analysis.py`` checks its coverage.
    """
    _check_confidence(confidence)
    return seed_mean_with_rows(values, row_variance).interval(confidence)


def holm(p_values: Sequence[float], alpha: float = 0.05) -> list[bool]:
    """Holm's step-down rejections at family-wise ``alpha``, in the order of ``p_values``: the i-th smallest p
    (from 0) is rejected if it and every smaller one are at most alpha / (m − i)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    m = len(p_values)
    rejected = [False] * m
    for i, j in enumerate(sorted(range(m), key=lambda j: p_values[j])):
        if p_values[j] > alpha / (m - i):
            break
        rejected[j] = True
    return rejected


def bootstrap_interval(
    values: Sequence[float], confidence: float = 0.95, *, n_resamples: int = 9999, method: str = "BCa", seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``values`` and its bootstrap interval (``scipy.stats.bootstrap``): (mean, low, high).

    ``method`` is scipy's: "BCa" (bias-corrected, the default), "percentile" or "basic". With fewer than two values,
    or all of them equal, there is nothing to resample: ``ValueError`` says so.
    """
    from scipy.stats import bootstrap

    _check_confidence(confidence)
    data = np.asarray([float(v) for v in values])
    if len(data) < 2 or np.all(data == data[0]):
        raise ValueError(f"a bootstrap needs at least two different values, got {data.tolist()}; with so few, report "
                         "the values themselves")
    result = bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=n_resamples, method=method,
                       random_state=np.random.default_rng(seed))
    ci = result.confidence_interval
    return float(data.mean()), float(ci.low), float(ci.high)


BOOTSTRAP_METRICS = ("accuracy", "f1", "macro_f1")


def _confusion_index(pred: np.ndarray, gold: np.ndarray, classes: int) -> np.ndarray:
    # Cell gold * (C + 1) + pred, with an unmatched prediction (-1) as an extra, always-wrong column C.
    pred = np.where(pred < 0, classes, pred)
    return gold * (classes + 1) + pred


def _metric_from_counts(metric: str, counts: np.ndarray, classes: int, labels: Sequence[int]) -> np.ndarray:
    """Metric per row of ``counts`` (resamples, C·(C+1)): the weighted confusion matrices."""
    conf = counts.reshape(-1, classes, classes + 1)  # [resample, gold, pred]
    total = conf.sum(axis=(1, 2))
    correct = np.trace(conf[:, :, :classes], axis1=1, axis2=2)
    if metric == "accuracy":
        return correct / total

    def class_f1(c: int) -> np.ndarray:
        tp = conf[:, c, c]
        fp = conf[:, :, c].sum(1) - tp
        fn = conf[:, c, :].sum(1) - tp
        denom = 2 * tp + fp + fn
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1e-12), 0.0)

    if metric == "f1":
        return class_f1(1)
    if metric == "macro_f1":
        return np.mean([class_f1(c) for c in labels], axis=0)
    raise ValueError(f"the bootstrap computes {BOOTSTRAP_METRICS}, not {metric!r}")


def weighted_metric(
    metric: str, predictions: Sequence[int], references: Sequence[int], weights: np.ndarray | None = None
) -> np.ndarray | float:
    """The metric of class-id predictions with row weights ``(resamples, rows)`` (None: every row once)."""
    pred, gold = np.asarray(predictions, dtype=np.int64), np.asarray(references, dtype=np.int64)
    classes = int(max(gold.max(), pred.max())) + 1
    labels = sorted(set(gold.tolist()) | {p for p in pred.tolist() if p >= 0})  # as metrics.macro_f1 does
    onehot = np.zeros((len(gold), classes * (classes + 1)))
    onehot[np.arange(len(gold)), _confusion_index(pred, gold, classes)] = 1.0
    single = weights is None
    w = np.ones((1, len(gold))) if single else np.atleast_2d(weights)
    scores = _metric_from_counts(metric, w @ onehot, classes, labels)
    return float(scores[0]) if single else scores


def standard_error(metric: str, predictions: Sequence[int], references: Sequence[int], *, n_resamples: int = 2000,
                   seed: int = 0) -> float:
    """The test set's own standard error of a score (bootstrap over its rows): how much it moves with the sample."""
    rng = np.random.default_rng(seed)
    n = len(references)
    weights = rng.multinomial(n, np.full(n, 1 / n), size=n_resamples).astype(float)
    return float(np.std(weighted_metric(metric, predictions, references, weights), ddof=1))


@dataclass(frozen=True)
class RunPredictions:
    """One run's test predictions: its cell (e.g. (task, k, method)), seeds and per-row class ids (same row order
    for every run of a task). ``source_seed`` None: the method has no source stage (PT), so the run serves every
    source seed."""

    cell: tuple[Hashable, ...]
    task: str
    metric: str
    source_seed: int | None
    seed: int
    predictions: tuple[int, ...]
    references: tuple[int, ...]


def runs_from_records(records: Iterable[Mapping[str, Any]], cell: Callable[[Mapping[str, Any]], tuple]) -> list[RunPredictions]:
    """Runs from result records that carry ``test_predictions`` (records without them are skipped)."""
    runs = []
    for r in records:
        rows = r.get("test_predictions")
        if not rows:
            continue
        runs.append(
            RunPredictions(cell(r), r["task"], r["metric"], r.get("source_seed"), int(r["seed"]),
                           tuple(rows["pred"]), tuple(rows["gold"]))
        )
    return runs


@dataclass
class BootstrapResult:
    """A statistic, its percentile interval and the resampled values."""

    estimate: float
    low: float
    high: float
    confidence: float
    samples: np.ndarray
    source_seeds: tuple[int, ...]
    target_seeds: tuple[int, ...]


def hierarchical_bootstrap(
    runs: Sequence[RunPredictions],
    statistic: Callable[[Mapping[tuple, float]], float],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    resample: Sequence[str] = ("source_seed", "seed", "row"),
) -> BootstrapResult:
    """Percentile interval of ``statistic({cell: mean score})`` under nested, paired resampling.

    Each resample draws source seeds with replacement; for each drawn source seed, target seeds with replacement; and
    for each task, test rows with replacement (one draw per task, shared by every run of it). A cell's value is the
    mean, over the drawn (source seed, target seed) pairs, of its runs' metric on the drawn rows. Every cell must
    have a run for every (source seed, target seed) pair (PT's runs, with no source seed, serve all of them).
    ``resample`` names the levels to resample (dropping one holds it fixed, e.g. to see the rows' share).
    """
    if not runs:
        raise ValueError("no runs with test predictions to bootstrap; the records need 'test_predictions'")
    unknown = set(resample) - {"source_seed", "seed", "row"}
    if unknown:
        raise ValueError(f"resample levels are 'source_seed', 'seed', 'row'; got {sorted(unknown)}")
    source_seeds = tuple(sorted({r.source_seed for r in runs if r.source_seed is not None})) or (None,)
    target_seeds = tuple(sorted({r.seed for r in runs}))
    by_cell: dict[tuple, dict[tuple, RunPredictions]] = defaultdict(dict)
    for r in runs:
        for s in (source_seeds if r.source_seed is None else (r.source_seed,)):
            by_cell[r.cell][(s, r.seed)] = r
    for cell, table in by_cell.items():
        missing = [(s, t) for s in source_seeds for t in target_seeds if (s, t) not in table]
        if missing:
            raise ValueError(
                f"cell {cell} has no run for (source seed, target seed) {missing[:4]}; finish those runs or "
                "bootstrap over the seeds every cell has"
            )

    references: dict[str, tuple[int, ...]] = {}
    for r in runs:  # pairing rows across runs needs every run of a task scored on the same rows, in the same order
        if references.setdefault(r.task, r.references) != r.references:
            raise ValueError(
                f"runs of task {r.task!r} were scored on different test rows ({len(references[r.task])} vs "
                f"{len(r.references)} rows, or another order); rerun them under the same split settings"
            )
    rng = np.random.default_rng(seed)
    tasks = {task: len(rows) for task, rows in references.items()}
    weights = {}
    for task, n in tasks.items():
        if "row" in resample:
            weights[task] = rng.multinomial(n, np.full(n, 1 / n), size=n_resamples).astype(float)
        else:
            weights[task] = np.ones((n_resamples, n))
    # Each run's metric on every resample's rows (resamples,), and on all rows once (the point estimate).
    scores: dict[int, np.ndarray] = {}
    full: dict[int, float] = {}
    for r in {id(r): r for r in runs}.values():
        scores[id(r)] = weighted_metric(r.metric, r.predictions, r.references, weights[r.task])
        full[id(r)] = weighted_metric(r.metric, r.predictions, r.references)

    n_s, n_t = len(source_seeds), len(target_seeds)
    s_idx = rng.integers(0, n_s, size=(n_resamples, n_s)) if "source_seed" in resample else np.tile(np.arange(n_s), (n_resamples, 1))
    t_idx = (
        rng.integers(0, n_t, size=(n_resamples, n_s, n_t)) if "seed" in resample
        else np.tile(np.arange(n_t), (n_resamples, n_s, 1))
    )
    samples = np.empty(n_resamples)
    cells = list(by_cell)
    for b in range(n_resamples):
        means = {}
        for cell in cells:
            table = by_cell[cell]
            values = [
                scores[id(table[(source_seeds[si], target_seeds[ti])])][b]
                for j, si in enumerate(s_idx[b]) for ti in t_idx[b, j]
            ]
            means[cell] = float(np.mean(values))
        samples[b] = statistic(means)
    point = {
        cell: float(np.mean([full[id(table[(s, t)])] for s in source_seeds for t in target_seeds]))
        for cell, table in by_cell.items()
    }
    alpha = (1 - confidence) / 2
    low, high = np.quantile(samples, [alpha, 1 - alpha])
    return BootstrapResult(float(statistic(point)), float(low), float(high), confidence, samples,
                           tuple(s for s in source_seeds if s is not None), target_seeds)
