"""Figures and the explorer widget. Builders return the figure (or widget) so tests can make them headless.

Records, statistics and tables live in ``mpt_nb.results``; the paper's numbers in ``mpt_nb.paper``.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, NullLocator

from . import paper
from .methods import method_label
from .prompts import expected_trainable
from .results import (
    MeasuredScore,
    accuracy_by_k,
    accuracy_by_rank,
    k_sort_key,
    measured_points,
    measured_settings,
    summarise,
)

__all__ = [
    "BACKBONE_PRESETS",
    "METHOD_COLOURS",
    "METHOD_MARKERS",
    "accuracy_vs_k_figure",
    "accuracy_vs_rank_figure",
    "delta_heatmap",
    "explorer_counts",
    "integer_ticks",
    "log_ticks",
    "method_colour",
    "param_count_explorer",
    "params_vs_accuracy_figure",
    "prompt_heatmap",
    "smooth",
    "static_explorer_figure",
    "tidy_axis",
]

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


# --------------------------------------------------------------------------------------------------- explorer

# Model widths (d) for the explorer's slider, with nominal parameter counts for the "% of the backbone" readout.
BACKBONE_PRESETS: dict[str, tuple[int, int]] = {
    "t5-small": (512, 60_000_000),
    "SmolLM2-135M": (576, 134_515_008),
    "t5-base": (768, 220_000_000),
    "t5-large": (1024, 770_000_000),
}

# One colour (and marker) per method in every figure of the explorer; the paper's rows take their method's colour.
METHOD_COLOURS: dict[str, str] = {
    "pt": "#7f7f7f",  # grey: the baseline
    "spot": "#1f77b4",
    "spot_generic": "#17becf",
    "decomp": "#9467bd",
    "mpt": "#d62728",
    "zero_shot": "#bcbd22",
    "attempt": "#8c564b",  # the paper's rows only
    "ft": "#000000",
}
METHOD_MARKERS: dict[str, str] = {"pt": "o", "spot": "D", "spot_generic": "d", "decomp": "s", "mpt": "*", "zero_shot": "v"}
_OTHER_COLOUR = "#2ca02c"


def method_colour(name: str) -> str:
    """A method's colour in every figure, for this package's names ("mpt") and the paper's ("MPT", "SPoT")."""
    if name in METHOD_COLOURS:
        return METHOD_COLOURS[name]
    return METHOD_COLOURS.get(name.lower().split(" ")[0], _OTHER_COLOUR)  # "MPT (transfer + multitask)" -> "mpt"


def _measured_note(settings: dict[str, list], *, r: int) -> list[str]:
    """What the sliders do to the measured panels: which settings were measured, which sliders only move the counts."""
    if not settings["ks"]:
        return ["no measured runs: the sliders change the counts; the panels show the paper's numbers only"]
    where = [f"{name} = {' or '.join(map(str, settings[name]))}" for name in ("r", "l", "d") if settings[name]]
    on = f" ({', '.join(settings['backbones'])})" if settings["backbones"] else ""
    lines = [
        f"measured only at {', '.join(where)}{on}; k = {', '.join(settings['ks'])}",
        "l, d and S change the counts only: the measured scores stay where they were run",
    ]
    if settings["r"]:
        state = "measured: the rank panel marks it" if r in settings["r"] else "not measured: only the counts move"
        lines.append(f"r = {r} is {state}; k picks which measured runs the panels show")
    return lines


def explorer_counts(l: int, d: int, r: int, tasks: int, backbone_params: int | None = None) -> dict[str, float]:  # noqa: E741
    """Trainable parameters of PT (l·d·S) and MPT (l·d + (l+d)·r·S), in total and per task, and as % of a backbone.

    ``mpt_per_task`` is the amortised share (l·d/S + (l+d)·r); ``mpt_task_specific`` is (l+d)·r; ``mpt_target`` is one
    target adapted on its own (l·d + (l+d)·r, the paper's "param/task").
    """
    if min(l, d, r, tasks) < 1:
        raise ValueError(f"l, d, r and tasks must be >= 1, got l={l}, d={d}, r={r}, tasks={tasks}")
    mpt_total = expected_trainable("mpt", l, d, rank=r, num_tasks=tasks)
    counts: dict[str, float] = {
        "pt_per_task": expected_trainable("pt", l, d),
        "pt_total": expected_trainable("pt", l, d, num_tasks=tasks),
        "mpt_task_specific": expected_trainable("mpt", l, d, rank=r) - expected_trainable("shared", l, d),
        "mpt_per_task": mpt_total / tasks,
        "mpt_total": mpt_total,
        "mpt_target": expected_trainable("mpt", l, d, rank=r),
    }
    if backbone_params:
        for key in list(counts):
            counts[f"{key}_pct"] = 100.0 * counts[key] / backbone_params
    return counts


def _num(value: float) -> str:
    """12116 → 12,116; 1645.71 → 1,645.7 (a share of P* need not be whole)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _counts_text(counts: dict[str, float], l: int, d: int, r: int, tasks: int, backbone: str) -> list[str]:  # noqa: E741
    """The readout: every count with the formula it comes from, and sums that add up as printed."""
    def pct(key: str) -> str:
        return f" ({counts[key + '_pct']:.4f}% of {backbone})" if key + "_pct" in counts else ""

    ld, own = l * d, (l + d) * r
    return [
        f"l = {l}, d = {d}, r = {r}, S = {tasks} tasks",
        f"PT:  l·d = {ld:,} per task; l·d·S = {counts['pt_total']:,.0f} in total{pct('pt_total')}",
        f"MPT: (l+d)·r + l·d/S = {own:,} + {ld:,}/{tasks} = {own:,} + {_num(ld / tasks)} = "
        f"{_num(counts['mpt_per_task'])} per task (P* shared by the S tasks)",
        f"     l·d + (l+d)·r·S = {ld:,} + {own:,}·{tasks} = {counts['mpt_total']:,.0f} in total{pct('mpt_total')}",
        f"MPT, one target adapted alone: l·d + (l+d)·r = {ld:,} + {own:,} = {counts['mpt_target']:,.0f}"
        f"{pct('mpt_target')}",
    ]


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax, True
    return ax.figure, ax, False


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
    fig, ax, own = _figure_and_axes(ax, (6.4, 5.0))
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
            ax.errorbar(bx, by, yerr=be, fmt="none", ecolor=colour, elinewidth=1, capsize=3, alpha=0.8, zorder=2)
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
    fig, ax, own = _figure_and_axes(ax, (5.2, 4.8))
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
                ax.errorbar([x], [y], yerr=[100 * s.half_width], fmt="none", ecolor=colour, capsize=3, zorder=2)
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


def _paper_label(method: str) -> str:
    return "MPT, shared P*" if method == "MPT (transfer + multitask)" else method


def _counts_panel(ax: Axes, records: list[dict[str, Any]], counts: dict[str, float], *, tasks: int, k: str | int) -> None:
    """Parameters per task (log x) against score: the paper's Table 1, this repo's runs, and the sliders' counts."""
    ys: list[float] = []
    for method, row in paper.TABLE1.items():
        colour = method_colour(method)
        left = method == "MPT (transfer + multitask)"  # it sits left of everything else: label on its left
        for y, marker in ((row.glue, "s"), (row.superglue, "^")):
            ax.scatter([row.params_per_task], [y], marker=marker, s=48, zorder=3, linewidth=1.2,
                       facecolor=colour if row.scores_verified else "white",
                       edgecolor="black" if row.scores_verified else colour)
            mark = "" if row.scores_verified else " (unverified)"
            ax.annotate(f"{_paper_label(method)} {y:.1f}{mark}", (row.params_per_task, y), textcoords="offset points",
                        xytext=(-7, 0) if left else (7, 0), ha="right" if left else "left", va="center", fontsize=7,
                        color=colour)
            ys.append(y)
    measured = measured_points(records, k=k)
    # Methods of one size (PT and SPoT: l·d; Decomp. and MPT: l·d + (l+d)·r) would cover each other: each method is
    # shifted right of its true count by its own step (table order); the legend gives the true counts.
    repo = []
    for i, (method, (x, y)) in enumerate(measured.items()):
        repo.append(ax.scatter([x * 10 ** (0.05 + 0.09 * i)], [y], marker="P", s=60, color=method_colour(method),
                               edgecolor="black", linewidth=0.6, zorder=4,
                               label=f"{method_label(method, short=True)} {y:.1f} ({x:,.0f} params)"))
        ys.append(y)
    # PT and MPT-alone differ by (l+d)·r, invisible on a log axis: a wide grey band under red dashes, labels on either
    # side; the shared-P* line's label sits higher, on the side away from PT's.
    shared_side = -1 if counts["mpt_per_task"] < counts["pt_per_task"] else 1
    lines = (
        ("pt_per_task", "PT per task: l·d", "PT", "pt", "-", 4.0, 0.55, -1, 0.02),
        ("mpt_target", "MPT, one target adapted alone: l·d + (l+d)·r", "MPT alone", "mpt", "--", 1.5, 1.0, 1, 0.02),
        ("mpt_per_task", f"MPT per task, P* shared by S = {tasks}: l·d/S + (l+d)·r", f"MPT, S = {tasks}", "mpt", ":",
         1.8, 1.0, shared_side, 0.16),
    )
    handles = []
    for key, long, short, method, style, width, alpha, side, height in lines:
        x, colour = counts[key], method_colour(method)
        handles.append(ax.axvline(x, color=colour, linestyle=style, linewidth=width, alpha=alpha, zorder=1,
                                  label=f"{long} = {_num(x)}"))
        ax.annotate(f"{short} {_compact(x)}", (x, height), xycoords=("data", "axes fraction"), xytext=(4 * side, 0),
                    textcoords="offset points", ha="left" if side > 0 else "right", va="bottom", rotation=90,
                    fontsize=7, color=colour)
    sizes = [row.params_per_task for row in paper.TABLE1.values()]
    ax.set_xscale("log")
    ax.set_xlim(min(sizes) / 20, max(sizes) * 15)
    ax.set_ylim(min(ys) - 0.45 * (max(ys) - min(ys)), max(ys) + 3)  # room at the bottom for the lines' labels
    log_ticks(ax, "x")
    ax.set_xlabel("trainable parameters per task (log scale)")
    ax.set_ylabel("average test score (%)")
    ax.grid(alpha=0.3)
    paper_handles = [
        plt.Line2D([], [], marker="s", linestyle="", color="gray", markeredgecolor="black",
                   label=f"paper, {paper.BACKBONE}: GLUE avg (Table 1)"),
        plt.Line2D([], [], marker="^", linestyle="", color="gray", markeredgecolor="black",
                   label=f"paper, {paper.BACKBONE}: SuperGLUE avg (Table 1)"),
        plt.Line2D([], [], marker="s", linestyle="", markerfacecolor="white", markeredgecolor="gray",
                   label="hollow: PT's row, not checked against the paper"),
    ]
    legend = ax.legend(handles=paper_handles + handles, fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.13),
                       title="the paper, and the counts at the sliders", title_fontsize=7, alignment="left")
    if repo:
        ax.add_artist(legend)
        backbone = next((str(r_["backbone"]) for r_ in records if r_.get("backbone")), "this repo")
        ax.legend(handles=repo, fontsize=7, loc="upper right", bbox_to_anchor=(1, -0.13), alignment="left",
                  title=f"this repo, {backbone}, k = {k},\nmean over targets (shifted right\nby method, so none "
                        "hides another)", title_fontsize=7)


def static_explorer_figure(
    records: Iterable[dict[str, Any]] | None = None,
    *,
    l: int = 100,  # noqa: E741 (the paper's l)
    r: int = 1,
    d: int = 768,
    tasks: int = 8,
    backbone: str | None = None,
    k: str | int = "full",
    rank_panel: bool = False,
) -> Figure:
    """The explorer as a matplotlib figure (for when widgets are unavailable): the counts beside measured accuracy.

    Left: parameters per task against score: the paper's Table 1 (T5-Base), this repository's runs at ``k``, and the
    PT / MPT counts for the chosen l, r, d, S as vertical lines (totals in the title). Right: the measured few-shot
    curve (score vs k, ``k`` highlighted). ``rank_panel`` adds score vs r with ``r`` marked.
    """
    records = list(records or [])
    backbone = backbone or next((name for name, (width, _) in BACKBONE_PRESETS.items() if width == d), None)
    backbone_params = BACKBONE_PRESETS[backbone][1] if backbone in BACKBONE_PRESETS else None
    counts = explorer_counts(l, d, r, tasks, backbone_params)
    ratios = [1.45, 1, 0.8] if rank_panel else [1.45, 1]
    fig, axes = plt.subplots(1, len(ratios), figsize=(14.5 if rank_panel else 12.5, 6.6),
                             gridspec_kw={"width_ratios": ratios})
    _counts_panel(axes[0], records, counts, tasks=tasks, k=k)

    def total(key: str) -> str:
        return f"{counts[key]:,.0f}" + (f" ({counts[key + '_pct']:.3f}%)" if key + "_pct" in counts else "")

    where = f" ({backbone})" if backbone else ""
    axes[0].set_title(f"Parameters per task at l = {l}, r = {r}, d = {d}{where}\n"
                      f"in total for S = {tasks}: PT {total('pt_total')}, MPT {total('mpt_total')}", fontsize=10)
    accuracy_vs_k_figure(records, highlight_k=k, ax=axes[1])
    if rank_panel:
        accuracy_vs_rank_figure(records, k=k, highlight_r=r, ax=axes[2])
    fig.tight_layout()
    return fig


def param_count_explorer(records: Iterable[dict[str, Any]] | None = None, *, k: str | int = "full"):
    """Interactive explorer (``ipywidgets.interactive``): sliders for l, r, d (model presets) and S update the counts;
    a k selector picks which measured runs the accuracy panels show, and r is marked on the score-vs-rank panel.

    Returns the widget (a VBox); its ``.sliders`` dict holds the controls (l, r, d, tasks, k), ``.summary`` the live
    counts and ``.note`` what the sliders do to the measured data (both HTML), so tests can move a slider headless
    and read what is shown.
    """
    import html

    import ipywidgets as widgets

    records = list(records or [])
    settings = measured_settings(records)
    ks = sorted(set(settings["ks"]) | {str(k)}, key=k_sort_key)
    presets = sorted(BACKBONE_PRESETS.items(), key=lambda item: item[1][0])
    sliders = {
        "l": widgets.IntSlider(value=paper.PROMPT_TOKENS, min=1, max=300, step=1, description="l (tokens)"),
        "r": widgets.IntSlider(value=1, min=1, max=32, step=1, description="r (rank)"),
        "d": widgets.SelectionSlider(
            options=[(f"{w} ({name})", name) for name, (w, _) in presets], value="t5-base", description="d (width)"
        ),
        "tasks": widgets.IntSlider(value=8, min=1, max=100, step=1, description="S (tasks)"),
        "k": widgets.Dropdown(options=ks, value=str(k), description="k (measured)"),
    }
    for slider in sliders.values():
        slider.style = {"description_width": "80px"}
        slider.layout = widgets.Layout(width="480px")
    summary, note = widgets.HTML(), widgets.HTML()

    def update(l: int, r: int, d: str, tasks: int, k: str) -> None:  # noqa: E741
        width, size = BACKBONE_PRESETS[d]
        counts = explorer_counts(l, width, r, tasks, size)
        lines = _counts_text(counts, l, width, r, tasks, d)
        summary.value = "<pre style='line-height:1.3'>" + html.escape("\n".join(lines)) + "</pre>"
        note.value = "<pre style='line-height:1.3; color:#555'>" + html.escape("\n".join(_measured_note(settings, r=r))) + "</pre>"
        fig = static_explorer_figure(records, l=l, r=r, d=width, tasks=tasks, backbone=d, k=k, rank_panel=True)
        plt.show()
        plt.close(fig)

    ui = widgets.interactive(update, **sliders)
    controls, output = ui.children[:-1], ui.children[-1]
    box = widgets.VBox([*controls, summary, note, output])  # the readout under the sliders: fits a notebook's width
    box.sliders, box.summary, box.note, box.interactive = sliders, summary, note, ui
    return box


def tidy_axis(fig) -> None:
    """Readable x axis for points that span less than a decade: ticks at the points' own parameter counts."""
    ax = fig.axes[0]
    xs = sorted({float(x) for c in ax.collections for x, _ in c.get_offsets()})
    if not xs:
        return
    ticks = [xs[0]]
    for x in xs[1:]:
        if x > ticks[-1] * 1.08:  # labels closer than that would overlap
            ticks.append(x)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.set_xlim(xs[0] / 1.3, xs[-1] * 1.3)
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_fontsize(8)
    fig.tight_layout()


# --------------------------------------------------------------------------------------------------- small helpers

def smooth(values: Sequence[float], window: int = 5) -> list[float]:
    """Trailing moving average over ``window`` values (shorter at the start), as long as ``values``."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"smooth takes one sequence of numbers, got shape {x.shape}")
    sums = np.concatenate([[0.0], np.cumsum(x)])
    ends = np.arange(1, len(x) + 1)
    starts = np.maximum(0, ends - window)
    return ((sums[ends] - sums[starts]) / (ends - starts)).tolist()


def _axis(ax: Axes, axis: str):
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    return ax.xaxis if axis == "x" else ax.yaxis


def integer_ticks(ax: Axes, axis: str = "x") -> None:
    """Ticks at whole numbers only (steps, epochs, counts): no 2.5-step ticks on a short loss curve."""
    _axis(ax, axis).set_major_locator(MaxNLocator(integer=True))


def _compact(value: float) -> str:
    """2048 → 2,048, 76800 → 76.8K, 2e6 → 2M, 0.05 → 0.05: short labels for a log axis."""
    if 1 <= abs(value) < 10_000 and float(value).is_integer():
        return f"{value:,.0f}"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def log_ticks(ax: Axes, axis: str = "y", ticks: Sequence[float] | None = None) -> None:
    """Readable ticks on a log axis: decades (or 1-2-5 steps on short ranges) as 1K / 10K / 1M, unlabelled minors.

    Call it after plotting (it reads the axis limits), or pass ``ticks`` (e.g. the model widths) to label exactly those.
    """
    which = _axis(ax, axis)
    if which.get_scale() != "log":
        raise ValueError(f"the {axis} axis is {which.get_scale()!r}; call ax.set_{axis}scale('log') before log_ticks")
    if ticks is None:
        low, high = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
        decades = math.log10(high / low)
        if decades < 1:
            steps: tuple[float, ...] = (1, 1.5, 2, 3, 5, 7)
        elif decades < 2:
            steps = (1, 2, 3, 5)
        else:
            steps = (1, 2, 5) if decades <= 3 else (1,)
        every = max(1, math.ceil(decades / 7))  # at most about 8 labels on a very long range
        exponents = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        ticks = [s * 10.0**e for e in exponents if e % every == 0 for s in steps if low <= s * 10.0**e <= high]
    which.set_major_locator(FixedLocator(list(ticks)))
    which.set_major_formatter(FuncFormatter(lambda value, _: _compact(value)))
    which.set_minor_formatter(NullFormatter())


def _as_matrix(matrix: Any, name: str) -> np.ndarray:
    """A 2-D float array from a tensor (any device, with or without grad) or an array-like."""
    if hasattr(matrix, "detach"):
        matrix = matrix.detach().float().cpu().numpy()
    array = np.asarray(matrix, dtype=float)
    if array.ndim != 2:
        hint = "; pass one task's prompt, e.g. prompt[0]" if array.ndim == 3 else ""
        raise ValueError(f"{name} must be one (l, d) matrix, got shape {tuple(array.shape)}{hint}")
    return array


def _reduce_columns(array: np.ndarray, max_columns: int, reduce: str) -> tuple[np.ndarray, str]:
    """At most max_columns columns: the first ones ("first") or means over equal bins ("bin"), and what is shown."""
    d = array.shape[1]
    if d <= max_columns:
        return array, f"embedding dimension (all {d})"
    if reduce == "first":
        return array[:, :max_columns], f"embedding dimension (the first {max_columns} of {d})"
    if reduce == "bin":
        bins = np.array_split(np.arange(d), max_columns)
        shown = np.stack([array[:, b].mean(axis=1) for b in bins], axis=1)
        per = f"{d // max_columns}" if d % max_columns == 0 else f"{d // max_columns}-{d // max_columns + 1}"
        return shown, f"embedding dimension, {d} binned into {max_columns} groups of {per} (mean)"
    raise ValueError(f"reduce must be 'first' or 'bin', got {reduce!r}")


def prompt_heatmap(
    matrix: Any,
    ax: Axes | None = None,
    max_columns: int = 64,
    *,
    reduce: str = "first",
    title: str | None = None,
    label: str = "value",
    cmap: str = "RdBu_r",
) -> Axes:
    """Heatmap of an (l, d) prompt: rows are prompt tokens, at most ``max_columns`` columns, a colour bar.

    With d = 576 every column would be a sliver: ``reduce="first"`` shows the first ``max_columns`` dimensions,
    ``reduce="bin"`` averages equal groups of dimensions. The colour scale is symmetric around 0.
    """
    if max_columns < 1:
        raise ValueError(f"max_columns must be >= 1, got {max_columns}")
    array = _as_matrix(matrix, "matrix")
    shown, xlabel = _reduce_columns(array, max_columns, reduce)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.2))
    limit = float(np.abs(shown).max()) or 1.0
    image = ax.imshow(shown, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"prompt token (l = {array.shape[0]})")
    integer_ticks(ax, "x")
    integer_ticks(ax, "y")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label=label)
    ax.set_title(title or f"prompt, {array.shape[0]} × {array.shape[1]}", fontsize=10)
    return ax


def delta_heatmap(
    shared: Any,
    task_prompt: Any,
    ax: Axes | None = None,
    max_columns: int = 64,
    *,
    reduce: str = "first",
    title: str | None = None,
) -> Axes:
    """Heatmap of P̂ᵢ − P*, (l, d): where a task's prompt differs from the shared prompt, with the relative change."""
    p_star, p_hat = _as_matrix(shared, "shared"), _as_matrix(task_prompt, "task_prompt")
    if p_star.shape != p_hat.shape:
        raise ValueError(f"shared is {p_star.shape} but task_prompt is {p_hat.shape}; compare prompts of one size "
                         "(the same l and d)")
    delta = p_hat - p_star
    relative = float(np.linalg.norm(delta) / (np.linalg.norm(p_star) or 1.0))
    return prompt_heatmap(
        delta, ax, max_columns, reduce=reduce, label="P̂ − P*",
        title=title or f"P̂ − P*: how the task prompt differs from the shared prompt (‖P̂ − P*‖ / ‖P*‖ = {relative:.3f})",
    )
