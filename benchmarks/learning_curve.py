"""The target learning-curve check (pre-registration v3, "Target budget"), on validation only: PT and MPT at k = 16 and
32 with 40, 120 and 300 steps, target seed 0 (source seed 0), every target of the profile. No test row is read.

Each run is scored on validation at step 0 and at four evenly spaced steps (its candidate checkpoints); its record
(``adapt_target(..., score_test=False)``) holds that curve. The budget is the smallest step count at which PT's
validation score, averaged over the targets and the two k, is within ``MARGIN`` of its best over the step counts.
A method whose source stage is not shipped for the profile is skipped, saying so (``python -m mpt_nb
train-sources`` ships it). Records are appended one run at a time, so the script resumes where it stopped.

    flock /tmp/mpt_heavy.lock .venv/bin/python -m benchmarks.learning_curve           # run what is missing, then rule
    .venv/bin/python -m benchmarks.learning_curve --render-only                       # the table and the budget only
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECORDS = "results/learning_curve_v3.jsonl"
STEPS = (40, 120, 300)
KS = (16, 32)
METHODS = ("pt", "mpt")
EVALUATIONS = 4  # candidate checkpoints after step 0, evenly spaced
MARGIN = 0.01  # one point


def _key(r: dict[str, Any]) -> tuple:
    return (r["task"], r["method"], int(r["k"]), int(r["steps"]))


def budget(records: Sequence[dict[str, Any]], steps: Sequence[int] = STEPS) -> tuple[int | None, dict[int, float]]:
    """(the budget, {steps: PT's mean validation score}) under the rule above; None until PT has every cell."""
    pt = [r for r in records if r["method"] == "pt"]
    cells = {(r["task"], int(r["k"])) for r in pt}
    by_steps: dict[int, dict[tuple, float]] = defaultdict(dict)
    for r in pt:
        by_steps[int(r["steps"])][(r["task"], int(r["k"]))] = float(r["validation"])
    means = {n: sum(by_steps[n].values()) / len(cells) for n in steps if cells and set(by_steps[n]) == cells}
    if len(means) < len(steps):
        return None, means
    best = max(means.values())
    return min(n for n, m in means.items() if m >= best - MARGIN), means


def render(records: Sequence[dict[str, Any]], steps: Sequence[int] = STEPS) -> str:
    rows = ["| target | method | k | " + " | ".join(f"{n} steps" for n in steps) + " |",
            "|---|---|---|" + "---|" * len(steps)]
    found = {_key(r): r for r in records}
    for task, method, k in sorted({(r["task"], r["method"], int(r["k"])) for r in records}):
        cells = [found.get((task, method, k, n)) for n in steps]
        rows.append(f"| {task} | {method} | {k} | "
                    + " | ".join("-" if c is None else f"{c['validation']:.3f} (best at {c['best_step']})" for c in cells)
                    + " |")
    chosen, means = budget(records, steps)
    rows.append("")
    rows.append("PT's mean validation score by step count: "
                + ", ".join(f"{n}: {m:.3f}" for n, m in means.items()) + ". "
                + (f"Budget: {chosen} steps." if chosen is not None else "Budget: not yet (PT lacks cells)."))
    return "\n".join(rows)


def run(profile_name: str, records_path: Path, steps: Sequence[int] = STEPS, ks: Sequence[int] = KS,
        methods: Sequence[str] = METHODS) -> list[dict[str, Any]]:
    """Every missing (target, method, k, steps) run, appended to ``records_path``; returns all records."""
    from mpt_nb.methods import get_method
    from mpt_nb.profiles import get_profile
    from mpt_nb.results import append_record, load_records
    from mpt_nb.sources import shipped_store
    from mpt_nb.targets import adapt_target
    from mpt_nb.workspace import Workspace

    records = load_records(records_path, missing_ok=True)
    done = {_key(r) for r in records}
    profile = get_profile(profile_name)
    base = Workspace.from_profile(profile)
    store = shipped_store(base)
    for method in methods:
        stage = get_method(method).source
        if stage is not None and not store.is_shipped(stage, 0):
            print(f"{method}: skipped, its source stage is not shipped for {profile.name} (python -m mpt_nb "
                  "train-sources ships it)")
            continue
        for n in steps:
            ws = Workspace(profile.with_overrides(eval_every=max(n // EVALUATIONS, 1), target_eval_at_start=True),
                           base.backbone)
            for target in profile.target_tasks:
                for k in ks:
                    if (target, method, k, n) in done:
                        continue
                    record = adapt_target(ws, target, method, sources=store if stage is not None else None, k=k,
                                          seed=0, source_seed=0, steps=n, always_validate=True, score_test=False)
                    append_record(records_path, record)
                    records.append(record)
                    print(f"{target} {method} k={k} {n} steps: validation {record['validation']:.3f} "
                          f"(best at step {record['best_step']})", flush=True)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--results", default=RECORDS)
    parser.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args(argv)
    path = ROOT / args.results
    if args.render_only:
        from mpt_nb.results import load_records

        records = load_records(path, missing_ok=True)
    else:
        records = run(args.profile, path, args.steps)
    print(render(records, args.steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
