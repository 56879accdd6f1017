"""Run records: one tolerant reader and one writer, the statistics over seeds, and the Markdown tables.

A record is one target-adaptation run as ``mpt_nb.pipeline.adapt_target`` returns it (task, method, k, seed, test
score, per-row test predictions, ...). Files are JSON Lines, one run per line; the benchmark appends to them run by
run, so the reader skips a torn last line that a killed run left behind.
"""

from __future__ import annotations

import json
import os
import statistics
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .files import atomic_write_text
from .methods import ABLATIONS, get_method, method_label, method_order

__all__ = [
    "ablation_cells",
    "ablation_table",
    "append_record",
    "average_table",
    "k_sort_key",
    "load_records",
    "paired_differences",
    "record_key",
    "results_table",
    "save_records",
    "summarise",
]


def load_records(path: str | os.PathLike, *, missing_ok: bool = False) -> list[dict[str, Any]]:
    """The complete records of a JSON Lines file; a malformed (torn) line is skipped with a warning."""
    path = Path(path)
    if not path.exists():
        if missing_ok:
            return []
        raise FileNotFoundError(f"no results at {path}; run `python -m mpt_nb demo` or the benchmark that writes it")
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            warnings.warn(f"{path}:{number} is not a complete JSON line (a run killed mid-write?); skipped", stacklevel=2)
    return records


def save_records(records: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write result records as JSON Lines, atomically (the whole file at once)."""
    return atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def append_record(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one whole line and fsync, starting a new line if a killed run left a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                line = "\n" + line
        f.write(line.encode())
        f.flush()
        os.fsync(f.fileno())


def record_key(record: dict[str, Any]) -> tuple[str, str, str, int, str, int | None, int | None]:
    """What identifies a run within one grid: (task, method, k, seed, ablation, source seed, validation k)."""
    return (
        record["task"], record["method"], str(record["k"]), int(record["seed"]), record.get("ablation", "none"),
        record.get("source_seed"), record.get("validation_k"),
    )


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
