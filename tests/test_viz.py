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
from mpt_nb.results import (
    accuracy_by_k,
    accuracy_by_rank,
    accuracy_by_setting,
    k_sort_key,
    load_records,
    measured_points,
    measured_settings,
    paired_differences,
    results_table,
    summarise,
    t_interval,
)
from mpt_nb.viz import (
    BACKBONE_PRESETS,
    METHOD_COLOURS,
    accuracy_vs_k_figure,
    accuracy_vs_rank_figure,
    delta_heatmap,
    explorer_counts,
    integer_ticks,
    log_ticks,
    method_colour,
    param_count_explorer,
    params_vs_accuracy_figure,
    prompt_heatmap,
    smooth,
    static_explorer_figure,
)
from mpt_nb.viz.explorer import _counts_text

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


def test_superglue_test_sets_are_the_second_half_of_the_validation_split():
    # CB's 56 validation rows split in half: 28 test items, as in ATTEMPT's, DePT's and ULPT's tasks.py.
    assert paper.SUPERGLUE_TEST_SIZES == {
        "superglue/multirc": 2424, "superglue/boolq": 1635, "superglue/wic": 319, "superglue/wsc": 52,
        "superglue/cb": 28,
    }
    assert set(paper.SUPERGLUE_PER_TASK["MPT"].scores) == set(paper.SUPERGLUE_TEST_SIZES)
    assert set(paper.SUPERGLUE_PER_TASK["DePT"].scores) == set(paper.SUPERGLUE_TEST_SIZES)
    assert [m for m, row in paper.SUPERGLUE_PER_TASK.items() if not row.scores_verified] == ["MPT"]


def test_a_cb_score_is_a_count_of_28_items_or_not_one_run():
    assert [paper.count_of(score, 28) for score in (92.9, 89.3, 78.6)] == [26, 25, 22]
    assert paper.count_of(79.8, 28) is None  # 22 and 23 of 28 print as 78.6 and 82.1
    assert paper.count_of(paper.SUPERGLUE_PER_TASK["DePT"].scores["superglue/cb"], 28) == 26
    # DePT's released accuracies are whole counts of their test sets too (35 of 52, 219 of 319, 1,297 of 1,635).
    dept, sizes = paper.SUPERGLUE_PER_TASK["DePT"].scores, paper.SUPERGLUE_TEST_SIZES
    assert [paper.count_of(dept[t], sizes[t]) for t in ("superglue/wsc", "superglue/wic", "superglue/boolq")] == [
        35, 219, 1297]
    with pytest.raises(ValueError, match="number of test items"):
        paper.count_of(50.0, 0)


def test_one_cb_item_moves_a_five_task_average_by_0_714_points():
    dept = paper.SUPERGLUE_PER_TASK["DePT"].scores
    mpt = paper.SUPERGLUE_PER_TASK["MPT"].scores
    assert paper.superglue_average(dept) == pytest.approx(76.5)
    assert paper.superglue_average(mpt) == pytest.approx(paper.TABLE1["MPT"].superglue)
    assert paper.points_per_item(28) == pytest.approx(100 / 28)
    assert paper.points_per_item(28, 5) == pytest.approx(0.714, abs=5e-4)
    gap = paper.superglue_average(dept) - paper.TABLE1["MPT"].superglue
    assert gap / paper.points_per_item(28, 5) == pytest.approx(3.36)  # the 2.4-point gap is 3.4 CB items' worth
    with pytest.raises(ValueError, match="at least one"):
        paper.superglue_average({})
    with pytest.raises(ValueError, match="counts, >= 1"):
        paper.points_per_item(28, 0)


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
    assert set(explorer.sliders) == {"l", "r", "d", "tasks", "k"}
    assert "76,800 per task" in explorer.summary.value  # the paper's setting: l=100, T5-Base
    assert "83,744 in total" in explorer.summary.value  # l·d + (l+d)·r·S with S = 8

    explorer.sliders["l"].value = 20
    explorer.sliders["d"].value = "SmolLM2-135M"
    explorer.sliders["tasks"].value = 3
    explorer.sliders["r"].value = 2
    c = explorer_counts(20, 576, 2, 3, BACKBONE_PRESETS["SmolLM2-135M"][1])
    shown = explorer.summary.value
    assert "l = 20, d = 576, r = 2, S = 3 tasks" in shown
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


# --------------------------------------------------------------------------------------------------- measured accuracy

def _grid(scores, *, ks=("4", "full"), rank=1, **extra):
    """Runs of PT (rank 0) and MPT (rank ``rank``) on targets a, b: ``scores[(method, task)]`` lists one test per seed."""
    runs = []
    for k in ks:
        for (method, task), tests in scores.items():
            for seed, test in enumerate(tests):
                runs.append(_record(task, method, test, seed=seed, k=k if k == "full" else int(k), ablation="none",
                                    rank=0 if method == "pt" else rank, source_seed=None if method == "pt" else 0,
                                    params=11_520 if method == "pt" else 12_116, **extra))
    return runs


def test_t_interval_uses_the_t_quantile():
    mean, half = t_interval([0.80, 0.84])
    # Two seeds: t(0.975, 1) = 12.706, sd = 0.02828, so 12.706 · 0.02828 / √2 = 0.254 (not 2 · sd / √2 = 0.04).
    assert mean == pytest.approx(0.82)
    assert half == pytest.approx(12.7062 * 0.0282843 / 2**0.5, rel=1e-4) and half == pytest.approx(0.2541, abs=1e-4)
    assert t_interval([1.0, 2.0, 3.0])[1] == pytest.approx(4.3027 / 3**0.5, rel=1e-4)  # t(0.975, 2), sd = 1
    assert t_interval([1.0, 2.0, 3.0], confidence=0.9)[1] == pytest.approx(2.9200 / 3**0.5, rel=1e-4)
    assert t_interval([0.5]) == (0.5, None)  # one run: no interval
    with pytest.raises(ValueError, match="at least one"):
        t_interval([])


def test_accuracy_by_k_averages_targets_per_seed_then_intervals_over_seeds():
    runs = _grid({("mpt", "a"): [0.80, 0.84], ("mpt", "b"): [0.60, 0.64], ("pt", "a"): [0.5], ("pt", "b"): [0.7]})
    runs.append(_record("a", "mpt", 0.0, seed=0, k="full", ablation="rank4", rank=4))  # an ablation: left out
    runs.append(_record("a", "mpt", 0.0, seed=5, k="full", ablation="none", rank=1, params=12_116))  # lacks b: left out
    scores = accuracy_by_k(runs)
    assert list(scores) == ["pt", "mpt"] and list(scores["mpt"]) == ["4", "full"]  # table order, k in shot order
    mpt = scores["mpt"]["full"]
    assert mpt.mean == pytest.approx(0.72)  # seed means 0.70 and 0.74
    assert mpt.half_width == pytest.approx(12.7062 * 0.0282843 / 2**0.5, rel=1e-4)
    assert (mpt.seeds, mpt.targets, mpt.trainable_params) == (2, ("a", "b"), pytest.approx(12_116))
    pt = scores["pt"]["4"]
    assert pt.mean == pytest.approx(0.6) and pt.half_width is None and pt.seeds == 1


def test_crossed_seeds_are_averaged_within_their_source_seed_before_the_interval():
    # Two source seeds × three target seeds: six runs, but two independent draws of the source stage.
    runs = [_record(task, "mpt", base + 0.01 * j, seed=j, k=16, source_seed=s)
            for task in ("a", "b") for s, base in ((0, 0.60), (1, 0.70)) for j in range(3)]
    runs += [_record(task, "pt", 0.5 + 0.02 * j, seed=j, k=16) for task in ("a", "b") for j in range(3)]
    scores = accuracy_by_k(runs)
    mpt, pt = scores["mpt"]["16"], scores["pt"]["16"]
    assert mpt.seeds == 2 and mpt.mean == pytest.approx(0.66)
    assert mpt.half_width == pytest.approx(t_interval([0.61, 0.71])[1])  # over the 2 source seeds, not 6 runs
    assert pt.seeds == 3 and pt.half_width == pytest.approx(t_interval([0.50, 0.52, 0.54])[1])  # PT: target seeds


def test_accuracy_by_rank_compares_ranks_on_the_targets_that_ran_both():
    runs = _grid({("mpt", "a"): [0.80, 0.84], ("mpt", "b"): [0.60, 0.64], ("pt", "a"): [0.5]}, ks=("full",))
    runs += [_record("a", "mpt", t, seed=s, k="full", ablation="rank4", rank=4, params=13_904)
             for s, t in enumerate([0.70, 0.76])]
    runs.append(_record("a", "mpt", 0.0, seed=0, k="full", ablation="no_decomp", rank=1))  # not a rank change
    by_rank = accuracy_by_rank(runs)
    assert list(by_rank) == ["mpt"] and list(by_rank["mpt"]) == [1, 4]
    assert by_rank["mpt"][1].mean == pytest.approx(0.82) and by_rank["mpt"][1].targets == ("a",)  # b ran r = 1 only
    assert by_rank["mpt"][4].mean == pytest.approx(0.73) and by_rank["mpt"][4].trainable_params == 13_904
    assert accuracy_by_rank(runs, k=4) == {}
    assert accuracy_by_rank(_grid({("mpt", "a"): [0.8]})) == {}  # one rank only


def test_counts_text_adds_up_as_printed():
    import re

    shown = _counts_text(explorer_counts(20, 576, 1, 2), 20, 576, 1, 2, "SmolLM2-135M")
    # The old text read "596 + 11,520 / 2 = 6,356"; it now shows the share of P*.
    assert "(l+d)·r + l·d/S = 596 + 11,520/2 = 596 + 5,760 = 6,356 per task" in shown[2]
    assert "l·d + (l+d)·r = 11,520 + 596 = 12,116" in shown[4]

    def number(text):
        return float(text.replace(",", ""))

    for l, d, r, tasks in [(20, 576, 1, 2), (100, 768, 1, 8), (20, 576, 2, 7), (1, 512, 32, 3)]:  # noqa: E741
        c = explorer_counts(l, d, r, tasks)
        pt, per_task, total, alone = _counts_text(c, l, d, r, tasks, "x")[1:]
        assert f"l·d = {l * d:,} per task; l·d·S = {l * d * tasks:,} in total" in pt
        own, ld, tau, own2, share, result = map(number, re.search(
            r"= ([\d,]+) \+ ([\d,]+)/(\d+) = ([\d,]+) \+ ([\d,.]+) = ([\d,.]+) per task", per_task).groups())
        assert (own, ld, tau, own2) == ((l + d) * r, l * d, tasks, own)
        assert share == pytest.approx(ld / tau, abs=0.05) and result == pytest.approx(own + share)
        assert result == pytest.approx(c["mpt_per_task"], abs=0.05)
        ld2, own3, tau2, z = map(number, re.search(r"= ([\d,]+) \+ ([\d,]+)·(\d+) = ([\d,]+) in total", total).groups())
        assert ld2 + own3 * tau2 == z == c["mpt_total"]
        ld3, own4, z2 = map(number, re.search(r"= ([\d,]+) \+ ([\d,]+) = ([\d,]+)$", alone).groups())
        assert ld3 + own4 == z2 == c["mpt_target"]


def _legend_colours(ax):
    """{legend label: colour} of an axis's legends (all of them)."""
    from matplotlib.colors import to_hex

    out = {}
    for legend in [*ax.artists, ax.get_legend()]:
        if legend is None or not hasattr(legend, "legend_handles"):
            continue
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            colour = handle.get_color() if hasattr(handle, "get_color") and not hasattr(handle, "get_offsets") \
                else handle.get_facecolor()[0]
            out[text.get_text()] = to_hex(colour)
    return out


def test_one_colour_per_method_in_every_figure():
    from matplotlib.colors import to_hex

    main = ("pt", "spot", "spot_generic", "decomp", "mpt")
    assert len({METHOD_COLOURS[m] for m in main}) == len(main)  # distinct
    assert method_colour("MPT (transfer + multitask)") == method_colour("MPT") == METHOD_COLOURS["mpt"]
    assert method_colour("SPoT") == METHOD_COLOURS["spot"] and method_colour("PT") == METHOD_COLOURS["pt"]
    runs = _grid({("mpt", "a"): [0.8, 0.84], ("pt", "a"): [0.5, 0.6]}, ks=("full",))
    runs += [_record("a", "mpt", 0.7, seed=s, k="full", ablation="rank4", rank=4) for s in (0, 1)]
    by_k = _legend_colours(accuracy_vs_k_figure(runs).axes[0])
    by_r = _legend_colours(accuracy_vs_rank_figure(runs).axes[0])
    counts_panel = _legend_colours(static_explorer_figure(runs).axes[1])  # the measured strip
    assert by_k["MPT"] == by_r["MPT"] == to_hex(METHOD_COLOURS["mpt"]) and by_k["PT"] == to_hex(METHOD_COLOURS["pt"])
    assert counts_panel["MPT 82.0 (12,116 params)"] == to_hex(METHOD_COLOURS["mpt"])  # the rank4 ablation: not here
    assert counts_panel["PT 55.0 (11,520 params)"] == to_hex(METHOD_COLOURS["pt"])
    plt.close("all")


def test_accuracy_vs_k_figure_draws_intervals_or_says_there_are_none():
    runs = _grid({("mpt", "a"): [0.80, 0.84], ("pt", "a"): [0.5, 0.6]}, ks=("4", "16", "full"))
    ax = accuracy_vs_k_figure(runs, highlight_k=16).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["k = 4", "k = 16", "k = full"]
    assert next(t for t in ax.get_xticklabels() if t.get_text() == "k = 16").get_fontweight() == "bold"
    assert "95% t-interval over 2 seeds" in ax.get_legend().get_title().get_text()
    mpt = next(line for line in ax.get_lines() if line.get_label() == "MPT")
    pt = next(line for line in ax.get_lines() if line.get_label() == "PT")
    assert list(mpt.get_ydata()) == pytest.approx([82.0] * 3)
    assert all(a > b for a, b in zip(mpt.get_xdata(), pt.get_xdata(), strict=True))  # side by side, not on top
    bars = [c for c in ax.collections if c.get_segments()]  # error bars
    half = 100 * t_interval([0.80, 0.84])[1]
    # MPT's 82.0 ± 25.4 runs from 56.6 to 100 (cut at 100 %), not to 107.4
    assert any((seg[0][1], seg[1][1]) == pytest.approx((82.0 - half, 100.0)) for c in bars for seg in c.get_segments())
    wide = accuracy_vs_k_figure(_grid({("mpt", "a"): [0.10, 0.99]}, ks=("full",))).axes[0]  # t(0.975, 1) = 12.7
    assert [(seg[0][1], seg[1][1]) for c in wide.collections if c.get_segments() for seg in c.get_segments()] == [
        (0.0, 100.0)]  # the interval stops at 0 and 100 %
    one = accuracy_vs_k_figure(_grid({("mpt", "a"): [0.8]})).axes[0]
    assert "one run per point: no interval" in one.get_legend().get_title().get_text()
    assert not [c for c in one.collections if c.get_segments()]
    empty = accuracy_vs_k_figure(None).axes[0]
    assert any("no measured runs" in t.get_text() for t in empty.texts)
    plt.close("all")


def test_accuracy_vs_rank_figure_plots_measured_ranks_and_marks_the_chosen_one():
    runs = _grid({("mpt", "a"): [0.80, 0.84]}, ks=("full",))
    runs += [_record("a", "mpt", t, seed=s, k="full", ablation="rank4", rank=4, params=13_904)
             for s, t in enumerate([0.70, 0.76])]
    ax = accuracy_vs_rank_figure(runs, highlight_r=2).axes[0]
    mpt = next(line for line in ax.get_lines() if line.get_label() == "MPT")
    assert list(mpt.get_xdata()) == [1, 4] and list(mpt.get_ydata()) == pytest.approx([82.0, 73.0])
    assert any(line.get_xdata()[0] == 2 for line in ax.get_lines() if line.get_label() != "MPT")  # the slider's r
    assert any("r = 2 (slider), not measured" in t.get_text() for t in ax.texts)
    assert any("13,904 params" in t.get_text() for t in ax.texts)
    only = accuracy_vs_rank_figure(_grid({("mpt", "a"): [0.8, 0.9]})).axes[0]
    assert any(t.get_text() == "only r = 1 measured" for t in only.texts)
    plt.close("all")


def test_static_figure_puts_counts_beside_accuracy_vs_k_with_the_paper_labelled():
    runs = _grid({("mpt", "a"): [0.80, 0.84], ("spot", "a"): [0.7, 0.7], ("pt", "a"): [0.5, 0.6],
                  ("decomp", "a"): [0.8, 0.84]}, ks=("4", "full"))
    fig = static_explorer_figure(runs, l=100, r=1, d=768, tasks=8)
    paper_strip, counts, by_k = fig.axes
    assert [t.get_text() for t in by_k.get_xticklabels()] == ["k = 4", "k = full"]
    labels = _legend_colours(counts)
    assert "paper, T5-Base: GLUE avg (Table 1)" in labels and "paper, T5-Base: SuperGLUE avg (Table 1)" in labels
    assert any("not checked against the paper" in label for label in labels)
    assert [t.get_text() for t in paper_strip.texts if "unverified" in t.get_text()] == ["PT 72.2 (unverified)",
                                                                                         "PT 57.8 (unverified)"]
    assert any("T5-Base on GLUE / SuperGLUE" in t.get_text() for t in paper_strip.texts)  # the paper's own strip
    # The count lines, through both strips: PT and MPT-alone are 1% apart, so they differ in style and their labels
    # sit on either side.
    lines = {line.get_label().split(":")[0]: line for line in paper_strip.get_lines() if line.get_label()[:1] in "PM"}
    assert lines["PT per task"].get_linestyle() != lines["MPT, one target adapted alone"].get_linestyle()
    assert sorted(line.get_xdata()[0] for line in counts.get_lines() if line.get_gid() == "count") == sorted(
        line.get_xdata()[0] for line in lines.values()) == [10_468, 76_800, 77_668]
    pt_label = next(t for t in paper_strip.texts if t.get_text().startswith("PT 76.8K"))
    mpt_label = next(t for t in paper_strip.texts if t.get_text().startswith("MPT alone 77.7K"))
    assert pt_label.get_ha() == "right" and mpt_label.get_ha() == "left"
    # This repo's points sit at their true counts (PT and SPoT share 11,520 params, Decomp. and MPT 12,116), each
    # method with its own marker.
    points = [c for c in counts.collections if c.get_label().endswith("params)")]
    xs = [c.get_offsets()[0][0] for c in points]
    assert len(xs) == 4 and sorted(set(xs)) == [11_520, 12_116]
    assert all(f"({x:,.0f} params)" in c.get_label() for x, c in zip(xs, points, strict=True))
    assert len({tuple(map(tuple, c.get_paths()[0].vertices.round(3))) for c in points}) == 4
    plt.close(fig)
    assert len(static_explorer_figure(runs, r=4, rank_panel=True).axes) == 4
    plt.close("all")


def test_measured_settings_and_the_explorer_say_which_sliders_move_the_scores(monkeypatch):
    import mpt_nb.viz.explorer as explorer_module

    real_scores = explorer_module.accuracy_by_setting
    runs = _grid({("mpt", "a"): [0.8, 0.84], ("pt", "a"): [0.5, 0.6]}, ks=("16", "full"))
    assert measured_settings(runs) == {"l": [20], "r": [1], "d": [576], "ks": ["16", "full"],
                                       "backbones": ["smollm2-135m-instruct"]}
    explorer = param_count_explorer(runs, k=16)
    assert explorer.sliders["k"].options == ("16", "full") and explorer.sliders["k"].value == "16"
    note = explorer.note.value
    assert "measured only at r = 1, l = 20, d = 576" in note
    assert "l, d and S change the counts only" in note and "r = 1 is measured" in note
    explorer.sliders["r"].value = 8
    assert "r = 8 is not measured" in explorer.note.value
    explorer.sliders["k"].value = "full"  # redraws headless
    assert "l = 100, d = 768, r = 8, S = 8 tasks" in explorer.summary.value
    assert "at l = 100, r = 8, k = full: no measured point" in explorer.note.value
    # The scores at a k are computed once: later slider moves at that k reuse them.
    calls = []
    monkeypatch.setattr(explorer_module, "accuracy_by_setting",
                        lambda records, k: calls.append(k) or real_scores(records, k=k))
    moved = param_count_explorer(runs, k=16)
    for tasks in (2, 3, 4):
        moved.sliders["tasks"].value = tasks
    moved.sliders["r"].value = 8
    moved.sliders["k"].value = "full"
    assert calls == ["16", "full"], calls
    empty = param_count_explorer()
    assert empty.sliders["k"].options == ("full",) and "no measured runs" in empty.note.value
    assert "76,800 per task" in empty.summary.value
    plt.close("all")


# --------------------------------------------------------------------------------------------------- the l × r sweep

SWEEP_L, SWEEP_R = (5, 10, 20, 40), (1, 2, 4)


def _sweep_runs(d=576, k="full", lengths=SWEEP_L, ranks=SWEEP_R):
    """PT at every l, MPT at every l and r, two targets, three target seeds: a score that rises with l, r and seed."""
    runs = []
    for l in lengths:  # noqa: E741
        for seed in (0, 1, 2):
            for task in ("a", "b"):
                for method, method_ranks in (("pt", (0,)), ("mpt", ranks)):
                    for r in method_ranks:
                        test = 0.5 + 0.002 * l + 0.02 * r + 0.01 * seed + (0.05 if task == "a" else 0.0)
                        runs.append(_record(task, method, test, seed=seed, k=k, prompt_tokens=l, rank=r,
                                            params=expected_trainable(method, l, d, rank=r or 1),
                                            source_seed=0 if method == "mpt" else None, ablation="none"))
    return runs


def _sweep_points(ax):
    """{(x, y)} of the measured strip's points, {(x, y)} of its ringed ones, and its interval segments."""
    points = {tuple(xy) for c in ax.collections if ": l = " in c.get_label() or c.get_label().endswith("params)")
              for xy in c.get_offsets().tolist()}
    ringed = {tuple(xy) for c in ax.collections if c.get_gid() == "selected" for xy in c.get_offsets().tolist()}
    bars = [seg for c in ax.collections if c.get_label() == "_nolegend_" and hasattr(c, "get_segments")
            for seg in c.get_segments() if len(seg) == 2 and seg[0][0] == seg[1][0] and seg[0][1] != seg[1][1]]
    return points, ringed, bars


def test_accuracy_by_setting_gives_one_score_per_method_l_and_r():
    runs = _sweep_runs()
    runs.append(_record("a", "mpt", 0.0, seed=0, prompt_tokens=20, rank=4, ablation="rank4"))  # ablations: left out
    runs.append({**_record("a", "pt", 0.0, seed=9), "prompt_tokens": 0})  # no prompt length: left out
    scores = accuracy_by_setting(runs)
    assert list(scores)[:4] == [("pt", 5, 0), ("pt", 10, 0), ("pt", 20, 0), ("pt", 40, 0)]  # table order, then l, r
    assert len(scores) == len(SWEEP_L) * (1 + len(SWEEP_R)) == 16
    for (method, l, r), score in scores.items():  # noqa: E741
        base = 0.5 + 0.002 * l + 0.02 * r + 0.025
        mean, half = t_interval([base, base + 0.01, base + 0.02])
        assert (score.mean, score.half_width, score.seeds) == (pytest.approx(mean), pytest.approx(half), 3)
        assert score.trainable_params == expected_trainable(method, l, 576, rank=r or 1)
    assert accuracy_by_setting(runs, k=16) == {}


def test_the_explorer_figure_draws_the_sweep_at_true_counts_and_rings_the_sliders_point():
    runs = _sweep_runs()
    fig = static_explorer_figure(runs, l=10, r=2, d=576, tasks=2)
    paper_strip, measured, by_k = fig.axes
    points, ringed, bars = _sweep_points(measured)
    # Every (method, l, r) at its count from the formula, at its mean: nothing shifted along x.
    expected = {expected_trainable(m, l, 576, rank=r or 1): 100 * (0.5 + 0.002 * l + 0.02 * r + 0.035)
                for l in SWEEP_L for m, ranks in (("pt", (0,)), ("mpt", SWEEP_R)) for r in ranks}  # noqa: E741
    assert len(expected) == len(points) == 16 and sorted(x for x, _ in points) == sorted(expected)
    assert all(y == pytest.approx(expected[x]) for x, y in points)
    assert len(bars) >= 12  # one interval per point
    low, high = measured.get_ylim()
    assert all(low <= y <= high for seg in bars for _, y in seg)
    # The sliders' l = 10 and r = 2: PT at l = 10 and MPT at l = 10, r = 2 are ringed, and they sit on the count lines.
    pt_x, mpt_x = expected_trainable("pt", 10, 576), expected_trainable("mpt", 10, 576, rank=2)
    assert {x for x, _ in ringed} == {pt_x, mpt_x}
    lines = {line.get_xdata()[0] for line in measured.get_lines() if line.get_gid() == "count"}
    assert {pt_x, mpt_x} <= lines
    assert any("T5-Base on GLUE / SuperGLUE" in t.get_text() for t in paper_strip.texts)
    assert by_k.get_title().startswith("Measured at l = 10, r = 2")  # the k panel shows the runs at the sliders
    plt.close(fig)
    # Another setting rings other points; one not measured rings none.
    other = static_explorer_figure(runs, l=40, r=4, d=576, tasks=2)
    assert {x for x, _ in _sweep_points(other.axes[1])[1]} == {
        expected_trainable("pt", 40, 576), expected_trainable("mpt", 40, 576, rank=4)}
    assert not _sweep_points(static_explorer_figure(runs, l=100, r=8, d=576, tasks=2).axes[1])[1]
    plt.close("all")


def test_intervals_that_leave_the_strip_are_clipped_and_marked():
    runs = _sweep_runs(lengths=(5, 10), ranks=(1,))
    for rec, test in zip([r for r in runs if (r["method"], r["prompt_tokens"]) == ("pt", 5)],
                         [0.05, 0.05, 0.95, 0.95, 0.5, 0.5], strict=True):
        rec["test"] = test  # seed means 5, 95, 50: an interval far wider than the other points' spread
    fig = static_explorer_figure(runs, l=5, r=1, d=576)
    measured = fig.axes[1]
    _, _, bars = _sweep_points(measured)
    low, high = measured.get_ylim()
    assert bars and all(low <= y <= high for seg in bars for _, y in seg)
    assert len([c for c in measured.collections if c.get_gid() == "clipped"]) == 2  # ▲ and ▼ on the wide one
    assert "clipped" in measured.artists[0].get_title().get_text()
    plt.close("all")


def test_the_explorer_sliders_step_among_the_measured_points(monkeypatch):
    from mpt_nb.viz import explorer as explorer_module

    ringed = []
    monkeypatch.setattr(explorer_module.plt, "show",
                        lambda: ringed.append({x for x, _ in _sweep_points(plt.gcf().axes[1])[1]}))
    explorer = param_count_explorer(_sweep_runs())
    l_options, r_options = explorer.sliders["l"].options, explorer.sliders["r"].options
    # The measured values are stops, next to each other: a slider step goes from one measured point to the next.
    assert [l_options.index(v) for v in SWEEP_L] == list(range(l_options.index(5), l_options.index(5) + 4))
    assert [r_options.index(v) for v in SWEEP_R] == [0, 1, 2]
    assert "l and r step among the measured points" in explorer.note.value
    explorer.sliders["d"].value = "SmolLM2-135M"
    explorer.sliders["l"].value = 10
    explorer.sliders["r"].value = 2
    assert ringed[-1] == {expected_trainable("pt", 10, 576), expected_trainable("mpt", 10, 576, rank=2)}
    mean, half = t_interval([0.5 + 0.02 + 0.04 + 0.025 + 0.01 * s for s in range(3)])
    assert f"MPT (r = 2) {100 * mean:.1f} ± {100 * half:.1f} (6,932 params)" in explorer.note.value
    explorer.sliders["l"].value = 20  # one step right
    assert ringed[-1] == {expected_trainable("pt", 20, 576), expected_trainable("mpt", 20, 576, rank=2)}
    explorer.sliders["r"].value = 4
    assert ringed[-1] == {expected_trainable("pt", 20, 576), expected_trainable("mpt", 20, 576, rank=4)}
    explorer.sliders["l"].value = 50  # a count-only stop: nothing measured there
    assert ringed[-1] == set() and "at l = 50, r = 4, k = full: no measured point" in explorer.note.value
    plt.close("all")


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


def test_the_sliders_step_among_measured_values_and_open_on_one():
    from mpt_nb.viz import explorer

    stops = (1, 2, 5, 10, 20, 50, 100)
    assert explorer.slider_stops(stops, [5, 40]) == [1, 2, 5, 40, 50, 100]  # no fixed stop between measured ones
    assert explorer.slider_stops(stops, [20]) == [1, 2, 5, 10, 20, 50, 100]  # one measured value: every stop
    assert explorer._opening_length([5, 10, 20, 40]) == 20 and explorer._opening_length([5, 40]) == 5
    assert explorer._opening_length([20]) == explorer.paper.PROMPT_TOKENS
