"""Screening: can the frozen offline model learn a candidate task with a soft prompt at an affordable budget?

For every candidate task, one vanilla prompt (a teacher) is trained alone and its validation score read at step 0
(the prompt sampled from the vocabulary: zero-shot with a random prompt) and every ``--eval-every`` steps, next to
the task's chance level (the best constant answer on the same validation rows). A task whose curve never rises
clearly above chance teaches nothing in a source mixture or as a target, so the suite (``mpt_nb.tasks``) keeps only
tasks that pass. Each finished task is appended to the results file (whole line + fsync), so the script resumes.

Settings are the offline profile's (learning rate, batch, warm-up, l) except those below, which are our choice for
screening: up to 128 input tokens (the NLI tasks' premises are long), 200 validation rows, 200 steps. Hyperparameters
are not searched here: a task that fails at the profile's learning rate is re-screened at a second one
(``--lr``), recorded as its own line.

Examples::

    flock /tmp/mpt_heavy.lock .venv/bin/python benchmarks/screen.py --time-budget 3000
    .venv/bin/python benchmarks/screen.py --render-only
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CANDIDATES = (
    # BIG-bench (new kinds: NLI / fact verification, yes/no questions, commonsense, paraphrase, intent, support)
    "fact_verification", "epistemic_nli", "presupposition_nli", "strategy_qa", "winowhy", "implicatures",
    "sports_plausibility", "metaphor_paraphrase", "intent_recognition", "social_support",
    # the offline suite v1
    "movie_sentiment", "tweet_sentiment", "question_type", "sms_spam", "amazon_sentiment", "nyt_sentiment",
    "tweet_sentiment3",
)


def chance_level(metric: str, labels: list[int], num_classes: int) -> float:
    """The task's metric for the best constant answer (always the same class) on these rows."""
    from mpt_nb.metrics import compute_metric

    return max(compute_metric(metric, [c] * len(labels), labels)[metric] for c in range(num_classes))


def screen_task(task: str, *, steps: int, eval_every: int, lr: float, seed: int, max_validation: int,
                max_input_tokens: int) -> dict[str, Any]:
    """Train one teacher on ``task`` and return its validation curve beside chance."""
    from mpt_nb.pipeline import Workspace, train_teachers
    from mpt_nb.profiles import get_profile
    from mpt_nb.tasks import get_task, load_task_splits

    profile = get_profile(
        "offline", source_tasks=(task,), target_tasks=(), teacher_steps=steps, eval_every=eval_every,
        eval_at_start=True, lr=lr, max_validation=max_validation, max_input_tokens=max_input_tokens,
    )
    ws = Workspace.from_profile(profile)
    splits = ws.splits(task)
    pool = {s: len(rows) for s, rows in load_task_splits(task).items()}  # uncapped: what the task holds
    t = get_task(task)
    labels = list(splits["validation"]["label"])
    start = time.perf_counter()
    _, (run,) = train_teachers(ws, seed=seed)
    chance = chance_level(t.metric, labels, t.num_classes)
    best = run.best_metric
    n = len(labels)
    # Binomial standard error of an accuracy-like score at the best score: the yardstick for "clearly above chance".
    se = math.sqrt(max(best * (1 - best), 1e-9) / n)
    return {
        "task": task,
        "task_type": t.task_type,
        "metric": t.metric,
        "classes": t.num_classes,
        "rows": pool,
        "validation_rows": len(labels),
        "steps": steps,
        "eval_every": eval_every,
        "lr": lr,
        "seed": seed,
        "max_input_tokens": max_input_tokens,
        "chance": chance,
        "curve": run.evals,
        "best": best,
        "best_step": run.best_step,
        "validation_se": se,
        "learnable": best - chance > 2 * se,
        "final_loss": sum(h["loss"] for h in run.history[-10:]) / min(10, len(run.history)),
        "wall_time_s": round(time.perf_counter() - start, 1),
        "date": time.strftime("%Y-%m-%d"),
    }


def _key(r: dict[str, Any]) -> tuple:
    return (r["task"], r["steps"], r["lr"], r["seed"], r["max_input_tokens"])


def render(records: list[dict[str, Any]]) -> str:
    """The screening table as Markdown."""
    lines = [
        "| task | kind | metric | train / val / test rows | chance | step 0 | curve (step: val) | best − chance | ±2 SE | "
        "verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        curve = ", ".join(f"{e['step']}: {e['metric']:.2f}" for e in r["curve"])
        rows = r["rows"]
        lines.append(
            f"| {r['task']} (lr {r['lr']:g}) | {r['task_type']} | {r['metric']} | "
            f"{rows['train']:,} / {rows['validation']:,} / {rows['test']:,} | {r['chance']:.3f} | "
            f"{r['curve'][0]['metric']:.3f} | {curve} | {r['best'] - r['chance']:+.3f} | {2 * r['validation_se']:.3f} | "
            f"{'learnable' if r['learnable'] else 'not above chance'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--lr", type=float, default=None, help="default: the offline profile's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-validation", type=int, default=200)
    parser.add_argument("--max-input-tokens", type=int, default=128)
    parser.add_argument("--results", default="results/screening.jsonl")
    parser.add_argument("--table", default="results/screening.md")
    parser.add_argument("--time-budget", type=float, default=None, help="seconds; no new task starts after it")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args(argv)

    from mpt_nb.profiles import get_profile
    from mpt_nb.results import append_record, load_records

    lr = args.lr if args.lr is not None else get_profile("offline").lr
    results = ROOT / args.results
    records = load_records(results) if results.exists() else []
    done = {_key(r) for r in records}
    start = time.perf_counter()
    if not args.render_only:
        for task in args.tasks:
            key = (task, args.steps, lr, args.seed, args.max_input_tokens)
            if key in done:
                continue
            if args.time_budget is not None and time.perf_counter() - start > args.time_budget:
                print(f"time budget spent; run again to continue ({task} and later remain)")
                break
            record = screen_task(
                task, steps=args.steps, eval_every=args.eval_every, lr=lr, seed=args.seed,
                max_validation=args.max_validation, max_input_tokens=args.max_input_tokens,
            )
            append_record(results, record)
            records.append(record)
            print(f"{task}: chance {record['chance']:.3f}, best {record['best']:.3f} at step {record['best_step']} "
                  f"({record['wall_time_s']:.0f} s)", flush=True)
    order = {t: i for i, t in enumerate(CANDIDATES)}
    records.sort(key=lambda r: (order.get(r["task"], len(order)), r["lr"]))
    table = ROOT / args.table
    from mpt_nb.files import atomic_write_text

    atomic_write_text(table, render(records) + "\n")
    print(f"wrote {args.table} ({len(records)} screened)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
