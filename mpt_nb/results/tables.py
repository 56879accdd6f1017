"""Markdown tables of records: per target task, averaged over targets, and the paper's ablation on one target.

Each table reads the method table (``mpt_nb.methods``) for labels and order when it is built, not at import.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from .aggregate import k_sort_key, summarise

__all__ = ["ablation_cells", "ablation_table", "average_table", "results_table"]


def results_table(records: Iterable[dict[str, Any]], *, backbone_params: int | None = None) -> str:
    """A Markdown table: task, k, method, test metric (mean ± std over seeds), trainable parameters."""
    from ..methods import method_label, method_order

    rows = summarise(records)
    rows.sort(key=lambda r: (r["task"], k_sort_key(r["k"]), method_order(r["method"])))
    header = "| task | k | method | test metric | seeds | trainable params |" + (" % of backbone |" if backbone_params else "")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        cell = f"{r['metric']} {100 * r['mean']:.1f}" + (f" ± {100 * r['std']:.1f}" if r["runs"] > 1 else "")
        line = f"| {r['task']} | {r['k']} | {method_label(r['method'])} | {cell} | {r['runs']} | {r['trainable_params']:,} |"
        if backbone_params:
            line += f" {100 * r['trainable_params'] / backbone_params:.3f}% |"
        lines.append(line)
    return "\n".join(lines)


def _mean_std(values: list[float]) -> str:
    mean = 100 * statistics.fmean(values)
    return f"{mean:.1f}" + (f" ± {100 * statistics.stdev(values):.1f}" if len(values) > 1 else "")


def average_table(records: list[dict[str, Any]], targets: Sequence[str] | None = None) -> str:
    """Per (k, method): the test metric averaged over target tasks (only where every target has runs)."""
    from ..methods import method_label, method_order

    rows = summarise(records)
    tasks = sorted(set(targets or ()) | {r["task"] for r in rows})
    by: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        by.setdefault((str(r["k"]), r["method"]), {})[r["task"]] = r
    lines = [
        "| k | method | mean over targets | targets | seeds per target |",
        "|---|---|---|---|---|",
    ]
    for (k, method), per_task in sorted(
        by.items(), key=lambda kv: (k_sort_key(kv[0][0]), method_order(kv[0][1]))
    ):
        complete = len(per_task) == len(tasks)
        mean = 100 * statistics.fmean(r["mean"] for r in per_task.values())
        seeds = sorted({r["runs"] for r in per_task.values()})
        cell = f"{mean:.1f}" if complete else f"({mean:.1f}, incomplete)"
        lines.append(
            f"| {k} | {method_label(method)} | {cell} | {len(per_task)}/{len(tasks)} | "
            f"{'/'.join(map(str, seeds))} |"
        )
    return "\n".join(lines)


def ablation_cells(default_rank: int) -> dict[tuple[str, str], str]:
    """The ablation table's rows: (method, ablation) -> the source stage it trains, described."""
    from ..methods import ABLATIONS, get_method

    cells = {(m, "none"): get_method(m).source.describe(default_rank) for m in ("mpt", "decomp")}
    for name, ablation in ABLATIONS.items():
        cells[(ablation.method, name)] = get_method(ablation.method, name).source.describe(default_rank)
    return cells


def ablation_table(records: list[dict[str, Any]], target: str, k: Any, *, default_rank: int = 1) -> str:
    """The paper's ablation on one target: distillation on/off × decomposition on/off, and rank 1 vs 4."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        if r["task"] == target and str(r["k"]) == str(k):
            groups.setdefault((r["method"], r.get("ablation", "none")), []).append(r)
    lines = ["| source stage | test metric | seeds | trainable params |", "|---|---|---|---|"]
    for key, label in ablation_cells(default_rank).items():
        runs = groups.get(key)
        if not runs:
            lines.append(f"| {label} | not run yet | 0 | |")
            continue
        lines.append(
            f"| {label} | {runs[0]['metric']} {_mean_std([r['test'] for r in runs])} | {len(runs)} | "
            f"{runs[0]['trainable_params']:,} |"
        )
    return "\n".join(lines)
