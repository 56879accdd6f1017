"""The self-checks of notebook 03 (prompt distillation): ``exercise_N(globals())`` checks exercise N."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import softmax
from scipy.stats import entropy

from mpt_nb.checks import check_answer, check_defined, from_lesson
from mpt_nb.prompts import MultitaskPrompt

__all__ = ["exercise_1", "exercise_2"]


def exercise_1(ns: dict[str, Any]) -> None:
    """Checks the experiment without distillation: ``stage_ex1`` differs from MPT's stage in ``distill`` only,
    ``student_ex1`` is a new MultitaskPrompt trained for section 4's steps with no distillation term logged;
    ``answer_ex1``'s mean agreements (section 5's, and the new student's recomputed) and ``drops`` following from
    them."""
    stage_ex1, student_ex1, run_ex1 = check_defined("stage_ex1", "student_ex1", "run_ex1", namespace=ns)
    answer = check_answer("answer_ex1", values=("agreement", "agreement_0"), flags=("drops",), namespace=ns)
    mpt_stage, shared, profile = from_lesson(ns, "mpt_stage", "shared", "profile")
    changed = sorted(f for f in ("distill", "decompose", "shared_init", "rank", "distill_terms")
                     if getattr(stage_ex1, f) != getattr(mpt_stage, f))
    assert changed == ["distill"], (
        f"stage_ex1 should differ from MPT's stage in distill only; it differs in {changed or 'nothing'}"
    )
    assert isinstance(student_ex1, MultitaskPrompt) and student_ex1 is not shared, (
        "student_ex1 should be the new MultitaskPrompt that distill_shared_prompt returned"
    )
    assert run_ex1.steps == profile.distill_steps or run_ex1.stopped_early, (
        f"train {profile.distill_steps} steps as section 4 did (fewer only if its validation score plateaued)"
    )
    assert all("loss_logits" not in h for h in run_ex1.history), (
        "run_ex1 logged distillation terms: train stage_ex1, the stage without distillation"
    )
    per_task, agreement_with_teachers = from_lesson(ns, "per_task", "agreement_with_teachers")
    mean_lambda = float(np.mean([v["agreement"] for v in per_task.values()]))
    assert abs(answer["agreement"] - mean_lambda) < 1e-9, f"answer_ex1['agreement'] is section 5's mean, {mean_lambda:.3f}"
    mean_0 = float(np.mean(list(agreement_with_teachers(student_ex1).values())))
    assert abs(answer["agreement_0"] - mean_0) < 1e-9, (
        f"answer_ex1['agreement_0'] is {answer['agreement_0']:.3f}, but student_ex1 agrees with the teachers on "
        f"{mean_0:.3f} of the validation rows (mean over the source tasks)"
    )
    assert bool(answer["drops"]) == (answer["agreement_0"] < answer["agreement"]), (
        f"drops does not follow from your numbers (with distillation: {answer['agreement']:.3f}, without: "
        f"{answer['agreement_0']:.3f})"
    )
    print(f"exercise 1: ok; mean agreement with the teachers: with distillation {mean_lambda:.3f}, without {mean_0:.3f}")


def exercise_2(ns: dict[str, Any]) -> None:
    """Checks ``mean_entropy`` (uniform rows give log C, one-hot rows 0 without NaN, other rows scipy's value), then
    ``answer_ex2``: every source task's normalised entropy at T = 1, the profile's T and 4, recomputed from the
    teachers' validation logits, and ``soft_from`` following from that table."""
    mean_entropy = check_defined("mean_entropy", namespace=ns)
    h = mean_entropy(np.zeros((3, 4)), 1.0)
    assert abs(h - np.log(4)) < 1e-6, f"equal logits are the uniform distribution, entropy log C = {np.log(4):.4f}; got {h}"
    h = mean_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]), 1.0)
    assert np.isfinite(h), (
        "NaN or inf for very confident rows: a probability underflowed to 0 and log(0) crept in; compute "
        "log-probabilities stably (subtract the row's maximum, or clamp the probabilities)"
    )
    assert abs(h) < 1e-6, f"a one-hot distribution has entropy 0, got {h}"
    rows = np.array([[3.0, 1.0, 0.0, -1.0], [0.0, 2.0, 0.0, 0.0], [1.0, 1.0, 1.0, 5.0]])
    want = float(np.mean(entropy(softmax(rows / 2.0, axis=1), axis=1)))
    assert abs(mean_entropy(rows, 2.0) - want) < 1e-6, (
        f"mean_entropy(rows, T=2) should be {want:.4f} (entropy of each row's softmax(row / T), averaged over the "
        f"rows), got {mean_entropy(rows, 2.0):.4f}"
    )
    answer_ex2 = check_defined("answer_ex2", namespace=ns)
    assert isinstance(answer_ex2, dict) and {"normalised", "soft_from"} <= set(answer_ex2), (
        "answer_ex2 should be {'normalised': {task: {T: value}}, 'soft_from': T or None}"
    )
    profile, sources, teacher_val_logits = from_lesson(ns, "profile", "sources", "teacher_val_logits")
    temps = sorted({1.0, float(profile.temperature), 4.0})
    table = {}
    for task in sources:
        logits = teacher_val_logits[task].astype(np.float64)
        table[task] = {
            t: float(np.mean(entropy(softmax(logits / t, axis=1), axis=1))) / np.log(logits.shape[1]) for t in temps
        }
        for t in temps:
            mine = answer_ex2["normalised"].get(task, {}).get(t)
            assert mine is not None, f"answer_ex2['normalised'][{task!r}][{t}] is missing"
            assert abs(mine - table[task][t]) < 1e-5, (
                f"{task} at T = {t}: your normalised entropy is {mine:.4f}, the teacher's is {table[task][t]:.4f} "
                "(mean entropy of softmax(logits / T) over the validation rows, divided by log C)"
            )
    soft = next((t for t in temps if all(table[task][t] > 0.5 for task in sources)), None)
    assert answer_ex2["soft_from"] == soft, (
        "soft_from does not follow from your table: the smallest T at which every task's normalised entropy is above "
        "0.5, or None if there is none"
    )
    print("exercise 2: ok; teachers' normalised entropy " + "; ".join(
        f"{task}: " + ", ".join(f"T={t:g} {v:.2f}" for t, v in row.items()) for task, row in table.items()
    ))
