"""Scores gathered from records: per-cell means over seeds, seed-paired differences (per target seed in one cell, or
per source seed over a set of cells, with the variance that runs serving every source seed add), and each method's
score per k, per rank r or per (l, r) setting (mean over target tasks, with a t-interval over seeds) that the figures
draw, and the learning-curve check's validation gain per step budget.

The method table (``mpt_nb.methods``) is read inside the functions that order or classify methods, so reading and
summarising records never loads it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .stats import t_interval

__all__ = [
    "Arm",
    "MeasuredScore",
    "accuracy_by_k",
    "accuracy_by_rank",
    "accuracy_by_setting",
    "arm_key",
    "budget_gains",
    "is_main",
    "k_sort_key",
    "measured_points",
    "measured_settings",
    "paired_differences",
    "run_variance_of_mean",
    "source_seed_differences",
    "summarise",
]

Arm = str | tuple[str, str]  # a method's main runs ("mpt"), or (method, ablation) ("mpt", "kl_only")


def summarise(records: Iterable[dict[str, Any]], keys: Sequence[str] = ("task", "k", "method")) -> list[dict[str, Any]]:
    """Mean and standard deviation of the test metric over seeds, one row per ``keys`` combination."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[tuple(r[k] for k in keys)].append(r)
    rows = []
    for key, runs in groups.items():
        scores = [r["test"] for r in runs]
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "metric": runs[0]["metric"],
                "mean": statistics.fmean(scores),
                "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
                "runs": len(runs),
                "trainable_params": runs[0]["trainable_params"],
            }
        )
    return rows


def k_sort_key(k: str | int) -> tuple[int, int]:
    """Order shot counts numerically with full data last: 4, 16, 32, full (not the string order 16, 32, 4)."""
    text = str(k)
    return (0, int(text)) if text.isdigit() else (1, 0)


def is_main(record: dict[str, Any]) -> bool:
    """Whether a record is a main run of its method (not an ablation)."""
    return record.get("ablation", "none") in ("none", None)


def paired_differences(
    records: Iterable[dict[str, Any]], method: str, baseline: str, *, keys: Sequence[str] = ("task", "k")
) -> dict[tuple, list[float]]:
    """``method`` − ``baseline`` test score per ``keys`` group, paired by seed (only seeds both methods ran).

    Paired because both methods of a seed share its k-shot draw and data order: the difference removes that luck.
    Ablation runs are left out. Returns ``{group: [difference for each shared seed, in seed order]}``.
    """
    scores: dict[tuple, dict[str, dict[Any, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in records:
        if not is_main(r) or r["method"] not in (method, baseline):
            continue
        group = tuple(r[k] for k in keys)
        if r["seed"] in scores[group][r["method"]]:
            raise ValueError(f"two {r['method']!r} runs for {dict(zip(keys, group, strict=True))} seed {r['seed']}: "
                             "pass records of one grid (one profile and settings) at a time")
        scores[group][r["method"]][r["seed"]] = r["test"]
    out = {}
    for group, by_method in scores.items():
        seeds = sorted(set(by_method[method]) & set(by_method[baseline]))
        if seeds:
            out[group] = [by_method[method][s] - by_method[baseline][s] for s in seeds]
    return out


def budget_gains(
    records: Iterable[dict[str, Any]], method: str = "mpt", baseline: str = "pt"
) -> dict[tuple[str, int], list[tuple[int, float]]]:
    """``method`` − ``baseline`` validation score in points per (task, k), paired by step budget, from learning-curve
    records (``benchmarks.learning_curve``: one seed per cell): ``{(task, k): [(steps, difference), ...]}`` in step
    order. A budget where either method has no run (or no validation score) is left out; two runs of one
    (task, method, k, steps) are refused."""
    scores: dict[tuple[str, int, int], dict[str, float]] = defaultdict(dict)
    for r in records:
        if r["method"] not in (method, baseline) or r.get("validation") is None:
            continue
        cell = (r["task"], int(r["k"]), int(r["steps"]))
        if r["method"] in scores[cell]:
            raise ValueError(f"two {r['method']!r} runs for task {cell[0]!r}, k = {cell[1]}, {cell[2]} steps: pass "
                             "the records of one learning-curve check (one profile)")
        scores[cell][r["method"]] = 100 * float(r["validation"])
    out: dict[tuple[str, int], list[tuple[int, float]]] = defaultdict(list)
    for (task, k, steps), by_method in sorted(scores.items()):
        if method in by_method and baseline in by_method:
            out[(task, k)].append((steps, by_method[method] - by_method[baseline]))
    return dict(out)


def arm_key(arm: Arm) -> tuple[str, str]:
    """(method, ablation) of an arm: "mpt" is ("mpt", "none")."""
    return (arm, "none") if isinstance(arm, str) else (arm[0], arm[1])


def _arm_scores(
    records: Iterable[dict[str, Any]], arm: Arm, cells: Iterable[tuple[str, str | int]], validation_k: int | None
) -> dict[tuple, float]:
    """{(task, k, source seed, target seed): 100·test} of one arm's runs in ``cells`` (runs without a test score are
    left out); two runs of one key are refused."""
    method, ablation = arm_key(arm)
    wanted = {(task, str(k)) for task, k in cells}
    scores: dict[tuple, float] = {}
    for r in records:
        if (r["method"], r.get("ablation") or "none") != (method, ablation) or r.get("validation_k") != validation_k:
            continue
        cell = (r["task"], str(r["k"]))
        if cell not in wanted or r.get("test") is None:
            continue
        key = (*cell, r.get("source_seed"), int(r["seed"]))
        if key in scores:
            raise ValueError(f"two {method!r} [{ablation}] runs for task {key[0]!r}, k = {key[1]}, source seed "
                             f"{key[2]}, target seed {key[3]}: pass records of one grid (one profile and settings)")
        scores[key] = 100 * float(r["test"])
    return scores


def source_seed_differences(
    records: Iterable[dict[str, Any]],
    method: Arm,
    baseline: Arm,
    cells: Iterable[tuple[str, str | int]],
    *,
    source_seeds: Sequence[int] | None = None,
    target_seeds: Sequence[int] | None = None,
    validation_k: int | None = None,
) -> dict[int, float]:
    """Per source seed s, the mean over ``cells`` ((task, k)) and target seeds t of 100·[score(method, s, t) −
    score(baseline, s, t)], in points: ``{s: D_s}``.

    ``method`` and ``baseline`` name a method's main runs ("mpt") or an ablation's ((method, ablation)); with
    ``validation_k``, the runs that selected their checkpoint on that many validation rows per class. A run without a
    source seed (PT's) serves every s. A source seed enters only if both arms have a run for every cell and target
    seed (``source_seeds`` and ``target_seeds`` default to those the arms' runs have).
    """
    cells = [(task, str(k)) for task, k in cells]
    mine, theirs = (_arm_scores(records, a, cells, validation_k) for a in (method, baseline))
    both = [*mine, *theirs]
    seeds_s = sorted({key[2] for key in both if key[2] is not None}) if source_seeds is None else list(source_seeds)
    seeds_t = sorted({key[3] for key in both}) if target_seeds is None else list(target_seeds)
    if not seeds_s and not both:
        return {}
    if not seeds_s:
        raise ValueError(f"neither {method!r} nor {baseline!r} has runs with a source seed; compare them per target "
                         "seed with paired_differences")

    def score(table: dict[tuple, float], task: str, k: str, s: int, t: int) -> float | None:
        return table.get((task, k, s, t), table.get((task, k, None, t)))

    out = {}
    for s in seeds_s:
        diffs = []
        for task, k in cells:
            for t in seeds_t:
                a, b = score(mine, task, k, s, t), score(theirs, task, k, s, t)
                if a is None or b is None:
                    break
                diffs.append(a - b)
        if len(diffs) == len(cells) * len(seeds_t) and diffs:
            out[s] = statistics.fmean(diffs)
    return out


def run_variance_of_mean(
    records: Iterable[dict[str, Any]],
    method: Arm,
    cells: Iterable[tuple[str, str | int]],
    *,
    target_seeds: Sequence[int] | None = None,
    validation_k: int | None = None,
) -> float:
    """The variance, in points², that a method's own runs add to a mean over ``cells`` ((task, k)) and target seeds
    when each of its runs serves every source seed (PT's): its runs' sample variance over the target seeds, pooled
    over the cells (the mean of the per-cell variances), divided by the number of its runs in the mean."""
    cells = [(task, str(k)) for task, k in cells]
    if not cells:
        raise ValueError("run_variance_of_mean needs at least one (task, k) cell")
    scores = _arm_scores(records, method, cells, validation_k)
    if any(key[2] is not None for key in scores):
        raise ValueError(f"{method!r} has runs per source seed; the spread over source seeds already holds theirs")
    variances, runs = [], 0
    for task, k in cells:
        values = [v for (tk, kk, _, t), v in scores.items()
                  if (tk, kk) == (task, k) and (target_seeds is None or t in target_seeds)]
        if len(values) < 2:
            raise ValueError(f"{method!r} has {len(values)} run(s) of task {task!r} at k = {k}; its run variance needs "
                             "at least two target seeds per cell")
        variances.append(statistics.variance(values))
        runs += len(values)
    return statistics.fmean(variances) / runs


@dataclass(frozen=True)
class MeasuredScore:
    """A method's test score at one setting (fractions): the mean over target tasks and its t-interval over seeds.

    ``seeds`` counts the independent seeds that covered every target: the source seeds, where the runs start from
    several source stages (the runs from one stage, at every target seed, are averaged first: they share that
    stage, so they are not independent), else the target seeds (with one source stage the interval is for that
    stage). Each gives one mean over the targets, and the interval is over those means (the test rows' own sampling
    is not in it). ``half_width`` is None with fewer than two such seeds.
    """

    mean: float
    half_width: float | None
    seeds: int
    targets: tuple[str, ...]
    metrics: tuple[str, ...]
    trainable_params: float


def _score(runs: Sequence[dict[str, Any]], confidence: float) -> MeasuredScore:
    """Mean over targets per independent seed (the source seed where there are several, else the target seed), then
    the t-interval over the seeds that ran every target."""
    targets = tuple(sorted({r["task"] for r in runs}))
    by_seed: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    crossed = len({r.get("source_seed") for r in runs} - {None}) > 1
    for r in runs:
        unit = ("source", r["source_seed"]) if crossed and r.get("source_seed") is not None else ("target", r["seed"])
        by_seed[unit][r["task"]].append(float(r["test"]))
    complete = [per_task for per_task in by_seed.values() if len(per_task) == len(targets)]
    if complete:
        mean, half = t_interval([statistics.fmean(statistics.fmean(v) for v in t.values()) for t in complete], confidence)
    else:  # no seed ran every target: the mean of the per-target means, without an interval
        per_target: dict[str, list[float]] = defaultdict(list)
        for r in runs:
            per_target[r["task"]].append(float(r["test"]))
        mean, half = statistics.fmean(statistics.fmean(v) for v in per_target.values()), None
    return MeasuredScore(
        mean=mean, half_width=half, seeds=len(complete), targets=targets,
        metrics=tuple(sorted({r["metric"] for r in runs})),
        trainable_params=statistics.fmean(float(r["trainable_params"]) for r in runs),
    )


def accuracy_by_k(
    records: Iterable[dict[str, Any]] | None, *, confidence: float = 0.95
) -> dict[str, dict[str, MeasuredScore]]:
    """{method: {k: score}} over the main runs (ablations left out); k as text ("4", "full"), in table order."""
    from ..methods import method_order

    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records or []:
        if is_main(r):
            groups[(r["method"], str(r["k"]))].append(r)
    out: dict[str, dict[str, MeasuredScore]] = {}
    for (method, k), runs in sorted(groups.items(), key=lambda kv: (method_order(kv[0][0]), kv[0][0], k_sort_key(kv[0][1]))):
        out.setdefault(method, {})[k] = _score(runs, confidence)
    return out


def _rank_ablations() -> set[str]:
    """Ablations that change only the rank (e.g. "rank4"): their runs are the same method at another r."""
    from ..methods import ABLATIONS

    return {name for name, a in ABLATIONS.items() if set(a.source_changes) == {"rank"} and not a.method_changes}


def accuracy_by_rank(
    records: Iterable[dict[str, Any]] | None, *, k: str | int = "full", confidence: float = 0.95
) -> dict[str, dict[int, MeasuredScore]]:
    """{method: {r: score}} at one k, over the targets where that method ran at more than one rank r.

    Main runs and rank-only ablations (e.g. "rank4") count; records without a rank, or rank 0 (PT, SPoT), do not.
    """
    from ..methods import method_order

    rank_only = _rank_ablations()
    by: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in records or []:
        if str(r["k"]) == str(k) and r.get("rank") and (is_main(r) or r.get("ablation") in rank_only):
            by[r["method"]][r["task"]].append(r)
    out: dict[str, dict[int, MeasuredScore]] = {}
    for method in sorted(by, key=lambda m: (method_order(m), m)):
        runs = [x for per_task in by[method].values() if len({y["rank"] for y in per_task}) > 1 for x in per_task]
        for rank in sorted({int(x["rank"]) for x in runs}):
            out.setdefault(method, {})[rank] = _score([x for x in runs if int(x["rank"]) == rank], confidence)
    return out


def accuracy_by_setting(
    records: Iterable[dict[str, Any]] | None, *, k: str | int = "full", confidence: float = 0.95
) -> dict[tuple[str, int, int], MeasuredScore]:
    """{(method, l, r): score} at one k: each method's score at every prompt length l and rank r its main runs used
    (r = 0: no u, v), mean over targets with the t-interval over seeds, in table order, then l, then r.

    Ablations are left out (a grid's "rank4" runs on fewer targets than the main runs beside it: ``accuracy_by_rank``
    compares ranks on the targets that ran both), and so are records without a prompt length.
    """
    from ..methods import method_order

    groups: dict[tuple[str, int, int], list[dict[str, Any]]] = defaultdict(list)
    for r in records or []:
        if str(r["k"]) == str(k) and r.get("prompt_tokens") and is_main(r):
            groups[(r["method"], int(r["prompt_tokens"]), int(r.get("rank") or 0))].append(r)
    order = sorted(groups, key=lambda key: (method_order(key[0]), key))
    return {key: _score(groups[key], confidence) for key in order}


def measured_settings(records: Iterable[dict[str, Any]] | None) -> dict[str, list]:
    """The settings the measured runs used: prompt lengths ``l``, ranks ``r`` (> 0), widths ``d``, ``ks``, ``backbones``."""
    from ..methods import METHODS

    recs = list(records or [])
    whole_prompt = {m for m, method in METHODS.items() if method.target_init != "shared_prompt"}  # they train l·d
    return {
        "l": sorted({int(r["prompt_tokens"]) for r in recs if r.get("prompt_tokens")}),
        "r": sorted({int(r["rank"]) for r in recs if r.get("rank")}),
        "d": sorted({int(r["trainable_params"]) // int(r["prompt_tokens"])
                     for r in recs if r["method"] in whole_prompt and r.get("prompt_tokens")}),
        "ks": sorted({str(r["k"]) for r in recs}, key=k_sort_key),
        "backbones": sorted({str(r["backbone"]) for r in recs if r.get("backbone")}),
    }


def measured_points(records: Iterable[dict[str, Any]] | None, *, k: str | int = "full") -> dict[str, tuple[float, float]]:
    """{method: (trainable params per task, mean test metric in %)} over target tasks and seeds, main runs only."""
    from ..methods import method_order

    if not records:
        return {}
    main = [r for r in records if is_main(r) and str(r["k"]) == str(k)]
    per_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in summarise(main):
        per_method[row["method"]].append(row)
    return {
        m: (statistics.fmean(r["trainable_params"] for r in rows), 100 * statistics.fmean(r["mean"] for r in rows))
        for m, rows in sorted(per_method.items(), key=lambda item: (method_order(item[0]), item[0]))
    }
