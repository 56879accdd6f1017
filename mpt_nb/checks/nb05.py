"""The self-checks of notebook 05 (few-shot): ``exercise_N(globals())`` checks exercise N."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from mpt_nb.checks import check_answer, check_defined, from_lesson, is_flag
from mpt_nb.results import standard_error, t_interval

__all__ = ["exercise_1", "exercise_2", "exercise_3", "exercise_4"]


def exercise_1(ns: dict[str, Any]) -> None:
    """Checks ``k_shot_indices`` on 12 labelled rows: no repeats (also with k = a class's size), exactly k rows of
    every class, the same rows for the same seed, a random draw (not the first k rows; seeds differ; every row
    reachable) and a ValueError when a class has fewer than k rows."""
    k_shot_indices = check_defined("k_shot_indices", namespace=ns)
    labels = [0, 1, 1, 0, 2, 2, 1, 0, 2, 0, 1, 2]  # 4 rows of each class
    idx = list(k_shot_indices(labels, 2, seed=0))
    assert len(idx) == len(set(idx)), f"a row is drawn twice ({sorted(idx)}): draw without replacement"
    assert sorted(Counter(np.asarray(labels)[idx]).values()) == [2, 2, 2], "draw exactly k rows of every class"
    assert list(k_shot_indices(labels, 2, seed=0)) == idx, "the same seed must give the same rows"
    for seed in range(5):
        drawn = sorted(k_shot_indices(labels, 4, seed=seed))
        assert drawn == list(range(len(labels))), (
            f"with k = 4, every class's 4 rows must each be drawn once; seed {seed} gave {drawn}: draw without replacement"
        )
    draws = {tuple(sorted(k_shot_indices(labels, 2, seed=s))) for s in range(20)}
    first = tuple(sorted(i for c in (0, 1, 2) for i in np.flatnonzero(np.asarray(labels) == c)[:2]))
    assert draws != {first}, "you take the first k rows of each class: draw them at random, with the seed"
    assert len(draws) > 1, "every seed draws the same rows: use numpy.random.default_rng(seed) for the draw"
    never = sorted(set(range(len(labels))) - {i for draw in draws for i in draw})
    assert not never, f"rows {never} are never drawn over 20 seeds: every row of a class must be possible"
    try:
        k_shot_indices(labels, 5, seed=0)
        raise AssertionError("every class has only 4 rows but k = 5: raise a ValueError")
    except ValueError:
        pass
    print("exercise 1: ok")


def _seeds_to_exclude_zero(mean: float, sd: float) -> int | None:
    """The smallest n ≥ 2 with t(0.975, n − 1)·sd/√n < |mean| (up to 10,000), or None."""
    return next((n for n in range(2, 10_001) if scipy_stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) < abs(mean)), None)


def exercise_2(ns: dict[str, Any]) -> None:
    """Checks ``gain_interval``: centred on the mean, the t(0.975, n − 1) multiplier with the sample std (not
    2·s/√n, not n degrees of freedom, not ddof=0), other confidence levels, a ValueError for one gain; then
    ``answer_ex2``: section 2's intervals for every k, and the seeds needed to exclude 0, recomputed."""
    gain_interval = check_defined("gain_interval", namespace=ns)
    lo, hi = gain_interval([0.1, 0.3])
    s = float(np.std([0.1, 0.3], ddof=1))
    half = (hi - lo) / 2
    assert abs((lo + hi) / 2 - 0.2) < 1e-12, "centre the interval on the mean gain"
    assert not np.isclose(half, 2 * s / np.sqrt(2)), (
        "that is mean ± 2·s/√n: with n seeds the multiplier is t(0.975, n − 1), about 12.7 for two (scipy.stats.t.ppf)"
    )
    assert not np.isclose(half, scipy_stats.t.ppf(0.975, 2) * s / np.sqrt(2)), "use n − 1 degrees of freedom, not n"
    assert not np.isclose(half, scipy_stats.t.ppf(0.975, 1) * 0.1 / np.sqrt(2)), "use the sample std (ddof=1)"
    assert np.isclose(half, scipy_stats.t.ppf(0.975, 1) * s / np.sqrt(2)), (
        f"half-width {half:.4f}; for the gains [0.1, 0.3] it should be {scipy_stats.t.ppf(0.975, 1) * s / np.sqrt(2):.4f}"
    )
    m, h = t_interval([0.02, -0.01, 0.05], 0.9)
    assert np.allclose(gain_interval([0.02, -0.01, 0.05], confidence=0.9), (m - h, m + h)), (
        "a 90 % interval uses the 0.95 quantile: the (1 + confidence)/2 quantile"
    )
    try:
        gain_interval([0.1])
        raise AssertionError("one gain gives no estimate of the spread: raise a ValueError")
    except ValueError:
        pass
    answer_ex2 = check_defined("answer_ex2", namespace=ns)
    assert isinstance(answer_ex2, dict) and {"intervals", "seeds_needed"} <= set(answer_ex2), (
        "answer_ex2 should be {'intervals': {k: (low, high)}, 'seeds_needed': n or None}"
    )
    gains, profile = from_lesson(ns, "gains", "profile")
    for k, g in gains.items():
        m, h = t_interval(g)
        assert k in answer_ex2["intervals"], f"answer_ex2['intervals'] has no interval for k = {k}"
        assert np.allclose(answer_ex2["intervals"][k], (m - h, m + h)), (
            f"k = {k}: the 95 % t-interval of gains[{k}] is [{m - h:+.4f}, {m + h:+.4f}]"
        )
    k_small = min(profile.few_shot_k)
    mean, sd = float(np.mean(gains[k_small])), float(np.std(gains[k_small], ddof=1))
    needed = _seeds_to_exclude_zero(mean, sd)
    assert answer_ex2["seeds_needed"] == needed, (
        f"seeds_needed does not follow from your gains at k = {k_small} (mean {mean:+.4f}, sample std "
        f"{sd:.4f}): the smallest n ≥ 2 with t(0.975, n − 1)·s/√n < |mean|, or None"
    )
    print(f"exercise 2: ok; at k = {k_small}, {needed} seeds would exclude 0 (mean {mean:+.4f}, sd {sd:.4f})")


def exercise_3(ns: dict[str, Any]) -> None:
    """Checks the experiment with one more seed: ``records_ex3`` holds one PT and one MPT run at the new seed and
    section 2's smallest k, everything else unchanged; ``answer_ex3``'s two t-intervals recomputed, and ``narrower``
    following from their widths."""
    records_ex3, answer_ex3 = check_defined("records_ex3", "answer_ex3", namespace=ns)
    profile = from_lesson(ns, "profile")
    k, seed = min(profile.few_shot_k), max(profile.seeds) + 1
    assert isinstance(answer_ex3, dict) and {"interval", "interval_more", "narrower"} <= set(answer_ex3), (
        "answer_ex3 should be {'interval': (low, high), 'interval_more': (low, high), 'narrower': True or False}"
    )
    methods, target, gains = from_lesson(ns, "methods", "target", "gains")
    by = {rec["method"]: rec for rec in records_ex3}
    assert len(records_ex3) == 2 and sorted(by) == sorted(methods), "records_ex3 should hold one PT and one MPT run"
    for rec in records_ex3:
        assert (rec["k"], rec["seed"]) == (k, seed), (
            f"run the new seed {seed} at k = {k} (got seed {rec['seed']}, k = {rec['k']})"
        )
        assert rec["task"] == target and rec["steps"] == profile.few_shot_steps, "keep everything else as in section 2"
        assert rec["method"] == "pt" or rec["source_seed"] == 0, "start MPT from the same source stage (source_seed=0)"
    m, h = t_interval(gains[k])
    more = [*gains[k], by["mpt"]["test"] - by["pt"]["test"]]
    m2, h2 = t_interval(more)
    assert np.allclose(answer_ex3["interval"], (m - h, m + h)), (
        f"answer_ex3['interval'] is the 95 % t-interval over the profile's seeds, [{m - h:+.4f}, {m + h:+.4f}]"
    )
    assert np.allclose(answer_ex3["interval_more"], (m2 - h2, m2 + h2)), (
        f"answer_ex3['interval_more'] is the interval of the {len(more)} paired gains (the new seed's included), "
        f"[{m2 - h2:+.4f}, {m2 + h2:+.4f}]"
    )
    flag = answer_ex3["narrower"]
    assert is_flag(flag), "narrower is your answer: True or False"
    assert bool(flag) == (h2 < h), (
        f"narrower does not follow from your numbers (widths {2 * h:.4f} with {len(gains[k])} seeds, {2 * h2:.4f} "
        f"with {len(more)})"
    )
    print(f"exercise 3: ok; k = {k}: width {2 * h:.4f} with {len(gains[k])} seeds, {2 * h2:.4f} with {len(more)}")


def exercise_4(ns: dict[str, Any]) -> None:
    """Checks the true few-shot experiment: both records of ``recs_ex4`` are MPT on the target at section 2's
    smallest k, seed 0, trained in ``ws_ex4`` (its checkpoints compared), selected on all validation rows and on k
    per class; ``answer_ex4``'s two scores and the first run's standard error recomputed, and ``beyond_se``
    following from them."""
    recs_ex4 = check_defined("recs_ex4", namespace=ns)
    answer = check_answer("answer_ex4", values=("selected_on_all", "selected_on_k", "se"), flags=("beyond_se",),
                          namespace=ns)
    profile = from_lesson(ns, "profile")
    k = min(profile.few_shot_k)
    assert isinstance(recs_ex4, dict) and set(recs_ex4) == {"all", "k"}, (
        f"recs_ex4 maps 'all' and 'k' to the two records (got {sorted(recs_ex4) if isinstance(recs_ex4, dict) else recs_ex4!r})"
    )
    ws, target, profile_ex4 = from_lesson(ns, "ws", "target", "profile_ex4")
    labels = ws.tokenised(target, "validation")["label"]
    # k rows per class, or all of a class's rows where it has fewer (the true few-shot selection's rule)
    rows = {"all": len(labels), "k": sum(min(k, labels.count(c)) for c in set(labels))}
    for which, rec in recs_ex4.items():
        assert (rec["method"], rec["k"], rec["seed"], rec["task"]) == ("mpt", k, 0, target), (
            f"recs_ex4[{which!r}]: run MPT on {target} at k = {k}, seed 0 (got {rec['method']}, k = {rec['k']}, "
            f"seed {rec['seed']})"
        )
        assert rec["steps"] == profile.few_shot_steps and rec["source_seed"] == 0, "keep everything else as in section 2"
        assert rec["validation_rows"] == rows[which], (
            f"recs_ex4[{which!r}] selected on {rec['validation_rows']} validation rows; expected {rows[which]} "
            + ("(no validation_k)" if which == "all" else f"(validation_k={k}: k rows per class)")
        )
        candidates = [0, *range(profile_ex4.eval_every, profile.few_shot_steps + 1, profile_ex4.eval_every)]
        candidates += [profile.few_shot_steps] * (candidates[-1] != profile.few_shot_steps)
        assert rec["checkpoint_steps"] == candidates, (
            f"recs_ex4[{which!r}] compared checkpoints at steps {rec['checkpoint_steps']}: train it in ws_ex4, whose "
            f"runs compare steps {candidates}"
        )
    assert abs(answer["selected_on_all"] - recs_ex4["all"]["test"]) < 1e-12, (
        "answer_ex4['selected_on_all'] is recs_ex4['all']'s test score"
    )
    assert abs(answer["selected_on_k"] - recs_ex4["k"]["test"]) < 1e-12, "answer_ex4['selected_on_k'] is recs_ex4['k']'s test score"
    preds = recs_ex4["all"]["test_predictions"]
    se = standard_error(recs_ex4["all"]["metric"], preds["pred"], preds["gold"])
    assert abs(answer["se"] - se) < 0.25 * se + 1e-9, (
        f"answer_ex4['se'] is {answer['se']:.4f}, but recs_ex4['all'] has a standard error near {se:.4f} (a bootstrap, "
        "so a little noise is fine): pass its metric, pred and gold"
    )
    assert bool(answer["beyond_se"]) == (abs(answer["selected_on_k"] - answer["selected_on_all"]) > answer["se"]), (
        "beyond_se does not follow from your numbers: is |selected_on_k − selected_on_all| larger than se?"
    )
    print(f"exercise 4: ok; MPT at k = {k}, seed 0, checkpoints at steps {candidates}: on {rows['all']} validation rows "
          f"it kept step {recs_ex4['all']['best_step']} (test {answer['selected_on_all']:.3f}), on {rows['k']} step "
          f"{recs_ex4['k']['best_step']} (test {answer['selected_on_k']:.3f}); standard error {se:.3f}")
