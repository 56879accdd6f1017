"""Where MPT helps and where it does not: MPT − each baseline per target, against k (the grid's pre-registered
secondary contrasts, with their intervals and per-source-seed values) and against the target step budget (the
learning-curve check: validation scores of one seed, as differences or as each method's own curve). All read
committed results; nothing here trains."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..methods import method_label
from ..results import budget_gains, k_sort_key
from .style import METHOD_MARKERS, method_colour

__all__ = ["gain_by_budget_figure", "gain_by_k_figure", "learning_curve_figure"]

ANALYSIS_COMMAND = "python -m benchmarks.analysis --config configs/offline_v3.yaml"
CURVE_COMMAND = "python -m benchmarks.learning_curve"
_K_LINES = (("--", "o"), ("-", "s"), (":", "^"), ("-.", "D"))  # (line style, marker) per k in the budget figure


def _panels(axes: Sequence[Axes] | None, tasks: Sequence[str], height: float) -> tuple[Figure, list[Axes], bool]:
    """(figure, one axes per target in a row, whether the figure is new): ``axes`` if given, else a new row."""
    if axes is not None:
        axes = list(axes)
        if len(axes) != len(tasks):
            raise ValueError(f"got {len(axes)} axes for {len(tasks)} targets {list(tasks)}; pass one axes per target")
        return axes[0].figure, axes, False
    fig, row = plt.subplots(1, len(tasks), figsize=(0.6 + 3.1 * len(tasks), height), sharey=True, squeeze=False)
    return fig, list(row[0]), True


def _finish(fig: Figure, axes: Sequence[Axes], own: bool, title: str, note: str, ncol: int) -> None:
    """One legend for every panel (each label once) with ``note`` as its title: under the panels of a new figure,
    else inside the last panel; ``title`` over a new figure."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if not own:
        axes[-1].legend(list(handles.values()), list(handles), fontsize=6, title=note, title_fontsize=6)
        return
    fig.suptitle(title, fontsize=10)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=ncol, fontsize=7, title=note,
               title_fontsize=7, frameon=False)
    rows = note.count("\n") + 1 + -(-len(handles) // ncol)  # the note's lines and the legend's
    fig.tight_layout(rect=(0, (0.12 + 0.16 * rows) / fig.get_figheight(), 1, 1))


def _budget_axis(ax: Axes, task: str, budgets: Sequence[int]) -> None:
    """A budget panel's x axis (the step counts the check tried), title and grid."""
    ax.set_xticks(budgets, [str(n) for n in budgets])
    ax.set_xlim(0, budgets[-1] * 1.08)
    ax.set_title(task, fontsize=9)
    ax.set_xlabel("target training steps", fontsize=8)
    ax.grid(alpha=0.3)


def _secondary_cells(summary: dict[str, Any], baselines: Sequence[str] | None
                     ) -> dict[str, dict[str, dict[str, dict[str, Any] | None]]]:
    """The analysis summary's secondary contrasts as ``{task: {baseline: {k: contrast or None}}}``, targets in the
    summary's order, baselines in ``baselines``' (default: the summary's) and k in ``k_sort_key`` order (None: fewer
    than two source seeds have every run of that cell)."""
    rows = summary.get("secondary") or []
    if not rows:
        raise ValueError(f"the analysis summary has no secondary contrasts (per target and k); write it with "
                         f"{ANALYSIS_COMMAND}")
    baselines = list(rows[0]["vs"]) if baselines is None else list(baselines)
    unknown = sorted(set(baselines) - set(rows[0]["vs"]))
    if unknown:
        raise ValueError(f"the summary compares MPT with {sorted(rows[0]['vs'])}, not with {unknown}")
    tasks = dict.fromkeys(row["task"] for row in rows)
    out: dict[str, dict[str, dict[str, dict[str, Any] | None]]] = {t: {b: {} for b in baselines} for t in tasks}
    for row in sorted(rows, key=lambda row: k_sort_key(row["k"])):
        for b in baselines:
            out[row["task"]][b][str(row["k"])] = row["vs"][b]
    return out


def gain_by_k_figure(
    summary: dict[str, Any],
    *,
    baselines: Sequence[str] | None = None,
    axes: Sequence[Axes] | None = None,
    title: str | None = None,
) -> Figure:
    """MPT − each baseline on test, in points, against k (categorical: 4, 16, 32, full), one panel per target, from
    the pre-registered analysis's summary (``benchmarks.analysis``, ``results/analysis_v3.json``): per baseline its
    95% interval as a bar, the estimate as a marker and each source seed's difference as a faint dot (``baselines``:
    default every one the summary compares with, in its order). Contrasts not computed yet are left out and counted.
    Draws into ``axes`` (one per target) if given, else into a new figure under ``title``; returns the Figure."""
    cells = _secondary_cells(summary, baselines)
    tasks = list(cells)
    baselines = list(next(iter(cells.values())))
    ks = sorted({k for per in cells.values() for by_k in per.values() for k in by_k}, key=k_sort_key)
    fig, panels, own = _panels(axes, tasks, 4.4)
    position = {k: i for i, k in enumerate(ks)}
    step = 0.5 / max(len(baselines), 1)  # baselines side by side within a k (a categorical axis)
    missing = provisional = total = 0
    for ax, task in zip(panels, tasks, strict=True):
        for i, b in enumerate(baselines):
            offset = (i - (len(baselines) - 1) / 2) * step
            found = [(k, c) for k, c in cells[task][b].items() if c is not None]
            total += len(cells[task][b])
            missing += len(cells[task][b]) - len(found)
            provisional += sum(not c["complete"] for _, c in found)
            if not found:
                continue
            colour, marker = method_colour(b), METHOD_MARKERS.get(b, "o")
            xs = [position[k] + offset for k, _ in found]
            ys = [c["estimate"] for _, c in found]
            below = [c["estimate"] - c["low"] for _, c in found]
            above = [c["high"] - c["estimate"] for _, c in found]
            bars = ax.errorbar(xs, ys, yerr=[below, above], fmt=marker, color=colour, markersize=6, elinewidth=1.2,
                               capsize=2.5, label=f"MPT − {method_label(b)}", zorder=3)
            bars.lines[0].set_gid(b)
            seed_x = [x for x, (_, c) in zip(xs, found, strict=True) for _ in c["per_source_seed"]]
            seed_y = [v for _, c in found for v in c["per_source_seed"]]
            ax.scatter(seed_x, seed_y, s=9, color=colour, alpha=0.35, linewidths=0, zorder=2, gid=f"{b} seeds")
        ax.axhline(0, color="black", linewidth=0.8, zorder=1)
        ax.set_xticks(range(len(ks)), ks)
        ax.set_xlim(-0.5, len(ks) - 0.5)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("k: labelled examples per class", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    panels[0].set_ylabel("MPT − baseline, test (points)")
    note = ("bars: the pre-registered 95% intervals (source seeds and test rows; against PT, PT's runs too); "
            "dots: one per source seed.\nSecondary contrasts: no multiplicity correction.")
    if missing:
        note += (f"\n{missing} of {total} contrasts (target × k × baseline) have none yet: fewer than two source seeds "
                 "with every run.")
    if provisional:
        note += f"\n{provisional} of {total} rest on fewer than the planned source seeds so far."
    _finish(fig, panels, own, title or "MPT − each baseline per target and k (test scores)", note,
            ncol=min(len(baselines), 4))
    return fig


def gain_by_budget_figure(
    curve_records: Iterable[dict[str, Any]],
    *,
    axes: Sequence[Axes] | None = None,
    title: str | None = None,
) -> Figure:
    """MPT − PT on validation, in points, against the target step budget, one panel per target and one line per k,
    from the learning-curve check (``benchmarks.learning_curve``): one seed, so points without intervals. A budget
    where MPT or PT has no run is left out and counted. Draws into ``axes`` (one per target) if given, else into a
    new figure under ``title``; returns the Figure."""
    records = list(curve_records)
    if not records:
        raise ValueError(f"no learning-curve records; run {CURVE_COMMAND} (it writes results/learning_curve_v3.jsonl)")
    gains = budget_gains(records)
    tasks = list(dict.fromkeys(r["task"] for r in records))
    ks = sorted({int(r["k"]) for r in records})
    budgets = sorted({int(r["steps"]) for r in records})
    cells = {(r["task"], int(r["k"]), int(r["steps"])) for r in records}
    missing = len(cells) - sum(len(points) for points in gains.values())
    fig, panels, own = _panels(axes, tasks, 4.0)
    for ax, task in zip(panels, tasks, strict=True):
        for i, k in enumerate(ks):
            points = gains.get((task, k), [])
            if not points:
                continue
            style, marker = _K_LINES[i % len(_K_LINES)]
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, linestyle=style, marker=marker, color=method_colour("mpt"), markersize=5, linewidth=1.3,
                    label=f"k = {k}", gid=f"k={k}", zorder=3)
        if not any(gains.get((task, k)) for k in ks):
            ax.text(0.5, 0.5, "no MPT − PT pair yet", ha="center", va="center", transform=ax.transAxes,
                    color="gray", fontsize=8)
        ax.axhline(0, color="black", linewidth=0.8, zorder=1)
        _budget_axis(ax, task, budgets)
    panels[0].set_ylabel("MPT − PT, validation (points)")
    note = "validation scores of one seed: points, no intervals"
    if missing:
        note += f"; {missing} (target, k, steps) cells lack MPT or PT and are left out"
    _finish(fig, panels, own, title or "MPT − PT against the target step budget (validation, one seed)", note,
            ncol=len(ks))
    return fig


def learning_curve_figure(
    curve_records: Iterable[dict[str, Any]],
    *,
    chance: dict[str, float] | None = None,
    axes: Sequence[Axes] | None = None,
    title: str | None = None,
) -> Figure:
    """Each method's validation score against the target step budget, one panel per target, one line per (method,
    k): the learning-curve check's runs (``benchmarks.learning_curve``), one seed, so points without intervals; a run
    without a validation score is left out. ``chance``: {target: the best input-blind score}, drawn as a dotted line
    where given. Draws into ``axes`` (one per target) if given, else into a new figure under ``title``; returns the
    Figure."""
    records = [r for r in curve_records if r.get("validation") is not None]
    if not records:
        raise ValueError(f"no learning-curve records; run {CURVE_COMMAND} (it writes results/learning_curve_v3.jsonl)")
    tasks = list(dict.fromkeys(r["task"] for r in records))
    methods = list(dict.fromkeys(r["method"] for r in records))
    ks = sorted({int(r["k"]) for r in records})
    budgets = sorted({int(r["steps"]) for r in records})
    curves: dict[tuple[str, str, int], list[tuple[int, float]]] = defaultdict(list)
    for r in records:
        curves[(r["task"], r["method"], int(r["k"]))].append((int(r["steps"]), float(r["validation"])))
    fig, panels, own = _panels(axes, tasks, 4.0)
    for ax, task in zip(panels, tasks, strict=True):
        for method in methods:
            for i, k in enumerate(ks):
                points = sorted(curves.get((task, method, k), []))
                if not points:
                    continue
                style, _ = _K_LINES[i % len(_K_LINES)]
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, linestyle=style, marker=METHOD_MARKERS.get(method, "o"), color=method_colour(method),
                        markersize=5, linewidth=1.3, label=f"{method_label(method)}, k = {k}", gid=f"{method} k={k}",
                        zorder=3)
        if chance is not None and task in chance:
            ax.axhline(chance[task], color="gray", linestyle=":", linewidth=1, label="chance", gid="chance", zorder=1)
        _budget_axis(ax, task, budgets)
    panels[0].set_ylabel("validation score (the target's metric)")
    _finish(fig, panels, own, title or "Validation score against the target step budget (one seed)",
            "validation scores of one seed: points, no intervals", ncol=len(ks) * len(methods) + (chance is not None))
    return fig
