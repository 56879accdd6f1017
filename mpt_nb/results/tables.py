"""Markdown tables of records: per target task, averaged over targets, the paper's ablation on one target, the
target learning-rate search, and the quality grid's whole report.

Each table reads the method table (``mpt_nb.methods``) for labels and order when it is built, not at import.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from .aggregate import k_sort_key, summarise
from .grid import GridConfig, RunSpec, chosen_lrs, config_hash, search_key, search_runs

__all__ = ["ablation_cells", "ablation_table", "average_table", "grid_report", "lr_search_table", "results_table"]


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


def lr_search_table(cfg: GridConfig, profile, search_records: list[dict[str, Any]]) -> str:
    """The search as Markdown: validation score per method, target and rate, the means, and each method's choice."""
    runs = search_runs(cfg, profile)
    found = {search_key(r): r for r in search_records}
    targets = list(dict.fromkeys(s.task for s in runs))
    chosen = chosen_lrs(cfg, profile, search_records) or {}
    lines = [
        f"Target learning-rate search (k = {cfg.lr_search_k}, target seed {runs[0].seed if runs else '-'}, source seed "
        f"{cfg.source_seeds[0] if cfg.source_seeds else '-'}): best validation score of each run; each method runs "
        "the grid at the rate with the higher mean (**bold**). Test scores are not read.",
        "",
        "| method | lr | " + " | ".join(targets) + " | mean |",
        "|---|---|" + "---|" * (len(targets) + 1),
    ]
    for method in dict.fromkeys(s.method for s in runs):
        for lr in cfg.lr_search:
            scores = [found.get(RunSpec(t, method, cfg.lr_search_k, runs[0].seed, source_seed=next(
                s.source_seed for s in runs if s.method == method), lr=lr).key) for t in targets]
            cells = [f"{r['validation']:.3f}" if r else "—" for r in scores]
            mean = f"{sum(r['validation'] for r in scores) / len(scores):.3f}" if all(scores) else "—"
            mark = "**" if chosen.get(method) == lr else ""
            lines.append(f"| {method} | {mark}{lr:g}{mark} | " + " | ".join(cells) + f" | {mark}{mean}{mark} |")
    return "\n".join(lines) + "\n"


def grid_report(
    cfg: GridConfig, profile, records: list[dict[str, Any]], *, backbone_params: int | None = None,
    lr_search_file: str | None = None,
) -> str:
    """The quality grid's results as Markdown: settings, per target, averages, true few-shot and the ablations.

    ``lr_search_file`` names the target-lr search's table in the text when the grid ran one.
    """
    selected = [r for r in records if r.get("validation_k") is None]  # true few-shot runs get their own table
    true_few = [r for r in records if r.get("validation_k") is not None]
    main = [r for r in selected if r.get("ablation", "none") == "none"]
    targets = list(cfg.targets or profile.target_tasks)
    ab_targets, ab_ks = cfg.ablation_plan(targets)
    lr_text = f"lr={profile.lr}"
    if cfg.lr_search:
        lr_text = f"target lr per method from the pre-registered search, `{lr_search_file}`"
    backbone_params = backbone_params or next((r.get("backbone_params") for r in records if r.get("backbone_params")), None)
    parts = [
        f"# Quality grid: profile `{profile.name}`, backbone `{profile.backbone}`",
        "",
        f"Test metric ×100, mean ± std over seeds (sample std). {len(records)} runs recorded in `{cfg.results}`. "
        f"Hyperparameters: the profile's defaults (l={profile.prompt_tokens}, r={profile.rank}, {lr_text}, "
        f"lr_low_rank={profile.lr_low_rank}, batch {profile.batch_size}, {profile.target_steps} steps full-data / "
        f"{profile.few_shot_steps} steps few-shot, best checkpoint on validation every {profile.eval_every} steps; "
        f"settings hash {config_hash(profile)}); "
        "nothing was tuned on the test split. Few-shot runs draw k examples per class with the run's seed; the test "
        "split is always the full one.",
        "",
    ]
    source_seeds = sorted({r["source_seed"] for r in records if r.get("source_seed") is not None})
    if len(source_seeds) == 1:
        parts[-2] += (
            f" The source stage (teachers, shared prompts) was trained once, with seed {source_seeds[0]}, and reused "
            "by every seed: the spread over seeds is that of the target stage (initialisation of u, v or of the "
            "prompt, the k-shot draw, data order), not of source training."
        )
    if main:
        parts += ["## Per target task", "", results_table(main, backbone_params=backbone_params), ""]
        parts += ["## Average over target tasks", "", average_table(main, targets), ""]
    if true_few:
        parts += ["## True few-shot (checkpoints chosen on k validation rows per class)", "",
                  results_table(true_few, backbone_params=backbone_params), ""]
    if cfg.ablations and ab_targets:
        for ab_target in ab_targets:
            for k in ab_ks:
                parts += [f"## Ablation on {ab_target} (k={k})", "",
                          ablation_table(selected, ab_target, k, default_rank=profile.rank), ""]
        parts += [
            "Decomposition ✗ = the source stage trains one shared prompt with u, v frozen at ones "
            "(`distill_shared_prompt(..., decompose=False)`); target adaptation then trains P* and fresh u, v as usual. "
            "Distillation ✗ = P* initialised from sampled vocabulary and trained jointly on the source tasks' loss "
            "(no teachers), as PEFT's MultitaskPromptTuning does.",
            "",
        ]
    return "\n".join(parts)
