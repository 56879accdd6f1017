"""The pre-registered analysis (``results/preregistration.md``) of a grid's records: primary endpoint, verdict,
secondary contrasts and ablations, each with a hierarchical-bootstrap 95% interval (``mpt_nb.stats``).

Primary: D = mean over targets and k ∈ {16, 32} of [MPT − best other method], in points, the best other method
re-selected inside every resample. Verdict: "reproduced" if the interval lies above 0, "not reproduced" if it lies
below +1 point, else "inconclusive". Only source seeds for which every cell has all its runs enter (a grid still
running is analysed on what is complete, and says so).

Examples::

    .venv/bin/python benchmarks/analysis.py --results results/grid_offline_v2.jsonl
    .venv/bin/python benchmarks/analysis.py --results results/grid_offline_v2.jsonl --resamples 500 --out /tmp/a.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRIMARY_K = (16, 32)
MARGIN = 1.0  # points: the smallest gain worth MPT's extra machinery (pre-registered)

sys.path.insert(0, str(ROOT))  # run as a script from anywhere in the checkout


def _cell(r: dict[str, Any]) -> tuple:
    return (r["task"], str(r["k"]), r["method"], r.get("ablation", "none"), r.get("validation_k"))


def complete_source_seeds(records: Sequence[dict[str, Any]], cells: Iterable[tuple]) -> tuple[list[int], list[int]]:
    """The source seeds (and target seeds) for which every cell has a run for every target seed."""
    cells = set(cells)
    target_seeds = sorted({int(r["seed"]) for r in records if _cell(r) in cells})
    have: dict[tuple, set] = defaultdict(set)
    for r in records:
        if _cell(r) in cells:
            have[_cell(r)].add((r.get("source_seed"), int(r["seed"])))
    source_seeds = sorted({r["source_seed"] for r in records if _cell(r) in cells and r.get("source_seed") is not None})
    ok = []
    for s in source_seeds:
        if all(all(((None, t) in have[c]) or ((s, t) in have[c]) for t in target_seeds) for c in cells):
            ok.append(s)
    return ok, target_seeds


def _runs(records: Sequence[dict[str, Any]], cells: set, source_seeds: list[int]):
    from mpt_nb.stats import runs_from_records

    keep = [r for r in records if _cell(r) in cells and (r.get("source_seed") is None or r["source_seed"] in source_seeds)]
    return runs_from_records(keep, _cell)


def contrast(records: Sequence[dict[str, Any]], tasks: Sequence[str], ks: Sequence[Any], *, versus: str = "best",
             method: str = "mpt", ablation: str = "none", others: Sequence[str] | None = None, resamples: int = 2000,
             validation_k: int | None = None) -> dict[str, Any] | None:
    """Mean over (task, k) of [method − best of ``others``] (``versus="best"``) or [method − ``versus``], in points,
    with its bootstrap interval; None when no source seed has every run."""
    from mpt_nb.stats import hierarchical_bootstrap

    ks = [str(k) for k in ks]
    methods_present = sorted({r["method"] for r in records if r.get("ablation", "none") == "none"})
    if versus == "best":
        rivals = [m for m in (others or methods_present) if m != method]
        arms = [(m, "none") for m in rivals]
    elif versus == "mpt_ablation":  # an ablation against MPT itself
        arms = [("mpt", "none")]
    else:
        arms = [(versus, "none")]
    target = (method, ablation)
    cells = {(t, k, m, a, validation_k if a == "none" else None) for t in tasks for k in ks for m, a in [target, *arms]}
    source_seeds, _ = complete_source_seeds(records, cells)
    if not source_seeds and any(get_source(m) for m, _ in [target, *arms]):
        return None

    def statistic(means: dict[tuple, float]) -> float:
        diffs = []
        for t in tasks:
            for k in ks:
                mine = means[(t, k, method, ablation, validation_k if ablation == "none" else None)]
                best = max(means[(t, k, m, a, validation_k)] for m, a in arms)
                diffs.append(mine - best)
        return 100 * sum(diffs) / len(diffs)

    result = hierarchical_bootstrap(_runs(records, cells, source_seeds), statistic, n_resamples=resamples)
    return {
        "estimate": result.estimate, "low": result.low, "high": result.high, "verdict": result.verdict(margin=MARGIN),
        "source_seeds": list(result.source_seeds), "target_seeds": list(result.target_seeds),
        "tasks": list(tasks), "k": ks, "versus": versus if versus != "best" else [m for m, _ in arms],
    }


def get_source(method: str) -> bool:
    from mpt_nb.methods import get_method

    return get_method(method).source is not None


def analyse(records: Sequence[dict[str, Any]], *, resamples: int = 2000) -> dict[str, Any]:
    """Every pre-registered number of the grid's records."""
    from mpt_nb.methods import ABLATIONS
    from mpt_nb.stats import standard_error

    main = [r for r in records if r.get("ablation", "none") == "none" and r.get("validation_k") is None]
    tasks = sorted({r["task"] for r in main})
    ks = sorted({str(r["k"]) for r in main}, key=lambda k: (k == "full", int(k) if k.isdigit() else 0))
    out: dict[str, Any] = {"tasks": tasks, "k": ks, "runs": len(records)}
    primary_ks = [k for k in map(str, PRIMARY_K) if k in ks]
    out["primary"] = contrast(records, tasks, primary_ks, resamples=resamples) if primary_ks else None
    out["secondary"] = []
    for t in tasks:
        for k in ks:
            out["secondary"].append({
                "task": t, "k": k,
                "vs_best": contrast(records, [t], [k], resamples=resamples),
                "vs_pt": contrast(records, [t], [k], versus="pt", resamples=resamples),
            })
    if any(r.get("validation_k") for r in records):
        out["true_few_shot"] = contrast(records, tasks, ["16"], resamples=resamples, validation_k=16)
    out["ablations"] = []
    for name, ab in ABLATIONS.items():
        if any(r.get("ablation") == name for r in records):
            ab_tasks = sorted({r["task"] for r in records if r.get("ablation") == name})
            ab_ks = sorted({str(r["k"]) for r in records if r.get("ablation") == name})
            res = contrast(records, ab_tasks, ab_ks, method=ab.method, ablation=name, versus="mpt_ablation",
                           resamples=resamples)
            out["ablations"].append({"ablation": name, "question": ab.question, "result": res})
    out["test_se"] = {}
    for t in tasks:
        runs = [r for r in main if r["task"] == t and r.get("test_predictions")]
        if runs:
            r = runs[0]
            out["test_se"][t] = {"rows": r["test_rows"], "metric": r["metric"],
                                 "se_points": 100 * standard_error(r["metric"], r["test_predictions"]["pred"],
                                                                   r["test_predictions"]["gold"], n_resamples=500)}
    return out


def _interval(res: dict[str, Any] | None) -> str:
    if res is None:
        return "not enough runs yet"
    return f"{res['estimate']:+.1f} [{res['low']:+.1f}, {res['high']:+.1f}]"


def render(summary: dict[str, Any]) -> str:
    """The analysis as Markdown."""
    p = summary["primary"]
    lines = ["## Primary endpoint (pre-registered)", ""]
    if p is None:
        lines.append("Not enough runs yet: no source seed has every primary run.")
    else:
        lines += [
            f"D = mean over {len(p['tasks'])} targets and k ∈ {{{', '.join(p['k'])}}} of (MPT − best of "
            f"{', '.join(p['versus'])}) = **{_interval(p)} points** (95% hierarchical bootstrap over source seeds "
            f"{p['source_seeds']}, target seeds {p['target_seeds']} and test rows). Verdict: **{p['verdict']}**.",
        ]
    lines += ["", "## Secondary: per target and k (points, 95% interval)", "",
              "| target | k | MPT − best other | MPT − PT |", "|---|---|---|---|"]
    for row in summary["secondary"]:
        lines.append(f"| {row['task']} | {row['k']} | {_interval(row['vs_best'])} | {_interval(row['vs_pt'])} |")
    if "true_few_shot" in summary:
        lines += ["", f"True few-shot (k = 16, 16 validation rows per class): MPT − best other = "
                  f"{_interval(summary['true_few_shot'])} points."]
    if summary["ablations"]:
        lines += ["", "## Ablations (variant − MPT, points, mean over targets and k, 95% interval)", "",
                  "| ablation | what it isolates | variant − MPT |", "|---|---|---|"]
        for row in summary["ablations"]:
            lines.append(f"| `{row['ablation']}` | {row['question']} | {_interval(row['result'])} |")
    if summary["test_se"]:
        lines += ["", "## Test sets", "", "| target | rows | metric | standard error (points) |", "|---|---|---|---|"]
        for t, se in summary["test_se"].items():
            lines.append(f"| {t} | {se['rows']:,} | {se['metric']} | {se['se_points']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results/grid_offline_v2.jsonl")
    parser.add_argument("--out", default="results/analysis_offline_v2.md")
    parser.add_argument("--json", default="results/analysis_offline_v2.json")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args(argv)
    from mpt_nb.files import atomic_write_text
    from mpt_nb.results import load_records

    records = load_records(ROOT / args.results if not Path(args.results).is_absolute() else args.results)
    summary = analyse(records, resamples=args.resamples)
    atomic_write_text(ROOT / args.out if not Path(args.out).is_absolute() else args.out, render(summary))
    atomic_write_text(ROOT / args.json if not Path(args.json).is_absolute() else args.json,
                      json.dumps(summary, indent=1) + "\n")
    p = summary["primary"]
    print(f"primary endpoint: {_interval(p)} points" + (f", verdict {p['verdict']}" if p else "")
          + f"; wrote {args.out}, {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
