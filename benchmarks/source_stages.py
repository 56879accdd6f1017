"""The shipped source stages' training curves: did each teacher and shared stage converge within its budget?

Reads only the metadata of ``sources/<profile>/*.safetensors`` (what ``python -m mpt_nb train-sources`` wrote:
settings, validation curve, best step), loads no model and trains nothing. For every stage and seed it reports the
validation score at step 0, the best score and its step, the last score, and a verdict on the budget:

* **plateaued**: the best score came before the last evaluation, or the last one beat the best score of the run's
  first half by less than the tolerance (more steps would not have paid);
* **still rising**: the best score is the last one and it beat the first half's best by the tolerance or more
  (the pre-registration's rule: the first seed's curves set the budgets, so such a stage asks for more steps).

The tolerance is one binomial standard error of the best score on the validation rows the curve was scored on
(``max_validation`` per task; the mean of S tasks' scores on S times as many): a smaller gain is within the noise
of the validation split itself. ``--tolerance`` sets a fixed one instead.

It also reports each curve's recorded training time, each seed's total, and what is **still to train** for the
source seeds of the grid's config (``--config``), in the driver's order, with an estimate of the time left
from the recorded times of the stages already shipped.

Examples::

    .venv/bin/python -m benchmarks.source_stages                 # writes results/source_stages.md
    .venv/bin/python -m benchmarks.source_stages --folder /tmp/stages --out -
    .venv/bin/python -m benchmarks.source_stages --budget-check 0     # amendment 5's rule on seed 0 (exit 0/2/3)
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def noise_tolerance(score: float, rows: int) -> float:
    """One binomial standard error of a score measured on ``rows`` validation rows."""
    return math.sqrt(max(score * (1 - score), 1e-6) / rows)


def budget_verdict(evals: list[dict[str, float]], tolerance: float) -> str:
    """"plateaued" or "still rising" for one validation curve (see the module docstring)."""
    if len(evals) < 2:
        raise ValueError(f"a curve needs at least two evaluations to judge, got {len(evals)}")
    last_step = evals[-1]["step"]
    first_half = [e["metric"] for e in evals if e["step"] <= last_step / 2]
    best = max(evals, key=lambda e: e["metric"])
    rising = best["step"] == last_step and best["metric"] - max(first_half) >= tolerance
    return "still rising" if rising else "plateaued"


def stage_rows(folder: Path, tolerance: float | None = None) -> list[dict[str, Any]]:
    """One row per (stage, seed, curve): teachers give one curve per source task, shared stages one (mean score)."""
    from mpt_nb.sources import recorded_wall_time, stage_metadata

    rows = []
    for path in sorted(folder.glob("*.safetensors")):
        extra = stage_metadata(path)
        settings = extra["source_stage"]
        config, curves = settings["config"], extra["curves"]
        if settings["stage"]["kind"] == "teachers":
            named = [(task, curve) for task, curve in curves.items()]
            steps, rows_scored = config["teacher_steps"], config["max_validation"]
        else:
            named = [("mean of sources", curves)]
            steps, rows_scored = config["distill_steps"], config["max_validation"] * len(settings["source_tasks"])
        stage = path.name.split("-seed")[0]
        for what, curve in named:
            evals = curve["evals"]
            best = max(evals, key=lambda e: e["metric"])
            tol = tolerance if tolerance is not None else noise_tolerance(best["metric"], rows_scored)
            rows.append({
                "stage": stage, "seed": settings["seed"], "curve": what, "steps": steps,
                "ran": curve.get("steps", evals[-1]["step"]), "stopped_early": curve.get("stopped_early", False),
                "start": evals[0]["metric"], "best": best["metric"], "best_step": best["step"],
                "last": evals[-1]["metric"], "evals": evals, "tolerance": tol, "verdict": budget_verdict(evals, tol),
                "wall_time_s": curve.get("wall_time_s"),  # None in stages trained before it was recorded
                "stage_wall_time_s": recorded_wall_time(curves), "file": path.name,
            })
    rows.sort(key=lambda r: (r["seed"], r["stage"] != "teachers", r["stage"], r["curve"]))
    return rows


def budget_check(rows: list[dict[str, Any]], seed: int, profile_name: str = "offline") -> tuple[int, str]:
    """Pre-registration amendment 5: are the main methods' shared stages of ``seed``, under the profile's current
    settings, all saved and none still rising at its cap? (exit code, one line): 0 the cap stays, 3 one is still
    rising (the cap doubles for every shared stage), 2 one is not saved yet. The rule decides once, before seed + 1's
    shared stages train: once one of those is saved, it stands (0), whatever a stage of ``seed`` retrained later
    (amendment 6) shows."""
    from mpt_nb.methods import source_stages
    from mpt_nb.profiles import get_profile
    from mpt_nb.sources import stage_file_name

    profile = get_profile(profile_name)
    found = {r["file"]: r for r in rows}
    shared = [s for s in source_stages() if s.kind != "teachers"]
    wanted = {s.slug(profile.rank): stage_file_name(profile, s, seed) for s in shared}
    cap = profile.distill_steps
    if any(stage_file_name(profile, s, seed + 1) in found for s in shared):
        return 0, (f"seed {seed}: amendment 5 was decided before seed {seed + 1}'s shared stages trained, and some are "
                   f"saved: the {cap}-step cap stands (preregistration.md)")
    missing = [slug for slug, name in wanted.items() if name not in found]
    if missing:
        return 2, f"seed {seed}: not saved yet under the current settings: {', '.join(missing)} (train-sources)"
    rising = [slug for slug, name in wanted.items() if found[name]["verdict"] == "still rising"]
    if rising:
        return 3, (f"seed {seed}: still rising at the {cap}-step cap: {', '.join(rising)}; amendment 5: the cap of every "
                   f"shared stage doubles to {2 * cap} (distill_steps in mpt_nb/profiles.py), seed {seed} retrains")
    return 0, f"seed {seed}: all {len(wanted)} main shared stages plateaued within the {cap}-step cap; amendment 5: it stays"


def still_to_train(
    rows: list[dict[str, Any]], folder: Path, seeds: list[int], profile_name: str = "offline"
) -> list[dict[str, Any]]:
    """The stages not shipped yet for ``seeds`` under the profile's current settings, in the order
    ``benchmarks/reproduce_v2.sh`` trains them (the main methods' stages of every seed, then the ablations'), each with
    its resumable state's step (if one is under ``partial/``) and an estimate of the time left: the median recorded
    time of the same stage on the seeds shipped (else of every shipped shared stage: a proxy), less the share of its
    step budget a resumable state has done."""
    from mpt_nb.__main__ import training_order
    from mpt_nb.methods import TEACHERS
    from mpt_nb.profiles import get_profile
    from mpt_nb.sources import stage_file_name

    profile = get_profile(profile_name)
    shipped = {r["file"]: (r["stage"], r["stage_wall_time_s"]) for r in rows}

    def median(slugs: set[str]) -> float | None:
        times = sorted(t for slug, t in shipped.values() if slug in slugs and t is not None)
        return times[len(times) // 2] if times else None

    shared_slugs = {slug for slug, _ in shipped.values()} - {TEACHERS.slug(profile.rank)}
    main = training_order(ablations=False)
    order = [(s, seed) for seed in seeds for s in main]
    order += [(s, seed) for seed in seeds for s in training_order() if s not in main]
    left = []
    for stage, seed in order:
        name = stage_file_name(profile, stage, seed)
        if name in shipped:
            continue
        slug = stage.slug(profile.rank)
        whole = median({slug})
        proxy = whole is None and stage != TEACHERS
        if proxy:
            whole = median(shared_slugs)
        states = sorted((folder / "partial").glob(name.removesuffix(".safetensors") + "*.state.safetensors"))
        steps = [_state_step(p) for p in states]
        budget = profile.teacher_steps if stage == TEACHERS else profile.distill_steps
        done = min(steps) / budget if steps and stage != TEACHERS else 0.0  # teachers: one state per task
        left.append({
            "seed": seed, "stage": slug, "main": stage in main, "state_steps": steps, "proxy": proxy,
            "estimate_s": None if whole is None else whole * (1 - done),
        })
    return left


def _state_step(path: Path) -> int:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return int((f.metadata() or {}).get("step", 0))


def render(rows: list[dict[str, Any]], folder: str, left: list[dict[str, Any]] | None = None) -> str:
    lines = [
        f"# Source stages in `{folder}`: convergence",
        "",
        "Written by `benchmarks/source_stages.py` from the stages' metadata (validation curves recorded while "
        "training; teachers per source task, shared stages as the mean over the source tasks). A curve is **still "
        "rising** when its best score is its last and beats the best of the run's first half by the tolerance or "
        "more: one binomial standard error of the best score on the rows scored (validation noise).",
        "",
        "| seed | stage | curve | steps (of budget) | step 0 | best (step) | last | curve (step: val) | tolerance | budget | time (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        curve = ", ".join(f"{e['step']}: {e['metric']:.2f}" for e in r["evals"])
        lines.append(
            f"| {r['seed']} | {r['stage']} | {r['curve']} | {r['ran']} of {r['steps']}"
            f"{' (stopped: plateau)' if r['stopped_early'] else ''} | {r['start']:.3f} | "
            f"{r['best']:.3f} ({r['best_step']}) | {r['last']:.3f} | {curve} | {r['tolerance']:.3f} | {r['verdict']} | "
            f"{_seconds(r['wall_time_s'])} |"
        )
    rising = [r for r in rows if r["verdict"] == "still rising"]
    lines += ["", f"{len(rows)} curves, {len(rising)} still rising"
              + (": " + ", ".join(f"seed {r['seed']} {r['stage']} {r['curve']}" for r in rising) if rising else ".")]
    lines += ["", "Training time per seed (training and validation, summed over the stages shipped and over resumed "
              "sessions, on this shared 2-core host; the host's speed varies up to 2x between days):", ""]
    for seed in sorted({r["seed"] for r in rows}):
        times = [r["wall_time_s"] for r in rows if r["seed"] == seed]
        known = [t for t in times if t is not None]
        missing = len(times) - len(known)
        lines.append(f"- seed {seed}: {_seconds(sum(known))} s ({sum(known) / 3600:.1f} h) over {len(known)} curve(s)"
                     + (f"; {missing} curve(s) record no time (trained before it was recorded)" if missing else ""))
    if left is not None:
        lines += _render_left(left)
    return "\n".join(lines) + "\n"


def _render_left(left: list[dict[str, Any]]) -> list[str]:
    if not left:
        return ["", "## Still to train", "", "Nothing: every planned stage is shipped."]
    lines = ["", "## Still to train", "",
             "What is not shipped yet for the grid's source seeds, in the order `benchmarks/reproduce_v2.sh` trains "
             "it. Estimate of the time left: the median recorded time of the same stage on the seeds shipped, less "
             "the share of its step budget a resumable state has done (an upper bound for a stage that stops on a "
             "plateau); * marks a stage no seed has yet, estimated by the median of every shipped shared stage.", "",
             "| seed | stage | for | resumable state | estimate left (s) |", "|---|---|---|---|---|"]
    for r in left:
        state = ", ".join(f"step {s}" for s in r["state_steps"]) or "none"
        lines.append(f"| {r['seed']} | {r['stage']} | {'main methods' if r['main'] else 'ablations'} | {state} | "
                     f"{_seconds(r['estimate_s'])}{' *' if r['proxy'] else ''} |")
    lines.append("")
    for main, what in ((True, "main methods'"), (False, "ablations'")):
        part = [r for r in left if r["main"] == main]
        if part:
            known = [r["estimate_s"] for r in part if r["estimate_s"] is not None]
            lines.append(f"- {len(part)} {what} stage(s) left: ~{sum(known) / 3600:.1f} h"
                         + (f" ({len(part) - len(known)} without an estimate)" if len(part) > len(known) else ""))
    return lines


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default=None, help="default: the offline profile's shipped folder")
    parser.add_argument("--out", default="results/source_stages.md", help="'-' prints instead")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="a fixed gain that counts as still rising (default: one standard error of the score)")
    parser.add_argument("--config", default="configs/offline_v2.yaml",
                        help="the grid whose source seeds 'Still to train' covers ('' leaves that section out)")
    parser.add_argument("--budget-check", type=int, metavar="SEED", default=None,
                        help="also apply pre-registration amendment 5 to this seed's main shared stages: exit 0 if "
                        "the cap stays, 3 if one is still rising (the cap doubles), 2 if one is not saved yet")
    args = parser.parse_args(argv)

    from mpt_nb.files import atomic_write_text
    from mpt_nb.paths import display_path
    from mpt_nb.sources import shipped_dir

    folder = Path(args.folder) if args.folder else shipped_dir("offline")
    rows = stage_rows(folder, args.tolerance)
    if not rows:
        print(f"source_stages.py: error: no source stages in {display_path(folder)}; "
              "python -m mpt_nb train-sources writes them", file=sys.stderr)
        return 2
    left = None
    if args.config:
        from mpt_nb.results import GridConfig

        config = GridConfig.from_yaml(args.config if Path(args.config).is_absolute() else ROOT / args.config)
        left = still_to_train(rows, folder, list(config.source_seeds or [0]), config.profile)
    text = render(rows, display_path(folder), left)
    if args.out == "-":
        print(text, end="")
    else:
        atomic_write_text(ROOT / args.out, text)
        print(f"wrote {args.out}: {len(rows)} curves, {sum(r['verdict'] == 'still rising' for r in rows)} still rising")
    if args.budget_check is not None:
        code, line = budget_check(rows, args.budget_check)
        print(f"budget check: {line}")
        return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
