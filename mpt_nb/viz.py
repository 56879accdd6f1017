"""Results tables and plots. Builders return the figure (or widget) so tests can make them headless."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

__all__ = [
    "BACKBONE_PRESETS",
    "METHOD_LABELS",
    "PAPER_REFERENCE",
    "explorer_counts",
    "k_sort_key",
    "load_records",
    "measured_points",
    "paired_differences",
    "param_count_explorer",
    "params_vs_accuracy_figure",
    "results_table",
    "static_explorer_figure",
    "summarise",
]

METHOD_LABELS = {
    "pt": "PT",
    "spot": "SPoT",
    "decomp": "Decomposition (no distillation)",
    "mpt": "MPT",
    "zero_shot": "Zero-shot (hand-written prompt)",
}


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines results file (one run per line)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}; run `python -m mpt_nb demo` or the benchmark that writes it")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


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


def paired_differences(
    records: Iterable[dict[str, Any]], method: str, baseline: str, *, keys: Sequence[str] = ("task", "k")
) -> dict[tuple, list[float]]:
    """``method`` − ``baseline`` test score per ``keys`` group, paired by seed (only seeds both methods ran).

    Paired because both methods of a seed share its k-shot draw and data order: the difference removes that luck.
    Ablation runs are left out. Returns ``{group: [difference for each shared seed, in seed order]}``.
    """
    scores: dict[tuple, dict[str, dict[Any, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in records:
        if r.get("ablation", "none") not in ("none", None) or r["method"] not in (method, baseline):
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


def results_table(records: Iterable[dict[str, Any]], *, backbone_params: int | None = None) -> str:
    """A Markdown table: task, k, method, test metric (mean ± std over seeds), trainable parameters."""
    rows = summarise(records)
    rows.sort(key=lambda r: (r["task"], k_sort_key(r["k"]), list(METHOD_LABELS).index(r["method"]) if r["method"] in METHOD_LABELS else 99))
    header = "| task | k | method | test metric | seeds | trainable params |" + (" % of backbone |" if backbone_params else "")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        cell = f"{r['metric']} {100 * r['mean']:.1f}" + (f" ± {100 * r['std']:.1f}" if r["runs"] > 1 else "")
        line = f"| {r['task']} | {r['k']} | {METHOD_LABELS.get(r['method'], r['method'])} | {cell} | {r['runs']} | {r['trainable_params']:,} |"
        if backbone_params:
            line += f" {100 * r['trainable_params'] / backbone_params:.3f}% |"
        lines.append(line)
    return "\n".join(lines)


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
        ax.scatter([x], [y], s=60, label=f"{METHOD_LABELS.get(method, method)} (this repo)")
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

# The paper's Figure 1 (Wang et al., ICLR 2023): average score over GLUE and SuperGLUE against trainable parameters
# per task, T5-Base. Scores are READ OFF THE FIGURE ("≈": approximate). Parameter counts are the paper's Table 1
# "param/task" column as commonly quoted; they could not be checked against the paper's text from this environment.
# MPT's 77.6K is l·d + (l + d)·r = 100·768 + 868 = 77,668 with l = 100, d = 768, r = 1.
PAPER_REFERENCE: dict[str, Any] = {
    "source": "Wang et al. (2023), arXiv 2303.02861, Figure 1 (scores read off the figure) and Table 1 (param/task)",
    "backbone": "T5-Base",
    "backbone_params": 220_000_000,
    "prompt_tokens": 100,
    "dim": 768,
    "methods": {
        # method: (trainable params per task, GLUE avg, SuperGLUE avg, scores approximate?)
        "FT": (220_000_000, 84.9, 73.9, False),
        "PT": (76_800, 72.2, 57.8, False),
        "SPoT": (76_800, 82.3, 62.9, True),
        "ATTEMPT": (232_000, 83.4, 70.5, True),
        "MPT": (77_600, 85.6, 74.1, True),
    },
}

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
    counts: dict[str, float] = {
        "pt_per_task": l * d,
        "pt_total": l * d * tasks,
        "mpt_task_specific": (l + d) * r,
        "mpt_per_task": (l * d + (l + d) * r * tasks) / tasks,
        "mpt_total": l * d + (l + d) * r * tasks,
        "mpt_target": l * d + (l + d) * r,
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
        f"MPT: {counts['mpt_task_specific']:,.0f} task-specific + {l * d:,} shared = {counts['mpt_per_task']:,.0f} "
        f"per task; {counts['mpt_total']:,.0f} in total{pct('mpt_total')}",
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
    paper: dict[str, Any] = PAPER_REFERENCE,
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
        for method, values in paper["methods"].items():
            x, y, approx = values[0], values[column], values[3]
            ax.scatter([x], [y], marker=markers.get(method, "o"), s=90 if method == "MPT" else 45, color=color,
                       edgecolor="black", linewidth=0.5, zorder=3)
            ax.annotate(f"{method} {'≈' if approx else ''}{y:.1f}", (x, y), textcoords="offset points",
                        xytext=(6, -3 if column == 1 else 3), fontsize=7, color=color)
        ax.scatter([], [], color=color, label=f"paper, {paper['backbone']}, {suite} avg (read off Fig. 1)")
    measured = measured_points(records, k=k)
    for i, (method, (x, y)) in enumerate(sorted(measured.items(), key=lambda item: item[1][1])):
        ax.scatter([x], [y], marker="P", s=70, color="tab:green", edgecolor="black", linewidth=0.5, zorder=4)
        # Methods of equal size and score would print on top of each other: stagger the labels.
        # A short name keeps the label clear of the paper's points to its right.
        short = {"decomp": "Decomp."}.get(method, METHOD_LABELS.get(method, method).split(" (")[0])
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
    ax.set_xlim(right=max(v[0] for v in paper["methods"].values()) * 12)  # room for the FT labels
    scores = [v[c] for v in paper["methods"].values() for c in (1, 2)] + [y for _, y in measured.values()]
    ax.set_ylim(min(scores) - 3, max(scores) + 4)  # room for the staggered labels above the highest point
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
    records: Iterable[dict[str, Any]] | None = None, *, paper: dict[str, Any] = PAPER_REFERENCE, k: str | int = "full"
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
        "l": widgets.IntSlider(value=paper.get("prompt_tokens", 100), min=1, max=300, step=1, description="l (tokens)"),
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
        fig = static_explorer_figure(records, l=l, r=r, d=width, tasks=tasks, backbone=d, paper=paper, k=k)
        plt.show()
        plt.close(fig)

    ui = widgets.interactive(update, **sliders)
    controls, output = ui.children[:-1], ui.children[-1]
    box = widgets.VBox([widgets.HBox([widgets.VBox(list(controls)), summary]), output])
    box.sliders, box.summary, box.interactive = sliders, summary, ui
    return box
