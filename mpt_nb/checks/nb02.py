"""The self-checks of notebook 02 (prompt decomposition): ``exercise_N(globals())`` checks exercise N."""

from __future__ import annotations

from typing import Any

import torch

from mpt_nb.checks import check_answer, check_defined, from_lesson
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import MultitaskPrompt, count_trainable

__all__ = ["exercise_1", "exercise_2", "exercise_3"]


def exercise_1(ns: dict[str, Any]) -> None:
    """Checks ``compose`` on a random mixed batch, every row against its own task's P* ∘ (u_i v_i), and against
    ``MultitaskPrompt``."""
    compose = check_defined("compose", namespace=ns)
    shared, u, v = torch.randn(1, 5, 7), torch.randn(3, 5, 2), torch.randn(3, 2, 7)
    ids = torch.tensor([2, 0, 2, 1])
    out = compose(shared, u, v, ids)
    assert tuple(out.shape) == (4, 5, 7), f"expected (batch, l, d) = (4, 5, 7), got {tuple(out.shape)}"
    for row, task in enumerate(ids.tolist()):
        assert torch.allclose(out[row], shared[0] * (u[task] @ v[task]), atol=1e-5), (
            f"row {row} is not P* ∘ (u_{task} v_{task}): index u and v by task_ids, multiply them as matrices (l, r) "
            "@ (r, d), and take the element-wise product with P*"
        )
    mp = MultitaskPrompt(5, 7, num_tasks=3, rank=2, low_rank_init="normal", seed=1)
    assert torch.allclose(compose(mp.shared, mp.u, mp.v, ids), mp(ids)), "does not match MultitaskPrompt"
    print("exercise 1: ok")


def exercise_2(ns: dict[str, Any]) -> None:
    """Checks ``is_rank1_update``: True (a bool) for a rank-1 update and for one with a sign-flipped row, False for
    a rank-2 pattern and for an additive shift, and the lesson's two examples."""
    is_rank1_update = check_defined("is_rank1_update", namespace=ns)
    gen = torch.Generator().manual_seed(1)
    p = torch.randn(6, 9, generator=gen)
    col, row = 0.5 + torch.rand(6, 1, generator=gen), 0.5 + torch.rand(1, 9, generator=gen)
    assert is_rank1_update(p, p * (col @ row)) is True, (
        "P* ∘ (u v) is a rank-1 update, but your function does not return True (a tolerance too strict, or not a bool?)"
    )
    col[2] = -col[2]
    assert is_rank1_update(p, p * (col @ row)) is True, "a sign flip of a whole row is still rank 1"
    pattern = torch.ones(6, 9)
    pattern[0, :4], pattern[1, 4:], pattern[0, 4:], pattern[1, :4] = 3.0, 3.0, 0.3, 0.3
    assert is_rank1_update(p, p * pattern) is False, "this 'up here, down there' scaling has rank 2: return False"
    assert is_rank1_update(p, p + 0.1) is False, "an additive shift is not a multiplicative rank-1 update"
    P_star, u, v, two_way_pattern = from_lesson(ns, "P_star", "u", "v", "two_way_pattern")
    assert is_rank1_update(P_star, P_star * (u @ v)), "the lesson's P* ∘ (u v) is a rank-1 update: return True"
    assert not is_rank1_update(P_star, P_star * two_way_pattern), "the lesson's two-way pattern has rank 2: return False"
    print("exercise 2: ok")


def exercise_3(ns: dict[str, Any]) -> None:
    """Checks the experiment on the rank r: ``joint_ex3`` is a trained rank-4 MultitaskPrompt on section 5's tasks
    and sizes, trained for section 5's steps; ``answer_ex3``'s mean validation scores (recomputed), the parameter
    difference and ``r4_better`` following from the scores."""
    joint_ex3, run_ex3 = check_defined("joint_ex3", "run_ex3", namespace=ns)
    answer = check_answer("answer_ex3", values=("r1", "r4", "extra_params"), flags=("r4_better",), namespace=ns)
    assert isinstance(joint_ex3, MultitaskPrompt), "joint_ex3 should be the MultitaskPrompt distill_shared_prompt returned"
    assert joint_ex3.rank == 4, f"joint_ex3 has rank r = {joint_ex3.rank}: pass rank=4 to distill_shared_prompt"
    S, joint, profile = from_lesson(ns, "S", "joint", "profile")
    assert joint_ex3.num_tasks == S and joint_ex3.shared.shape == joint.shared.shape, (
        "train joint_ex3 on the same source tasks, with the same l and d, as section 5"
    )
    assert run_ex3.steps == profile.distill_steps or run_ex3.stopped_early, (
        f"train {profile.distill_steps} steps as section 5 did, fewer only on a validation plateau (you trained {run_ex3.steps})"
    )
    assert not torch.allclose(joint_ex3.u.detach().cpu(), torch.full(tuple(joint_ex3.u.shape), 0.5)), (
        "u is still at its start (1/√r everywhere): the decomposition must train (decompose=True)"
    )
    ws, sources, scores = from_lesson(ns, "ws", "sources", "scores")
    model = PromptedModel(ws.backbone, joint_ex3)
    r4 = sum(ws.headline(model, task, task_id=i) for i, task in enumerate(sources)) / S
    assert abs(answer["r4"] - r4) < 1e-9, (
        f"answer_ex3['r4'] is {answer['r4']:.3f}, but joint_ex3 scores {r4:.3f} on average over the source tasks' "
        "validation splits (score task i with task_id=i)"
    )
    r1 = sum(own for own, _ in scores.values()) / S
    assert abs(answer["r1"] - r1) < 1e-9, f"answer_ex3['r1'] is section 5's mean score with P̂_i, {r1:.3f}"
    extra = count_trainable(joint_ex3) - count_trainable(joint)
    assert answer["extra_params"] == extra, (
        f"answer_ex3['extra_params'] is {answer['extra_params']}: count both prompts' trainable parameters "
        "(count_trainable) and subtract"
    )
    assert bool(answer["r4_better"]) == (answer["r4"] > answer["r1"]), (
        f"r4_better does not follow from your numbers (r = 4: {answer['r4']:.3f}, r = 1: {answer['r1']:.3f})"
    )
    print(f"exercise 3: ok; mean validation r = 1 {r1:.3f}, r = 4 {r4:.3f}, for {extra:,} more parameters")
