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
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, NullLocator

from . import paper
from .methods import method_label
from .prompts import expected_trainable
from .results import summarise

__all__ = [
    "BACKBONE_PRESETS",
    "delta_heatmap",
    "explorer_counts",
    "integer_ticks",
    "log_ticks",
    "measured_points",
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


def explorer_counts(l: int, d: int, r: int, tasks: int, backbone_params: int | None = None) -> dict[str, float]:  # noqa: E741
    """Trainable parameters of PT (l·d·τ) and MPT (l·d + (l+d)·r·τ), in total and per task, and as % of a backbone.

    ``mpt_per_task`` is the amortised share (l·d/τ + (l+d)·r); ``mpt_task_specific`` is (l+d)·r; ``mpt_target`` is one
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


def measured_points(records: Iterable[dict[str, Any]] | None, *, k: str | int = "full") -> dict[str, tuple[float, float]]:
    """{method: (trainable params per task, mean test metric in %)} over target tasks and seeds, main runs only."""
    if not records:
        return {}
    main = [r for r in records if r.get("ablation", "none") in ("none", None) and str(r["k"]) == str(k)]
    per_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in summarise(main):
        per_method[row["method"]].append(row)
    return {
        m: (statistics.fmean(r["trainable_params"] for r in rows), 100 * statistics.fmean(r["mean"] for r in rows))
        for m, rows in per_method.items()
    }


def _counts_text(counts: dict[str, float], l: int, d: int, r: int, tasks: int, backbone: str) -> list[str]:  # noqa: E741
    def pct(key: str) -> str:
        return f" ({counts[key + '_pct']:.4f}% of {backbone})" if key + "_pct" in counts else ""

    return [
        f"l = {l}, d = {d}, r = {r}, τ = {tasks} tasks",
        f"PT:  {counts['pt_per_task']:,.0f} per task; {counts['pt_total']:,.0f} in total{pct('pt_total')}",
        f"MPT: {counts['mpt_task_specific']:,.0f} task-specific + {l * d:,} shared / {tasks} = "
        f"{counts['mpt_per_task']:,.0f} per task; {counts['mpt_total']:,.0f} in total{pct('mpt_total')}",
        f"MPT, one target adapted alone: {counts['mpt_target']:,.0f}{pct('mpt_target')}",
    ]


def static_explorer_figure(
    records: Iterable[dict[str, Any]] | None = None,
    *,
    l: int = 100,  # noqa: E741 (the paper's l)
    r: int = 1,
    d: int = 768,
    tasks: int = 8,
    backbone: str | None = None,
    k: str | int = "full",
):
    """The explorer as a matplotlib figure (for when widgets are unavailable): accuracy vs parameters, and the counts.

    Left: the paper's reported averages (T5-Base, GLUE/SuperGLUE) beside this repository's measured runs (``records``
    with ``k``), with the PT and MPT per-task counts for the chosen l, r, d marked. Right: PT and MPT counts for τ tasks.
    """
    backbone = backbone or next((name for name, (width, _) in BACKBONE_PRESETS.items() if width == d), None)
    backbone_params = BACKBONE_PRESETS[backbone][1] if backbone in BACKBONE_PRESETS else None
    counts = explorer_counts(l, d, r, tasks, backbone_params)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1.35, 1]})

    markers = {"FT": "s", "PT": "o", "SPoT": "D", "ATTEMPT": "^", "MPT": "*"}
    for suite, column, color in (("GLUE", 1, "tab:blue"), ("SuperGLUE", 2, "tab:orange")):
        for method, row in paper.TABLE1.items():
            x, y = row.params_per_task, (row.glue, row.superglue)[column - 1]
            mpt = method.startswith("MPT")
            ax.scatter([x], [y], marker=markers.get(method, "*" if mpt else "o"), s=90 if mpt else 45, color=color,
                       edgecolor="black", linewidth=0.5, zorder=3)
            shared_by_targets = mpt and method != "MPT"  # the transfer + multitask variant, left of this repo's points
            name = "MPT (transfer+multitask)" if shared_by_targets else method
            ax.annotate(f"{name} {y:.1f}{'' if row.scores_verified else ' (unverified)'}", (x, y), textcoords="offset points",
                        xytext=(-7 if shared_by_targets else 6, -3 if column == 1 else 3), fontsize=7, color=color,
                        ha="right" if shared_by_targets else "left")
        ax.scatter([], [], color=color, label=f"paper, {paper.BACKBONE}, {suite} avg (Table 1)")
    measured = measured_points(records, k=k)
    for i, (method, (x, y)) in enumerate(sorted(measured.items(), key=lambda item: item[1][1])):
        ax.scatter([x], [y], marker="P", s=70, color="tab:green", edgecolor="black", linewidth=0.5, zorder=4)
        # Methods of equal size and score would print on top of each other: stagger the labels.
        # A short name keeps the label clear of the paper's points to its right.
        short = method_label(method, short=True)
        ax.annotate(f"{short} {y:.1f}", (x, y), textcoords="offset points",
                    xytext=(7, -8 + 9 * (i % 4)), fontsize=7, color="tab:green")
    if measured:
        backbone_name = next((r_["backbone"] for r_ in records or [] if "backbone" in r_), "this repo")
        ax.scatter([], [], marker="P", color="tab:green", label=f"this repo, {backbone_name} (k={k}), mean over targets")
    ax.axvline(counts["pt_per_task"], color="gray", linestyle="--", linewidth=1,
               label=f"PT per task at the sliders: l·d = {counts['pt_per_task']:,.0f}")
    ax.axvline(counts["mpt_target"], color="tab:red", linestyle=":", linewidth=1.2,
               label=f"MPT per target at the sliders: l·d + (l+d)·r = {counts['mpt_target']:,.0f}")
    ax.set_xscale("log")
    sizes = [row.params_per_task for row in paper.TABLE1.values()]
    ax.set_xlim(min(sizes) / 60, max(sizes) * 12)  # room for the labels left of the smallest and right of FT
    scores = [s for row in paper.TABLE1.values() for s in (row.glue, row.superglue)] + [y for _, y in measured.values()]
    ax.set_ylim(min(scores) - 12, max(scores) + 4)  # room for the legend below the lowest point, labels above
    ax.set_xlabel("trainable parameters per task (log scale)")
    ax.set_ylabel("average score (%)")
    ax.set_title("Accuracy vs trainable parameters", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")

    names = ["PT\nper task", "MPT per task\n(P*/τ + u, v)", "PT\ntotal", "MPT\ntotal"]
    values = [counts["pt_per_task"], counts["mpt_per_task"], counts["pt_total"], counts["mpt_total"]]
    bars = bx.bar(names, values, color=["gray", "tab:red", "gray", "tab:red"])
    for bar, value in zip(bars, values, strict=True):
        label = f"{value:,.0f}"
        if backbone_params:
            label += f"\n{100 * value / backbone_params:.3f}%"
        bx.annotate(label, (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom", fontsize=8)
    bx.set_yscale("log")
    bx.set_ylim(top=max(values) * 20)
    bx.set_ylabel("trainable parameters (log scale)")
    where = f" — % of {backbone}" if backbone_params else ""
    bx.set_title(f"l={l}, r={r}, d={d}, τ={tasks}{where}", fontsize=10)
    bx.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def param_count_explorer(
    records: Iterable[dict[str, Any]] | None = None, *, k: str | int = "full"
):
    """Interactive explorer (``ipywidgets.interactive``): sliders for l, r, d (model presets) and τ update the counts.

    Returns the widget (a VBox); its ``.sliders`` dict holds the controls and ``.summary`` the live counts (HTML), so
    tests can move a slider headless and read what is shown.
    """
    import html

    import ipywidgets as widgets

    records = list(records or [])
    presets = sorted(BACKBONE_PRESETS.items(), key=lambda item: item[1][0])
    sliders = {
        "l": widgets.IntSlider(value=paper.PROMPT_TOKENS, min=1, max=300, step=1, description="l (tokens)"),
        "r": widgets.IntSlider(value=1, min=1, max=32, step=1, description="r (rank)"),
        "d": widgets.SelectionSlider(
            options=[(f"{w} ({name})", name) for name, (w, _) in presets], value="t5-base", description="d (width)"
        ),
        "tasks": widgets.IntSlider(value=8, min=1, max=100, step=1, description="τ (tasks)"),
    }
    for slider in sliders.values():
        slider.style = {"description_width": "80px"}
        slider.layout = widgets.Layout(width="480px")
    summary = widgets.HTML()

    def update(l: int, r: int, d: str, tasks: int) -> None:  # noqa: E741
        width, size = BACKBONE_PRESETS[d]
        counts = explorer_counts(l, width, r, tasks, size)
        lines = _counts_text(counts, l, width, r, tasks, d)
        summary.value = "<pre style='line-height:1.3'>" + html.escape("\n".join(lines)) + "</pre>"
        fig = static_explorer_figure(records, l=l, r=r, d=width, tasks=tasks, backbone=d, k=k)
        plt.show()
        plt.close(fig)

    ui = widgets.interactive(update, **sliders)
    controls, output = ui.children[:-1], ui.children[-1]
    box = widgets.VBox([widgets.HBox([widgets.VBox(list(controls)), summary]), output])
    box.sliders, box.summary, box.interactive = sliders, summary, ui
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
