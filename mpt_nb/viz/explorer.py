"""The parameter-efficiency explorer: PT's and MPT's trainable-parameter counts for any l, r, d and S beside the
measured scores, as an ``ipywidgets`` widget (``param_count_explorer``) or a static figure (``static_explorer_figure``).

The left panel has two strips on one log axis of trainable parameters per task: the paper's Table 1 (T5-Base on
GLUE / SuperGLUE) above, this repository's measured runs below, one point per method, prompt length l and rank r (the
l × r sweep of ``benchmarks/sweep.py`` gives many), each at its true count with its interval over seeds; the sliders'
counts are vertical lines through both, and the measured points at the sliders' l and r are ringed."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import paper
from ..methods import method_label
from ..prompts import expected_trainable
from ..results import MeasuredScore, accuracy_by_setting, k_sort_key, measured_settings
from .scores import _interval_note, accuracy_vs_k_figure, accuracy_vs_rank_figure
from .style import METHOD_MARKERS, compact, log_ticks, method_colour

__all__ = ["BACKBONE_PRESETS", "explorer_counts", "param_count_explorer", "static_explorer_figure"]

# Model widths (d) for the explorer's slider, with nominal parameter counts for the "% of the backbone" readout.
BACKBONE_PRESETS: dict[str, tuple[int, int]] = {
    "t5-small": (512, 60_000_000),
    "SmolLM2-135M": (576, 134_515_008),
    "t5-base": (768, 220_000_000),
    "t5-large": (1024, 770_000_000),
}
# The l and r sliders stop here outside the measured range, and inside it at the measured values only, so within
# the measured points they step from one to the next.
LENGTH_STOPS = (1, 2, 5, 10, 20, 50, 100, 200, 300)
RANK_STOPS = (1, 2, 4, 8, 16, 32)
RANK_STYLES = ("-", "--", ":", "-.")  # a method's line through its l at each measured r, in increasing r
Setting = tuple[str, int, int]  # (method, l, r); r = 0 for a method without u, v


def slider_stops(stops: Sequence[int], measured: Iterable[int]) -> list[int]:
    """A slider's options, in order: every measured value, and the fixed stops outside the measured range (with one
    or no measured value, every fixed stop)."""
    measured = set(measured)
    if len(measured) < 2:
        return sorted(set(stops) | measured)
    low, high = min(measured), max(measured)
    return sorted(measured | {v for v in stops if v < low or v > high})


def selected_points(scores: dict[Setting, MeasuredScore], *, l: int, r: int) -> dict[Setting, MeasuredScore]:  # noqa: E741
    """The measured points at the sliders' setting: each method's at prompt length ``l`` and, if it has u, v, rank
    ``r`` (a method without them, such as PT, at any r)."""
    return {key: score for key, score in scores.items() if key[1] == l and key[2] in (0, r)}


def _opening_length(measured: Sequence[int]) -> int:
    """The l slider's first value: the paper's l, unless several lengths were measured (then 20 if among them, else
    the shortest measured)."""
    if len(set(measured)) < 2:
        return paper.PROMPT_TOKENS
    return 20 if 20 in measured else min(measured)


def _several(settings: dict[str, list], records: list[dict[str, Any]]) -> tuple[bool, bool]:
    """Whether the main runs hold several prompt lengths, and whether a method's main runs hold several ranks."""
    ranks: dict[str, set[int]] = defaultdict(set)
    for rec in records:
        if rec.get("ablation", "none") in ("none", None):
            ranks[rec["method"]].add(int(rec.get("rank") or 0))
    return len(settings["l"]) > 1, any(len(found) > 1 for found in ranks.values())


def _measured_note(
    settings: dict[str, list], *, l: int, r: int, k: str, readout: str, sweep: bool  # noqa: E741
) -> list[str]:
    """What the sliders do to the measured panels, and the measured scores at the sliders' l and r."""
    if not settings["ks"]:
        return ["no measured runs: the sliders change the counts; the panels show the paper's numbers only"]
    where = [f"{name} = {' or '.join(map(str, settings[name]))}" for name in ("r", "l", "d") if settings[name]]
    on = f" ({', '.join(settings['backbones'])})" if settings["backbones"] else ""
    lines = [f"measured only at {', '.join(where)}{on}; k = {', '.join(settings['ks'])}"]
    if sweep:
        lines.append("l and r step among the measured points (ringed in the left panel); d and S change the counts only")
    else:
        lines.append("l, d and S change the counts only: the measured scores stay where they were run")
    if settings["r"]:
        state = "measured: the rank panel marks it" if r in settings["r"] else "not measured: only the counts move"
        lines.append(f"r = {r} is {state}; k picks which measured runs the panels show")
    lines.append(f"at l = {l}, r = {r}, k = {k}: {readout}")
    return lines


def _score_text(score: MeasuredScore) -> str:
    """"70.1 ± 2.0" (%), or "70.1" where one seed gives no interval."""
    return f"{100 * score.mean:.1f}" + ("" if score.half_width is None else f" ± {100 * score.half_width:.1f}")


def _readout(selected: dict[Setting, MeasuredScore]) -> str:
    """The ringed points in words: "PT 65.2 ± 3.1 (5,760 params), MPT (r = 2) 70.1 ± 2.0 (6,932 params); ..."."""
    if not selected:
        return "no measured point"
    parts = [f"{method_label(m, short=True)}{f' (r = {r})' if r else ''} {_score_text(s)} ({s.trainable_params:,.0f} "
             "params)" for (m, _, r), s in selected.items()]
    seeds = sorted({s.seeds for s in selected.values() if s.half_width is not None})
    spread = f"95% t-interval over {'/'.join(map(str, seeds))} seeds" if seeds else "one seed: no interval"
    return ", ".join(parts) + f"; mean over targets, {spread}"


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


def _paper_label(method: str) -> str:
    return "MPT, shared P*" if method == "MPT (transfer + multitask)" else method


def _paper_strip(ax: Axes) -> list[float]:
    """The paper's Table 1 at its parameters per task (T5-Base; GLUE squares, SuperGLUE triangles); the xs drawn."""
    ys = []
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
    ax.set_ylim(min(ys) - 0.5 * (max(ys) - min(ys)), max(ys) + 4)  # room at the bottom for the lines' labels
    ax.set_ylabel(f"{paper.BACKBONE}: GLUE /\nSuperGLUE avg (%)", fontsize=8)
    ax.text(0.99, 0.03, f"the paper: {paper.BACKBONE} on GLUE / SuperGLUE (Table 1),\nanother model and suite than below",
            transform=ax.transAxes, ha="right", va="bottom", fontsize=7.5, color="dimgray")
    ax.grid(alpha=0.3)
    return [row.params_per_task for row in paper.TABLE1.values()]


def _y_limits(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The measured strip's y range (%): every mean, and intervals up to max(8, the means' spread) points beyond
    them, within 0-100; longer intervals are clipped there."""
    means = [y for y, _ in points]
    reach = max(8.0, max(means) - min(means))
    low = max(0.0, min(means) - reach, min(y - h for y, h in points))
    high = min(100.0, max(means) + reach, max(y + h for y, h in points))
    return low, high


def _measured_strip(
    ax: Axes, records: list[dict[str, Any]], scores: dict[Setting, MeasuredScore], selected: dict[Setting, MeasuredScore],
    *, k: str | int,
) -> list[Any]:
    """This repository's runs at ``k``: one point per (method, l, r) at its true trainable count (nothing shifted),
    the mean over targets with its t-interval over seeds clipped to the strip (▲▼ where it goes on), a line per
    method and r through its l, and the ``selected`` points ringed. Returns the legend handles."""
    if not scores:
        ax.text(0.5, 0.5, f"no measured runs at k = {k}", ha="center", va="center", transform=ax.transAxes,
                color="gray")
        ax.set_yticks([])
        return []
    low, high = _y_limits([(100 * s.mean, 100 * (s.half_width or 0)) for s in scores.values()])
    series: dict[tuple[str, int], list[Setting]] = defaultdict(list)
    for key in scores:
        series[(key[0], key[2])].append(key)
    ranks = sorted({r for _, r in series if r})
    several = {m for m in {m for m, _ in series} if len([1 for mm, _ in series if mm == m]) > 1}
    methods = list(dict.fromkeys(m for m, _ in series))
    handles, clipped = [], False
    for (method, rank), keys in series.items():
        keys.sort(key=lambda key: scores[key].trainable_params)
        xs = [scores[key].trainable_params for key in keys]
        ys = [100 * scores[key].mean for key in keys]
        colour, marker, i = method_colour(method), METHOD_MARKERS.get(method, "o"), methods.index(method)
        name = method_label(method, short=True) + (f", r = {rank}" if method in several and rank else "")
        if len(keys) == 1:
            label = f"{name} {ys[0]:.1f} ({xs[0]:,.0f} params)"
        else:
            label = f"{name}: l = {', '.join(str(key[1]) for key in keys)}"
            ax.plot(xs, ys, color=colour, linewidth=1.1, alpha=0.8, zorder=3,
                    linestyle=RANK_STYLES[ranks.index(rank) % len(RANK_STYLES)] if rank else "-")
        size = (130 if marker == "*" else 60) - 8 * i
        ax.scatter(xs, ys, marker=marker, s=size, color=colour, edgecolor="black", linewidth=0.5, zorder=4 + 0.1 * i,
                   label=label)
        handles.append(plt.Line2D([], [], color=colour, marker=marker, markersize=size**0.5, markeredgecolor="black",
                                  markeredgewidth=0.5, linestyle=ax.get_lines()[-1].get_linestyle() if len(keys) > 1
                                  else "", label=label))
        for key, x, y in zip(keys, xs, ys, strict=True):
            half = 100 * (scores[key].half_width or 0)
            if not half:
                continue
            bottom, top = max(y - half, low), min(y + half, high)
            ax.errorbar([x], [y], yerr=[[y - bottom], [top - y]], fmt="none", ecolor=colour, elinewidth=1, capsize=2.5,
                        alpha=0.75, zorder=2)
            for end, edge, tip in ((y - half, low, "v"), (y + half, high, "^")):
                if (end < edge) if tip == "v" else (end > edge):
                    clipped = True
                    ax.scatter([x], [edge], marker=tip, s=18, color=colour, zorder=3, clip_on=False, gid="clipped")
    for (method, _, rank), score in selected.items():
        x, y = score.trainable_params, 100 * score.mean
        ax.scatter([x], [y], s=340, facecolors="none", edgecolors="goldenrod", linewidths=2.2, zorder=7, gid="selected")
        ax.annotate(f"{method_label(method, short=True)}{f' r={rank}' if rank else ''} {_score_text(score)}", (x, y),
                    textcoords="offset points", xytext=(12, 9 if rank else -15), fontsize=7, color=method_colour(method),
                    fontweight="bold", zorder=8,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    pad = 0.06 * (high - low) + 0.5
    ax.set_ylim(low - pad, high + pad)
    ax.set_ylabel("test score, mean\nover targets (%)", fontsize=8)
    ax.grid(alpha=0.3)
    backbone = next((str(r_["backbone"]) for r_ in records if r_.get("backbone")), "this repo")
    note = _interval_note(scores.values(), 0.95) + (", clipped at the strip's edge (▲▼: it goes on)" if clipped else "")
    ax.set_title(f"this repo: {backbone}, k = {k}, each run at its true trainable count; ringed: at the sliders' l, r",
                 fontsize=8, loc="left", color="dimgray")
    ax.add_artist(ax.legend(handles=handles, fontsize=7, loc="best", alignment="left", framealpha=0.85,
                            title=note.replace("; ", ";\n"), title_fontsize=7))  # kept beside the counts' legend
    return handles


def _count_lines(paper_ax: Axes, measured_ax: Axes, counts: dict[str, float], *, tasks: int) -> list[Any]:
    """The sliders' counts as vertical lines through both strips, labelled in the paper's: PT per task, MPT for one
    target, MPT per task with P* shared by S tasks. Returns the lines (for the legend)."""
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
        handles.append(paper_ax.axvline(x, color=colour, linestyle=style, linewidth=width, alpha=alpha, zorder=1,
                                        label=f"{long} = {_num(x)}", gid="count"))
        measured_ax.axvline(x, color=colour, linestyle=style, linewidth=width, alpha=alpha, zorder=1, gid="count")
        paper_ax.annotate(f"{short} {compact(x)}", (x, height), xycoords=("data", "axes fraction"), xytext=(4 * side, 0),
                          textcoords="offset points", ha="left" if side > 0 else "right", va="bottom", rotation=90,
                          fontsize=7, color=colour)
    return handles


def _counts_panel(paper_ax: Axes, measured_ax: Axes, records: list[dict[str, Any]], counts: dict[str, float], *,
                  tasks: int, k: str | int, l: int, r: int,  # noqa: E741
                  scores: dict[Any, MeasuredScore] | None = None) -> None:
    """Parameters per task (log x, shared by both strips): the paper above, the measured runs below, the counts."""
    scores = accuracy_by_setting(records, k=k) if scores is None else scores
    paper_xs = _paper_strip(paper_ax)
    _measured_strip(measured_ax, records, scores, selected_points(scores, l=l, r=r), k=k)
    handles = _count_lines(paper_ax, measured_ax, counts, tasks=tasks)
    # Each strip spans its own points and the sliders' counts: the measured runs (a few thousand parameters to a few
    # ten thousand) would be a sliver on the paper's axis (10K to 220M). Both are true log axes of the same count.
    lines = [counts[key] for key in ("pt_per_task", "mpt_target", "mpt_per_task")]
    measured = [s.trainable_params for s in scores.values()] or lines
    for ax, xs, margin in ((paper_ax, paper_xs, (3, 15)), (measured_ax, measured, (1.4, 1.4))):
        ax.set_xscale("log")
        ax.set_xlim(min(*xs, *lines) / margin[0], max(*xs, *lines) * margin[1])
        log_ticks(ax, "x")
        ax.set_xlabel("trainable parameters per task (log scale)", fontsize=8)
    paper_handles = [
        plt.Line2D([], [], marker="s", linestyle="", color="gray", markeredgecolor="black",
                   label=f"paper, {paper.BACKBONE}: GLUE avg (Table 1)"),
        plt.Line2D([], [], marker="^", linestyle="", color="gray", markeredgecolor="black",
                   label=f"paper, {paper.BACKBONE}: SuperGLUE avg (Table 1)"),
        plt.Line2D([], [], marker="s", linestyle="", markerfacecolor="white", markeredgecolor="gray",
                   label="hollow: PT's row, not checked against the paper"),
    ]
    measured_ax.legend(handles=paper_handles + handles, fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.16),
                       title="the paper, and the counts at the sliders", title_fontsize=7, alignment="left")


def _panel_records(records: list[dict[str, Any]], *, l: int, r: int) -> tuple[list, list, str]:  # noqa: E741
    """The runs the k and r panels show: with several prompt lengths measured, those at ``l``; for the k panel, with
    several ranks, those at ``r`` (or without u, v); and the words that say so."""
    several_l, several_r = _several(measured_settings(records), records)
    at_l = [rec for rec in records if not several_l or rec.get("prompt_tokens") == l]
    at_lr = [rec for rec in at_l if not several_r or int(rec.get("rank") or 0) in (0, r)]
    where = ", ".join([f"l = {l}"] * several_l + [f"r = {r}"] * several_r)
    return at_l, at_lr, where


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
    scores: dict[Any, MeasuredScore] | None = None,
) -> Figure:
    """The explorer as a matplotlib figure (the README's, a kernel without widgets, and what the widget redraws).

    Left, on one log axis of parameters per task: the paper's Table 1 (T5-Base) in a strip of its own above this
    repository's runs at ``k`` (one point per method, l and r, at its true count, with its interval over seeds; the
    points at ``l`` and ``r`` ringed), and the PT / MPT counts for the chosen l, r, d, S as vertical lines (totals
    in the title). Right: the measured few-shot curve (score vs k, ``k`` highlighted) at ``l`` and ``r`` where the
    runs hold several. ``rank_panel`` adds score vs r at ``l``, with ``r`` marked. ``scores``: the records'
    ``accuracy_by_setting`` at ``k``, where a caller that redraws often (the widget) has it already.
    """
    records = list(records or [])
    backbone = backbone or next((name for name, (width, _) in BACKBONE_PRESETS.items() if width == d), None)
    backbone_params = BACKBONE_PRESETS[backbone][1] if backbone in BACKBONE_PRESETS else None
    counts = explorer_counts(l, d, r, tasks, backbone_params)
    ratios = [1.45, 1, 0.8] if rank_panel else [1.45, 1]
    fig = plt.figure(figsize=(14.5 if rank_panel else 12.5, 8.2))
    grid = fig.add_gridspec(2, len(ratios), width_ratios=ratios, height_ratios=[1, 1.35])
    paper_ax = fig.add_subplot(grid[0, 0])
    measured_ax = fig.add_subplot(grid[1, 0])
    _counts_panel(paper_ax, measured_ax, records, counts, tasks=tasks, k=k, l=l, r=r, scores=scores)

    def total(key: str) -> str:
        return f"{counts[key]:,.0f}" + (f" ({counts[key + '_pct']:.3f}%)" if key + "_pct" in counts else "")

    where = f" ({backbone})" if backbone else ""
    paper_ax.set_title(f"Parameters per task at l = {l}, r = {r}, d = {d}{where}\n"
                       f"in total for S = {tasks}: PT {total('pt_total')}, MPT {total('mpt_total')}", fontsize=10)
    at_l, at_lr, at = _panel_records(records, l=l, r=r)
    on = f"Measured at {at}" if at else None
    accuracy_vs_k_figure(at_lr, highlight_k=k, ax=fig.add_subplot(grid[:, 1]),
                         title=on and f"{on}: test score vs k" + ("" if at_lr else " (none measured there)"))
    if rank_panel:
        accuracy_vs_rank_figure(at_l, k=k, highlight_r=r, ax=fig.add_subplot(grid[:, 2]),
                                title=on and f"Measured at l = {l}: test score vs r (k = {k})")
    fig.tight_layout()
    return fig


def param_count_explorer(records: Iterable[dict[str, Any]] | None = None, *, k: str | int = "full"):
    """Interactive explorer (``ipywidgets.interactive``): sliders for l, r, d (model presets) and S update the counts;
    a k selector picks which measured runs the accuracy panels show. Within the measured range the l and r sliders
    stop at the measured values only, so with the sweep's records they step from one measured point to the next and
    open on one of them; the points at the sliders' l and r are ringed (and read out under the sliders).

    Returns the widget (a VBox); its ``.sliders`` dict holds the controls (l, r, d, tasks, k), ``.summary`` the live
    counts and ``.note`` what the sliders do to the measured data and the ringed points' scores (both HTML), so tests
    can move a slider headless and read what is shown.
    """
    import html

    import ipywidgets as widgets

    records = list(records or [])
    settings = measured_settings(records)
    sweep = any(_several(settings, records))
    ks = sorted(set(settings["ks"]) | {str(k)}, key=k_sort_key)
    presets = sorted(BACKBONE_PRESETS.items(), key=lambda item: item[1][0])
    sliders = {
        # With several measured lengths it opens on one of them (the grid's 20 where measured), so a point is ringed.
        "l": widgets.SelectionSlider(options=slider_stops((*LENGTH_STOPS, paper.PROMPT_TOKENS), settings["l"]),
                                     value=_opening_length(settings["l"]), description="l (tokens)"),
        "r": widgets.SelectionSlider(options=slider_stops(RANK_STOPS, settings["r"]), value=1, description="r (rank)"),
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
    scores_at = functools.cache(lambda k: accuracy_by_setting(records, k=k))  # a slider move recomputes nothing

    def update(l: int, r: int, d: str, tasks: int, k: str) -> None:  # noqa: E741
        width, size = BACKBONE_PRESETS[d]
        counts = explorer_counts(l, width, r, tasks, size)
        lines = _counts_text(counts, l, width, r, tasks, d)
        summary.value = "<pre style='line-height:1.3'>" + html.escape("\n".join(lines)) + "</pre>"
        readout = _readout(selected_points(scores_at(k), l=l, r=r))
        shown = _measured_note(settings, l=l, r=r, k=k, readout=readout, sweep=sweep)
        note.value = "<pre style='line-height:1.3; color:#555'>" + html.escape("\n".join(shown)) + "</pre>"
        fig = static_explorer_figure(records, l=l, r=r, d=width, tasks=tasks, backbone=d, k=k, rank_panel=True,
                                     scores=scores_at(k))
        plt.show()
        plt.close(fig)

    ui = widgets.interactive(update, **sliders)
    controls, output = ui.children[:-1], ui.children[-1]
    box = widgets.VBox([*controls, summary, note, output])  # the readout under the sliders: fits a notebook's width
    box.sliders, box.summary, box.note, box.interactive = sliders, summary, note, ui
    return box
