"""The pre-registered v3 analysis (``results/preregistration_v3.md``) of a grid's records: the four primary endpoints
and their verdict, the co-primary (distillation alone), the secondary contrasts and the ablations.

Primary: for each baseline b (PT, SPoT, generic SPoT, decomposition only), D_b,s = the mean over the targets,
k ∈ {4, 16, 32} and the target seeds of MPT − b, in points, per source seed s
(``mpt_nb.results.source_seed_differences``; PT's runs serve every source seed), and Δ_b = their mean. Its 95%
interval is ``mpt_nb.results.t_interval_with_rows``: the source seeds' spread plus the test rows' variance of Δ_b (the
hierarchical bootstrap resampling rows only) plus, against PT, PT's own runs' (``run_variance_of_mean``). Verdict:
Holm's step-down over the four one-sided tests of MPT > b (the interval's statistic, family-wise α = 0.05) and the
margin (an interval wholly below +1 point) give "reproduced", "reproduced, by less than a point against ...", "not
reproduced" or "inconclusive". Co-primary: Δ_decomp's interval, read alone. Secondary contrasts (per target and k,
true few-shot, the target start from the source mean, MPT − best other as a description) and the ablations (variant
− MPT) take the same interval, without a multiplicity correction.

What counts as complete comes from the grid's plan (``--config``), never from the records found: a contrast is
computed on the source seeds for which every cell has all its runs, and the verdict waits ("pending") until those
are all the planned source seeds × target seeds of the primary cells.

Examples::

    .venv/bin/python -m benchmarks.analysis --config configs/offline_v3.yaml
    .venv/bin/python -m benchmarks.analysis --config configs/offline_v3.yaml --resamples 500 --out /tmp/a.md
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mpt_nb.results import Arm

ROOT = Path(__file__).resolve().parent.parent
METHOD = "mpt"
BASELINES = ("pt", "spot", "spot_generic", "decomp")  # the primary family, in the pre-registration's order
PRIMARY_K = ("4", "16", "32")
TRUE_FEW_SHOT_K = "16"
TARGET_START = "target_source_mean"  # the declared secondary start (u, v from the source tasks' mean), not an ablation
ALPHA = 0.05  # Holm's family-wise level, one-sided tests
CONFIDENCE = 0.95  # two-sided intervals
MARGIN = 1.0  # points: the smallest gain worth MPT's extra machinery (pre-registered)
PENDING = "pending"
# The seeds the pre-registration's verdict needs: a plan with fewer gives numbers, never a verdict.
PREREGISTERED_SOURCE_SEEDS = (0, 1, 2, 3, 4)
PREREGISTERED_TARGET_SEEDS = (0, 1)
DEFAULT_CONFIG = "configs/offline_v3.yaml"


@dataclass(frozen=True)
class Design:
    """What the grid plans to run: the analysis judges completeness against it, never against the records found (a
    baseline with no records yet leaves its endpoint open rather than dropping out of the family)."""

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
                         "per method (the config's lr_search)")


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


def _label(arm: Arm) -> str:
    from mpt_nb.results import arm_key

    method, ablation = arm_key(arm)
    return method if ablation == "none" else f"{method} [{ablation}]"


def outcome(rejected: Mapping[str, bool], meets_margin: Mapping[str, bool]) -> str:
    """The pre-registered verdict from Holm's rejections and the margin, per baseline: "reproduced" when Holm rejects
    all and none meets the margin; "reproduced, by less than a point against <those that meet it>" when Holm rejects
    all and some do; "not reproduced" when Holm does not reject all and one or more meet it; "inconclusive"
    otherwise."""
    below = [b for b, meets in meets_margin.items() if meets]
    if all(rejected.values()):
        return f"reproduced, by less than a point against {', '.join(below)}" if below else "reproduced"
    return "not reproduced" if below else "inconclusive"


def distillation_reading(low: float, high: float) -> str:
    """The co-primary's reading of Δ_decomp's interval: "reproduced" if it lies above 0 ("reproduced, by less than a
    point" if it also lies below the margin), "not reproduced" if it lies below the margin and reaches 0, else
    "inconclusive"."""
    if low > 0:
        return "reproduced, by less than a point" if high < MARGIN else "reproduced"
    if high < MARGIN:
        return "not reproduced"
    return "inconclusive"


def contrast(records: Sequence[dict[str, Any]], design: Design, tasks: Sequence[str], ks: Sequence[Any],
             arm: Arm = METHOD, versus: Arm = "pt", *, validation_k: int | None = None,
             source_seeds: Sequence[int] | None = None, resamples: int = 2000) -> dict[str, Any] | None:
    """Δ = the mean over source seeds of D_s, the mean over ``tasks`` × ``ks`` and target seeds of [arm − versus] in
    points, with the pre-registered interval and the one-sided p-value of arm > versus.

    The variance of Δ adds to the source seeds' s²/n the test rows' (``hierarchical_bootstrap`` resampling rows only,
    seed 0) and, for an arm whose runs serve every source seed (PT), that arm's runs' (``run_variance_of_mean``).
    It runs on ``source_seeds`` (default: the planned ones with every run); None with fewer than two.
    ``complete`` says whether all planned source seeds entered.
    """
    from mpt_nb.methods import get_method
    from mpt_nb.results import (
        arm_key,
        hierarchical_bootstrap,
        run_variance_of_mean,
        runs_from_records,
        seed_mean_with_rows,
        source_seed_differences,
    )

    ks = [str(k) for k in ks]
    arms = [arm_key(arm), arm_key(versus)]
    cells = {(t, k, m, a, validation_k) for t in tasks for k in ks for m, a in arms}
    seeds = list(source_seeds) if source_seeds is not None else complete_source_seeds(records, cells, design)
    if len(seeds) < 2:
        return None
    keep = [
        r for r in records
        if _cell(r) in cells and r.get("test_predictions") and int(r["seed"]) in design.target_seeds
        and (r.get("source_seed") is None or r["source_seed"] in seeds)
    ]
    pairs = [(t, k) for t in tasks for k in ks]
    per_seed = source_seed_differences(keep, arms[0], arms[1], pairs, source_seeds=seeds,
                                       target_seeds=design.target_seeds, validation_k=validation_k)
    if len(per_seed) < len(seeds):
        raise ValueError(f"{_label(arm)} or {_label(versus)} has runs with test predictions but no 'test' score; "
                         "rescore them or drop them")

    def statistic(means: Mapping[tuple, float]) -> float:
        return 100 * statistics.fmean(
            means[(t, k, *arms[0], validation_k)] - means[(t, k, *arms[1], validation_k)] for t, k in pairs)

    rows = hierarchical_bootstrap(runs_from_records(keep, _cell), statistic, n_resamples=resamples, seed=0,
                                  resample=("row",))
    row_variance = statistics.variance(rows.samples.tolist())
    run_variance = sum(
        run_variance_of_mean(keep, a, pairs, target_seeds=design.target_seeds, validation_k=validation_k)
        for a in arms if get_method(*a).source is None
    )
    values = [per_seed[s] for s in seeds]
    mean = seed_mean_with_rows(values, row_variance + run_variance)
    _, low, high = mean.interval(CONFIDENCE)
    return {
        "estimate": mean.mean, "low": low, "high": high, "se": mean.se,
        "df": mean.df if math.isfinite(mean.df) else None,  # None: infinite (the source seeds agree exactly)
        "p_greater": mean.p_above_zero(),
        "variance": {"source_seeds": statistics.variance(values) / len(values), "rows": row_variance,
                     "runs": run_variance},
        "per_source_seed": values, "source_seeds": seeds, "target_seeds": list(design.target_seeds),
        "complete": tuple(seeds) == design.source_seeds, "tasks": list(tasks), "k": ks,
        "arm": _label(arm), "versus": _label(versus),
    }


def _check_design(design: Design) -> None:
    missing = [m for m in (METHOD, *BASELINES) if m not in design.methods]
    if missing:
        raise ValueError(f"the grid plans no runs of {missing}; the pre-registered primary compares {METHOD} with "
                         f"{', '.join(BASELINES)}: add them to the config's methods")
    missing_k = [k for k in PRIMARY_K if k not in design.ks]
    if missing_k:
        raise ValueError(f"the grid plans no runs at k = {missing_k}; the pre-registered primary needs k ∈ "
                         f"{{{', '.join(PRIMARY_K)}}}: add them to the config's k")


def _covers_preregistered_seeds(design: Design) -> bool:
    """Whether the plan holds every source and target seed the pre-registration's verdict needs."""
    return (set(PREREGISTERED_SOURCE_SEEDS) <= set(design.source_seeds)
            and set(PREREGISTERED_TARGET_SEEDS) <= set(design.target_seeds))


def _versus_baselines(records: Sequence[dict[str, Any]], design: Design, tasks: Sequence[str], ks: Sequence[Any],
                      arm: Arm = METHOD, **kwargs: Any) -> dict[str, Any]:
    """``arm`` against each baseline, and arm − the best of them (descriptive: the best of four noisy means is biased
    up, so this is never a test), the latter only where every baseline ran on the same source seeds."""
    vs = {b: contrast(records, design, tasks, ks, arm, b, **kwargs) for b in BASELINES}
    found = [c for c in vs.values() if c is not None]
    same = len(found) == len(vs) and len({tuple(c["source_seeds"]) for c in found}) == 1
    return {"vs": vs, "best_other": min(c["estimate"] for c in found) if same else None}


def primary(records: Sequence[dict[str, Any]], design: Design, *, resamples: int = 2000) -> dict[str, Any] | None:
    """The four primary endpoints on the source seeds with every primary run, Holm's rejections, the margin, the
    verdict ("pending" until every planned source seed × target seed has run) and the co-primary's reading."""
    from mpt_nb.results import holm

    cells = {(t, k, m, "none", None) for t in design.tasks for k in PRIMARY_K for m in (METHOD, *BASELINES)}
    seeds = complete_source_seeds(records, cells, design)
    if len(seeds) < 2:
        return None
    endpoints = {b: contrast(records, design, design.tasks, PRIMARY_K, METHOD, b, source_seeds=seeds,
                             resamples=resamples) for b in BASELINES}
    rejected = dict(zip(BASELINES, holm([endpoints[b]["p_greater"] for b in BASELINES], ALPHA), strict=True))
    meets_margin = {b: endpoints[b]["high"] < MARGIN for b in BASELINES}
    complete = tuple(seeds) == design.source_seeds and _covers_preregistered_seeds(design)
    distill = endpoints["decomp"]
    return {
        "tasks": list(design.tasks), "k": list(PRIMARY_K), "source_seeds": seeds,
        "target_seeds": list(design.target_seeds), "complete": complete, "endpoints": endpoints,
        "plan_covers_preregistration": _covers_preregistered_seeds(design),
        "holm": rejected, "meets_margin": meets_margin,
        "verdict": outcome(rejected, meets_margin) if complete else PENDING,
        "distillation": {"estimate": distill["estimate"], "low": distill["low"], "high": distill["high"],
                         "verdict": distillation_reading(distill["low"], distill["high"]) if complete else PENDING},
    }


def analyse(records: Sequence[dict[str, Any]], design: Design, *, resamples: int = 2000) -> dict[str, Any]:
    """Every pre-registered number of the grid's records, judged against the grid's design."""
    from mpt_nb.methods import ABLATIONS
    from mpt_nb.results import standard_error

    check_records(records)
    _check_design(design)
    tasks, ks = list(design.tasks), list(design.ks)
    out: dict[str, Any] = {"tasks": tasks, "k": ks, "runs": len(records), "design": {
        "methods": list(design.methods), "source_seeds": list(design.source_seeds),
        "target_seeds": list(design.target_seeds)}}
    out["primary"] = primary(records, design, resamples=resamples)
    out["secondary"] = [{"task": t, "k": k, **_versus_baselines(records, design, [t], [k], resamples=resamples)}
                        for t in tasks for k in ks]
    out["true_few_shot"] = []
    validation_k = design.true_few_shot.get(TRUE_FEW_SHOT_K)
    if validation_k is not None:
        for t in [*tasks, None]:  # each target, then the mean over targets
            out["true_few_shot"].append({
                "task": t or "mean", "k": TRUE_FEW_SHOT_K, "validation_k": validation_k,
                **_versus_baselines(records, design, tasks if t is None else [t], [TRUE_FEW_SHOT_K],
                                    validation_k=validation_k, resamples=resamples),
            })
    out["target_start"] = None
    if TARGET_START in design.ablations:
        start_tasks, start_ks = design.ablations[TARGET_START]
        start = (ABLATIONS[TARGET_START].method, TARGET_START)
        out["target_start"] = {
            "question": ABLATIONS[TARGET_START].question, "tasks": list(start_tasks), "k": list(start_ks),
            "vs_mpt": contrast(records, design, start_tasks, start_ks, start, METHOD, resamples=resamples),
            **_versus_baselines(records, design, start_tasks, start_ks, start, resamples=resamples),
        }
    out["ablations"] = []
    for name, (ab_tasks, ab_ks) in design.ablations.items():
        if name == TARGET_START:
            continue
        ab = ABLATIONS[name]
        out["ablations"].append({
            "ablation": name, "question": ab.question, "tasks": list(ab_tasks), "k": list(ab_ks),
            "result": contrast(records, design, ab_tasks, ab_ks, (ab.method, name), METHOD, resamples=resamples),
        })
    out["test_se"] = {}
    # One run per target says how noisy its test set is: MPT at the first k, first target and source seeds.
    for t in tasks:
        runs = [r for r in records if _cell(r) == (t, ks[0], METHOD, "none", None) and r.get("test_predictions")]
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


def _name(method: str) -> str:
    from mpt_nb.methods import METHODS

    return METHODS[method].label


def _baselines_table(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> list[str]:
    head = [*keys, *(f"MPT − {_name(b)}" for b in BASELINES), "MPT − best other (biased; description)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        best = "—" if row["best_other"] is None else f"{row['best_other']:+.1f}"
        cells = [str(row[k]) for k in keys] + [_interval(row["vs"][b]) for b in BASELINES] + [best]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(summary: dict[str, Any]) -> str:
    """The analysis as Markdown."""
    p, design = summary["primary"], summary["design"]
    lines = ["## Primary endpoints (pre-registered: results/preregistration_v3.md)", ""]
    if p is None:
        lines.append("Not enough runs yet: fewer than two source seeds have every primary run.")
    else:
        lines += [
            f"Δ_b = mean over {len(p['tasks'])} targets, k ∈ {{{', '.join(p['k'])}}} and target seeds "
            f"{p['target_seeds']} of MPT − b, in points, per source seed, then over source seeds {p['source_seeds']}; "
            f"95% t-interval over the source seeds with the test rows' variance added (and, against PT, PT's own "
            f"runs'); p: one-sided test of MPT > b on the interval's statistic; Holm's step-down at α = {ALPHA}.", "",
            "| baseline | Δ_b (points) [95% interval] | per source seed | p (MPT > b) | Holm rejects | below +1 point |",
            "|---|---|---|---|---|---|",
        ]
        for b in BASELINES:
            e = p["endpoints"][b]
            per_seed = ", ".join(f"{v:+.1f}" for v in e["per_source_seed"])
            lines.append(f"| {_name(b)} | {_interval(e)} | {per_seed} | {e['p_greater']:.4f} | "
                         f"{'yes' if p['holm'][b] else 'no'} | {'yes' if p['meets_margin'][b] else 'no'} |")
        d = p["distillation"]
        lines += ["", f"Verdict: **{p['verdict']}**.", "",
                  f"Co-primary, distillation alone: Δ_decomp = {d['estimate']:+.1f} [{d['low']:+.1f}, "
                  f"{d['high']:+.1f}] points: **{d['verdict']}**."]
        if not p["plan_covers_preregistration"]:
            lines += ["", f"No verdict from this plan: it holds source seeds {design['source_seeds']} × target seeds "
                      f"{design['target_seeds']}, and the pre-registered verdict needs source seeds "
                      f"{list(PREREGISTERED_SOURCE_SEEDS)} × target seeds {list(PREREGISTERED_TARGET_SEEDS)}."]
        elif not p["complete"]:
            lines += ["", f"Provisional: these numbers come from source seeds {p['source_seeds']}. The verdict waits "
                      f"for all planned source seeds {design['source_seeds']} × target seeds "
                      f"{design['target_seeds']} of the primary cells (pre-registered)."]
    lines += ["", "## Secondary (exploratory; the same intervals, no multiplicity correction)", "",
              "### Per target and k (points, 95% interval)", "",
              *_baselines_table(summary["secondary"], ("task", "k"))]
    if summary["true_few_shot"]:
        first = summary["true_few_shot"][0]
        lines += ["", f"### True few-shot (k = {first['k']}, {first['validation_k']} validation rows per class)", "",
                  *_baselines_table(summary["true_few_shot"], ("task",))]
    start = summary["target_start"]
    if start is not None:
        lines += ["", f"### Target start from the source tasks' mean (`{TARGET_START}`: {start['question']}; mean "
                  f"over {len(start['tasks'])} targets, k ∈ {{{', '.join(start['k'])}}})", "",
                  f"Source-mean start − MPT's start at ones: {_interval(start['vs_mpt'])} points.", "",
                  *_baselines_table([{"start": "source mean", **start}], ("start",))]
    if summary["test_se"]:
        lines += ["", "### Test sets", "", "| target | rows | metric | standard error (points) | from the run |",
                  "|---|---|---|---|---|"]
        for t, se in summary["test_se"].items():
            lines.append(f"| {t} | {se['rows']:,} | {se['metric']} | {se['se_points']:.1f} | {se['run']} |")
    if summary["ablations"]:
        lines += ["", "## Ablations (variant − MPT, points, mean over targets and k, 95% interval)", "",
                  "| ablation | what it isolates | k | variant − MPT |", "|---|---|---|---|"]
        for row in summary["ablations"]:
            lines.append(f"| `{row['ablation']}` | {row['question']} | {', '.join(row['k'])} | "
                         f"{_interval(row['result'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="the grid's config: its plan is the design")
    parser.add_argument("--results", help="default: the config's output.results")
    parser.add_argument("--out", default="results/analysis_v3.md")
    parser.add_argument("--json", default="results/analysis_v3.json")
    parser.add_argument("--resamples", type=int, default=2000, help="the row bootstrap's resamples (pre-registered: "
                        "2000)")
    args = parser.parse_args(argv)
    from mpt_nb.files import atomic_write_text
    from mpt_nb.results import GridConfig, current, load_records, plan_runs

    def here(path: str) -> Path:
        return Path(path) if Path(path).is_absolute() else ROOT / path

    if not here(args.config).is_file():
        print(f"error: no grid config at {args.config}; pass the v3 grid's --config (it is written once "
              "benchmarks.suite_choice has chosen the suite)", file=sys.stderr)
        return 2
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
    print(("primary: not enough runs yet" if p is None else f"primary verdict: {p['verdict']}")
          + f"; wrote {args.out}, {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
