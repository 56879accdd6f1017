"""Command line: ``python -m mpt_nb demo`` runs the whole method end to end and writes a results table and plot."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["DEMO_BUDGET", "main", "run_demo"]

# `make demo` must finish in about 20 minutes on a 2-core CPU, so it caps the profile's budgets at these values
# (a cap: the smoke profile's smaller numbers stay). The offline profile's own numbers are what the quality benchmark
# runs; pass --full-budget to run the demo with them.
DEMO_BUDGET = {
    "teacher_steps": 40,
    "distill_steps": 80,
    "target_steps": 40,
    "few_shot_steps": 30,
    "eval_every": 20,
    "max_input_tokens": 48,
    "max_eval": 200,
    "max_validation": 80,
}


def run_demo(
    profile_name: str | None = None, out_dir: str | Path = "outputs/demo", *, seed: int = 0, full_budget: bool = False
) -> list[dict]:
    """Teachers → distilled shared prompt → target adaptation (PT beside MPT) → one few-shot point; returns records."""
    import torch

    from .checkpoint import atomic_write_text, save_prompt
    from .pipeline import Workspace, adapt_target, distill_shared_prompt, save_records, train_teachers
    from .profiles import describe, get_profile
    from .viz import params_vs_accuracy_figure, results_table

    start = time.perf_counter()
    torch.manual_seed(seed)
    profile = get_profile(profile_name)
    if not full_budget:
        caps = {k: min(v, getattr(profile, k) or v) for k, v in DEMO_BUDGET.items()}
        profile = profile.with_overrides(**caps)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(describe(profile), flush=True)
    ws = Workspace.from_profile(profile)
    print(f"backbone loaded: {ws.backbone.name}, {ws.backbone.num_parameters():,} parameters (all frozen)", flush=True)

    def stage(name: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f}s] {name}", flush=True)

    stage(f"1a. teachers: vanilla prompt tuning on {len(profile.source_tasks)} source tasks")
    teachers, teacher_runs = train_teachers(ws, seed=seed)
    for task, run in zip(profile.source_tasks, teacher_runs, strict=True):
        print(f"     teacher {task}: validation {run.best_metric:.3f} (best step {run.best_step})")
    save_prompt(out / "teachers.safetensors", teachers, model_name=ws.backbone.name, task_names=profile.source_tasks)

    stage("1b. distillation: shared prompt P* and per-task u, v from the teachers")
    shared, distill_run = distill_shared_prompt(ws, teachers, seed=seed)
    print(f"     students' mean source validation {distill_run.best_metric:.3f}")
    save_prompt(out / "shared.safetensors", shared, model_name=ws.backbone.name, task_names=profile.source_tasks)

    records = []
    for target in profile.target_tasks:
        for method in ("pt", "mpt"):
            stage(f"2. target {target}: {method}")
            records.append(adapt_target(ws, target, method, shared=shared, teachers=teachers, seed=seed))
            print(f"     test {records[-1]['metric']} {records[-1]['test']:.3f}")
    k = profile.few_shot_k[len(profile.few_shot_k) // 2]
    target = profile.target_tasks[0]
    for method in ("pt", "mpt"):
        stage(f"3. few-shot k={k} on {target}: {method}")
        records.append(adapt_target(ws, target, method, shared=shared, teachers=teachers, k=k, seed=seed))
        print(f"     test {records[-1]['metric']} {records[-1]['test']:.3f}")

    wall = time.perf_counter() - start
    for r in records:
        r["demo_wall_time_s"] = round(wall, 1)
    save_records(records, out / "results.jsonl")
    table = results_table(records, backbone_params=ws.backbone.num_parameters())
    atomic_write_text(out / "results.md", table + f"\n\nprofile {profile.name}, backbone {ws.backbone.name}, wall time {wall:.0f} s\n")
    fig = params_vs_accuracy_figure(records, title=f"{profile.name} profile: {ws.backbone.name}")
    fig.savefig(out / "params_vs_accuracy.png", dpi=120)
    print("\n" + table)
    print(f"\nwall time {wall:.0f} s; wrote {out}/results.jsonl, results.md, params_vs_accuracy.png, *.safetensors")
    return records


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mpt_nb`` and the ``mpt-nb`` script."""
    parser = argparse.ArgumentParser(prog="python -m mpt_nb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run MPT end to end on a profile and print the results table")
    demo.add_argument("--profile", default=None, help="smoke | offline | gpu (default: $MPT_NB_PROFILE or offline)")
    demo.add_argument("--out", default="outputs/demo", help="folder for results, plot and prompts")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--full-budget", action="store_true", help="use the profile's own step counts, not the demo caps")
    sub.add_parser("profiles", help="list the profiles and their settings")
    args = parser.parse_args(argv)
    if args.command == "demo":
        run_demo(args.profile, args.out, seed=args.seed, full_budget=args.full_budget)
    elif args.command == "profiles":
        from dataclasses import asdict

        from .profiles import PROFILES

        for profile in PROFILES.values():
            print(json.dumps(asdict(profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
