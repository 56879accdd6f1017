"""The parameter-efficiency explorer: PT's and MPT's trainable-parameter counts for any l, r, d and S beside the
measured scores, as an ``ipywidgets`` widget (``param_count_explorer``) or a static figure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import paper
from ..methods import method_label
from ..prompts import expected_trainable
from ..results import k_sort_key, measured_points, measured_settings
from .scores import accuracy_vs_k_figure, accuracy_vs_rank_figure
from .style import compact, log_ticks, method_colour

__all__ = ["BACKBONE_PRESETS", "explorer_counts", "param_count_explorer", "static_explorer_figure"]

# Model widths (d) for the explorer's slider, with nominal parameter counts for the "% of the backbone" readout.
BACKBONE_PRESETS: dict[str, tuple[int, int]] = {
    "t5-small": (512, 60_000_000),
    "SmolLM2-135M": (576, 134_515_008),
    "t5-base": (768, 220_000_000),
    "t5-large": (1024, 770_000_000),
}


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


REPO_MARKERS = ("o", "D", "P", "X", "v", "*")  # this repo's measured points, one marker per method (table order)


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
    # Every point sits at its true count: methods of one size (PT and SPoT: l·d; Decomp. and MPT: l·d + (l+d)·r)
    # share an x, so each has its own marker, drawn larger first, and a close pair of scores stays readable.
    repo = []
    for i, (method, (x, y)) in enumerate(measured.items()):
        repo.append(ax.scatter([x], [y], marker=REPO_MARKERS[i % len(REPO_MARKERS)], s=110 - 15 * i,
                               color=method_colour(method), edgecolor="black", linewidth=0.6, zorder=4 + 0.1 * i,
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
        ax.annotate(f"{short} {compact(x)}", (x, height), xycoords=("data", "axes fraction"), xytext=(4 * side, 0),
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
                  title=f"this repo, {backbone}, k = {k},\nmean over targets, at the\ntrue parameter count",
                  title_fontsize=7)


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
