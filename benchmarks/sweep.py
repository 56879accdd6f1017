"""The l × r sweep: PT and MPT at prompt lengths l ∈ {5, 10, 20, 40} and (MPT) target ranks r ∈ {1, 2, 4}, at k = 16
and full data, over three target seeds, on one or two targets: measured accuracy at many trainable-parameter counts
for the explorer (``mpt_nb.viz.param_count_explorer``).

The plan is ``mpt_nb.results.plan_sweep``; the profile, targets, source stages and target learning rates are the grid
config's (``--config``). Each l runs under the grid's profile with ``prompt_tokens = l``, so its source stages are
other stages than the grid's: they are loaded (shipped or saved under ``artefacts``), else trained there on demand,
or with ``--no-train-sources`` the l's runs wait. The backbone is loaded once; each run goes through the grid's
``Runner`` (``mpt_nb.pipeline.adapt_target`` with the run's rank r) and is appended to the records file as soon as it
ends, so the command resumes: a run whose key (``sweep_key``: task, method, k, seed, source seed, l, r) is in the
file is skipped. A run the grid has made already (at the grid's l and r: the same ``run_identity`` as a record in the
grid config's ``output.results``) is not run again: that record is copied into the sweep's file, marked
``"from_grid": true``, so the file stays whole on its own. Each chunk ends by drawing the explorer's static figure from
the records (``--figure``).

Examples::

    # what is left, with a time estimate, loading nothing
    .venv/bin/python -m benchmarks.sweep --config configs/offline_v3.yaml --dry-run
    # one chunk of at most ~9 minutes (the heavy-job lock lets other jobs take turns); run again to continue
    flock /tmp/mpt_heavy.lock .venv/bin/python -m benchmarks.sweep --config configs/offline_v3.yaml --time-budget 540
    # the figure only, from the records
    .venv/bin/python -m benchmarks.sweep --config configs/offline_v3.yaml --render-only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.grid_runner import Runner, estimate_s, run_identity_of, stage_saved, stages_of
from mpt_nb.results import (
    GridConfig,
    SweepConfig,
    SweepRun,
    append_record,
    chosen_lrs,
    current,
    current_sweep,
    load_records,
    off_rate,
    plan_sweep,
    sweep_key,
)
from mpt_nb.tasks import get_task

ROOT = Path(__file__).resolve().parent.parent


def _here(path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else ROOT / path


def stages_to_train(cfg: GridConfig, profiles: dict[int, Any], todo: list[SweepRun]) -> list[tuple[int, Any, int]]:
    """(l, stage, seed) of every source stage the runs to go need that is neither shipped nor saved, teachers first."""
    needed: dict[tuple[int, Any, int], None] = {}
    for run in todo:
        for stage, seed in stages_of(run.spec, run.spec.source_seed):
            needed[(run.prompt_tokens, stage, seed)] = None
    return [(l, s, seed) for l, s, seed in needed if not stage_saved(cfg, profiles[l], s, seed)]  # noqa: E741


def grid_copies(cfg: GridConfig, profiles: dict[int, Any], todo: list[SweepRun], lrs: dict[str, float] | None,
                grid_records: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """By run key, each run of ``todo`` that the grid has made already: its grid record (the one with the run's own
    ``run_identity`` at its l, r and target lr), marked ``"from_grid": true``."""
    by_identity = {r["run_identity"]: r for r in grid_records if "run_identity" in r}
    copies = {}
    for run in todo:
        lr = None if lrs is None else lrs[run.spec.method]
        identity = run_identity_of(cfg, profiles[run.prompt_tokens], run.spec, lr=lr, rank=run.rank or None)
        if (record := by_identity.get(identity)) is None:
            continue
        if sweep_key(record) != run.key:  # equal identities are one computation; its record must place it there
            raise RuntimeError(f"the grid's record {record['run_identity']} has the identity of {run.describe()} but "
                               f"l={record.get('prompt_tokens')} r={record.get('rank')}: check the rank and profile "
                               "that run_identity_of and adapt_target read")
        copies[run.key] = {**record, "from_grid": True}
    return copies


def render(sweep: SweepConfig, profile: Any, records: list[dict[str, Any]]) -> Path | None:
    """The explorer's static figure from the sweep's records, at the grid's l and r (None: no records yet)."""
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mpt_nb.results import measured_settings
    from mpt_nb.viz import static_explorer_figure

    settings = measured_settings(records)
    k = "full" if "full" in settings["ks"] else settings["ks"][0]
    fig = static_explorer_figure(records, l=profile.prompt_tokens, r=profile.rank, d=settings["d"][0],
                                 tasks=len(profile.target_tasks), k=k)
    path = _here(sweep.figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse(argv: list[str] | None) -> tuple[argparse.Namespace, GridConfig, SweepConfig]:
    """The command line, the grid config it names (with --profile, --set, --artefacts) and the sweep's axes."""
    import yaml

    defaults = SweepConfig()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="the grid's YAML config: profile, overrides, targets, source stages, lr search")
    parser.add_argument("--profile", help="mpt_nb profile (default: the config's, else offline)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a profile field, e.g. --set target_steps=60 (value parsed as YAML)")
    parser.add_argument("--targets", nargs="+", help="target tasks (default: the grid's first two)")
    parser.add_argument("--lengths", nargs="+", type=int, default=defaults.lengths, help="prompt lengths l")
    parser.add_argument("--ranks", nargs="+", type=int, default=defaults.ranks, help="MPT's target ranks r")
    parser.add_argument("--k", nargs="+", default=defaults.k, help="examples per class; 'full' for all")
    parser.add_argument("--seeds", nargs="+", type=int, default=defaults.seeds, help="target seeds")
    parser.add_argument("--source-seed", type=int, default=defaults.source_seed, help="the source stages' seed")
    parser.add_argument("--results", default=defaults.results, help="JSON Lines records file")
    parser.add_argument("--figure", default=defaults.figure, help="the explorer's static figure (PNG)")
    parser.add_argument("--artefacts", help="folder for the source stages (default: the config's)")
    parser.add_argument("--no-train-sources", action="store_true",
                        help="never train a source stage: the runs of an l whose stages are not saved wait")
    parser.add_argument("--time-budget", type=float, help="seconds: start no run or stage expected to end past this")
    parser.add_argument("--max-runs", type=int, help="stop after this many runs")
    parser.add_argument("--dry-run", action="store_true", help="print what is left and an estimate; load nothing")
    parser.add_argument("--quiet", action="store_true", help="with --dry-run: the summary only")
    parser.add_argument("--render-only", action="store_true", help="only redraw the figure from the records")
    parser.add_argument("--threads", type=int, help="torch threads (default: the config's, else torch's choice)")
    parser.add_argument("--progress", action="store_true", help="show the training loop's progress bars")
    args = parser.parse_args(argv)
    cfg = GridConfig.from_yaml(_here(args.config)) if args.config else GridConfig()
    if args.profile:
        cfg.profile = args.profile
    for item in args.set:
        name, _, value = item.partition("=")
        cfg.overrides[name] = yaml.safe_load(value)
    cfg.artefacts = args.artefacts or cfg.artefacts
    cfg.threads = args.threads or cfg.threads
    sweep = SweepConfig(lengths=args.lengths, ranks=args.ranks, k=args.k, seeds=args.seeds,
                        source_seed=args.source_seed, targets=args.targets, results=args.results, figure=args.figure)
    return args, cfg, sweep


def main(argv: list[str] | None = None) -> int:
    try:
        args, cfg, sweep = parse(argv)
        base = cfg.build_profile()
        targets = sweep.chosen_targets(list(cfg.targets or base.target_tasks))
        for task in targets:
            get_task(task)
    except (OSError, ValueError, TypeError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if base.target_low_rank_init == "source_mean" and set(sweep.ranks) != {base.rank}:
        print(f"error: u, v from the source average exist only at the source rank r = {base.rank}; run the sweep "
              "with --set target_low_rank_init=ones", file=sys.stderr)
        return 2
    profiles = {length: base.with_overrides(prompt_tokens=length) for length in sweep.lengths}
    results = _here(sweep.results)
    records = current_sweep(load_records(results, missing_ok=True), base)
    if args.render_only:
        print(f"drew {render(sweep, base, records) or 'nothing (no records yet)'} from {len(records)} records")
        return 0
    lrs = None
    if cfg.lr_search:
        search = current(load_records(_here(str(cfg.lr_search_file())), missing_ok=True), base, quiet=True)
        if (lrs := chosen_lrs(cfg, base, search)) is None:
            print(f"error: the grid's target-lr search is not complete ({cfg.lr_search_file()}); run it first with "
                  f"`python -m benchmarks.quality --config {args.config}`", file=sys.stderr)
            return 2
        if problem := off_rate(sweep.results, records, lrs):
            print(f"error: {problem}", file=sys.stderr)
            return 2
    plan = plan_sweep(sweep, targets, first_length=base.prompt_tokens)
    done = {sweep_key(r) for r in records}
    todo = [run for run in plan if run.key not in done]
    grid_records = current_sweep(load_records(_here(cfg.results), missing_ok=True), base)
    copies = grid_copies(cfg, profiles, todo, lrs, grid_records)
    todo = [run for run in todo if run.key not in copies]
    train = stages_to_train(cfg, profiles, todo)
    estimate = sum(estimate_s(run.spec, records, profiles[run.prompt_tokens]) for run in todo)
    if not args.no_train_sources:
        estimate += sum(estimate_s((stage, seed), [], profiles[length]) for length, stage, seed in train)
    print(f"sweep: {len(plan)} runs (l {sweep.lengths}, MPT r {sweep.ranks}, k {sweep.k}, target seeds {sweep.seeds}, "
          f"targets {targets}), {len(plan) - len(todo) - len(copies)} already in {sweep.results}, {len(copies)} "
          f"{'to copy' if args.dry_run else 'copied'} from the grid's {cfg.results}, {len(todo)} to go; "
          f"{len(train)} source stage(s) to train; about {estimate / 3600:.1f} h", flush=True)
    for length, stage, seed in train:
        print(f"  to train: l={length} {stage.describe(base.rank)}, seed {seed}"
              + (" (waits: --no-train-sources)" if args.no_train_sources else ""))
    if args.dry_run:
        for run in [] if args.quiet else todo:
            print("  ", run.describe())
        return 0
    for record in copies.values():
        append_record(results, record)
        records.append(record)
    if todo:
        from mpt_nb.tasks import unfetched_tasks
        from mpt_nb.tasks.pinned import FETCH_HINT

        needed = set(targets) | (set(base.source_tasks) if train and not args.no_train_sources else set())
        if lacking := unfetched_tasks(sorted(needed)):
            print(f"error: the sweep needs {', '.join(lacking)}, whose data cannot be read here; {FETCH_HINT}",
                  file=sys.stderr)
            return 2
        _run(args, cfg, profiles, todo, records, lrs, results)
    path = render(sweep, base, records)
    done = {sweep_key(r) for r in records}
    left = len([run for run in plan if run.key not in done])
    print(f"{left} run(s) left in the sweep; figure: {path or 'none (no records yet)'}")
    return 0


def _run(args: argparse.Namespace, cfg: GridConfig, profiles: dict[int, Any], todo: list[SweepRun],
         records: list[dict[str, Any]], lrs: dict[str, float] | None, results: Path) -> None:
    """Run ``todo`` in order, one backbone for every l, appending each record to ``results`` (and ``records``)."""
    import torch
    from accelerate import Accelerator

    from mpt_nb.progress import set_progress

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    set_progress(args.progress)
    accelerator = Accelerator(mixed_precision=next(iter(profiles.values())).mixed_precision)
    start, ran, units, waiting = time.perf_counter(), 0, 0, set()
    runners: dict[int, Runner] = {}

    def elapsed() -> float:
        return time.perf_counter() - start

    def fits(estimate: float) -> bool:  # the first unit of work runs whatever its estimate
        return args.time_budget is None or units == 0 or elapsed() + estimate <= args.time_budget

    stopped = None
    for run in todo:
        length, spec = run.prompt_tokens, run.spec
        if args.max_runs is not None and ran >= args.max_runs:
            stopped = f"--max-runs {args.max_runs} reached"
            break
        if length not in runners:  # one backbone: the first runner loads it, the others share it
            shared = next(iter(runners.values())).ws.backbone if runners else None
            runners[length] = Runner(cfg, profiles[length], accelerator, shared)
        runner = runners[length]
        needed = runner.stages_needed(spec)
        if args.no_train_sources and not all(runner.sources.is_saved(s, seed) for s, seed in needed):
            waiting.add(length)
            continue
        base_rank = profiles[length].rank
        for stage, seed in needed:
            saved = runner.sources.is_saved(stage, seed)
            if not saved and not fits(estimate_s((stage, seed), records, profiles[length])):
                stopped = f"time budget: the source stage {stage.describe(base_rank)} at l={length} would not fit"
                break
            t0 = time.perf_counter()
            units += 0 if saved else 1
            runner.sources.get(stage, seed)
            print(f"[{elapsed():6.0f}s] l={length}: source stage {stage.describe(base_rank)}, seed {seed}, "
                  f"{'loaded' if saved else 'trained'} ({time.perf_counter() - t0:.0f}s)", flush=True)
        if stopped:
            break
        if not fits(estimate_s(spec, records, profiles[length])):
            stopped = "time budget: the next run would not fit"
            break
        (record,) = runner.run(spec, lr=None if lrs is None else lrs[spec.method], rank=run.rank or None)
        if sweep_key(record) != run.key:  # a record placed elsewhere would be re-run on every resume
            raise RuntimeError(f"run {run.describe()} recorded l={record['prompt_tokens']} r={record.get('rank')}: its "
                               "record does not carry the plan's setting; check the rank passed to the run and the "
                               "profile built for its l")
        append_record(results, record)
        records.append(record)
        ran, units = ran + 1, units + 1
        print(f"[{elapsed():6.0f}s] {run.describe()}: test {record['metric']} {record['test']:.3f} "
              f"({record['trainable_params']:,} params, {record['run_wall_time_s']:.0f}s)", flush=True)
    wait = f"; l = {sorted(waiting)} wait for their source stages (--no-train-sources)" if waiting else ""
    print(f"ran {ran} run(s) in {elapsed():.0f}s{wait}" + (f" ({stopped})" if stopped else ""), flush=True)


if __name__ == "__main__":
    sys.exit(main())
