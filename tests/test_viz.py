"""Results tables and plots, and the parameter-efficiency explorer: built headless, sliders moved, static fallback."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from mpt_nb import paper
from mpt_nb.prompts import expected_trainable
from mpt_nb.results import k_sort_key, load_records, paired_differences, results_table, summarise
from mpt_nb.viz import (
    BACKBONE_PRESETS,
    delta_heatmap,
    explorer_counts,
    integer_ticks,
    log_ticks,
    measured_points,
    param_count_explorer,
    params_vs_accuracy_figure,
    prompt_heatmap,
    smooth,
    static_explorer_figure,
)

ROOT = Path(__file__).resolve().parent.parent


def _record(task, method, test, seed=0, k="full", params=11_520, **extra):
    return {"profile": "offline", "backbone": "smollm2-135m-instruct", "task": task, "method": method, "k": k,
            "seed": seed, "metric": "accuracy", "test": test, "trainable_params": params, "prompt_tokens": 20, **extra}


RECORDS = [
    _record("amazon_sentiment", "pt", 0.70, seed=0),
    _record("amazon_sentiment", "pt", 0.74, seed=1),
    _record("amazon_sentiment", "mpt", 0.80, params=12_116),
    _record("tweet_sentiment3", "pt", 0.40),
    _record("tweet_sentiment3", "mpt", 0.50, params=12_116),
    _record("amazon_sentiment", "mpt", 0.10, params=12_116, ablation="no_decomp"),  # not a main run
    _record("amazon_sentiment", "mpt", 0.60, k=16, params=12_116),
]


def test_load_records_and_summaries(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS[:3]))
    assert load_records(path) == RECORDS[:3]
    with pytest.raises(FileNotFoundError, match="benchmark"):
        load_records(tmp_path / "missing.jsonl")
    rows = {(r["task"], r["method"]): r for r in summarise(RECORDS[:3])}
    assert rows[("amazon_sentiment", "pt")]["mean"] == pytest.approx(0.72)
    assert rows[("amazon_sentiment", "pt")]["runs"] == 2
    table = results_table(RECORDS[:3], backbone_params=134_515_008)
    assert "| amazon_sentiment | full | PT | accuracy 72.0 ± 2.8 | 2 | 11,520 | 0.009% |" in table
    plt.close(params_vs_accuracy_figure(RECORDS, reference={"MPT (paper)": (77_600, 85.6)}))


def test_paired_differences_pair_by_seed_and_skip_ablations():
    runs = [
        _record("a", "mpt", 0.5, seed=0, k=4), _record("a", "pt", 0.4, seed=0, k=4),
        _record("a", "mpt", 0.7, seed=1, k=4), _record("a", "pt", 0.8, seed=1, k=4),
        _record("a", "mpt", 0.9, seed=2, k=4),  # no PT run for seed 2: left out
        _record("a", "mpt", 0.0, seed=0, k=4, ablation="rank4"),  # an ablation: left out
        _record("b", "pt", 0.3, seed=0, k="full"),  # no MPT run: no group
    ]
    diffs = paired_differences(runs, "mpt", "pt")
    assert list(diffs) == [("a", 4)]
    assert diffs[("a", 4)] == pytest.approx([0.1, -0.1])
    assert paired_differences(runs, "mpt", "pt", keys=("task",)) == {("a",): pytest.approx([0.1, -0.1])}
    with pytest.raises(ValueError, match="one grid"):
        paired_differences([*runs, _record("a", "pt", 0.6, seed=0, k=4)], "mpt", "pt")


def test_results_table_orders_shot_counts_numerically():
    runs = [_record("amazon_sentiment", "pt", 0.7, k=k) for k in ("full", 32, 4, 16)]
    ks = [line.split("|")[2].strip() for line in results_table(runs).splitlines()[2:]]
    assert ks == ["4", "16", "32", "full"]
    assert sorted(["full", "32", "4", 16], key=k_sort_key) == ["4", 16, "32", "full"]


def test_explorer_counts_are_the_formulas():
    for l, d, r, tasks in [(100, 768, 1, 8), (20, 576, 4, 3), (1, 512, 1, 1)]:  # noqa: E741
        c = explorer_counts(l, d, r, tasks, backbone_params=220_000_000)
        assert c["pt_total"] == expected_trainable("pt", l, d, num_tasks=tasks) == l * d * tasks
        assert c["mpt_total"] == expected_trainable("mpt", l, d, rank=r, num_tasks=tasks)
        assert c["pt_per_task"] == l * d and c["mpt_task_specific"] == (l + d) * r
        assert c["mpt_per_task"] == pytest.approx(c["mpt_total"] / tasks)
        assert c["mpt_target"] == expected_trainable("mpt", l, d, rank=r)
        assert c["mpt_total_pct"] == pytest.approx(100 * c["mpt_total"] / 220_000_000)
    with pytest.raises(ValueError, match="must be >= 1"):
        explorer_counts(0, 768, 1, 1)


def test_paper_numbers_are_table_1_with_pt_marked_unverified():
    rows = paper.TABLE1
    assert {m: (r.glue, r.superglue) for m, r in rows.items()} == {
        "FT": (84.9, 73.9), "PT": (72.2, 57.8), "SPoT": (82.3, 62.9), "ATTEMPT": (83.4, 70.5), "MPT": (85.6, 74.1),
        "MPT (transfer + multitask)": (85.8, 76.1),
    }
    assert [m for m, r in rows.items() if not r.scores_verified] == ["PT"]
    assert rows["MPT"].params_per_task == 77_600 and rows["MPT (transfer + multitask)"].params_per_task == 10_500
    # MPT's reported 77.6K per task is l·d + (l + d)·r at T5-Base sizes (l=100, d=768, r=1).
    assert abs(expected_trainable("mpt", paper.PROMPT_TOKENS, paper.DIM, rank=1) - rows["MPT"].params_per_task) < 100
    assert rows["PT"].params_per_task == expected_trainable("pt", paper.PROMPT_TOKENS, paper.DIM)


def test_paper_per_task_scores_average_to_the_table_averages():
    glue = [v for k, v in paper.MPT_PER_TASK.items() if k.startswith("glue/")]
    superglue = [v for k, v in paper.MPT_PER_TASK.items() if k.startswith("superglue/")]
    assert (len(glue), len(superglue)) == (8, 5)
    # The table rounds to one decimal: 684.4 / 8 = 85.55 is printed 85.6.
    assert sum(glue) / 8 == pytest.approx(paper.TABLE1["MPT"].glue, abs=0.05 + 1e-9)
    assert sum(superglue) / 5 == pytest.approx(paper.TABLE1["MPT"].superglue, abs=0.05 + 1e-9)


def test_measured_points_use_main_runs_of_one_k():
    points = measured_points(RECORDS)
    assert set(points) == {"pt", "mpt"}
    assert points["mpt"] == (12_116, pytest.approx(100 * (0.80 + 0.50) / 2))  # the ablation run is left out
    assert measured_points(RECORDS, k=16) == {"mpt": (12_116, pytest.approx(60.0))}
    assert measured_points(None) == {}


def test_widget_builds_headless_and_a_slider_updates_the_counts():
    import ipywidgets as widgets

    explorer = param_count_explorer(RECORDS)
    assert isinstance(explorer, widgets.VBox)
    assert set(explorer.sliders) == {"l", "r", "d", "tasks"}
    assert "76,800 per task" in explorer.summary.value  # the paper's setting: l=100, T5-Base
    assert "83,744 in total" in explorer.summary.value  # l·d + (l+d)·r·τ with τ = 8

    explorer.sliders["l"].value = 20
    explorer.sliders["d"].value = "SmolLM2-135M"
    explorer.sliders["tasks"].value = 3
    explorer.sliders["r"].value = 2
    c = explorer_counts(20, 576, 2, 3, BACKBONE_PRESETS["SmolLM2-135M"][1])
    shown = explorer.summary.value
    assert "l = 20, d = 576, r = 2, τ = 3 tasks" in shown
    assert f"{c['pt_total']:,.0f} in total" in shown and f"{c['mpt_total']:,.0f} in total" in shown
    assert f"({c['mpt_total_pct']:.4f}% of SmolLM2-135M)" in shown
    assert c["mpt_total"] == 20 * 576 + (20 + 576) * 2 * 3
    plt.close("all")


def test_static_fallback_renders_to_png(tmp_path):
    fig = static_explorer_figure(RECORDS, l=100, r=1, d=768, tasks=8)
    out = tmp_path / "explorer_static.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    assert out.stat().st_size > 20_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Without records (nothing measured yet) it still draws the paper and the counts.
    plt.close(static_explorer_figure(None, l=20, r=1, d=576, tasks=3))


# --------------------------------------------------------------------------------------------------- small helpers

def test_smooth_is_a_trailing_moving_average_of_the_same_length():
    assert smooth([0, 2, 4, 6], 2) == pytest.approx([0, 1, 3, 5])
    assert smooth([3, 1, 2, 6, 4], 3) == pytest.approx([3, 2, 2, 3, 4])  # shorter windows at the start
    assert smooth([1.5, -2.0], 1) == pytest.approx([1.5, -2.0])
    assert smooth([1, 2, 3], 10) == pytest.approx([1, 1.5, 2])  # a window longer than the data: running mean
    assert smooth([], 5) == []
    values = [float(i % 7) for i in range(50)]
    assert len(smooth(values, 5)) == len(values) and isinstance(smooth(values, 5), list)
    with pytest.raises(ValueError, match="window must be >= 1"):
        smooth([1, 2], 0)


def test_integer_ticks_leave_no_fractional_steps():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2, 3], [1.0, 0.5, 0.4, 0.3])
    fig.canvas.draw()
    assert any(t != int(t) for t in ax.get_xticks())  # matplotlib's default puts ticks at 0.5 steps here
    integer_ticks(ax)
    fig.canvas.draw()
    ticks = ax.get_xticks()
    assert len(ticks) >= 3 and all(t == int(t) for t in ticks)
    with pytest.raises(ValueError, match="'x' or 'y'"):
        integer_ticks(ax, "z")
    plt.close(fig)


def test_log_ticks_label_decades_and_short_ranges_readably():
    from matplotlib.ticker import NullFormatter

    fig, (ax, bx, cx) = plt.subplots(1, 3)
    ax.plot([1, 100], [77_600, 7_700_000])
    ax.set_yscale("log")
    log_ticks(ax, "y")
    fig.canvas.draw()
    shown = [label.get_text() for label in ax.get_yticklabels() if label.get_text()]
    assert shown == ["100K", "200K", "500K", "1M", "2M", "5M"]
    assert isinstance(ax.yaxis.get_minor_formatter(), NullFormatter)
    bx.plot([256, 4096], [1, 2])
    bx.set_xscale("log")
    log_ticks(bx, "x")
    fig.canvas.draw()
    assert [label.get_text() for label in bx.get_xticklabels() if label.get_text()] == ["300", "500", "1,000", "2,000", "3,000"]
    log_ticks(bx, "x", ticks=[256, 576, 1024])
    assert [label.get_text() for label in bx.get_xticklabels()] == ["256", "576", "1,024"]
    cx.plot([1, 1e9], [1, 2])
    cx.set_xscale("log")
    log_ticks(cx, "x")
    assert list(cx.get_xticks()) == [1, 100, 10_000, 1e6, 1e8]  # a long range keeps every other decade
    assert [label.get_text() for label in cx.get_xticklabels()] == ["1", "100", "10K", "1M", "100M"]
    with pytest.raises(ValueError, match="set_yscale"):
        log_ticks(cx, "y")  # linear axis: say how to fix it
    plt.close(fig)


def test_prompt_heatmap_caps_the_columns_and_says_what_it_shows():
    import numpy as np
    import torch

    prompt = torch.randn(20, 576, requires_grad=True)
    ax = prompt_heatmap(prompt)
    shown = ax.images[0].get_array()
    assert shown.shape == (20, 64)
    assert np.allclose(shown, prompt.detach().numpy()[:, :64])
    assert "first 64 of 576" in ax.get_xlabel() and "l = 20" in ax.get_ylabel()
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar
    low, high = ax.images[0].get_clim()
    assert low == -high  # symmetric around 0
    plt.close(ax.figure)

    fig, bx = plt.subplots()
    assert prompt_heatmap(prompt, bx, max_columns=32, reduce="bin") is bx
    binned = bx.images[0].get_array()
    assert binned.shape == (20, 32)
    assert np.allclose(binned[:, 0], prompt.detach().numpy()[:, :18].mean(axis=1))  # 576 / 32 = 18 per bin
    assert "576 binned into 32 groups of 18" in bx.get_xlabel()
    plt.close(fig)

    small = prompt_heatmap(np.ones((4, 10)))
    assert small.images[0].get_array().shape == (4, 10) and "all 10" in small.get_xlabel()
    plt.close(small.figure)
    with pytest.raises(ValueError, match=r"prompt\[0\]"):
        prompt_heatmap(torch.zeros(1, 20, 576))
    with pytest.raises(ValueError, match="'first' or 'bin'"):
        prompt_heatmap(prompt, reduce="max")


def test_delta_heatmap_shows_the_task_prompt_minus_the_shared_prompt():
    import numpy as np
    import torch

    from mpt_nb.prompts import MultitaskPrompt

    mpt = MultitaskPrompt(6, 40, num_tasks=2, rank=1)
    with torch.no_grad():
        mpt.shared.normal_()
        mpt.u.mul_(torch.linspace(0.5, 1.5, 6).view(1, 6, 1))
    shared, task = mpt.shared[0], mpt.task_prompts()[0]
    ax = delta_heatmap(shared, task)
    expected = (task - shared).detach().numpy()
    assert np.allclose(ax.images[0].get_array(), expected)
    assert "P̂ − P*" in ax.get_title()
    relative = np.linalg.norm(expected) / np.linalg.norm(shared.detach().numpy())
    assert f"{relative:.3f}" in ax.get_title()
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="same l and d"):
        delta_heatmap(torch.zeros(6, 40), torch.zeros(6, 41))
