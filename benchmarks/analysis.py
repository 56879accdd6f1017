"""The pre-registered analysis (``results/preregistration.md``) of a grid's records: primary endpoint, verdict,
secondary contrasts and ablations, each with a hierarchical-bootstrap 95% interval (``mpt_nb.results``).

Primary: D = mean over targets and k ∈ {16, 32} of [MPT − best other method], in points, the best other method
re-selected inside every resample. Verdict: "reproduced" if the interval lies above 0, "not reproduced" if it lies
below +1 point, else "inconclusive". What counts as complete comes from the grid's plan (``--config``), never from the
records found: a contrast is computed on the source seeds for which every cell has all its runs, and gets a verdict
only when those are all the planned seeds ("pending" before that, as the pre-registration requires).

Examples::

    .venv/bin/python -m benchmarks.analysis --config configs/offline_v2.yaml
    .venv/bin/python -m benchmarks.analysis --config configs/offline_v2.yaml --resamples 500 --out /tmp/a.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRIMARY_K = ("16", "32")
TRUE_FEW_SHOT_K = "16"
MARGIN = 1.0  # points: the smallest gain worth MPT's extra machinery (pre-registered)
PENDING = "pending"


@dataclass(frozen=True)
class Design:
    """What the grid plans to run: the analysis judges completeness against it, never against the records found (a
    method with no records yet must not silently drop out of "best other")."""

    tasks: tuple[str, ...]
    methods: tuple[str, ...]
    ks: tuple[str, ...]
    source_seeds: tuple[int, ...]
    target_seeds: tuple[int, ...]
    true_few_shot: dict[str, int] = field(default_factory=dict)  # k -> validation rows per class
    ablations: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)  # name -> (tasks, ks)

    @classmethod
    def from_plan(cls, plan: Sequence[Any]) -> Design:
        """The design of the grid's plan (``mpt_nb.results.plan_runs``: RunSpecs)."""
        main = [s for s in plan if s.ablation == "none" and s.validation_k is None]
        ablations: dict[str, tuple[list, list]] = {}
        for s in plan:
            if s.ablation != "none":
                tasks, ks = ablations.setdefault(s.ablation, ([], []))
                tasks.append(s.task)
                ks.append(str(s.k))
        return cls(
            tasks=tuple(dict.fromkeys(s.task for s in main)),
            methods=tuple(dict.fromkeys(s.method for s in main)),
            ks=tuple(dict.fromkeys(str(s.k) for s in main)),
            source_seeds=tuple(sorted({s.source_seed for s in plan if s.source_seed is not None})),
            target_seeds=tuple(sorted({s.seed for s in plan})),
            true_few_shot={str(s.k): s.validation_k for s in plan if s.validation_k is not None},
            ablations={n: (tuple(dict.fromkeys(t)), tuple(dict.fromkeys(k))) for n, (t, k) in ablations.items()},
        )


def _cell(r: dict[str, Any]) -> tuple:
    return (r["task"], str(r["k"]), r["method"], r.get("ablation", "none"), r.get("validation_k"))


def check_records(records: Sequence[dict[str, Any]]) -> None:
    """Refuse what would silently bias the analysis: two runs of one planned run, or one method (with its ablations)
    at two target learning rates."""
    from mpt_nb.results import record_key

    seen: dict[tuple, int] = {}
    for i, r in enumerate(records):
        key = record_key(r)
        if key in seen:
            raise ValueError(
                f"records {seen[key]} and {i} are the same run {key}; keep one (the grid never writes a run twice, "
                "so the file was edited or merged)"
            )
        seen[key] = i
    rates: dict[str, set] = defaultdict(set)
    for r in records:
        rates[r["method"]].add(r.get("lr"))
    mixed = {m: sorted(v, key=str) for m, v in rates.items() if len(v) > 1}
    if mixed:
        raise ValueError(f"method(s) ran at more than one target lr {mixed}; the pre-registered search fixes one rate "
                         "per method (results/grid_offline_v2_lr_search.md)")


def complete_source_seeds(records: Sequence[dict[str, Any]], cells: Iterable[tuple], design: Design) -> list[int]:
    """The planned source seeds for which every cell has a run with test predictions for every planned target seed
    (PT's runs, with no source seed, serve every source seed)."""
    cells = set(cells)
    have: dict[tuple, set] = defaultdict(set)
    for r in records:
        if _cell(r) in cells and r.get("test_predictions"):
            have[_cell(r)].add((r.get("source_seed"), int(r["seed"])))
    return [
        s for s in design.source_seeds
        if all(((None, t) in have[c]) or ((s, t) in have[c]) for t in design.target_seeds for c in cells)
    ]


def _runs(records: Sequence[dict[str, Any]], cells: set, source_seeds: list[int], design: Design):
    from mpt_nb.results import runs_from_records

    keep = [
        r for r in records
        if _cell(r) in cells and int(r["seed"]) in design.target_seeds
        and (r.get("source_seed") is None or r["source_seed"] in source_seeds)
    ]
    return runs_from_records(keep, _cell)


def contrast(records: Sequence[dict[str, Any]], design: Design, tasks: Sequence[str], ks: Sequence[Any], *,
             versus: str = "best", method: str = "mpt", ablation: str = "none", resamples: int = 2000,
             validation_k: int | None = None) -> dict[str, Any] | None:
    """Mean over (task, k) of [method − best of the design's other methods] (``versus="best"``), or [method −
    ``versus``], or [ablation − MPT] (``versus="mpt"`` with an ``ablation``), in points, with its bootstrap interval.
    None when no planned source seed has every run yet; otherwise ``complete`` says whether all planned seeds entered,
    and only then is there a verdict."""
    from mpt_nb.results import hierarchical_bootstrap

    ks = [str(k) for k in ks]
    arms = [(m, "none") for m in design.methods if m != method] if versus == "best" else [(versus, "none")]
    target = (method, ablation)
    cells = {(t, k, m, a, validation_k if a == "none" else None) for t in tasks for k in ks for m, a in [target, *arms]}
    source_seeds = complete_source_seeds(records, cells, design)
    if not source_seeds:
        return None

    def statistic(means: dict[tuple, float]) -> float:
        diffs = []
        for t in tasks:
            for k in ks:
                mine = means[(t, k, method, ablation, validation_k if ablation == "none" else None)]
                best = max(means[(t, k, m, a, validation_k)] for m, a in arms)
                diffs.append(mine - best)
        return 100 * sum(diffs) / len(diffs)

    result = hierarchical_bootstrap(_runs(records, cells, source_seeds, design), statistic, n_resamples=resamples)
    complete = tuple(source_seeds) == design.source_seeds
    return {
        "estimate": result.estimate, "low": result.low, "high": result.high,
        "verdict": result.verdict(margin=MARGIN) if complete else PENDING, "complete": complete,
        "source_seeds": list(result.source_seeds), "target_seeds": list(result.target_seeds),
        "tasks": list(tasks), "k": ks, "versus": [m for m, _ in arms],
    }


def analyse(records: Sequence[dict[str, Any]], design: Design, *, resamples: int = 2000) -> dict[str, Any]:
    """Every pre-registered number of the grid's records, judged against the grid's design."""
    from mpt_nb.methods import ABLATIONS
    from mpt_nb.results import standard_error

    check_records(records)
    tasks, ks = list(design.tasks), list(design.ks)
    out: dict[str, Any] = {"tasks": tasks, "k": ks, "runs": len(records), "design": {
        "methods": list(design.methods), "source_seeds": list(design.source_seeds),
        "target_seeds": list(design.target_seeds)}}
    primary_ks = [k for k in PRIMARY_K if k in ks]
    out["primary"] = contrast(records, design, tasks, primary_ks, resamples=resamples) if primary_ks else None
    out["secondary"] = []
    for t in tasks:
        for k in ks:
            out["secondary"].append({
                "task": t, "k": k,
                "vs_best": contrast(records, design, [t], [k], resamples=resamples),
                "vs_pt": contrast(records, design, [t], [k], versus="pt", resamples=resamples),
            })
    out["true_few_shot"] = []
    validation_k = design.true_few_shot.get(TRUE_FEW_SHOT_K)
    if validation_k is not None:
        for t in [*tasks, None]:  # each target, then the mean over targets
            rows = tasks if t is None else [t]
            out["true_few_shot"].append({
                "task": t or "mean", "k": TRUE_FEW_SHOT_K, "validation_k": validation_k,
                "vs_best": contrast(records, design, rows, [TRUE_FEW_SHOT_K], resamples=resamples,
                                    validation_k=validation_k),
                "vs_pt": contrast(records, design, rows, [TRUE_FEW_SHOT_K], versus="pt", resamples=resamples,
                                  validation_k=validation_k),
            })
    out["ablations"] = []
    for name, (ab_tasks, ab_ks) in design.ablations.items():
        ab = ABLATIONS[name]
        res = contrast(records, design, ab_tasks, ab_ks, method=ab.method, ablation=name, versus="mpt",
                       resamples=resamples)
        out["ablations"].append({"ablation": name, "question": ab.question, "result": res})
    out["test_se"] = {}
    # One run per target says how noisy its test set is: MPT at the first k, first target and source seeds.
    for t in tasks:
        runs = [r for r in records if _cell(r) == (t, ks[0], "mpt", "none", None) and r.get("test_predictions")]
        if runs:
            r = min(runs, key=lambda r: (int(r["seed"]), r.get("source_seed") or 0))
            out["test_se"][t] = {"rows": r["test_rows"], "metric": r["metric"],
                                 "run": f"mpt, k = {ks[0]}, target seed {r['seed']}, source seed {r.get('source_seed')}",
                                 "se_points": 100 * standard_error(r["metric"], r["test_predictions"]["pred"],
                                                                   r["test_predictions"]["gold"], n_resamples=2000)}
    return out


def _interval(res: dict[str, Any] | None) -> str:
    if res is None:
        return "not enough runs yet"
    seeds = "" if res["complete"] else f" (source seeds {res['source_seeds']} so far)"
    return f"{res['estimate']:+.1f} [{res['low']:+.1f}, {res['high']:+.1f}]{seeds}"


def render(summary: dict[str, Any]) -> str:
    """The analysis as Markdown."""
    p, design = summary["primary"], summary["design"]
    lines = ["## Primary endpoint (pre-registered)", ""]
    if p is None:
        lines.append("Not enough runs yet: no source seed has every primary run.")
    else:
        lines.append(
            f"D = mean over {len(p['tasks'])} targets and k ∈ {{{', '.join(p['k'])}}} of (MPT − best of "
            f"{', '.join(p['versus'])}) = **{_interval(p)} points** (95% hierarchical bootstrap over source seeds "
            f"{p['source_seeds']}, target seeds {p['target_seeds']} and test rows). Verdict: **{p['verdict']}**."
        )
        if not p["complete"]:
            lines += ["", f"The verdict waits for all planned source seeds {design['source_seeds']} × target seeds "
                      f"{design['target_seeds']} (pre-registered); until then the interval is provisional and leaves "
                      "out the spread between the missing source seeds."]
    lines += ["", "## Secondary: per target and k (points, 95% interval)", "",
              "| target | k | MPT − best other | MPT − PT |", "|---|---|---|---|"]
    for row in summary["secondary"]:
        lines.append(f"| {row['task']} | {row['k']} | {_interval(row['vs_best'])} | {_interval(row['vs_pt'])} |")
    if summary["true_few_shot"]:
        first = summary["true_few_shot"][0]
        lines += ["", f"### True few-shot (k = {first['k']}, {first['validation_k']} validation rows per class)", "",
                  "| target | MPT − best other | MPT − PT |", "|---|---|---|"]
        for row in summary["true_few_shot"]:
            lines.append(f"| {row['task']} | {_interval(row['vs_best'])} | {_interval(row['vs_pt'])} |")
    if summary["ablations"]:
        lines += ["", "## Ablations (variant − MPT, points, mean over targets and k, 95% interval)", "",
                  "| ablation | what it isolates | variant − MPT |", "|---|---|---|"]
        for row in summary["ablations"]:
            lines.append(f"| `{row['ablation']}` | {row['question']} | {_interval(row['result'])} |")
    if summary["test_se"]:
        lines += ["", "## Test sets", "", "| target | rows | metric | standard error (points) | from the run |",
                  "|---|---|---|---|---|"]
        for t, se in summary["test_se"].items():
            lines.append(f"| {t} | {se['rows']:,} | {se['metric']} | {se['se_points']:.1f} | {se['run']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/offline_v2.yaml", help="the grid's config: its plan is the design")
    parser.add_argument("--results", help="default: the config's output.results")
    parser.add_argument("--out", default="results/analysis_offline_v2.md")
    parser.add_argument("--json", default="results/analysis_offline_v2.json")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args(argv)
    from mpt_nb.files import atomic_write_text
    from mpt_nb.results import GridConfig, current, load_records, plan_runs

    def here(path: str) -> Path:
        return Path(path) if Path(path).is_absolute() else ROOT / path

    try:
        cfg = GridConfig.from_yaml(here(args.config))
        profile = cfg.build_profile()
        design = Design.from_plan(plan_runs(cfg, profile))
        records = current(load_records(here(args.results or cfg.results)), profile)
        summary = analyse(records, design, resamples=args.resamples)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    atomic_write_text(here(args.out), render(summary))
    atomic_write_text(here(args.json), json.dumps(summary, indent=1) + "\n")
    p = summary["primary"]
    print(f"primary endpoint: {_interval(p)} points" + (f", verdict {p['verdict']}" if p else "")
          + f"; wrote {args.out}, {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
