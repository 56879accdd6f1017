"""Results tables and plots. Builders return the figure (or widget) so tests can make them headless."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

__all__ = ["METHOD_LABELS", "load_records", "params_vs_accuracy_figure", "results_table", "summarise"]

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


def results_table(records: Iterable[dict[str, Any]], *, backbone_params: int | None = None) -> str:
    """A Markdown table: task, k, method, test metric (mean ± std over seeds), trainable parameters."""
    rows = summarise(records)
    rows.sort(key=lambda r: (r["task"], str(r["k"]), list(METHOD_LABELS).index(r["method"]) if r["method"] in METHOD_LABELS else 99))
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
