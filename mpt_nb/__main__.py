"""Command line: ``python -m mpt_nb`` lists the commands; ``python -m mpt_nb demo`` runs the whole method end to end
and writes a results table and plot."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .methods import SourceStage

__all__ = ["DEMO_METHODS", "command_list", "main", "run_demo", "train_sources", "training_order"]

# The demo compares MPT with the baseline every reader knows; the benchmark runs every method of the table.
DEMO_METHODS = ("pt", "mpt")


def run_demo(
    profile_name: str | None = None,
    out_dir: str | Path = "outputs/demo",
    *,
    seed: int = 0,
    sizing: str = "demo",
    retrain_sources: bool = False,
) -> list[dict]:
    """Teachers → distilled shared prompt → target adaptation (PT beside MPT) → one few-shot point; returns records.

    The source stages come from the converged ones shipped in ``sources/<profile>/`` when every stage the demo needs
    is there; ``retrain_sources`` (or a missing shipped stage) trains them instead, in the demo's sizing, under
    ``<out_dir>/sources`` (a second demo with the same settings loads those).
    """
    import torch

    from .files import atomic_write_text
    from .methods import TEACHERS, source_stages
    from .pipeline import Workspace, adapt_target
    from .profiles import describe, get_profile, without_unfetched_targets
    from .results import results_table, save_records
    from .sources import preferred_store
    from .train import process_state
    from .viz import params_vs_accuracy_figure

    start = time.perf_counter()
    torch.manual_seed(seed)
    profile, left_out = without_unfetched_targets(get_profile(profile_name, sizing=sizing))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(describe(profile), flush=True)
    if left_out:
        print(left_out, flush=True)
    ws = Workspace.from_profile(profile)
    print(f"backbone loaded: {ws.backbone.name}, {ws.backbone.num_parameters():,} parameters (all frozen)", flush=True)
    needed = source_stages(DEMO_METHODS)
    sources, origin = preferred_store(ws, needed, out / "sources", seeds=(seed,), retrain=retrain_sources)
    print(f"{origin}{'; --retrain-sources trains them instead' if sources.shipped is not None else ''}", flush=True)

    def stage(name: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f}s] {name}", flush=True)

    for source in needed:
        how = "loading" if sources.is_saved(source, seed) else "training"
        what = (f"1a. teachers ({how}): vanilla prompt tuning on {len(profile.source_tasks)} source tasks"
                if source == TEACHERS else f"1b. source stage ({how}): {source.describe(profile.rank)}")
        stage(what)
        sources.get(source, seed)
        found = sources.shipped / sources.file_name(source, seed) if sources.is_shipped(source, seed) else sources.path(source, seed)
        print(f"     {found.parent.name}/{found.name}, validation {sources.validation.get(sources.identity(source, seed))}")

    records = []
    for target in profile.target_tasks:
        for method in DEMO_METHODS:
            stage(f"2. target {target}: {method}")
            records.append(adapt_target(ws, target, method, sources=sources, seed=seed))
            print(f"     test {records[-1]['metric']} {records[-1]['test']:.3f}")
    k = profile.few_shot_k[len(profile.few_shot_k) // 2]
    target = profile.target_tasks[0]
    for method in DEMO_METHODS:
        stage(f"3. few-shot k={k} on {target}: {method}")
        records.append(adapt_target(ws, target, method, sources=sources, k=k, seed=seed))
        print(f"     test {records[-1]['metric']} {records[-1]['test']:.3f}")

    wall = time.perf_counter() - start
    for r in records:
        r["demo_wall_time_s"] = round(wall, 1)
    if not process_state().is_main_process:  # under `accelerate launch` or torchrun, one process writes the results
        return records
    save_records(records, out / "results.jsonl")
    table = results_table(records, backbone_params=ws.backbone.num_parameters())
    atomic_write_text(out / "results.md", table + f"\n\nprofile {profile.name}, backbone {ws.backbone.name}, wall time {wall:.0f} s\n")
    fig = params_vs_accuracy_figure(records, title=f"{profile.name} profile: {ws.backbone.name}")
    fig.savefig(out / "params_vs_accuracy.png", dpi=120)
    print("\n" + table)
    print(f"\nwall time {wall:.0f} s; wrote {out}/results.jsonl, results.md, params_vs_accuracy.png, sources/")
    return records


def training_order(*, ablations: bool = True) -> list[SourceStage]:
    """The order ``train-sources`` trains one seed's stages in: what the demo needs first (teachers, MPT's distilled
    P*), so a partly trained seed already serves it; then the other methods' stages; then (``ablations``) theirs."""
    from .methods import source_stages

    first = source_stages(DEMO_METHODS)
    return first + [s for s in source_stages(ablations=ablations) if s not in first]


def train_sources(
    profile_name: str = "offline", seeds: list[int] | tuple[int, ...] = (0,), *, out: str | Path | None = None,
    ablations: bool = True, time_budget: float | None = None,
) -> list[Path]:
    """Train every source stage the methods need, for each seed, into ``out`` (default: the profile's shipped folder
    ``sources/<profile>/``); stages already there are kept, so an interrupted run continues where it stopped. A stage
    is shipped only from committed code: into the shipped folder, training refuses to start from a checkout whose
    package files differ from its commit, and a stage saved while they did is removed."""
    from .pipeline import Workspace
    from .profiles import get_profile
    from .sources import SourceStore, git_commit, recorded_wall_time, shipped_dir, stage_metadata

    profile = get_profile(profile_name)
    folder = Path(out) if out is not None else shipped_dir(profile.name)
    shipping = folder.resolve() == shipped_dir(profile.name).resolve()

    def uncommitted(commit: str | None) -> bool:
        return shipping and (commit is None or commit.endswith("+dirty"))

    def refuse_uncommitted(commit: str | None, what: str, fix: str = "commit mpt_nb/ first") -> None:
        if uncommitted(commit):
            raise RuntimeError(
                f"{what} from uncommitted code ({commit or 'no git checkout'}); {fix}, or train into another folder "
                "with --out"
            )

    store = SourceStore(Workspace.from_profile(profile), folder)
    start, written = time.perf_counter(), []
    order = training_order(ablations=ablations)
    for seed in seeds:
        for stage in order:
            if store.is_saved(stage, seed):
                path = store.path(stage, seed)
                refuse_uncommitted(stage_metadata(path).get("git_commit"), f"{path.name} is shipped but was trained",
                                   fix="delete it to train it again")
                continue
            if time_budget is not None and time.perf_counter() - start > time_budget:
                print(f"time budget spent; run the same command again to continue ({len(written)} stage(s) written)")
                return written
            refuse_uncommitted(git_commit(), f"refusing to train {stage.describe(profile.rank)} into {folder}")
            began = time.perf_counter()
            store.get(stage, seed)
            path = store.path(stage, seed)
            saved_from = stage_metadata(path).get("git_commit")
            if uncommitted(saved_from):
                path.unlink()
            refuse_uncommitted(saved_from, f"removed {path.name}: the package changed while it trained, so it was saved")
            written.append(path)
            # A resumed stage's file records the time of all its sessions; this process saw only the last one.
            recorded = recorded_wall_time(stage_metadata(written[-1])["curves"])
            took = f"{time.perf_counter() - began:.0f} s" + ("" if recorded is None else f"; {recorded:.0f} s recorded in all")
            print(f"seed {seed} {stage.describe(profile.rank)}: validation {store.validation[store.identity(stage, seed)]} "
                  f"({took}) -> {written[-1].name}", flush=True)
    return written


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the error names the fix) rather than the whole usage block."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from .profiles import PROFILES, SIZINGS

    parser = _OneLineParser(prog="python -m mpt_nb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    demo = sub.add_parser("demo", help="run MPT end to end on a profile and print the results table")
    demo.add_argument("--profile", default=None, choices=sorted(PROFILES),
                      help="default: $MPT_NB_PROFILE, else offline")
    demo.add_argument("--out", default="outputs/demo", help="folder for results, plot and source stages")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--sizing", default="demo", choices=sorted(SIZINGS),
                      help="the profile's named sizing (default: demo, ~20 minutes on a 2-core CPU)")
    demo.add_argument("--full-budget", action="store_true", help="the profile's own numbers (same as --sizing default)")
    demo.add_argument("--retrain-sources", action="store_true",
                      help="train the source stages even if saved ones with the same settings exist")
    sub.add_parser("profiles", help="list the profiles and their settings")
    tasks = sub.add_parser("tasks", help="list the registered tasks: kind, classes, metric, where the data come from")
    tasks.add_argument("--suite", default=None, help="only one suite's tasks (e.g. pinned, glue)")
    train = sub.add_parser("train-sources", help="train the source stages every method needs, per seed (resumable)")
    train.add_argument("--profile", default="offline", choices=sorted(PROFILES))
    train.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    train.add_argument("--out", default=None, help="default: the shipped folder sources/<profile>/")
    train.add_argument("--no-ablations", action="store_true", help="only the stages of the main methods")
    train.add_argument("--time-budget", type=float, default=None, help="seconds; no new stage starts after it")
    fetch = sub.add_parser("fetch-data", help="bring the pinned data files the tasks read into the data cache, checked")
    fetch.add_argument("--tasks", nargs="+", default=None, help="default: every built-in task")
    fetch.add_argument("--mirror", default=None, metavar="PATH",
                       help="a folder laid out as <owner>/<repo>/<commit>/<path> (default: $MPT_NB_MIRROR, else "
                            "shared/data/github beside the checkout, else GitHub)")
    return parser


def command_list(parser: argparse.ArgumentParser) -> str:
    """The parser's commands, one line each: its name and its one-line help."""
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    rows = [(a.dest, a.help or "") for a in subparsers._choices_actions]
    width = max(len(name) for name, _ in rows)
    lines = [f"usage: {parser.prog} COMMAND [options]   ({parser.prog} COMMAND --help for its options)", "", "commands:"]
    return "\n".join(lines + [f"  {name.ljust(width)}  {help_}" for name, help_ in rows])


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mpt_nb`` and the ``mpt-nb`` script: with no command it lists the commands; bad input
    prints one line and exits 2."""
    parser = _parser()
    if not (sys.argv[1:] if argv is None else argv):
        print(command_list(parser))
        return 0
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            sizing = "default" if args.full_budget else args.sizing
            run_demo(args.profile, args.out, seed=args.seed, sizing=sizing, retrain_sources=args.retrain_sources)
        elif args.command == "train-sources":
            train_sources(args.profile, args.seeds, out=args.out, ablations=not args.no_ablations,
                          time_budget=args.time_budget)
        elif args.command == "fetch-data":
            from .tasks import data_dir, fetch_task_files

            if args.mirror is not None and not Path(args.mirror).is_dir():
                raise FileNotFoundError(f"--mirror {args.mirror} is not a folder; give one laid out as "
                                        "<owner>/<repo>/<commit>/<path>")
            files = fetch_task_files(args.tasks, mirror=args.mirror if args.mirror is not None else "default")
            print(f"{len(files)} data files checked in {data_dir() / 'github'}")
        elif args.command == "tasks":
            from .tasks import get_task, list_tasks

            for name in list_tasks(args.suite):
                task = get_task(name)
                origin = task.files[0].repo if task.files else task.source.split(" (")[0].split(":")[0][:60]
                print(f"{name:24} {task.task_type:18} {task.num_classes:>3} classes  {task.metric:9} {origin}")
        elif args.command == "profiles":
            from dataclasses import asdict

            from .profiles import PROFILES

            for profile in PROFILES.values():
                print(json.dumps(asdict(profile)))
    except (KeyError, ValueError, OSError, RuntimeError, ImportError) as err:
        # Our errors name the fix; a traceback would bury it. KeyError's str() is a repr, so unwrap it.
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"python -m mpt_nb {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
