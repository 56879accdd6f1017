"""Suite v3 from the screening's verdicts, by a fixed rule (results/screening.md, "Choosing the suite").

Targets first, one per role in ``TARGET_ROLES``: the first task of each preference list that is learnable as a target
and shares no input text with a target already chosen; the third role takes an inference task when one qualifies,
else the first qualifying task of ``OTHER_TARGETS``. Then sources, one per kind in ``SOURCE_KINDS`` order, at most
``MAX_SOURCES``: the first task of the kind's list that is learnable as a source, is not a target, and shares no
input text with any task chosen so far. ``creak_explained`` (claims with their explanations) is a source only where
``creak_claim`` (the same claims) is in no role and its confirmed scores beat the negation-word rule on both seeds.
The suite must hold at least ``MIN_TARGETS`` targets and ``MIN_SOURCES`` sources (one per kind, so as many kinds);
otherwise the rule says which requirement fails, and no suite is chosen.

    .venv/bin/python -m benchmarks.suite_choice          # the suite the current records give (or what is missing)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# Targets: a sentiment task (the course's running example first), an intent task, and an inference task.
SENTIMENT = ("tweet_sentiment3", "amazon_sentiment", "nyt_sentiment", "tweet_sentiment", "movie_sentiment")
INTENT = ("clinc_domain", "snips_intent")
INFERENCE = ("sick_nli", "fever_symmetric", "creak_claim", "presupposition_nli")
OTHER_TARGETS = ("bbc_headlines", "question_type", "sms_spam")
TARGET_ROLES = (("sentiment", SENTIMENT), ("intent", INTENT), ("inference", INFERENCE))
# Sources: one task per kind, the kinds in this order, each kind's tasks in preference order.
SOURCE_KINDS = (
    ("sentiment", ("movie_sentiment", "amazon_sentiment", "nyt_sentiment", "tweet_sentiment", "tweet_sentiment3")),
    ("inference", ("fever_symmetric", "creak_claim", "sick_nli", "presupposition_nli", "creak_explained")),
    ("intent", ("snips_intent", "clinc_domain")),
    ("question_type", ("question_type",)),
    ("topic", ("bbc_headlines",)),
    ("spam", ("sms_spam",)),
)
MAX_SOURCES = 5
MIN_SOURCES = 4  # one per kind, so at least 4 kinds (the brief asks for 3)
MIN_TARGETS = 3  # one per role, so two that are not sentiment


def learnable(records: Sequence[dict[str, Any]], role: str) -> set[str]:
    """The tasks learnable in ``role`` under the screening's verdict rule (both seeds confirm)."""
    from benchmarks.screen import verdicts

    return {task for (task, r), verdict in verdicts(records).items() if r == role and verdict == "learnable"}


def undecided(records: Sequence[dict[str, Any]], role: str, tasks: Sequence[str]) -> set[str]:
    """The tasks of ``tasks`` whose verdict in ``role`` is not known yet (a seed not screened, none failing)."""
    from benchmarks.screen import verdicts

    known = verdicts(records)
    return {task for task in tasks if known.get((task, role), "incomplete") == "incomplete"}


def next_seed(records: Sequence[dict[str, Any]], task: str, role: str) -> int:
    """The first screening seed not yet run for ``task`` in ``role``."""
    from benchmarks.screen import SEEDS

    done = {r["seed"] for r in records if r["task"] == task and r["role"] == role}
    return next(seed for seed in SEEDS if seed not in done)


def _beats_negation_rule(records: Sequence[dict[str, Any]], task: str) -> bool:
    runs = [r for r in records if r["task"] == task and r["role"] == "source" and "negation_rule" in r]
    return len(runs) >= 2 and all(r["confirmed_score"] > r["negation_rule"]["score"] for r in runs)


def choose_suite(
    records: Sequence[dict[str, Any]], shares_text: Callable[[str, str], bool]
) -> tuple[dict[str, Any] | None, list[str]]:
    """({"targets": [...], "sources": [...], "source_kinds": [...]} or None, the reasons, one line each).

    ``shares_text(a, b)`` says whether two tasks share an input text (``mpt_nb.tasks.shared_texts``). Where the rule
    reaches a task whose verdict it needs but the screening has not given yet, no suite is chosen and the reasons
    end with the runs it waits for (``needed_runs``)."""
    suite, reasons, waiting = _apply_rule(records, shares_text)
    if waiting:
        runs = ", ".join(f"{task} as a {role} (seed {seed})" for task, role, seed in waiting)
        return None, [*reasons, f"no suite yet: the rule waits for {runs}"]
    return suite, reasons


def needed_runs(records: Sequence[dict[str, Any]], shares_text: Callable[[str, str], bool]) -> list[tuple[str, str, int]]:
    """The screening runs (task, role, seed) the rule reads next; empty once it can choose or rule out a suite.

    A task whose verdict is pending is taken as chosen while the rule goes on, so every later role and kind that
    could still need a run asks for it now; what a later verdict makes unnecessary is dropped when this is called
    again."""
    return _apply_rule(records, shares_text)[2]


def _apply_rule(
    records: Sequence[dict[str, Any]], shares_text: Callable[[str, str], bool]
) -> tuple[dict[str, Any] | None, list[str], list[tuple[str, str, int]]]:
    every_target = {t for _, preference in TARGET_ROLES for t in preference} | set(OTHER_TARGETS)
    every_source = {t for _, preference in SOURCE_KINDS for t in preference}
    as_target, as_source = learnable(records, "target"), learnable(records, "source")
    pending = {"target": undecided(records, "target", sorted(every_target)),
               "source": undecided(records, "source", sorted(every_source))}
    reasons: list[str] = []
    waiting: list[tuple[str, str, int]] = []
    targets: list[str] = []
    sources: list[str] = []

    def clashes(task: str) -> str | None:
        return next((other for other in targets + sources if shares_text(task, other)), None)

    def wait_for(task: str, role: str) -> None:
        waiting.append((task, role, next_seed(records, task, role)))

    for role, preference in TARGET_ROLES:
        # The inference role falls back to the other kinds when none of its own tasks qualifies (learnable and
        # free of shared text), so the fallbacks queue behind its preferences.
        options = [t for t in (*preference, *(OTHER_TARGETS if role == "inference" else ()))
                   if t in as_target or t in pending["target"]]
        chosen = None
        for task in options:
            other = clashes(task)
            if other is not None:
                reasons.append(f"target {task} passed over: it shares text with {other}")
                continue
            chosen = task
            if task in pending["target"]:
                wait_for(task, "target")
            break
        if chosen is None:
            reasons.append(f"no {role} target is learnable as a target and free of shared text")
            continue
        targets.append(chosen)
        if chosen not in pending["target"]:
            reasons.append(f"target ({role}): {chosen}")
    kinds: list[str] = []
    for kind, preference in SOURCE_KINDS:
        if len(sources) == MAX_SOURCES:
            break
        for task in preference:
            if task in targets or (task not in as_source and task not in pending["source"]):
                continue
            if task == "creak_explained" and ("creak_claim" in targets + sources or (
                    task not in pending["source"] and not _beats_negation_rule(records, task))):
                reasons.append("source creak_explained passed over: creak_claim is chosen, or the negation rule does as well")
                continue
            other = clashes(task)
            if other is not None:
                reasons.append(f"source {task} passed over: it shares text with {other}")
                continue
            sources.append(task)
            kinds.append(kind)
            if task in pending["source"]:
                wait_for(task, "source")
            else:
                reasons.append(f"source ({kind}): {task}")
            break
    if waiting:
        return None, reasons, waiting
    # One source per kind and one target per role: enough sources are enough kinds, and three targets hold two
    # that are not sentiment.
    missing = []
    if len(targets) < MIN_TARGETS:
        missing.append(f"{len(targets)} targets (at least {MIN_TARGETS})")
    if len(sources) < MIN_SOURCES:
        missing.append(f"{len(sources)} sources (at least {MIN_SOURCES}, one per kind)")
    if missing:
        return None, [*reasons, "no suite: " + "; ".join(missing)], []
    inference = [t for t in targets + sources if t in INFERENCE or t == "creak_explained"]
    reasons.append(f"inference tasks in the suite: {inference or 'none learnable'}")
    return {"targets": targets, "sources": sources, "source_kinds": kinds}, reasons, []


def text_overlaps(tasks: Sequence[str]) -> Callable[[str, str], bool]:
    """``shares_text`` over the real tasks' rows (every split, exact or case-folded), computed once for ``tasks``."""
    from mpt_nb.tasks import shared_texts

    pairs = shared_texts(list(tasks))
    clash = {frozenset(pair) for pair, texts in pairs.items() if texts}
    return lambda a, b: frozenset((a, b)) in clash


def main(argv: list[str] | None = None) -> int:
    from benchmarks.screen import CANDIDATES, RECORDS
    from mpt_nb.results import load_records

    records = load_records(ROOT / RECORDS, missing_ok=True)
    suite, reasons = choose_suite(records, text_overlaps(CANDIDATES))
    print("\n".join(reasons))
    if suite is not None:
        print(f"suite v3: sources {suite['sources']}, targets {suite['targets']}")
    return 0 if suite is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
