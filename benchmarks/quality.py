"""Quality grid: PT, SPoT, decomposition-only and MPT on every target task, full data and few-shot, over seeds.

Every run goes through ``mpt_nb.pipeline.adapt_target`` (the same code path as the notebooks and the demo) and is
appended as one JSON line to the results file as soon as it finishes (whole line + fsync), so the script resumes:
a run whose key (task, method, k, seed, ablation) is already in the file is skipped. Each method names its source
stage in ``mpt_nb.methods``; a ``mpt_nb.sources.SourceStore`` trains each stage once per seed and keeps it on disk,
named by a hash of every setting that shaped it, so a changed setting never reuses a stale stage.

Hyperparameters are the profile's defaults (chosen on validation data, never on test); best-checkpoint selection
reads the validation split only, and the test split is scored once per run, at the end.

Runs are planned in priority order: (1) k=16 for every method, target and seed; (2) full data; (3) the ablations
on one target (distillation on/off × decomposition on/off, rank 1 vs 4); (4) k=4 and k=32. Use ``--time-budget``
or ``--max-runs`` to run a chunk and stop; run it again to continue. A true few-shot run (checkpoint chosen on k
validation rows per class) trains with its twin chosen on the whole split: training does not depend on the choice,
so one training gives both records (``selected_with_twin``; ``true_few_shot_twins``). SPoT's are two runs, since its
source choice reads the selection rows.

The plan (``GridConfig``, ``RunSpec``, ``plan_runs``, the target-lr search) lives in ``mpt_nb.results.grid``; this
script runs it. Run it from the checkout as a module (``python -m benchmarks.quality``) or by its path.

Examples::

    # one chunk of at most ~9 minutes on the offline default (the heavy-job lock lets other jobs take turns)
    flock /tmp/mpt_heavy.lock .venv/bin/python -m benchmarks.quality --time-budget 540
    # only the k=16 runs of MPT and PT, at most 3 of them
    .venv/bin/python -m benchmarks.quality --only k=16 --only method=mpt,pt --max-runs 3
    # re-render the table and figure from the results file
    .venv/bin/python -m benchmarks.quality --render-only
    # before a long grid: every cell once, one training step, so no cell fails hours in (its own records file)
    flock /tmp/mpt_heavy.lock .venv/bin/python -m benchmarks.quality --config configs/offline_v2.yaml --rehearse
    # the paper's setting on GPUs (T5-Base, l=100, GLUE/SuperGLUE), one or several processes
    accelerate launch -m benchmarks.quality --config configs/paper_t5_base.yaml
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.grid_runner import Runner, estimate_s, rehearsal_config, rehearse, true_few_shot_twins
from mpt_nb.results import (
    GridConfig,
    RunSpec,
    append_record,
    chosen_lrs,
    current,
    load_records,
    lr_search_table,
    off_rate,
    plan_runs,
    record_key,
    search_key,
    search_runs,
)

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------- paths and --only


def parse_only(items: Sequence[str]) -> dict[str, set[str]]:
    """``--only k=16 --only method=mpt,pt`` -> {"k": {"16"}, "method": {"mpt", "pt"}}."""
    filters: dict[str, set[str]] = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"--only takes FIELD=VALUE[,VALUE...] (fields: task, method, k, seed, ablation), got {item!r}")
        name, values = item.split("=", 1)
        if name not in ("task", "method", "k", "seed", "ablation"):
            raise SystemExit(f"--only field must be task, method, k, seed or ablation, got {name!r}")
        filters.setdefault(name, set()).update(v.strip() for v in values.split(","))
    return filters


def matches(spec: RunSpec, filters: dict[str, set[str]]) -> bool:
    values = {"task": spec.task, "method": spec.method, "k": str(spec.k), "seed": str(spec.seed), "ablation": spec.ablation}
    return all(values[name] in allowed for name, allowed in filters.items())


def lr_search_path(cfg: GridConfig) -> Path:
    """The search's own results file (its records never enter the grid's tables or analysis)."""
    path = cfg.lr_search_file()
    return path if path.is_absolute() else ROOT / path


# ----------------------------------------------------------------------------------------------- rendering


def render(cfg: GridConfig, profile, records: list[dict[str, Any]], backbone_params: int | None = None) -> None:
    """Write the Markdown results (main table, averages, ablation) and the figures: parameters vs accuracy (one per
    k) and, on the offline profile with full-data runs, the explorer's static figure beside them."""
    import matplotlib

    matplotlib.use("Agg")
    from mpt_nb.files import atomic_write_text
    from mpt_nb.results import grid_report
    from mpt_nb.viz import params_vs_accuracy_figure, tidy_axis

    shown = None
    if cfg.lr_search:
        table = lr_search_path(cfg).with_suffix(".md")
        shown = str(table.relative_to(ROOT)) if table.is_relative_to(ROOT) else table.name
    atomic_write_text(ROOT / cfg.table if not Path(cfg.table).is_absolute() else cfg.table,
                      grid_report(cfg, profile, records, backbone_params=backbone_params, lr_search_file=shown))
    main = [r for r in records if r.get("validation_k") is None and r.get("ablation", "none") == "none"]
    targets = list(cfg.targets or profile.target_tasks)
    if not main:
        return
    ks = {str(r["k"]) for r in main}
    k = "full" if "full" in ks else ("16" if "16" in ks else sorted(ks)[0])
    reference = None
    if cfg.paper_points:
        from mpt_nb import paper

        reference = {
            f"{m} (paper, {paper.BACKBONE}, GLUE avg)": (row.params_per_task, row.glue)
            for m, row in paper.TABLE1.items() if m != "FT"
        }
    fig = params_vs_accuracy_figure(
        main, k=k, reference=reference, title=f"{profile.name}: {profile.backbone}, k = {k}, mean over {len(targets)} targets"
    )
    tidy_axis(fig)
    figure = ROOT / cfg.figure if not Path(cfg.figure).is_absolute() else Path(cfg.figure)
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    for other in sorted(ks - {k}):
        fig = params_vs_accuracy_figure(main, k=other, title=f"{profile.name}: {profile.backbone}, k = {other}")
        tidy_axis(fig)
        fig.savefig(figure.with_name(f"{figure.stem}_k{other}{figure.suffix}"), dpi=120)
        plt.close(fig)
    if profile.name == "offline" and k == "full":
        # The explorer's static fallback shown in the README, beside the figure above (results/explorer_static.png by
        # default): the paper's setting beside these measured runs (only once the grid has full-data runs, so a first
        # few-shot chunk does not replace it).
        from mpt_nb.viz import static_explorer_figure

        fig = static_explorer_figure(main, l=100, r=1, d=768, tasks=8)
        fig.savefig(figure.with_name("explorer_static.png"), dpi=110)
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML config (see configs/paper_t5_base.yaml); flags below override it")
    parser.add_argument("--profile", help="mpt_nb profile: offline (default), smoke, gpu")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a profile field, e.g. --set prompt_tokens=10 (value parsed as YAML)")
    parser.add_argument("--only", action="append", default=[], metavar="FIELD=V1[,V2]",
                        help="run only matching runs; fields: task, method, k, seed, ablation (repeatable)")
    parser.add_argument("--source-seed", type=int, default=None,
                        help="train the source stage once with this seed and reuse it for every seed "
                        "(default: the config's source_seeds, else one source stage per seed)")
    parser.add_argument("--max-runs", type=int, default=None, help="stop after this many target runs")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="seconds: start no unit of work (run or source stage) expected to end past this")
    parser.add_argument("--no-ablations", action="store_true", help="leave the ablation runs out of the plan")
    parser.add_argument("--results", help="JSON Lines results file (default results/quality_offline.jsonl)")
    parser.add_argument("--table", help="Markdown table to render")
    parser.add_argument("--figure", help="parameters-vs-accuracy PNG to render")
    parser.add_argument("--artefacts", help="folder for source stages, each named by its settings identity "
                        "(default outputs/artefacts)")
    parser.add_argument("--paper-points", action="store_true", help="add the paper's GLUE averages to the figure")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--render-only", action="store_true", help="only re-render table and figure")
    parser.add_argument("--dry-run", action="store_true", help="print the remaining plan and exit")
    parser.add_argument("--rehearse", action="store_true",
                        help="run every cell of the plan once (and one target-lr search run per method), one training "
                        "step, first target and source seed, into <results>_rehearsal.jsonl (never the grid's "
                        "records); list every cell that fails or cannot run")
    parser.add_argument("--quiet", action="store_true", help="with --dry-run: print only the summary line")
    parser.add_argument("--progress", action="store_true", help="show the training loop's progress bars")
    parser.add_argument("--past-waiting", action="store_true",
                        help="run later-priority runs even while earlier-priority ones wait for their source stages "
                        "(default: stop at that boundary, so the primary endpoint's runs come first)")
    args = parser.parse_args(argv)

    import yaml

    cfg = GridConfig.from_yaml(args.config) if args.config else GridConfig()
    if args.profile:
        cfg.profile = args.profile
    for item in args.set:
        name, value = item.split("=", 1)
        cfg.overrides[name] = yaml.safe_load(value)
    for name in ("results", "table", "figure", "artefacts", "threads"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    if args.source_seed is not None:
        if cfg.lr_search:
            print(f"error: --source-seed would move the target-lr search off its pre-registered source seed "
                  f"{(cfg.source_seeds or [0])[0]}; leave it out, or use a config without lr_search", file=sys.stderr)
            return 2
        cfg.source_seeds = [args.source_seed]
    if args.paper_points:
        cfg.paper_points = True
    if args.no_ablations:
        cfg.ablations = False

    if args.rehearse:
        cfg = rehearsal_config(cfg)
    import torch

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    profile = cfg.build_profile()
    results = ROOT / cfg.results if not Path(cfg.results).is_absolute() else Path(cfg.results)
    records = current(load_records(results, missing_ok=True), profile, quiet=args.dry_run)
    if args.render_only:
        render(cfg, profile, records)
        print(f"rendered {cfg.table} and {cfg.figure} from {len(records)} records")
        return 0

    done = {record_key(r) for r in records}
    filters = parse_only(args.only)
    plan = [s for s in plan_runs(cfg, profile) if matches(s, filters)]
    todo = [s for s in plan if s.key not in done]
    search_file = lr_search_path(cfg)
    search_records = current(load_records(search_file, missing_ok=True), profile, quiet=True) if cfg.lr_search else []
    search_done = {search_key(r) for r in search_records}
    search_todo = [s for s in search_runs(cfg, profile) if s.key not in search_done]
    if cfg.lr_search:
        print(f"target-lr search: {len(search_runs(cfg, profile))} runs over lr {cfg.lr_search}, "
              f"{len(search_todo)} to go (before the grid)", flush=True)
    print(f"plan: {len(plan)} runs, {len(plan) - len(todo)} already in {cfg.results}, {len(todo)} to go", flush=True)
    if (lrs := chosen_lrs(cfg, profile, search_records)) is not None and (problem := off_rate(cfg.results, records, lrs)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.dry_run:
        for s in [] if args.quiet else [*search_todo, *todo]:
            print("  ", s.describe())
        return 0
    if not todo and not search_todo:
        render(cfg, profile, records)
        print("nothing to run; table and figure re-rendered")
        return 0
    from mpt_nb.tasks import unfetched_tasks
    from mpt_nb.tasks.pinned import FETCH_HINT

    # Say so before any run starts (rather than failing at the first such target, part-way through a chunk).
    needed = {s.task for s in [*search_todo, *todo]} | (set(profile.source_tasks) if cfg.train_missing_sources else set())
    if lacking := unfetched_tasks(sorted(needed)):
        print(f"error: the runs to go need {', '.join(lacking)}, whose data cannot be read on this machine "
              "(retired tasks, or pinned files neither cached nor mirrored); "
              f"{FETCH_HINT}", file=sys.stderr)
        return 2

    from accelerate import Accelerator

    from mpt_nb.progress import set_progress

    accelerator = Accelerator(mixed_precision=profile.mixed_precision)
    set_progress(args.progress)
    if args.rehearse:
        first_seed = min(s.seed for s in plan)
        first_search: dict[str, RunSpec] = {}
        for spec in search_runs(cfg, profile):  # one search run per method rehearses the search's path
            first_search.setdefault(spec.method, spec)
        search = [spec for spec in first_search.values() if spec.key not in search_done]
        return rehearse(cfg, profile, accelerator, [s for s in todo if s.seed == first_seed], results,
                        search, lr_search_path(cfg))
    return _run(args, cfg, profile, accelerator, results, records, plan, todo, search_records, search_todo)


def _run(args, cfg: GridConfig, profile, accelerator, results: Path, records, plan, todo,
         search_records=(), search_todo=()) -> int:
    from mpt_nb.files import atomic_write_text
    from mpt_nb.profiles import describe

    main_process = accelerator.is_main_process
    if args.time_budget and accelerator.num_processes > 1:
        print("note: --time-budget is ignored with several processes (they must stop together)", flush=True)
        args.time_budget = None
    if main_process:
        print(describe(profile), flush=True)
        print(f"machine: {platform.machine()} {os.cpu_count()} cpu(s), processes={accelerator.num_processes}", flush=True)
    start = time.perf_counter()
    runner = Runner(cfg, profile, accelerator)
    search_records = list(search_records)
    ran = units = waiting = 0

    def elapsed() -> float:
        return time.perf_counter() - start

    def fits(estimate: float) -> bool:
        # A chunk always makes progress: the first unit of work runs whatever its estimate.
        return args.time_budget is None or (elapsed() + estimate <= args.time_budget) or units == 0

    waiting_priority = None  # the first priority with a run waiting for its source stage

    twins = true_few_shot_twins(todo)
    recorded_with_twin: set[tuple] = set()  # true few-shot runs already recorded by their twin's training

    def execute(spec: RunSpec, lr: float | None, path: Path, kept: list[dict[str, Any]], pair: bool = False) -> str | None:
        """Run one spec (its source stages first; with ``pair``, its true few-shot twin in the same training); the
        reason to stop the chunk, or None."""
        nonlocal ran, units, waiting, waiting_priority
        if spec.key in recorded_with_twin:
            return None
        if args.max_runs is not None and ran >= args.max_runs:
            return f"--max-runs {args.max_runs} reached"
        if waiting_priority is not None and spec.priority > waiting_priority and not args.past_waiting:
            return (f"priority-{waiting_priority} runs wait for their source stages, so later priorities wait too "
                    "(--past-waiting runs them now)")
        if not cfg.train_missing_sources and not all(runner.sources.is_saved(s, sd) for s, sd in runner.stages_needed(spec)):
            waiting += 1  # its source stage is not shipped yet
            waiting_priority = spec.priority if waiting_priority is None else min(waiting_priority, spec.priority)
            return None
        for stage, seed in runner.stages_needed(spec):
            cached = runner.sources.is_saved(stage, seed)
            if not cached and not fits(estimate_s((stage, seed), records, profile)):
                return f"time budget: next source stage ({stage.describe(profile.rank)}) would not fit"
            t0 = time.perf_counter()
            units += 0 if cached else 1
            runner.sources.get(stage, seed)
            if main_process:
                how = "loaded" if cached else "trained"
                print(f"[{elapsed():6.0f}s] source stage {stage.describe(profile.rank)}, seed {seed}, {how} "
                      f"({time.perf_counter() - t0:.0f}s)", flush=True)
        if not fits(estimate_s(spec, [*records, *search_records], profile)):
            return "time budget: next run would not fit"
        # (a pair is two runs: under --max-runs it pairs only where both fit)
        twin = twins.get(spec.key) if pair and (args.max_runs is None or ran + 2 <= args.max_runs) else None
        done_specs = [spec] if twin is None else [spec, twin]
        ran_records = runner.run(spec, lr=lr, twin=twin)
        ran += len(ran_records)
        units += 1
        recorded_with_twin.update(s.key for s in done_specs[1:])
        for done_spec, record in zip(done_specs, ran_records, strict=True):
            kept.append(record)  # every process keeps it, so all choose the same search rates
            if main_process:
                append_record(path, record)
                print(
                    f"[{elapsed():6.0f}s] {done_spec.describe()}: test {record['metric']} {record['test']:.3f} "
                    f"(val {record['validation']}, {record['run_wall_time_s']:.0f}s"
                    + (", one training with the run above" if done_spec is twin else "") + ")",
                    flush=True,
                )
        return None

    stopped = None
    for spec in search_todo:
        if (stopped := execute(spec, spec.lr, lr_search_path(cfg), search_records)) is not None:
            break
    lrs = chosen_lrs(cfg, profile, search_records)
    if cfg.lr_search and main_process and search_records:
        atomic_write_text(lr_search_path(cfg).with_suffix(".md"), lr_search_table(cfg, profile, search_records))
    if cfg.lr_search and lrs is None:
        stopped = stopped or "the target-lr search is not complete (waiting for source stages)"
    elif lrs is not None:
        # main() checked the records against rates known before this chunk; a search finished now needs the check here.
        if search_todo and (problem := off_rate(cfg.results, records, lrs)) is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        if main_process:
            print("target learning rates chosen on validation: " + ", ".join(f"{m} {lr:g}" for m, lr in lrs.items()),
                  flush=True)
    for spec in [] if stopped else todo:
        lr = None if lrs is None else lrs[spec.method]
        if (stopped := execute(spec, lr, results, records, pair=True)) is not None:
            break
    if main_process:
        render(cfg, profile, records, runner.ws.backbone.num_parameters())
        left = len([s for s in plan if s.key not in {record_key(r) for r in records}])
        wait = f"; {waiting} skipped, waiting for their source stages (train-sources)" if waiting else ""
        print(f"ran {ran} run(s) in {elapsed():.0f}s; {left} left in the plan{wait}" + (f" ({stopped})" if stopped else ""),
              flush=True)
    accelerator.wait_for_everyone()
    return 0

if __name__ == "__main__":
    sys.exit(main())
