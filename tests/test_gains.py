"""Where MPT helps: the gain figures draw exactly the analysis summary's contrasts and the learning curve's paired
validation differences, skip and count what is missing, and name the command that writes what they read."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import repo_module
from test_benchmarks import _design, _grid  # the synthetic crossed grid the analysis's own tests use

from mpt_nb.methods import method_label
from mpt_nb.results import budget_gains
from mpt_nb.viz import gain_by_budget_figure, gain_by_k_figure, learning_curve_figure

GAINS = {"pt": 5.0, "spot": 4.0, "spot_generic": 3.0, "decomp": -2.0}


@pytest.fixture(scope="module")
def summary():
    """The analysis of a grid with k = 4, 16, 32 and full (full: k = 32's runs again) where MPT at (b, 4) never ran,
    so all four contrasts of that cell are None, and one MPT run at (a, 16) of source seed 4 is missing, so that
    cell's contrasts rest on source seeds 0-3."""
    analysis = repo_module("benchmarks.analysis")
    records = _grid(GAINS, seed_spread=1.0)
    records += [{**r, "k": "full"} for r in records if r["k"] == 32]
    records = [r for r in records if not (r["task"] == "b" and r["k"] == 4 and r["method"] == "mpt")
               and (r["task"], r["k"], r["method"], r["source_seed"], r["seed"]) != ("a", 16, "mpt", 4, 1)]
    return analysis.analyse(records, _design(ks=("16", "4", "full", "32")), resamples=30)


def _drawn(ax, baseline):
    """(x, estimate, low, high) per marker of ``baseline``'s bars, and the (x, y) of its per-source-seed dots."""
    (bars,) = [c for c in ax.containers if c.lines[0].get_gid() == baseline]
    points = bars.lines[0].get_xydata().tolist()
    segments = bars.lines[2][0].get_segments()
    drawn = [(x, y, seg[0][1], seg[1][1]) for (x, y), seg in zip(points, segments, strict=True)]
    (dots,) = [c for c in ax.collections if c.get_gid() == f"{baseline} seeds"]
    return drawn, dots.get_offsets().tolist()


def test_gain_by_k_draws_the_summarys_contrasts_and_counts_the_missing(summary):
    fig = gain_by_k_figure(summary)
    try:
        a, b = fig.axes[:2]
        assert [a.get_title(), b.get_title()] == ["a", "b"]
        assert [t.get_text() for t in a.get_xticklabels()] == ["4", "16", "32", "full"]  # k_sort_key, not the plan's
        rows = {(row["task"], row["k"]): row["vs"] for row in summary["secondary"]}
        for ax, task in ((a, "a"), (b, "b")):
            xs_by_baseline = []
            for baseline in GAINS:
                drawn, dots = _drawn(ax, baseline)
                ks = ["16", "32", "full"] if task == "b" else ["4", "16", "32", "full"]  # (b, 4) has no contrast
                wanted = [rows[(task, k)][baseline] for k in ks]
                assert np.array([d[1:] for d in drawn]) == pytest.approx(
                    np.array([(c["estimate"], c["low"], c["high"]) for c in wanted]))
                assert [y for _, y in dots] == pytest.approx([v for c in wanted for v in c["per_source_seed"]])
                assert {round(x) for x, *_ in drawn} == {["4", "16", "32", "full"].index(k) for k in ks}
                assert {x for x, _ in dots} == {x for x, *_ in drawn}  # each seed's dot at its cell's bar
                xs_by_baseline.append([x for x, *_ in drawn])
            assert all(x1 < x2 for x1, x2 in zip(*xs_by_baseline[:2], strict=True))  # side by side within a k
        # The numbers are the grid's: MPT − b = GAINS[b], and the source seeds spread MPT by ±2 points.
        assert rows[("a", "32")]["decomp"]["estimate"] == pytest.approx(-2.0)
        assert rows[("a", "32")]["pt"]["per_source_seed"] == pytest.approx([3.0, 4.0, 5.0, 6.0, 7.0])
        assert rows[("a", "16")]["pt"]["source_seeds"] == [0, 1, 2, 3]
        assert any(line.get_ydata()[0] == 0 for line in a.get_lines())  # the zero line
        text = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
        assert "4 of 32 contrasts (target × k × baseline) have none yet" in text
        assert "4 of 32 rest on fewer than the planned source seeds so far" in text
        assert "pre-registered 95% intervals" in text and "no multiplicity correction" in text
        assert f"MPT − {method_label('spot_generic')}" in text
    finally:
        plt.close(fig)
    fig, axes = plt.subplots(1, 2)
    try:  # into given axes, a chosen baseline only
        assert gain_by_k_figure(summary, baselines=["pt"], axes=axes) is fig
        assert len(axes[0].containers) == 1 and _drawn(axes[0], "pt")[0][0][1] == pytest.approx(5.0)
        with pytest.raises(ValueError, match="got 1 axes for 2 targets"):
            gain_by_k_figure(summary, axes=axes[:1])
        with pytest.raises(ValueError, match=r"not with \['ft'\]"):
            gain_by_k_figure(summary, baselines=["pt", "ft"])
    finally:
        plt.close(fig)


def test_gain_by_k_without_secondary_rows_names_the_command_that_writes_them():
    for empty in ({}, {"secondary": []}):
        with pytest.raises(ValueError, match=r"^the analysis summary has no secondary contrasts .*"
                           r"python -m benchmarks\.analysis --config configs/offline_v3\.yaml$"):
            gain_by_k_figure(empty)
    assert not plt.get_fignums()


def _curve(task, method, k, steps, validation):
    return {"task": task, "method": method, "k": k, "steps": steps, "validation": validation, "best_step": steps,
            "validation_curve": []}


CURVE = [
    *(_curve("a", "pt", k, n, v) for k in (16, 32) for n, v in ((40, 0.50), (120, 0.60), (300, 0.62))),
    _curve("a", "mpt", 16, 40, 0.58), _curve("a", "mpt", 16, 120, 0.61), _curve("a", "mpt", 16, 300, 0.615),
    _curve("a", "mpt", 32, 40, 0.55), _curve("a", "mpt", 32, 300, 0.64),  # no MPT run at 120 steps
    _curve("b", "pt", 16, 40, 0.30), _curve("b", "mpt", 16, 40, 0.27), _curve("b", "mpt", 16, 120, None),
]


def test_budget_gains_pair_mpt_and_pt_per_budget_in_points():
    gains = budget_gains(CURVE)
    assert list(gains) == [("a", 16), ("a", 32), ("b", 16)]
    assert np.array(gains[("a", 16)]) == pytest.approx(np.array([(40, 8.0), (120, 1.0), (300, -0.5)]))
    assert np.array(gains[("a", 32)]) == pytest.approx(np.array([(40, 5.0), (300, 2.0)]))  # 120: PT alone, left out
    assert np.array(gains[("b", 16)]) == pytest.approx(np.array([(40, -3.0)]))  # 120: MPT has no validation score
    assert [s for s, _ in gains[("a", 16)]] == [40, 120, 300]
    assert np.array(budget_gains(CURVE, "pt", "mpt")[("a", 16)]) == pytest.approx(
        np.array([(40, -8.0), (120, -1.0), (300, 0.5)]))
    with pytest.raises(ValueError, match=r"two 'pt' runs for task 'a', k = 16, 40 steps"):
        budget_gains([*CURVE, CURVE[0]])


def test_gain_by_budget_draws_the_paired_differences_per_k_and_counts_the_missing():
    fig = gain_by_budget_figure(CURVE)
    try:
        a, b = fig.axes[:2]
        assert [a.get_title(), b.get_title()] == ["a", "b"]
        lines = {line.get_gid(): line.get_xydata() for line in a.get_lines() if line.get_gid()}
        assert set(lines) == {"k=16", "k=32"}
        assert lines["k=16"] == pytest.approx(np.array([[40, 8.0], [120, 1.0], [300, -0.5]]))
        assert lines["k=32"] == pytest.approx(np.array([[40, 5.0], [300, 2.0]]))  # straight from 40 to 300 steps
        (only,) = [line.get_xydata() for line in b.get_lines() if line.get_gid()]
        assert only == pytest.approx(np.array([[40, -3.0]]))
        assert [t.get_text() for t in a.get_xticklabels()] == ["40", "120", "300"]
        assert a.get_ylabel() == "MPT − PT, validation (points)"
        assert not a.containers  # one seed: no intervals
        text = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
        assert "validation scores of one seed" in text and "2 (target, k, steps) cells lack MPT or PT" in text
    finally:
        plt.close(fig)
    fig = gain_by_budget_figure([_curve("a", "pt", 16, 40, 0.5)])  # PT alone: a panel that says so
    try:
        assert "no MPT − PT pair yet" in [t.get_text() for t in fig.axes[0].texts]
    finally:
        plt.close(fig)


def test_gain_by_budget_without_records_names_the_command_that_writes_them():
    with pytest.raises(ValueError, match=r"^no learning-curve records; run python -m benchmarks\.learning_curve "):
        gain_by_budget_figure([])
    assert not plt.get_fignums()


def test_learning_curve_draws_each_methods_validation_score_per_k_against_the_budget():
    fig = learning_curve_figure(CURVE, chance={"a": 0.33})
    try:
        a, b = fig.axes[:2]
        lines = {line.get_gid(): line.get_xydata() for line in a.get_lines() if line.get_gid()}
        assert set(lines) == {"pt k=16", "pt k=32", "mpt k=16", "mpt k=32", "chance"}
        assert lines["pt k=16"] == pytest.approx(np.array([[40, 0.50], [120, 0.60], [300, 0.62]]))
        assert lines["mpt k=32"] == pytest.approx(np.array([[40, 0.55], [300, 0.64]]))  # no run at 120 steps
        assert lines["chance"][:, 1] == pytest.approx([0.33, 0.33])
        drawn_b = {line.get_gid(): line.get_xydata() for line in b.get_lines() if line.get_gid()}
        assert set(drawn_b) == {"pt k=16", "mpt k=16"}  # no chance given for b; MPT's run without a score left out
        assert drawn_b["mpt k=16"] == pytest.approx(np.array([[40, 0.27]]))
        assert [t.get_text() for t in a.get_xticklabels()] == ["40", "120", "300"]
        assert not a.containers  # one seed: no intervals
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match=r"^no learning-curve records; run python -m benchmarks\.learning_curve "):
        learning_curve_figure([_curve("a", "pt", 16, 40, None)])
