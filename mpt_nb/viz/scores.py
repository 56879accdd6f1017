"""Figures of measured scores: parameters against accuracy, the few-shot curve (score vs k) and score vs rank r, each
with its t-interval over seeds, cut at 0 and 100 % (the numbers come from ``mpt_nb.results``)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from ..methods import method_label
from ..results import MeasuredScore, accuracy_by_k, accuracy_by_rank, k_sort_key, summarise
from .style import METHOD_MARKERS, figure_and_axes, method_colour

__all__ = ["accuracy_vs_k_figure", "accuracy_vs_rank_figure", "params_vs_accuracy_figure"]

def params_vs_accuracy_figure(
    records: Iterable[dict[str, Any]],
    *,
    k: str | int = "full",
    reference: dict[str, tuple[int, float]] | None = None,
    title: str | None = None,
):
    """Trainable parameters (log x) against the test metric averaged over target tasks, one point per method.

    ``reference`` adds other points, e.g. the paper's reported averages: ``{"MPT (paper, GLUE)": (77_600, 85.6)}``.
    """
    per_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in summarise(r for r in records if str(r["k"]) == str(k)):
        per_method[row["method"]].append(row)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for method, rows in per_method.items():
        x = statistics.fmean(r["trainable_params"] for r in rows)
        y = 100 * statistics.fmean(r["mean"] for r in rows)
        ax.scatter([x], [y], s=60, label=f"{method_label(method)} (this repo)")
        ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    for name, (x, y) in (reference or {}).items():
        ax.scatter([x], [y], marker="x", s=60, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters per target task (log scale)")
    ax.set_ylabel("test metric, mean over target tasks (%)")
    ax.set_title(title or f"Parameters vs accuracy (k = {k})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def _within_0_100(ys: list[float], halves: list[float]) -> list[list[float]]:
    """Asymmetric error-bar lengths (below, above) for scores in % whose intervals stop at 0 and 100."""
    return [[y - max(0.0, y - h) for y, h in zip(ys, halves, strict=True)],
            [min(100.0, y + h) - y for y, h in zip(ys, halves, strict=True)]]


def _interval_note(scores: Iterable[MeasuredScore], confidence: float) -> str:
    scores = list(scores)
    seeds = sorted({s.seeds for s in scores if s.half_width is not None})
    targets = sorted({len(s.targets) for s in scores})
    over = f"mean over {'/'.join(map(str, targets))} target{'s' if targets != [1] else ''}"
    if not seeds:
        return f"{over}; one run per point: no interval"
    return f"{over}; bars: {confidence:.0%} t-interval over {'/'.join(map(str, seeds))} seeds"


def accuracy_vs_k_figure(
    records: Iterable[dict[str, Any]] | None,
    *,
    highlight_k: str | int | None = None,
    confidence: float = 0.95,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Few-shot curve: test score (%, mean over targets) against k (categorical: 4, 16, 32, full), one line per
    method, with a t-interval over seeds (none where a point has one run). Draws into ``ax`` if given; returns the
    Figure."""
    fig, ax, own = figure_and_axes(ax, (6.4, 5.0))
    records = list(records or [])
    scores = accuracy_by_k(records, confidence=confidence)
    ks = sorted({k for per in scores.values() for k in per}, key=k_sort_key)
    on = sorted({str(r["backbone"]) for r in records or [] if r.get("backbone")})
    ax.set_title(title or f"Measured{' on ' + ', '.join(on) if on else ''}: test score vs k", fontsize=10)
    if not ks:
        ax.text(0.5, 0.5, "no measured runs yet", ha="center", va="center", transform=ax.transAxes, color="gray")
        ax.set_xticks([])
        ax.set_yticks([])
        return fig
    ax.set_xlabel("k: training examples per class (full = the whole training split)")
    position = {k: i for i, k in enumerate(ks)}
    spread = 0.36  # methods side by side within a k, so intervals do not hide each other
    step = spread / max(len(scores) - 1, 1)
    for i, (method, per) in enumerate(scores.items()):
        colour, marker = method_colour(method), METHOD_MARKERS.get(method, "o")
        xs = [position[k] + (i - (len(scores) - 1) / 2) * step for k in per]
        ys = [100 * s.mean for s in per.values()]
        ax.plot(xs, ys, color=colour, marker=marker, markersize=9 if marker == "*" else 6, linewidth=1.4,
                label=method_label(method), zorder=3)
        bars = [(x, y, 100 * s.half_width) for x, y, s in zip(xs, ys, per.values(), strict=True) if s.half_width]
        if bars:
            bx, by, be = zip(*bars, strict=True)
            ax.errorbar(bx, by, yerr=_within_0_100(list(by), list(be)), fmt="none", ecolor=colour, elinewidth=1,
                        capsize=3, alpha=0.8, zorder=2)
    if highlight_k is not None and str(highlight_k) in position:
        at = position[str(highlight_k)]
        ax.axvspan(at - 0.45, at + 0.45, color="gold", alpha=0.18, zorder=0, linewidth=0)
    ax.set_xticks(range(len(ks)), [f"k = {k}" for k in ks])
    for label in ax.get_xticklabels():
        if highlight_k is not None and label.get_text() == f"k = {highlight_k}":
            label.set_fontweight("bold")
    ax.set_xlim(-0.5, len(ks) - 0.5)
    every = [s for per in scores.values() for s in per.values()]
    metrics = sorted({m for s in every for m in s.metrics})
    ax.set_ylabel(f"test {' or '.join(metrics)}, mean over targets (%)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
              title=_interval_note(every, confidence), title_fontsize=7)
    if own:
        fig.tight_layout()
    return fig


def accuracy_vs_rank_figure(
    records: Iterable[dict[str, Any]] | None,
    *,
    k: str | int = "full",
    highlight_r: int | None = None,
    confidence: float = 0.95,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Test score (%, mean over targets) against the rank r of u v where runs of one method at several r exist
    (e.g. the "rank4" ablation beside MPT's r = 1), else a note saying which r was measured. Returns the Figure."""
    fig, ax, own = figure_and_axes(ax, (5.2, 4.8))
    records = list(records or [])
    scores = accuracy_by_rank(records, k=k, confidence=confidence)
    ax.set_title(title or f"Measured: test score vs rank r (k = {k})", fontsize=10)
    ax.set_xlabel("r, the rank of u v (log scale)")
    ax.set_xscale("log", base=2)
    ranks = sorted({r for per in scores.values() for r in per})
    if not scores:
        here = sorted({int(r["rank"]) for r in records if r.get("rank") and str(r["k"]) == str(k)})
        elsewhere = sorted({str(kk) for kk in (str(r["k"]) for r in records) if accuracy_by_rank(records, k=kk)},
                           key=k_sort_key)
        note = f"only r = {' and '.join(map(str, here))} measured" if here else f"no runs with a rank at k = {k}"
        note = note if records else "no measured runs yet"
        if elsewhere:
            note += f"\n(r varies at k = {', '.join(elsewhere)})"
        ax.text(0.5, 0.5, note, ha="center", va="center", transform=ax.transAxes, color="dimgray", fontsize=9)
        ax.set_yticks([])
        ranks = here
    for method, per in scores.items():
        colour, marker = method_colour(method), METHOD_MARKERS.get(method, "o")
        xs, ys = list(per), [100 * s.mean for s in per.values()]
        ax.plot(xs, ys, color=colour, marker=marker, markersize=9 if marker == "*" else 6, linewidth=1.4,
                label=method_label(method), zorder=3)
        for x, y, s in zip(xs, ys, per.values(), strict=True):
            if s.half_width:
                ax.errorbar([x], [y], yerr=_within_0_100([y], [100 * s.half_width]), fmt="none", ecolor=colour,
                            capsize=3, zorder=2)
            ax.annotate(f"{y:.1f}\n{s.trainable_params:,.0f} params", (x, y), textcoords="offset points",
                        xytext=(8, -4), fontsize=7, color=colour, va="center")
    shown = sorted(set(ranks) | ({highlight_r} if highlight_r else set())) or [1]
    if highlight_r:
        measured = highlight_r in ranks
        ax.axvline(highlight_r, color="goldenrod", linestyle="--", linewidth=1.2, zorder=1)
        ax.annotate(f"r = {highlight_r} (slider){'' if measured else f', not measured at k = {k}'}", (highlight_r, 1),
                    xycoords=("data", "axes fraction"), xytext=(3, -12), textcoords="offset points", fontsize=7,
                    color="goldenrod")
    ax.set_xlim(shown[0] / 2, shown[-1] * 4)  # room for the labels right of the largest r
    ax.xaxis.set_major_locator(FixedLocator(shown))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    if scores:
        every = [s for per in scores.values() for s in per.values()]
        targets = sorted({t for s in every for t in s.targets})
        ax.set_ylabel("test score, mean over targets (%)")
        low, high = ax.get_ylim()
        ax.set_ylim(low - 0.15 * (high - low), high + 0.15 * (high - low))
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13),
                  title=f"{_interval_note(every, confidence)}\n({', '.join(targets)})", title_fontsize=7)
        ax.grid(alpha=0.3, axis="y")
    if own:
        fig.tight_layout()
    return fig
