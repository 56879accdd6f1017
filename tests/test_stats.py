"""The intervals of ``mpt_nb.results``: the hierarchical bootstrap against known cases (scipy's bootstrap on one level,
hand-built seeds, the verdicts) and the one-sample bootstrap against scipy's."""

import numpy as np
import pytest
from scipy.stats import bootstrap

from mpt_nb.metrics import compute_metric
from mpt_nb.results import (
    RunPredictions,
    bootstrap_interval,
    hierarchical_bootstrap,
    runs_from_records,
    standard_error,
    weighted_metric,
)


@pytest.mark.parametrize("metric", ["accuracy", "f1", "macro_f1"])
def test_weighted_metric_with_unit_weights_equals_the_metric(metric):
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3 if metric == "macro_f1" else 2, size=200)
    pred = np.where(rng.random(200) < 0.7, gold, rng.integers(-1, 3 if metric == "macro_f1" else 2, size=200))
    assert weighted_metric(metric, pred, gold) == pytest.approx(compute_metric(metric, pred.tolist(), gold.tolist())[metric])
    # Weight 2 on a row is that row twice.
    weights = np.ones((1, 200))
    weights[0, :50] = 2
    doubled = compute_metric(metric, [*pred.tolist(), *pred[:50].tolist()], [*gold.tolist(), *gold[:50].tolist()])
    assert weighted_metric(metric, pred, gold, weights)[0] == pytest.approx(doubled[metric])


def _run(cell, pred, gold, *, source_seed=0, seed=0, task="t", metric="accuracy"):
    return RunPredictions(cell, task, metric, source_seed, seed, tuple(int(p) for p in pred), tuple(int(g) for g in gold))


def _difference(means):
    return means[("a",)] - means[("b",)]


def test_rows_only_matches_scipy_paired_bootstrap():
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 2, size=400)
    a = np.where(rng.random(400) < 0.8, gold, 1 - gold)
    b = np.where(rng.random(400) < 0.7, gold, 1 - gold)
    runs = [_run(("a",), a, gold), _run(("b",), b, gold)]
    ours = hierarchical_bootstrap(runs, _difference, n_resamples=4000, seed=0)
    per_row = (a == gold).astype(float) - (b == gold).astype(float)
    theirs = bootstrap((per_row,), np.mean, n_resamples=4000, method="percentile", random_state=0).confidence_interval
    assert ours.estimate == pytest.approx(per_row.mean())
    assert ours.low == pytest.approx(theirs.low, abs=0.01)
    assert ours.high == pytest.approx(theirs.high, abs=0.01)


def _constant_run(cell, accuracy, *, n=100, **kw):
    # A run whose accuracy is exactly `accuracy`: the first accuracy·n rows right, the rest wrong.
    gold = np.zeros(n, dtype=int)
    pred = np.where(np.arange(n) < round(accuracy * n), 0, 1)
    return _run(cell, pred, gold, **kw)


def test_seed_level_interval_matches_scipy_on_seed_means():
    # Rows held fixed: only the target seeds vary, so the interval is the bootstrap of the per-seed differences.
    acc_a = [0.80, 0.84, 0.78, 0.90, 0.86, 0.82]
    acc_b = [0.79, 0.80, 0.80, 0.81, 0.78, 0.80]
    runs = [_constant_run(("a",), x, seed=s) for s, x in enumerate(acc_a)]
    runs += [_constant_run(("b",), x, seed=s) for s, x in enumerate(acc_b)]
    ours = hierarchical_bootstrap(runs, _difference, n_resamples=4000, resample=("source_seed", "seed"))
    diffs = np.subtract(acc_a, acc_b)
    theirs = bootstrap((diffs,), np.mean, n_resamples=4000, method="percentile", random_state=0).confidence_interval
    assert ours.estimate == pytest.approx(diffs.mean())
    assert ours.low == pytest.approx(theirs.low, abs=0.006)
    assert ours.high == pytest.approx(theirs.high, abs=0.006)


def test_source_seed_level_carries_its_spread():
    # Method a's score depends on the source seed only; b (no source stage, like PT) serves every source seed.
    runs = [_constant_run(("a",), x, source_seed=s, seed=t) for s, x in enumerate([0.7, 0.9]) for t in (0, 1)]
    runs += [_constant_run(("b",), 0.8, source_seed=None, seed=t) for t in (0, 1)]
    result = hierarchical_bootstrap(runs, _difference, n_resamples=2000, resample=("source_seed", "seed"))
    assert result.estimate == pytest.approx(0.0)
    assert result.source_seeds == (0, 1)
    # Drawing source seed 0 twice gives -0.1, seed 1 twice +0.1: the interval spans both.
    assert result.low == pytest.approx(-0.1) and result.high == pytest.approx(0.1)
    fixed = hierarchical_bootstrap(runs, _difference, n_resamples=200, resample=("seed",))
    assert fixed.low == fixed.high == pytest.approx(0.0)


def test_a_missing_run_is_named():
    runs = [_constant_run(("a",), 0.8, seed=0), _constant_run(("a",), 0.8, seed=1), _constant_run(("b",), 0.8, seed=0)]
    with pytest.raises(ValueError, match=r"cell \('b',\) has no run for .*\(0, 1\)"):
        hierarchical_bootstrap(runs, _difference)


def test_standard_error_is_the_binomial_one_for_accuracy():
    gold = np.zeros(1000, dtype=int)
    pred = np.where(np.arange(1000) < 850, 0, 1)
    assert standard_error("accuracy", pred, gold) == pytest.approx(np.sqrt(0.85 * 0.15 / 1000), rel=0.1)


def test_runs_from_records_reads_test_predictions():
    records = [
        {"task": "t", "metric": "accuracy", "method": "pt", "k": 16, "seed": 0, "source_seed": None,
         "test_predictions": {"row": [0, 1], "pred": [1, 0], "gold": [1, 1]}},
        {"task": "t", "metric": "accuracy", "method": "mpt", "k": 16, "seed": 0, "source_seed": 0},  # no rows: skipped
    ]
    (run,) = runs_from_records(records, lambda r: (r["task"], r["k"], r["method"]))
    assert run.cell == ("t", 16, "pt") and run.source_seed is None and run.predictions == (1, 0)


def test_bootstrap_refuses_runs_scored_on_different_rows():
    from mpt_nb.results import RunPredictions, hierarchical_bootstrap

    a = RunPredictions(("t", "a"), "t", "accuracy", None, 0, (0, 1, 1), (0, 1, 0))
    b = RunPredictions(("t", "b"), "t", "accuracy", None, 0, (0, 1, 1), (1, 0, 0))  # same length, other rows
    with pytest.raises(ValueError, match="different test rows"):
        hierarchical_bootstrap([a, b], lambda means: means[("t", "a")] - means[("t", "b")], n_resamples=10)


def test_bootstrap_interval_is_scipys_bootstrap_of_the_mean():
    gains = [0.03, -0.01, 0.05, 0.02, 0.04, 0.00]
    mean, low, high = bootstrap_interval(gains, n_resamples=2000, seed=3)
    theirs = bootstrap((np.array(gains),), np.mean, n_resamples=2000, random_state=np.random.default_rng(3))
    assert mean == pytest.approx(np.mean(gains))
    assert (low, high) == pytest.approx((theirs.confidence_interval.low, theirs.confidence_interval.high))
    assert low < mean < high
    narrower = bootstrap_interval(gains, 0.8, n_resamples=2000, seed=3, method="percentile")
    assert low <= narrower[1] < narrower[2] <= high
    for few in ([0.1], [0.2, 0.2]):
        with pytest.raises(ValueError, match="at least two different values"):
            bootstrap_interval(few)


def test_t_interval_with_rows_adds_the_rows_variance_and_agrees_with_the_simulation():
    from conftest import repo_module

    from mpt_nb.results import t_interval, t_interval_with_rows

    values = [0.012, -0.004, 0.020, 0.007, 0.015]
    mean, half = t_interval(values)
    assert t_interval_with_rows(values, 0.0) == pytest.approx((mean, mean - half, mean + half))
    wide = t_interval_with_rows(values, 1e-4)
    assert wide[0] == pytest.approx(mean) and wide[2] - wide[1] > 2 * half
    sim = repo_module("benchmarks.simulate_analysis")  # the simulation's vectorised form is the same interval
    _, low, high = sim._t_interval(np.array([values]), 1e-4)
    assert (low[0], high[0]) == pytest.approx(wide[1:])
    assert t_interval_with_rows([0.1, 0.1, 0.1], 0.0) == (pytest.approx(0.1),) * 3
    for bad, message in ((([0.1], 0.0), "at least two"), (([0.1, 0.2], -1.0), "variance")):
        with pytest.raises(ValueError, match=message):
            t_interval_with_rows(*bad)


def test_the_interval_and_the_test_share_their_mean_standard_error_and_degrees_of_freedom():
    from scipy.stats import t, ttest_1samp

    from mpt_nb.results import seed_mean_with_rows, t_interval_with_rows

    values = [1.2, -0.4, 2.0, 0.7, 1.5]
    n, s2 = len(values), np.var(values, ddof=1)
    # Without the rows' variance: the one-sample t-test (scipy's), df = n − 1.
    plain = seed_mean_with_rows(values, 0.0)
    assert plain == pytest.approx((np.mean(values), np.sqrt(s2 / n), n - 1))
    assert plain.p_above_zero() == pytest.approx(ttest_1samp(values, 0.0, alternative="greater").pvalue)
    # With it: Welch–Satterthwaite's df, by hand, and the interval's bounds from the same three numbers.
    rows = seed_mean_with_rows(values, 0.3)
    mean, se, df = rows
    assert se == pytest.approx(np.sqrt(s2 / n + 0.3)) and df == pytest.approx((n - 1) * (s2 / n + 0.3) ** 2 / (s2 / n) ** 2)
    half = t.ppf(0.975, df) * se
    assert t_interval_with_rows(values, 0.3) == pytest.approx((mean, mean - half, mean + half))
    assert rows.p_above_zero() == pytest.approx(t.sf(mean / se, df))
    assert rows.p_above_zero() > plain.p_above_zero()  # the rows' variance weakens the test
    assert seed_mean_with_rows([0.5, 0.5], 0.0).p_above_zero() == 0.0
    assert seed_mean_with_rows([0.0, 0.0], 0.0).p_above_zero() == 1.0


def test_holm_steps_down_where_bonferroni_stops_and_stops_at_the_first_failure():
    from mpt_nb.results import holm

    # Bonferroni (0.05 / 4 = 0.0125 each) rejects only the first; Holm's thresholds 0.0125, 0.0167, 0.025, 0.05 all.
    assert holm([0.04, 0.011, 0.02, 0.014]) == [True, True, True, True]
    assert [p <= 0.05 / 4 for p in (0.04, 0.011, 0.02, 0.014)] == [False, True, False, False]
    # The second smallest (0.02 > 0.0167) fails, so the largest (0.04 ≤ 0.05 on its own) is not rejected either.
    assert holm([0.001, 0.04, 0.02, 0.03]) == [True, False, False, False]
    assert holm([0.2, 0.3]) == [False, False] and holm([0.01, 0.02], alpha=0.1) == [True, True]
    with pytest.raises(ValueError, match="alpha"):
        holm([0.01], alpha=5)


def _record(task, k, method, test, seed, source_seed=None, ablation="none", validation_k=None):
    return {"task": task, "k": k, "method": method, "ablation": ablation, "validation_k": validation_k,
            "seed": seed, "source_seed": source_seed, "test": test}


def test_source_seed_differences_let_pts_runs_serve_every_source_seed_and_average_target_seeds():
    from mpt_nb.results import source_seed_differences

    pt = [_record(task, 16, "pt", 0.50 + 0.02 * t, t) for task in ("a", "b") for t in (0, 1)]
    mpt = [_record(task, 16, "mpt", 0.55 + 0.01 * s + (0.02 if task == "b" else 0), t, s)
           for task in ("a", "b") for t in (0, 1) for s in (0, 1, 2)]
    other = [_record("a", 16, "mpt", 0.0, 0, 0, ablation="kl_only"), _record("a", 16, "mpt", 0.0, 0, 0, validation_k=16)]
    cells = [("a", 16), ("b", "16")]
    # MPT − PT per (task, t): a: 5 + s − 2t, b: 7 + s − 2t points; the mean over both tasks and t: 5 + s.
    diffs = source_seed_differences([*pt, *mpt, *other], "mpt", "pt", cells)
    assert diffs == pytest.approx({0: 5.0, 1: 6.0, 2: 7.0})
    # A source seed missing one run drops out; asking for target seeds nobody ran leaves nothing.
    assert list(source_seed_differences([*pt, *mpt[1:]], "mpt", "pt", cells)) == [1, 2]
    assert source_seed_differences([*pt, *mpt], "mpt", "pt", cells, target_seeds=[0, 1, 2]) == {}
    # An ablation's runs are an arm of their own.
    ablation = [_record(task, 16, "mpt", 0.55 + 0.01 * s, t, s, ablation="kl_only")
                for task in ("a", "b") for t in (0, 1) for s in (0, 1, 2)]
    assert source_seed_differences([*mpt, *ablation], ("mpt", "kl_only"), "mpt", cells) == pytest.approx(
        {0: -1.0, 1: -1.0, 2: -1.0})
    with pytest.raises(ValueError, match="one grid"):
        source_seed_differences([*pt, *mpt, mpt[0]], "mpt", "pt", cells)
    with pytest.raises(ValueError, match="paired_differences"):
        source_seed_differences(pt, "pt", "pt", cells)


def test_run_variance_of_mean_pools_the_target_seed_spread_over_cells():
    from mpt_nb.results import run_variance_of_mean

    # Per cell, two target seeds 2·spread points apart: sample variance 2·spread²; 4 cells × 2 runs in the mean.
    def pt(spread):
        return [_record(task, k, "pt", 0.5 + 0.01 * spread * (2 * t - 1), t) for task in ("a", "b") for k in (16, 32)
                for t in (0, 1)]

    cells = [(task, k) for task in ("a", "b") for k in (16, 32)]
    assert run_variance_of_mean(pt(1.0), "pt", cells) == pytest.approx(2 * 1.0**2 / 8)
    assert run_variance_of_mean(pt(3.0), "pt", cells) == pytest.approx(2 * 3.0**2 / 8)
    with pytest.raises(ValueError, match="at least two target seeds"):
        run_variance_of_mean(pt(1.0), "pt", cells, target_seeds=[0])
    with pytest.raises(ValueError, match="per source seed"):
        run_variance_of_mean([_record("a", 16, "mpt", 0.5, 0, 0)], "mpt", [("a", 16)])
