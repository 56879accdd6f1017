"""The self-checks of notebook 04 (target adaptation): ``exercise_N(globals())`` checks exercise N."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mpt_nb.checks import check_answer, check_defined, from_lesson
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import expected_trainable
from mpt_nb.results import standard_error
from mpt_nb.tasks import get_task

__all__ = ["exercise_1", "exercise_2"]


def exercise_1(ns: dict[str, Any]) -> None:
    """Checks ``init_target`` for r = 1, 2, 8: three ``nn.Parameter``s of shapes (l, d), (l, r), (r, d), P a copy of
    P*, P ∘ (u v) equal to P* at the start; then on the lesson's trained P*: its device, its start, its count."""
    init_target = check_defined("init_target", namespace=ns)
    p_star = torch.randn(3, 5)
    for r in (1, 2, 8):
        out = init_target(p_star, r)
        assert isinstance(out, tuple) and len(out) == 3, "return a tuple (P, u, v)"
        for name, t in zip("Puv", out, strict=True):
            assert isinstance(t, nn.Parameter), (
                f"your {name} is a {type(t).__name__}, not an nn.Parameter: wrap it (nn.Parameter(...)) so that an "
                "optimiser sees it and it gets a gradient"
            )
        P, u, v = out
        assert P.shape == (3, 5) and u.shape == (3, r) and v.shape == (r, 5), (
            f"r = {r}: got P {tuple(P.shape)}, u {tuple(u.shape)}, v {tuple(v.shape)}; expected (l, d), (l, r), (r, d)"
        )
        assert P.data_ptr() != p_star.data_ptr(), "P shares memory with P_star: copy it, or training changes P_star too"
        hint = " (with every entry 1, u v is r everywhere, not 1)" if torch.allclose(u @ v, torch.full((3, 5), float(r))) else ""
        assert torch.allclose(P * (u @ v), p_star, atol=1e-5), f"r = {r}: P ∘ (u v) does not start at P*{hint}"
    shared, l, d = from_lesson(ns, "shared", "l", "d")  # noqa: E741
    P, u, v = init_target(shared.shared.detach()[0], 4)
    assert P.device == u.device == v.device == shared.shared.device, "put P, u and v on P_star's device"
    assert torch.allclose(P * (u @ v), shared.shared[0], atol=1e-5), "does not start at the trained P*"
    count = sum(p.numel() for p in (P, u, v))
    assert count == expected_trainable("mpt", l, d, rank=4), (
        f"P, u and v hold {count:,} numbers; l·d + (l + d)·r = {expected_trainable('mpt', l, d, rank=4):,} for r = 4"
    )
    print("exercise 1: ok")


def exercise_2(ns: dict[str, Any]) -> None:
    """Checks the experiment on the target's own u v: ``alone_ex2`` is a copy of ``serving`` with P* and the other
    targets' u, v unchanged and the first target's u v = 1; ``preds_ex2`` covers that target's test split and came
    from ``alone_ex2``; ``answer_ex2``'s scores and standard error recomputed, and ``beyond_se`` following from
    them."""
    alone_ex2, preds_ex2 = check_defined("alone_ex2", "preds_ex2", namespace=ns)
    answer = check_answer("answer_ex2", values=("adapted", "p_star_alone", "se"), flags=("beyond_se",), namespace=ns)
    first = 0
    serving, targets = from_lesson(ns, "serving", "targets")
    assert isinstance(alone_ex2, type(serving)) and alone_ex2 is not serving, "alone_ex2 is a copy of serving, not serving"
    assert torch.equal(alone_ex2.shared, serving.shared), "keep P* as section 3 trained it: change only the first target's u, v"
    start = alone_ex2.u[first] @ alone_ex2.v[first]
    assert torch.allclose(start, torch.ones_like(start), atol=1e-6), "the first target's u v should be 1 everywhere"
    assert not torch.allclose(serving.u[first] @ serving.v[first], torch.ones_like(start)), (
        "serving's own u v changed back to 1 as well: copy serving before changing the copy"
    )
    for i in range(1, len(targets)):
        assert torch.equal(alone_ex2.u[i], serving.u[i]) and torch.equal(alone_ex2.v[i], serving.v[i]), (
            f"target {i}'s u, v changed: reset only the first target's"
        )
    ws, serving_scores = from_lesson(ns, "ws", "serving_scores")
    metric = get_task(targets[first]).metric
    test = ws.tokenised(targets[first], "test", task_id=first)
    assert len(preds_ex2.predictions) == len(test), f"preds_ex2 should cover {targets[first]}'s whole test split"
    # Re-scoring a slice (not the whole split) is enough to see that preds_ex2 came from alone_ex2 on this target.
    rows = test.select(range(min(32, len(test))))
    again = ws.predict(PromptedModel(ws.backbone, alone_ex2), targets[first], "test", task_id=first, rows=rows)
    agree = sum(a == b for a, b in zip(again.predictions, preds_ex2.predictions, strict=False))
    assert agree >= len(rows) - 1, (  # one row may flip on a near tie: the slice is batched differently
        f"preds_ex2 agrees with alone_ex2's predictions on only {agree} of the first {len(rows)} test rows: score "
        f"{targets[first]}'s test split with alone_ex2 and task_id={first}"
    )
    score = preds_ex2.score(metric)[metric]
    assert abs(answer["adapted"] - serving_scores[targets[first]]) < 1e-12, (
        f"answer_ex2['adapted'] is section 3's score on {targets[first]}: {serving_scores[targets[first]]:.3f}"
    )
    assert abs(answer["p_star_alone"] - score) < 1e-9, (
        f"answer_ex2['p_star_alone'] is {answer['p_star_alone']:.3f}, but preds_ex2 scores {score:.3f} on "
        f"{targets[first]}'s test split"
    )
    se = standard_error(metric, preds_ex2.predictions, preds_ex2.references)
    assert abs(answer["se"] - se) < 0.25 * se + 1e-9, f"answer_ex2['se'] is {answer['se']:.4f}; expected near {se:.4f}"
    assert bool(answer["beyond_se"]) == (answer["adapted"] - answer["p_star_alone"] > answer["se"]), (
        "beyond_se does not follow from your numbers: is adapted − p_star_alone larger than se?"
    )
    print(f"exercise 2: ok; {targets[first]} test {metric}: P* ∘ (u v) {answer['adapted']:.3f}, P* alone {score:.3f} "
          f"(standard error {se:.3f})")
