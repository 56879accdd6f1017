"""Command line: ``python -m mpt_nb demo`` runs the whole method end to end and writes a results table and plot."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["DEMO_METHODS", "main", "run_demo"]

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

    Source stages are kept under ``<out_dir>/sources`` by their settings identity, so a second demo with the same
    settings loads them; ``retrain_sources`` trains them again.
    """
    import torch
    from accelerate import PartialState

    from .files import atomic_write_text
    from .methods import get_method
    from .pipeline import Workspace, adapt_target
    from .profiles import describe, get_profile
    from .results import results_table, save_records
    from .sources import TEACHERS, SourceStore
    from .viz import params_vs_accuracy_figure

    start = time.perf_counter()
    torch.manual_seed(seed)
    profile = get_profile(profile_name, sizing=sizing)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(describe(profile), flush=True)
    ws = Workspace.from_profile(profile)
    print(f"backbone loaded: {ws.backbone.name}, {ws.backbone.num_parameters():,} parameters (all frozen)", flush=True)
    sources = SourceStore(ws, out / "sources", retrain=retrain_sources)

    def stage(name: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f}s] {name}", flush=True)

    for method_name in DEMO_METHODS:
        source = get_method(method_name).source
        if source is None:
            continue
        if source.needs_teachers:
            how = "loading" if sources.is_saved(TEACHERS, seed) else "training"
            stage(f"1a. teachers ({how}): vanilla prompt tuning on {len(profile.source_tasks)} source tasks")
            sources.teachers(seed)
        how = "loading" if sources.is_saved(source, seed) else "training"
        stage(f"1b. source stage for {method_name} ({how}): {source.describe(profile.rank)}")
        sources.get(source, seed)
        print(f"     saved as {sources.path(source, seed)}")

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
    if not PartialState().is_main_process:  # under `accelerate launch`, one process writes the results
        return records
    save_records(records, out / "results.jsonl")
    table = results_table(records, backbone_params=ws.backbone.num_parameters())
    atomic_write_text(out / "results.md", table + f"\n\nprofile {profile.name}, backbone {ws.backbone.name}, wall time {wall:.0f} s\n")
    fig = params_vs_accuracy_figure(records, title=f"{profile.name} profile: {ws.backbone.name}")
    fig.savefig(out / "params_vs_accuracy.png", dpi=120)
    print("\n" + table)
    print(f"\nwall time {wall:.0f} s; wrote {out}/results.jsonl, results.md, params_vs_accuracy.png, sources/")
    return records


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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m mpt_nb`` and the ``mpt-nb`` script: bad input prints one line and exits 2."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            sizing = "default" if args.full_budget else args.sizing
            run_demo(args.profile, args.out, seed=args.seed, sizing=sizing, retrain_sources=args.retrain_sources)
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
