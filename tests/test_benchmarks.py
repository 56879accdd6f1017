"""The benchmark scripts, end to end on tiny models: the quality grid (records, resume, table, figure), the GPU
reproduction config (parses and maps onto a profile), and the speed script's --smoke mode."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml
from conftest import repo_module

from mpt_nb.methods import ABLATIONS, METHODS
from mpt_nb.results import (
    GridConfig,
    append_record,
    chosen_lrs,
    load_records,
    plan_runs,
    record_key,
    search_runs,
)

ROOT = Path(__file__).resolve().parent.parent


quality = repo_module("benchmarks.quality")
grid_runner = repo_module("benchmarks.grid_runner")
speed = repo_module("benchmarks.speed")
determinism = repo_module("benchmarks.determinism")


def test_paper_config_parses_and_maps_onto_the_gpu_profile():
    cfg = GridConfig.from_yaml(ROOT / "configs" / "paper_t5_base.yaml")
    profile = cfg.build_profile()
    assert profile.name == "gpu"
    assert profile.backbone == "google-t5/t5-base"
    assert profile.prompt_tokens == 100 and profile.rank == 1
    assert profile.source_tasks == ("glue/mnli", "glue/qnli", "glue/qqp", "glue/sst2")
    assert {"glue/rte", "superglue/boolq", "superglue/cb"} <= set(profile.target_tasks)
    plan = plan_runs(cfg, profile)
    n_main = len(profile.target_tasks) * 4 * 3 * 4  # targets x methods x seeds x k
    assert len(plan) == n_main + 3 * len(ABLATIONS)
    assert plan[0].k == "full" and {s.k for s in plan[-5:]} <= {4, 32}
    assert len({s.key for s in plan}) == len(plan)
    assert grid_runner.artefacts_dir(cfg) == ROOT / "outputs" / "artefacts"


def test_config_rejects_unknown_keys(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"profile": "smoke", "grid": {"method": ["pt"]}}))
    with pytest.raises(ValueError, match="unknown config key"):
        GridConfig.from_yaml(path)
    path.write_text(yaml.safe_dump({"profile": "smoke", "overrides": {"prompt_token": 3}}))
    with pytest.raises(TypeError, match="unknown profile field"):
        GridConfig.from_yaml(path).build_profile()


def test_append_record_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "r.jsonl"
    append_record(path, {"task": "a", "method": "pt", "k": 4, "seed": 0, "test": 0.5})
    with open(path, "a") as f:
        f.write('{"task": "b", "meth')  # a run killed mid-write
    append_record(path, {"task": "c", "method": "mpt", "k": "full", "seed": 1, "test": 0.7})
    with pytest.warns(UserWarning, match="not a complete JSON line"):
        records = load_records(path)
    assert [r["task"] for r in records] == ["a", "c"]
    assert record_key(records[1]) == ("c", "mpt", "full", 1, "none", None, None)


def _smoke_config(tmp_path: Path) -> Path:
    config = {
        "profile": "smoke",
        "overrides": {"teacher_steps": 2, "distill_steps": 2, "target_steps": 2, "few_shot_steps": 2,
                      "eval_every": 2, "max_train": 48, "max_eval": 16, "max_validation": 8},
        "grid": {"methods": ["pt", "spot", "mpt"], "k": [4], "seeds": [0], "ablations": False},
        "output": {"results": str(tmp_path / "q.jsonl"), "table": str(tmp_path / "q.md"),
                   "figure": str(tmp_path / "q.png"), "artefacts": str(tmp_path / "art")},
    }
    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_quality_grid_writes_records_resumes_and_renders(tmp_path, capsys):
    config = _smoke_config(tmp_path)
    assert quality.main(["--config", str(config), "--max-runs", "2"]) == 0
    records = load_records(tmp_path / "q.jsonl")
    assert [(r["method"], r["k"]) for r in records] == [("pt", 4), ("spot", 4)]
    for r in records:
        assert {"task", "method", "k", "seed", "ablation", "test", "trainable_params", "wall_time_s", "config"} <= set(r)
        assert r["ablation"] == "none" and r["profile"] == "smoke"
    first_walls = [r["wall_time_s"] for r in records]

    assert quality.main(["--config", str(config)]) == 0  # resumes: only the missing run
    out = capsys.readouterr().out
    assert "3 runs, 2 already in" in out and "ran 1 run(s)" in out
    records = load_records(tmp_path / "q.jsonl")
    assert [r["method"] for r in records] == ["pt", "spot", "mpt"]
    assert [r["wall_time_s"] for r in records[:2]] == first_walls  # earlier runs untouched
    assert len({record_key(r) for r in records}) == 3

    assert quality.main(["--config", str(config)]) == 0  # nothing left: no run, re-render only
    assert len(load_records(tmp_path / "q.jsonl")) == 3
    table = (tmp_path / "q.md").read_text()
    assert "| amazon_sentiment | 4 | MPT |" in table and "Average over target tasks" in table
    assert (tmp_path / "q.png").stat().st_size > 1000
    assert list((tmp_path / "art").glob("teachers-seed0-*.safetensors"))
    assert all("test_predictions" in r for r in records)


def test_a_rehearsal_runs_every_cell_once_in_one_step_and_lists_the_failures(tmp_path, capsys, monkeypatch):
    config = _smoke_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["grid"].update({"seeds": [0, 1], "source_seeds": [0, 1], "k": [4, "full"]})
    config.write_text(yaml.safe_dump(raw))
    # A rehearsal never trains a source stage: before any is saved, only PT's cells run, and it exits 1.
    assert quality.main(["--config", str(config), "--rehearse"]) == 1
    out = capsys.readouterr().out
    assert "rehearsal: 2 cells ran, 0 failed, 4 not rehearsed" in out and not list((tmp_path / "art").glob("*"))
    assert "not rehearsed: mpt amazon_sentiment k=4 seed=0 source_seed=0" in out
    # Train source seed 0's stages (one grid run), then rehearse with the target-lr search on.
    assert quality.main(["--config", str(config), "--only", "method=mpt", "--max-runs", "1"]) == 0
    raw["grid"].update({"lr_search": [0.01, 0.03], "lr_search_k": 4})
    config.write_text(yaml.safe_dump(raw))
    real_run = quality.Runner.run

    def spot_full_fails(self, spec, *args, **kwargs):
        if (spec.method, spec.k, spec.lr) == ("spot", "full", None):
            raise ValueError("the true few-shot selection needs 16 rows per class\nsecond line")
        return real_run(self, spec, *args, **kwargs)

    monkeypatch.setattr(quality.Runner, "run", spot_full_fails)
    capsys.readouterr()
    assert quality.main(["--config", str(config), "--rehearse"]) == 1
    out = capsys.readouterr().out
    # One search run per method (pt, spot, mpt), then the four cells PT's first rehearsal left.
    assert "rehearsal: 6 cells ran, 1 failed, 0 not rehearsed" in out
    assert "failed: spot amazon_sentiment k=full seed=0 source_seed=0: ValueError: the true few-shot selection" in out
    assert "second line" not in out
    records = load_records(tmp_path / "q_rehearsal.jsonl")
    assert len(load_records(tmp_path / "q.jsonl")) == 1  # the grid's records hold only its own run
    assert {(r["seed"], r.get("source_seed")) for r in records} <= {(0, 0), (0, None)}
    assert all(r["steps"] == 1 for r in records)
    assert len(load_records(tmp_path / "q_rehearsal_lr_search.jsonl")) == 3  # the search's records: their own file
    # It resumes: a second rehearsal runs only the failed cell.
    monkeypatch.setattr(quality.Runner, "run", real_run)
    assert quality.main(["--config", str(config), "--rehearse"]) == 0
    assert "rehearsal: 1 cells ran, 0 failed, 0 not rehearsed" in capsys.readouterr().out


def test_true_few_shot_runs_share_their_twins_training_except_spot(tmp_path, capsys, monkeypatch):
    from dataclasses import replace

    config = _smoke_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["grid"].update({"k": [16], "source_seeds": [0], "true_few_shot": True})
    raw["overrides"].update({"max_train": 96, "max_validation": 32})  # 16 training rows per class
    config.write_text(yaml.safe_dump(raw))
    cfg = GridConfig.from_yaml(config)
    planned = plan_runs(cfg, cfg.build_profile())
    assert {s.validation_k for s in planned} == {None, 16}
    # The smoke suite's validation split has 13 rows of one class: select on 4 per class instead of 16.
    plan = [replace(s, validation_k=4) if s.validation_k else s for s in planned]
    monkeypatch.setattr(quality, "plan_runs", lambda cfg, profile: plan)
    twins = quality.true_few_shot_twins(plan)
    assert {plan_spec.method for plan_spec in plan if plan_spec.key in twins} == {"pt", "mpt"}  # not SPoT
    assert all(twin.validation_k == 4 and twin.priority == 3 for twin in twins.values())
    # --max-runs 1 leaves a pair's first run alone (a pair is two runs); the next chunk runs its twin alone too.
    assert quality.main(["--config", str(config), "--max-runs", "1"]) == 0
    (alone,) = load_records(tmp_path / "q.jsonl")
    assert record_key(alone) in twins and "selected_with_twin" not in alone
    assert quality.main(["--config", str(config)]) == 0
    records = load_records(tmp_path / "q.jsonl")
    assert sorted(map(record_key, records), key=str) == sorted((s.key for s in plan), key=str)  # every run, once
    by_key = {record_key(r): r for r in records}
    assert "selected_with_twin" not in by_key[twins[record_key(alone)].key]
    for key, twin in twins.items():
        if key == record_key(alone):
            continue
        first, second = by_key[key], by_key[twin.key]
        assert first["selected_with_twin"] and second["selected_with_twin"]
        assert first["run_wall_time_s"] == second["run_wall_time_s"]  # one training
        assert (first["validation_k"], second["validation_k"]) == (None, 4)
        assert first["checkpoint_steps"] == second["checkpoint_steps"]
    spot = [r for r in records if r["method"] == "spot"]
    assert len(spot) == 2 and not any("selected_with_twin" in r for r in spot)
    assert "one training with the run above" in capsys.readouterr().out


def test_render_writes_the_explorer_figure_beside_the_grids_figure(tmp_path):
    """On the offline profile with full-data runs the render adds the explorer's static figure: beside the
    parameters-vs-accuracy figure (results/ by default), never under notebooks/."""
    from mpt_nb.profiles import get_profile

    profile = get_profile("offline")
    cfg = GridConfig(table=str(tmp_path / "q.md"), figure=str(tmp_path / "figures" / "p.png"), ablations=False)
    records = [{"task": task, "method": method, "k": "full", "seed": 0, "metric": "accuracy", "test": 0.5 + i / 10,
                "trainable_params": 11_520 + i, "prompt_tokens": 20, "rank": 1}
               for i, method in enumerate(("pt", "mpt")) for task in profile.target_tasks[:2]]
    before = {p: p.stat().st_mtime_ns for p in (ROOT / "notebooks").rglob("*")}
    quality.render(cfg, profile, records)
    assert {p.name for p in (tmp_path / "figures").iterdir()} == {"p.png", "explorer_static.png"}
    assert {p: p.stat().st_mtime_ns for p in (ROOT / "notebooks").rglob("*")} == before
    assert Path(GridConfig().figure).parent == Path("results")


def test_quality_plan_filters_and_ablations():
    from mpt_nb.methods import ABLATIONS, METHODS
    from mpt_nb.profiles import get_profile

    profile = get_profile("offline", few_shot_k=(4, 16, 32), seeds=(0, 1, 2))
    cfg = GridConfig()
    plan = plan_runs(cfg, profile)
    cell = 3 * len(profile.target_tasks) * len(METHODS)  # seeds x targets x methods, for one k
    assert len(plan) == 4 * cell + 3 * len(ABLATIONS)
    assert [s.k for s in plan[:cell]] == [16] * cell and [s.k for s in plan[cell : 2 * cell]] == ["full"] * cell
    assert {s.ablation for s in plan[2 * cell : 2 * cell + 3 * len(ABLATIONS)]} == set(ABLATIONS)
    only = quality.parse_only(["k=16", "method=mpt,pt", "seed=0"])
    picked = [s for s in plan if quality.matches(s, only)]
    assert len(picked) == len(profile.target_tasks) * 2 and all(s.k == 16 and s.seed == 0 for s in picked)


def test_ablations_of_a_method_left_out_of_the_grid_are_left_out_too():
    from mpt_nb.methods import ABLATIONS
    from mpt_nb.profiles import get_profile

    profile = get_profile("offline", few_shot_k=(16,), seeds=(0,))
    plan = plan_runs(GridConfig(methods=["pt", "mpt"], k=[16]), profile)
    kept = {name for name, ablation in ABLATIONS.items() if ablation.method == "mpt"}
    assert kept and kept != set(ABLATIONS)  # the case needs ablations of another method (decomp)
    assert {s.method for s in plan} == {"pt", "mpt"}
    assert {s.ablation for s in plan} == kept | {"none"}


def test_speed_smoke_prints_every_ratio(capsys):
    assert speed.main(["all", "--smoke", "--no-memory", "--backbone", "smollm2", "--reps", "1", "--profile"]) == 0
    out = capsys.readouterr().out
    for marker in ("ratio mpt_nb / limit", "time ratio mpt_nb / PEFT", "ratio dynamic / padded",
                   "ratio distill / plain", "ratio rank / generate", "threads:", "versions:"):
        assert marker in out, marker
    summary = json.loads(out.split("summary: ", 1)[1].splitlines()[0])
    assert {"step/tiny-llama", "peft/tiny-llama", "epoch/tiny-llama", "distill/tiny-llama", "eval/tiny-llama"} <= set(summary)
    assert "teacher passes during student steps: 0" in out
    # --profile: rank classification is two backbone passes per batch (the prompt's keys and values once, then the
    # rows: PromptedModel.cache_prompt); generation at least one
    assert "profile, rank classification, one batch of 16 rows: 2 backbone forward pass(es)" in out
    assert "ratio cached / every row" in out and "prefix_train/tiny-llama" in summary
    assert "profile, generate, max_new_tokens=" in out
    # [8] runs its workers as processes of their own (one per thread), so it needs two threads to compare
    assert "workers/tiny-llama" in summary or "needs --threads >= 2" in out
    # [9] a whole target run against its training steps, with where the rest goes
    assert "ratio whole run / training steps" in out and "run/tiny-llama" in summary
    assert "validation pass(es)" in out and "test pass" in out


def test_speed_eval_runs_on_a_seq2seq_backbone_with_every_new_token(capsys):
    """[5] on T5 (random weights, so a random prompt): generation may not stop early at end-of-sequence."""
    assert speed.main(["eval", "--smoke", "--backbone", "t5", "--reps", "1"]) == 0
    out = capsys.readouterr().out
    assert "backbone tiny-t5" in out and "prompt: random (smoke); end-of-sequence disabled" in out
    assert "ratio rank / generate" in out


def test_determinism_compares_calls_in_a_process_per_setting(capsys):
    # Each setting reaches its own process: the 1-thread one reports 1 thread, the default the machine's count.
    assert determinism.main(["--smoke", "--calls", "2", "--settings", "default", "1 thread"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("default ", "1 thread"))}
    assert rows["1"][2] == "1", out  # "1 thread": its threads column
    # 2 processes of 1 comparison each within, and their 2 first gradients compared with each other
    assert "of 2" in " ".join(rows["default"]) and "of 1" in " ".join(rows["default"]), out
    summary = json.loads(out.split("summary: ", 1)[1])
    assert set(summary) == {"default", "1 thread"} and summary["default"]["ratio"] == 1.0
    assert {"differ", "processes_differ"} <= set(summary["default"])
    for bad in (["--calls", "1"], ["--processes", "0"]):
        with pytest.raises(SystemExit):
            determinism.main(bad)


def test_speed_memory_child_reports_a_peak():
    args = argparse.Namespace(batch=4, tokens=8, prompt_tokens=2, rank=1, threads=1, smoke=True)
    mem = speed.measure_memory("mpt", "smollm2", args)
    assert mem["delta_mib"] >= 0 and mem["peak_mib"] >= mem["base_mib"]


def test_speed_limit_loss_and_gradients_are_mpt_nbs():
    """[1]'s limit (the prompt's keys and values once per task, by hand) scores the batch as mpt_nb's step does: the
    same loss and prompt gradients on rows of unequal length, and another prompt gives another loss."""
    import copy

    import torch

    from mpt_nb.data import PromptCollator
    from mpt_nb.losses import classification_objective
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.tasks import get_task

    common, steps = repo_module("benchmarks.speed.common"), repo_module("benchmarks.speed.steps")
    backbone = common.load("smollm2", smoke=True)
    rows = common.synthetic_rows(backbone, 8, 24)
    for i, row in enumerate(rows):
        row["input_ids"] = row["input_ids"][: 24 - 2 * i]  # right padding, a different last token per row
    batch = PromptCollator.for_tasks(backbone, [get_task(t) for t in common.TASKS])(rows)
    prompt = common.make_prompt(backbone, 4, 1)
    limit_prompt = copy.deepcopy(prompt)

    expected, _ = classification_objective(PromptedModel(backbone, prompt).train(), batch)
    expected.backward()
    got = steps.limit_loss(backbone, limit_prompt, batch)()
    got.backward()

    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    for (name, p), q in zip(prompt.named_parameters(), limit_prompt.parameters(), strict=True):
        assert p.grad.abs().max() > 0, name
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-6 * float(p.grad.abs().max()), msg=name)
    other = steps.limit_loss(backbone, common.make_prompt(backbone, 4, 1, seed=1), batch)()
    assert abs(other.item() - expected.item()) > 1e-4


def test_source_seed_reuses_one_source_stage_for_every_seed(tmp_path):
    config = _smoke_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["grid"].update({"methods": ["pt", "mpt"], "seeds": [0, 1]})
    config.write_text(yaml.safe_dump(raw))
    assert quality.main(["--config", str(config), "--source-seed", "0"]) == 0
    records = load_records(tmp_path / "q.jsonl")
    assert sorted((r["method"], r["seed"]) for r in records) == [("mpt", 0), ("mpt", 1), ("pt", 0), ("pt", 1)]
    assert {r["source_seed"] for r in records if r["method"] == "mpt"} == {0}
    assert all(r["source_seed"] is None for r in records if r["method"] == "pt")
    saved = [p.name for p in (tmp_path / "art").rglob("*.safetensors")]
    assert saved and not any("seed1" in name for name in saved), saved
    assert "trained once, with seed 0" in (tmp_path / "q.md").read_text()



def test_runs_wait_for_source_stages_that_are_not_shipped(tmp_path, capsys):
    config = _smoke_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["grid"].update({"methods": ["pt", "mpt"], "source_seeds": [0], "shipped_sources": True,
                        "train_missing_sources": False})
    config.write_text(yaml.safe_dump(raw))
    assert quality.main(["--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "ran 1 run(s)" in out and "1 skipped, waiting for their source stages" in out
    assert [r["method"] for r in load_records(tmp_path / "q.jsonl")] == ["pt"]  # PT needs no source stage
    assert not list((tmp_path / "art").rglob("*.safetensors"))  # nothing trained inline

def test_crossed_plan_runs_every_source_seed_and_reuses_pt():
    from mpt_nb.methods import ABLATIONS, METHODS
    from mpt_nb.profiles import get_profile

    profile = get_profile("smoke", target_tasks=("amazon_sentiment", "tweet_sentiment3"), few_shot_k=(4, 16, 32))
    cfg = GridConfig(profile="smoke", seeds=[0, 1], source_seeds=[0, 1, 2], true_few_shot=True,
                             ablation_k=[16, 32])
    plan = plan_runs(cfg, profile)
    assert len({s.key for s in plan}) == len(plan)
    primary = [s for s in plan if s.priority == 1]
    assert {s.k for s in primary} == {16, 32} and plan[: len(primary)] == primary  # the primary endpoint runs first
    # PT: once per (target, k, target seed); every other method once per source seed too.
    per_cell = len(profile.target_tasks) * 2 * 2
    assert sum(s.method == "pt" for s in primary) == per_cell
    assert all(s.source_seed is None for s in primary if s.method == "pt")
    for method in set(METHODS) - {"pt"}:
        runs = [s for s in primary if s.method == method]
        assert len(runs) == per_cell * 3 and {s.source_seed for s in runs} == {0, 1, 2}
    true_few = [s for s in plan if s.validation_k is not None]
    assert {s.k for s in true_few} == {16} and {s.validation_k for s in true_few} == {16}
    ablations = [s for s in plan if s.ablation != "none"]
    assert {s.ablation for s in ablations} == set(ABLATIONS)
    assert {s.task for s in ablations} == set(profile.target_tasks) and {s.k for s in ablations} == {16, 32}
    assert max(s.priority for s in plan) == ablations[-1].priority == 4


BASELINES = ("pt", "spot", "spot_generic", "decomp")


def _design(**changes):
    analysis = repo_module("benchmarks.analysis")
    fields = dict(tasks=("a", "b"), methods=("pt", "spot", "spot_generic", "decomp", "mpt"), ks=("4", "16", "32"),
                  source_seeds=(0, 1, 2, 3, 4), target_seeds=(0, 1))
    return analysis.Design(**{**fields, **changes})


def _grid(gains, *, seed_spread=0.0, pt_spread=0.0, methods=None, drop=None, true_few_shot=False, variants=None,
          rows=1000):
    """Records of a crossed grid (targets a, b; k = 4, 16, 32; source seeds 0-4; target seeds 0, 1) with known
    differences, in points. MPT scores 70 + seed_spread·(s − 2) at source seed s; a baseline b scores 70 − gains[b],
    PT ± pt_spread at target seed 1 / 0; an ablation in ``variants`` (name: points) scores MPT's + its points at k = 16
    and 32. A run is right on a prefix of one fixed order of its task's rows, so paired runs differ on exactly
    |difference| of the rows, all one way."""
    import numpy as np

    rng = np.random.default_rng(0)
    gold = {task: rng.integers(0, 2, size=rows).tolist() for task in ("a", "b")}

    def record(task, k, method, seed, source_seed, points, ablation="none", validation_k=None):
        right = round(points / 100 * rows)
        pred = [g if i < right else 1 - g for i, g in enumerate(gold[task])]
        return {"task": task, "k": k, "method": method, "seed": seed, "source_seed": source_seed,
                "ablation": ablation, "validation_k": validation_k, "metric": "accuracy", "test": right / rows,
                "test_rows": rows, "lr": 0.01, "test_predictions": {"pred": pred, "gold": gold[task]}}

    def points(method, s, t):
        if method == "mpt":
            return 70 + seed_spread * (s - 2)
        return 70 - gains[method] + (pt_spread * (2 * t - 1) if method == "pt" else 0.0)

    records = []
    for task in ("a", "b"):
        for t in (0, 1):
            for k, validation_k in [(4, None), (16, None), (32, None), *([(16, 16)] if true_few_shot else [])]:
                for method in methods or (*BASELINES, "mpt"):
                    for s in [None] if method == "pt" else range(5):
                        if drop != (task, k, method, s, t):
                            records.append(record(task, k, method, t, s, points(method, s or 0, t),
                                                  validation_k=validation_k))
            for name, extra in (variants or {}).items():
                for k in (16, 32):
                    records += [record(task, k, "mpt", t, s, points("mpt", s, t) + extra, name) for s in range(5)]
    return records


def test_analysis_verdicts_follow_the_preregistered_rules():
    analysis = repo_module("benchmarks.analysis")
    # MPT 5 points above every baseline: Holm rejects all four, no interval below +1.
    five = analysis.analyse(_grid(dict.fromkeys(BASELINES, 5.0)), _design(), resamples=100)
    p = five["primary"]
    assert p["verdict"] == "reproduced" and p["complete"] and p["source_seeds"] == [0, 1, 2, 3, 4]
    for b in BASELINES:
        e = p["endpoints"][b]
        assert e["estimate"] == pytest.approx(5.0) and 3 < e["low"] < 5 < e["high"] < 7 and p["holm"][b]
        assert e["per_source_seed"] == pytest.approx([5.0] * 5) and e["variance"]["rows"] > 0
    assert p["distillation"]["verdict"] == "reproduced"
    assert "Verdict: **reproduced**." in analysis.render(five)
    # Half a point over decomposition-only, measured tightly: Holm still rejects it, but its interval lies below +1.
    half = analysis.primary(_grid({"pt": 5.0, "spot": 5.0, "spot_generic": 5.0, "decomp": 0.5}, seed_spread=0.1),
                            _design(), resamples=200)
    d = half["endpoints"]["decomp"]
    assert 0 < d["low"] < 0.5 < d["high"] < 1 and all(half["holm"].values())
    assert half["meets_margin"] == {"pt": False, "spot": False, "spot_generic": False, "decomp": True}
    assert half["verdict"] == "reproduced, by less than a point against decomp"
    assert half["distillation"]["verdict"] == "reproduced, by less than a point"  # above 0, below the margin
    # Slightly below decomposition-only: Holm stops there, and its interval lies below +1.
    below = analysis.primary(_grid({"pt": 5.0, "spot": 5.0, "spot_generic": 5.0, "decomp": -0.3}), _design(),
                             resamples=200)
    assert below["holm"] == {"pt": True, "spot": True, "spot_generic": True, "decomp": False}
    assert below["verdict"] == "not reproduced" and below["distillation"]["verdict"] == "not reproduced"
    # No gain at all: tightly measured, "not reproduced"; with source stages that vary a lot, "inconclusive".
    none = analysis.primary(_grid(dict.fromkeys(BASELINES, 0.0), seed_spread=0.2), _design(), resamples=200)
    assert none["verdict"] == "not reproduced" and not any(none["holm"].values())
    lp = analysis.primary(_grid(dict.fromkeys(BASELINES, 0.0), seed_spread=3.0), _design(), resamples=200)
    assert lp["verdict"] == "inconclusive" and lp["distillation"]["verdict"] == "inconclusive"
    assert all(e["low"] < 0 and e["high"] > 1 for e in lp["endpoints"].values()) and not any(lp["holm"].values())


def test_analysis_outcome_and_co_primary_readings_by_hand():
    analysis = repo_module("benchmarks.analysis")
    yes, no = dict.fromkeys(BASELINES, True), dict.fromkeys(BASELINES, False)
    assert analysis.outcome(yes, no) == "reproduced"
    assert analysis.outcome(yes, {**no, "pt": True, "decomp": True}) == "reproduced, by less than a point against pt, decomp"
    assert analysis.outcome({**yes, "spot": False}, {**no, "decomp": True}) == "not reproduced"
    assert analysis.outcome({**yes, "spot": False}, no) == "inconclusive"
    assert analysis.distillation_reading(0.2, 3.0) == "reproduced"
    assert analysis.distillation_reading(0.2, 0.8) == "reproduced, by less than a point"  # above 0 and below +1
    assert analysis.distillation_reading(-0.5, 0.9) == "not reproduced"
    assert analysis.distillation_reading(-0.5, 1.5) == "inconclusive"


def test_analysis_uses_holm_on_the_intervals_statistic():
    from scipy.stats import t

    from mpt_nb.results import holm

    analysis = repo_module("benchmarks.analysis")
    p = analysis.primary(_grid({"pt": 1.0, "spot": 0.6, "spot_generic": 0.4, "decomp": 0.2}, seed_spread=0.3),
                         _design(), resamples=200)
    pvalues = [p["endpoints"][b]["p_greater"] for b in BASELINES]
    assert p["holm"] == dict(zip(BASELINES, holm(pvalues), strict=True))
    for e in p["endpoints"].values():  # the test's statistic and df are the interval's
        half = (e["high"] - e["low"]) / 2
        assert half == pytest.approx(t.ppf(0.975, e["df"]) * e["se"])
        assert e["p_greater"] == pytest.approx(t.sf(e["estimate"] / e["se"], e["df"]))
        assert e["se"] ** 2 == pytest.approx(sum(e["variance"].values()))


def test_analysis_adds_pts_own_run_variance_against_pt_only_and_it_grows_with_its_spread():
    analysis = repo_module("benchmarks.analysis")
    gains = dict.fromkeys(BASELINES, 3.0)
    quiet, noisy = (analysis.primary(_grid(gains, pt_spread=spread), _design(), resamples=200)["endpoints"]
                    for spread in (1.0, 3.0))
    # Per cell, two target seeds 2·spread apart (sample variance 2·spread²), over 2 targets × 3 k × 2 runs.
    assert quiet["pt"]["variance"]["runs"] == pytest.approx(2 * 1.0**2 / 12)
    assert noisy["pt"]["variance"]["runs"] == pytest.approx(2 * 3.0**2 / 12)
    assert all(quiet[b]["variance"]["runs"] == 0 for b in BASELINES[1:])
    assert noisy["pt"]["estimate"] == pytest.approx(quiet["pt"]["estimate"])  # the spread cancels in the mean ...
    assert noisy["pt"]["per_source_seed"] == pytest.approx(quiet["pt"]["per_source_seed"])  # ... and over seeds
    assert noisy["pt"]["high"] - noisy["pt"]["low"] > quiet["pt"]["high"] - quiet["pt"]["low"]  # but not in the interval
    assert noisy["spot"]["high"] - noisy["spot"]["low"] == pytest.approx(quiet["spot"]["high"] - quiet["spot"]["low"])


def test_analysis_gives_no_verdict_before_every_planned_seed_has_run():
    analysis = repo_module("benchmarks.analysis")
    gains = dict.fromkeys(BASELINES, 5.0)
    # A missing run drops its source seed from every endpoint (the grid is still running) ...
    partial = analysis.analyse(_grid(gains, drop=("a", 16, "mpt", 4, 1)), _design(), resamples=100)
    p = partial["primary"]
    assert p["source_seeds"] == [0, 1, 2, 3] and not p["complete"] and p["verdict"] == analysis.PENDING
    assert p["distillation"]["verdict"] == analysis.PENDING
    assert all(e["source_seeds"] == [0, 1, 2, 3] for e in p["endpoints"].values())
    text = analysis.render(partial)
    assert "Verdict: **pending**" in text and "Provisional: these numbers come from source seeds [0, 1, 2, 3]" in text
    assert "waits for all planned source seeds [0, 1, 2, 3, 4] × target seeds [0, 1]" in text
    # ... and so do seeds planned but not yet run, or a record that lost its predictions.
    assert analysis.primary(_grid(gains), _design(source_seeds=(0, 1, 2, 3, 4, 5)), resamples=50)[
        "verdict"] == analysis.PENDING
    records = _grid(gains)
    del next(r for r in records if r["method"] == "spot" and r["source_seed"] == 1)["test_predictions"]
    assert analysis.primary(records, _design(), resamples=50)["source_seeds"] == [0, 2, 3, 4]
    # A plan with fewer seeds than the pre-registration's gives numbers, never a verdict.
    few = analysis.analyse(_grid(gains), _design(source_seeds=(0, 1, 2)), resamples=50)
    assert few["primary"]["verdict"] == analysis.PENDING and not few["primary"]["plan_covers_preregistration"]
    assert "No verdict from this plan" in analysis.render(few)
    # A baseline with no runs yet leaves the primary open; it never drops out of the family.
    summary = analysis.analyse(_grid(gains, methods=("pt", "spot", "decomp", "mpt")), _design(), resamples=50)
    assert summary["primary"] is None and "Not enough runs yet" in analysis.render(summary)
    with pytest.raises(ValueError, match=r"plans no runs of \['spot_generic'\]"):
        analysis.analyse(_grid(gains), _design(methods=("pt", "spot", "decomp", "mpt")), resamples=10)
    with pytest.raises(ValueError, match=r"no runs at k = \['4'\]"):
        analysis.analyse(_grid(gains), _design(ks=("16", "32")), resamples=10)


def test_analysis_secondary_contrasts_and_ablations():
    analysis = repo_module("benchmarks.analysis")
    gains = {"pt": 5.0, "spot": 4.0, "spot_generic": 3.0, "decomp": 2.0}
    design = _design(ks=("4", "16", "32"), true_few_shot={"16": 16},
                     ablations={"kl_only": (("a", "b"), ("16", "32")), "target_source_mean": (("a", "b"), ("16", "32"))})
    summary = analysis.analyse(_grid(gains, true_few_shot=True, variants={"kl_only": -2.0, "target_source_mean": 1.0}),
                               design, resamples=50)
    assert [(row["task"], row["k"]) for row in summary["secondary"]] == [(t, k) for t in "ab" for k in ("4", "16", "32")]
    for row in summary["secondary"]:
        assert {b: row["vs"][b]["estimate"] for b in BASELINES} == pytest.approx(gains)
        assert row["best_other"] == pytest.approx(2.0)  # MPT − the best of the others: decomposition-only here
    assert [row["task"] for row in summary["true_few_shot"]] == ["a", "b", "mean"]
    assert summary["true_few_shot"][-1]["vs"]["pt"]["estimate"] == pytest.approx(5.0)
    start = summary["target_start"]
    assert start["vs_mpt"]["estimate"] == pytest.approx(1.0) and start["vs"]["decomp"]["estimate"] == pytest.approx(3.0)
    assert [row["ablation"] for row in summary["ablations"]] == ["kl_only"]  # the target start is a secondary
    kl = summary["ablations"][0]["result"]
    assert kl["estimate"] == pytest.approx(-2.0) and kl["high"] < 0 and kl["variance"]["runs"] == 0
    text = analysis.render(summary)
    assert "### True few-shot (k = 16, 16 validation rows per class)" in text and "| `kl_only` |" in text
    assert "Source-mean start − MPT's start at ones: +1.0" in text and "biased; description" in text
    json.dumps(summary)  # the JSON output holds


def test_analysis_refuses_duplicate_runs_and_mixed_learning_rates():
    analysis = repo_module("benchmarks.analysis")
    records = _grid(dict.fromkeys(BASELINES, 5.0))
    with pytest.raises(ValueError, match="same run"):
        analysis.analyse([*records, dict(records[-1])], _design(), resamples=10)
    other_rate = [dict(r, lr=0.03) if r["method"] == "mpt" and r["seed"] == 1 else r for r in records]
    with pytest.raises(ValueError, match=r"more than one target lr.*'mpt'"):
        analysis.analyse(other_rate, _design(), resamples=10)


def test_analysis_without_its_config_says_so_in_one_line(tmp_path, capsys):
    analysis = repo_module("benchmarks.analysis")
    assert analysis.main(["--config", str(tmp_path / "offline_v3.yaml"), "--out", str(tmp_path / "a.md")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no grid config at ") and err.count("\n") == 1 and not (tmp_path / "a.md").exists()


def test_analysis_design_comes_from_the_grid_plan():
    analysis = repo_module("benchmarks.analysis")
    from mpt_nb.methods import ABLATIONS
    from mpt_nb.profiles import get_profile

    profile = get_profile("smoke")
    cfg = GridConfig(profile="smoke", seeds=[0, 1], source_seeds=[0, 1, 2], true_few_shot=True,
                             ablation_k=[16, 32], k=[16, 32, 4, "full"])
    design = analysis.Design.from_plan(plan_runs(cfg, profile))
    assert design.tasks == tuple(profile.target_tasks) and set(design.methods) == set(cfg.methods)
    assert design.ks == ("16", "32", "4", "full") and design.source_seeds == (0, 1, 2)
    assert design.target_seeds == (0, 1) and design.true_few_shot == {"16": 16}
    assert set(design.ablations) == set(ABLATIONS) and design.ablations["kl_only"][1] == ("16", "32")


# --------------------------------------------------------------------------------------------------- source stages


def _curve(*points: float, every: int = 50) -> list[dict]:
    return [{"step": i * every, "metric": m} for i, m in enumerate(points)]


def test_budget_verdict_says_still_rising_only_for_a_last_best_that_gained():
    report = repo_module("benchmarks.source_stages")
    assert report.budget_verdict(_curve(0.2, 0.5, 0.6, 0.7, 0.8), 0.01) == "still rising"
    assert report.budget_verdict(_curve(0.2, 0.5, 0.8, 0.7, 0.75), 0.01) == "plateaued"  # best before the end
    assert report.budget_verdict(_curve(0.2, 0.5, 0.795, 0.79, 0.8), 0.01) == "plateaued"  # last is best, gained < 0.01
    assert report.budget_verdict(_curve(0.2, 0.5, 0.79, 0.79, 0.8), 0.01) == "still rising"
    # the movie teacher's seed-0 curve: +0.02 on 200 rows at 0.9 is within one standard error (0.021)
    movie = _curve(0.785, 0.88, 0.845, 0.895, 0.90)
    assert report.noise_tolerance(0.9, 200) == pytest.approx(0.0212, abs=1e-4)
    assert report.budget_verdict(movie, report.noise_tolerance(0.9, 200)) == "plateaued"
    with pytest.raises(ValueError, match="at least two"):
        report.budget_verdict(_curve(0.5), 0.01)


def test_source_stage_report_reads_the_stages_metadata(tmp_path, capsys):
    from mpt_nb.methods import TEACHERS
    from mpt_nb.pipeline import Workspace
    from mpt_nb.profiles import get_profile
    from mpt_nb.prompts import MultitaskPrompt, SoftPrompt
    from mpt_nb.sources import SourceStore

    report = repo_module("benchmarks.source_stages")
    ws = Workspace.from_profile(get_profile("smoke"))
    store = SourceStore(ws, tmp_path)
    p, mpt = ws.profile, METHODS["mpt"].source
    curves = {t: {"evals": _curve(0.3, 0.6, 0.9, every=2), "best_step": 4, "history": []} for t in p.source_tasks}
    curves[p.source_tasks[0]]["evals"] = _curve(0.3, 0.7, 0.6, every=2)
    for i, t in enumerate(p.source_tasks):
        curves[t]["wall_time_s"] = 100 * (i + 1)
    store.put(TEACHERS, 0, SoftPrompt(p.prompt_tokens, ws.backbone.dim, num_tasks=len(p.source_tasks)),
              validation={t: 0.9 for t in p.source_tasks}, curves=curves)
    shared = MultitaskPrompt(p.prompt_tokens, ws.backbone.dim, len(p.source_tasks), p.rank)
    store.put(mpt, 0, shared, validation=0.5, curves={"evals": _curve(0.4, 0.5, 0.5, every=3), "best_step": 3, "history": []})

    rows = report.stage_rows(tmp_path)
    assert [(r["stage"], r["curve"], r["verdict"]) for r in rows] == [
        ("teachers", p.source_tasks[0], "plateaued"),
        *[("teachers", t, "still rising") for t in sorted(p.source_tasks[1:])],
        (mpt.slug(p.rank), "mean of sources", "plateaued"),
    ]
    assert rows[-1]["steps"] == p.distill_steps and rows[-1]["best_step"] == 3
    assert report.main(["--folder", str(tmp_path), "--out", "-"]) == 0
    out = capsys.readouterr().out
    assert f"{len(rows)} curves, {len(p.source_tasks) - 1} still rising" in out
    # Times: each teacher's own, "n/a" for a stage that records none, and the seed's sum of the known ones.
    assert [r["wall_time_s"] for r in rows] == [*(100 * (p.source_tasks.index(r["curve"]) + 1) for r in rows[:-1]), None]
    teachers_s = sum(100 * (i + 1) for i in range(len(p.source_tasks)))
    assert f"- seed 0: {teachers_s:,} s" in out and "1 curve(s) record no time" in out
    assert out.count("| n/a |") == 1
    assert report.main(["--folder", str(tmp_path / "empty"), "--out", "-"]) == 2
    assert "train-sources writes them" in capsys.readouterr().err


def test_budget_check_applies_amendment_5_to_the_main_shared_stages(tmp_path):
    from mpt_nb.methods import source_stages
    from mpt_nb.pipeline import Workspace
    from mpt_nb.profiles import get_profile
    from mpt_nb.prompts import MultitaskPrompt
    from mpt_nb.sources import SourceStore

    report = repo_module("benchmarks.source_stages")
    ws = Workspace.from_profile(get_profile("smoke"))
    store, p = SourceStore(ws, tmp_path), ws.profile
    shared = [s for s in source_stages() if s.kind != "teachers"]
    assert len(shared) >= 2  # MPT's distilled stage, generic SPoT's, decomposition-only's, ...
    *plateaued, last = shared

    def put(stage, *points):
        prompt = MultitaskPrompt(p.prompt_tokens, ws.backbone.dim, len(p.source_tasks), p.rank)
        store.put(stage, 0, prompt, validation=points[-1], curves={"evals": _curve(*points, every=3), "history": []})

    for stage in plateaued:
        put(stage, 0.4, 0.6, 0.6)
    code, line = report.budget_check(report.stage_rows(tmp_path), 0, "smoke")
    assert code == 2 and last.slug(p.rank) in line
    put(last, 0.4, 0.5, 0.7)  # best last, well above the first half's best: still rising
    code, line = report.budget_check(report.stage_rows(tmp_path), 0, "smoke")
    assert code == 3 and f"doubles to {2 * p.distill_steps}" in line and last.slug(p.rank) in line
    put(last, 0.4, 0.7, 0.6)
    assert report.budget_check(report.stage_rows(tmp_path), 0, "smoke")[0] == 0
    assert report.budget_check(report.stage_rows(tmp_path), 1, "smoke")[0] == 2  # another seed: nothing saved
    # Once seed 1's shared stages train, the decision stands: a seed-0 stage retrained later does not reopen it.
    prompt = MultitaskPrompt(p.prompt_tokens, ws.backbone.dim, len(p.source_tasks), p.rank)
    store.put(shared[0], 1, prompt, validation=0.6, curves={"evals": _curve(0.4, 0.6, 0.6, every=3), "history": []})
    put(last, 0.4, 0.5, 0.7)
    code, line = report.budget_check(report.stage_rows(tmp_path), 0, "smoke")
    assert code == 0 and "cap stands" in line


def test_target_lr_search_runs_first_and_sets_each_methods_rate(tmp_path, capsys):
    config = _smoke_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["grid"].update({"methods": ["pt", "mpt"], "lr_search": [0.01, 0.03], "lr_search_k": 4, "source_seeds": [0]})
    config.write_text(yaml.safe_dump(raw))
    assert quality.main(["--config", str(config)]) == 0
    out = capsys.readouterr().out
    search = load_records(tmp_path / "q_lr_search.jsonl")
    assert sorted((r["method"], r["lr"]) for r in search) == [("mpt", 0.01), ("mpt", 0.03), ("pt", 0.01), ("pt", 0.03)]
    assert all(r["k"] == 4 and r["seed"] == 0 for r in search)
    chosen = {m: max([0.01, 0.03], key=lambda lr, m=m: next(r["validation"] for r in search
                                                            if r["method"] == m and r["lr"] == lr)) for m in ("pt", "mpt")}
    assert f"target learning rates chosen on validation: pt {chosen['pt']:g}, mpt {chosen['mpt']:g}" in out
    grid = load_records(tmp_path / "q.jsonl")
    assert grid and all(r["lr"] == chosen[r["method"]] for r in grid)
    table = (tmp_path / "q_lr_search.md").read_text()
    assert "| pt | " in table and "**" in table and "Test scores are not read" in table
    assert quality.main(["--config", str(config), "--dry-run"]) == 0  # the search is done: not planned again
    assert "4 runs over lr [0.01, 0.03], 0 to go" in capsys.readouterr().out


def test_search_ties_go_to_the_lower_rate_and_a_run_at_another_rate_stops_the_grid(tmp_path, capsys):
    from mpt_nb.profiles import get_profile

    profile = get_profile("smoke")
    for order in ([0.01, 0.03], [0.03, 0.01]):  # the rule must not depend on the config's list order
        cfg = GridConfig(profile="smoke", methods=["pt"], lr_search=order, lr_search_k=4, source_seeds=[0])
        records = [{**_search_record(s), "validation": 0.5} for s in search_runs(cfg, profile)]
        assert chosen_lrs(cfg, profile, records) == {"pt": 0.01}

    config = _smoke_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["grid"].update({"methods": ["pt"], "lr_search": [0.01, 0.03], "lr_search_k": 4, "source_seeds": [0]})
    config.write_text(yaml.safe_dump(raw))
    assert quality.main(["--config", str(config), "--source-seed", "1"]) == 2
    assert "would move the target-lr search" in capsys.readouterr().err
    assert quality.main(["--config", str(config), "--max-runs", "2"]) == 0  # the search only
    chosen = chosen_lrs(GridConfig.from_yaml(config), GridConfig.from_yaml(config).build_profile(),
                                load_records(tmp_path / "q_lr_search.jsonl"))
    other = 0.03 if chosen["pt"] == 0.01 else 0.01
    record = {**load_records(tmp_path / "q_lr_search.jsonl")[0], "lr": other}
    (tmp_path / "q.jsonl").write_text(json.dumps(record) + "\n")  # a grid run made at the other rate
    capsys.readouterr()
    assert quality.main(["--config", str(config)]) == 2
    assert f"1 record(s) in {tmp_path / 'q.jsonl'} ran at another target lr than the search chose" in (
        capsys.readouterr().err)


def _search_record(spec) -> dict:
    return {"task": spec.task, "method": spec.method, "k": spec.k, "seed": spec.seed, "ablation": spec.ablation,
            "source_seed": spec.source_seed, "validation_k": spec.validation_k, "lr": spec.lr}


def test_later_priorities_wait_while_primary_runs_wait_for_source_stages(tmp_path, capsys):
    config = _smoke_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["grid"].update({"methods": ["pt", "mpt"], "k": [16, 4], "source_seeds": [0], "shipped_sources": True,
                        "train_missing_sources": False})
    config.write_text(yaml.safe_dump(raw))
    assert quality.main(["--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert [(r["method"], r["k"]) for r in load_records(tmp_path / "q.jsonl")] == [("pt", 16)]  # not PT at k = 4 yet
    assert "priority-1 runs wait for their source stages" in out
    assert quality.main(["--config", str(config), "--past-waiting"]) == 0
    assert [(r["method"], r["k"]) for r in load_records(tmp_path / "q.jsonl")] == [("pt", 16), ("pt", 4)]


def test_still_to_train_lists_the_missing_stages_in_training_order_with_estimates(tmp_path):
    import torch
    from safetensors.torch import save_file

    from mpt_nb.__main__ import training_order
    from mpt_nb.methods import TEACHERS
    from mpt_nb.pipeline import Workspace
    from mpt_nb.profiles import get_profile
    from mpt_nb.prompts import MultitaskPrompt, SoftPrompt
    from mpt_nb.sources import SourceStore, stage_file_name

    report = repo_module("benchmarks.source_stages")
    ws = Workspace.from_profile(get_profile("smoke"))
    store, p = SourceStore(ws, tmp_path), ws.profile
    main = training_order(ablations=False)
    mpt = main[1]  # MPT's distilled stage, trained right after the teachers
    curves = {t: {"evals": _curve(0.3, 0.6, every=2), "wall_time_s": 100} for t in p.source_tasks}
    store.put(TEACHERS, 0, SoftPrompt(p.prompt_tokens, ws.backbone.dim, num_tasks=len(p.source_tasks)),
              validation={t: 0.9 for t in p.source_tasks}, curves=curves)
    shared = MultitaskPrompt(p.prompt_tokens, ws.backbone.dim, len(p.source_tasks), p.rank)
    store.put(mpt, 0, shared, validation=0.5, curves={"evals": _curve(0.4, 0.5, every=3), "wall_time_s": 600})
    # Seed 1's distilled stage is a quarter done: a training state at a quarter of the shared-stage budget.
    state = tmp_path / "partial" / stage_file_name(p, mpt, 1).replace(".safetensors", ".state.safetensors")
    state.parent.mkdir()
    save_file({"x": torch.zeros(1)}, str(state), metadata={"step": str(p.distill_steps // 4)})

    left = report.still_to_train(report.stage_rows(tmp_path), tmp_path, [0, 1], "smoke")
    # Every seed's main stages first, in train-sources' order, then the ablations'.
    expected = [(0, s) for s in main[2:]] + [(1, s) for s in main]
    assert [(r["seed"], r["stage"]) for r in left[: len(expected)]] == [(seed, s.slug(p.rank)) for seed, s in expected]
    assert all(not r["main"] for r in left[len(expected):]) and {r["seed"] for r in left[len(expected):]} == {0, 1}
    by = {(r["seed"], r["stage"]): r for r in left}
    assert by[(1, "teachers")]["estimate_s"] == 100 * len(p.source_tasks)  # seed 0's teachers, summed over tasks
    distilled = by[(1, mpt.slug(p.rank))]
    assert distilled["state_steps"] == [p.distill_steps // 4] and not distilled["proxy"]
    assert distilled["estimate_s"] == pytest.approx(600 * (1 - (p.distill_steps // 4) / p.distill_steps))
    other = by[(0, main[2].slug(p.rank))]  # no seed has it: the shipped shared stages' median stands in
    assert other["proxy"] and other["estimate_s"] == 600
    text = report.render(report.stage_rows(tmp_path), "x", left)
    assert "## Still to train" in text and "600 *" in text and "stage(s) left" in text


def test_grid_needing_unreadable_tasks_stops_before_any_run_and_names_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MPT_NB_DATA", str(tmp_path))  # an empty data cache
    monkeypatch.setenv("MPT_NB_MIRROR", "")  # and no mirror
    results = tmp_path / "grid.jsonl"
    assert quality.main(["--config", str(ROOT / "configs" / "offline_v2.yaml"), "--results", str(results),
                         "--max-runs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the runs to go need ") and "presupposition_nli" in err and "cannot be read" in err
    assert "fetch-data" in err and not results.exists()


def test_analysis_simulation_reads_its_components_and_its_intervals_hold_where_they_should():
    from dataclasses import replace

    sim = repo_module("benchmarks.simulate_analysis")
    measured = sim.read_components()
    assert set(measured) == set(sim.KS)
    for m in measured.values():  # the paired sd is √2 run noise; a cell's sd holds the shared seed term and the run's
        assert m["run"] == pytest.approx(m["paired_sd"] / 2**0.5)
        assert m["seed_shared"] ** 2 + m["run"] ** 2 == pytest.approx(max(m["cell_sd"] ** 2, m["run"] ** 2))
    base = sim.scenarios(measured)["mid"]
    design = sim.Design(source_seeds=5, target_seeds=2)
    assert design.runs() == 3 * 3 * 2 * (1 + 4 * 5)
    # Without the fixed test-row term, a t-interval over source seeds is exact: coverage ≈ 0.95.
    exact = sim.evaluate(replace(base, rows_diff=0.0), design, 0.0, sims=3000, seed=1)
    assert 0.93 < exact["t over source seeds: covers δ"] < 0.97
    assert exact["t naive: covers δ"] < 0.85 and exact["bootstrap: covers δ"] < 0.9  # seeds' clusters ignored / n = 5
    # With it, only the interval that adds the rows' variance keeps its coverage; the max of others is biased down.
    rows = sim.evaluate(base, design, 0.0, sims=3000, seed=1)
    assert rows["t + rows: covers δ"] > 0.92 and rows["max of others: mean"] < -0.005
    quiet = replace(base, source_shared=0, source_task=0, seed_shared={k: 0 for k in sim.KS},
                    run={k: 1e-9 for k in sim.KS}, rows_diff=0.0)
    assert sim.evaluate(quiet, design, 0.0, sims=50, seed=1)["max of others: mean"] == pytest.approx(0, abs=1e-8)
    assert sim.evaluate(base, design, 0.05, sims=500, seed=1)["t + rows: above 0"] > sim.evaluate(
        base, design, 0.01, sims=500, seed=1)["t + rows: above 0"]


def _screen_records(learnable_as: dict[str, set[str]], *, unconfirmed: frozenset = frozenset()):
    """Two seeds per candidate and role: confirming where the task is learnable in that role."""
    from benchmarks.screen import CANDIDATES

    return [{"task": task, "role": role, "seed": seed,
             "confirms": role in learnable_as.get(task, ()) and (task, seed) not in unconfirmed,
             "confirmed_score": 0.7, "negation_rule": {"score": 0.6}}
            for task in CANDIDATES for role in ("target", "source") for seed in (0, 1)]


def test_suite_choice_follows_its_preferences_and_keeps_tasks_apart():
    choice = repo_module("benchmarks.suite_choice")
    both = {"target", "source"}
    everything = {t: both for t in ("tweet_sentiment3", "movie_sentiment", "clinc_domain", "snips_intent", "sick_nli",
                                    "fever_symmetric", "question_type", "bbc_headlines", "sms_spam")}
    overlaps = {frozenset(("sms_spam", "clinc_domain"))}
    shares = lambda a, b: frozenset((a, b)) in overlaps  # noqa: E731
    suite, reasons = choice.choose_suite(_screen_records(everything), shares)
    assert suite == {"targets": ["tweet_sentiment3", "clinc_domain", "sick_nli"],
                     "sources": ["movie_sentiment", "fever_symmetric", "snips_intent", "question_type", "bbc_headlines"],
                     "source_kinds": ["sentiment", "inference", "intent", "question_type", "topic"]}
    # A target that shares text with an earlier one is passed over for the next; a seed that fails disqualifies.
    overlaps.add(frozenset(("clinc_domain", "tweet_sentiment3")))
    suite, reasons = choice.choose_suite(_screen_records(everything, unconfirmed=frozenset({("sick_nli", 1)})), shares)
    assert suite["targets"] == ["tweet_sentiment3", "snips_intent", "fever_symmetric"]
    assert "target clinc_domain passed over: it shares text with tweet_sentiment3" in reasons
    assert suite["sources"] == ["movie_sentiment", "question_type", "bbc_headlines", "sms_spam"]  # sick_nli: no role
    assert "source clinc_domain passed over: it shares text with tweet_sentiment3" in reasons
    # No inference task learnable as a target: the third target is the first other task that is.
    no_inference = {**everything, "sick_nli": {"source"}, "fever_symmetric": {"source"}}
    assert choice.choose_suite(_screen_records(no_inference), lambda a, b: False)[0]["targets"][2] == "bbc_headlines"
    # Too few sources: no suite, and the reason.
    few = {t: both for t in ("tweet_sentiment3", "clinc_domain", "sick_nli", "movie_sentiment")}
    suite, reasons = choice.choose_suite(_screen_records(few), lambda a, b: False)
    assert suite is None and reasons[-1].startswith("no suite: ") and "1 sources (at least 4" in reasons[-1]
    # An inference task that is learnable but shares text with a chosen target: the fallback kinds still qualify.
    clash = {frozenset(("sick_nli", "tweet_sentiment3"))}
    only_sick = {**everything, "fever_symmetric": set()}
    suite, reasons = choice.choose_suite(_screen_records(only_sick), lambda a, b: frozenset((a, b)) in clash)
    assert suite["targets"] == ["tweet_sentiment3", "clinc_domain", "bbc_headlines"]
    assert "target sick_nli passed over: it shares text with tweet_sentiment3" in reasons


def test_suite_choice_waits_for_exactly_the_runs_it_reads():
    choice = repo_module("benchmarks.suite_choice")
    both = {"target", "source"}
    everything = {t: both for t in ("tweet_sentiment3", "movie_sentiment", "clinc_domain", "snips_intent", "sick_nli",
                                    "fever_symmetric", "question_type", "bbc_headlines", "sms_spam")}
    apart = lambda a, b: False  # noqa: E731
    # Nothing screened: the first task of every role and kind (five sources at most), each at its first seed.
    assert choice.needed_runs([], apart) == [
        ("tweet_sentiment3", "target", 0), ("clinc_domain", "target", 0), ("sick_nli", "target", 0),
        ("movie_sentiment", "source", 0), ("fever_symmetric", "source", 0), ("snips_intent", "source", 0),
        ("question_type", "source", 0), ("bbc_headlines", "source", 0)]
    records = _screen_records(everything)
    assert choice.needed_runs(records, apart) == []
    # One seed missing: no suite yet, and the rule names the run it waits for.
    partial = [r for r in records if (r["task"], r["role"], r["seed"]) != ("movie_sentiment", "source", 1)]
    suite, reasons = choice.choose_suite(partial, apart)
    assert suite is None and reasons[-1] == "no suite yet: the rule waits for movie_sentiment as a source (seed 1)"
    assert choice.needed_runs(partial, apart) == [("movie_sentiment", "source", 1)]
    # A failed first seed settles the task: its second seed is never asked for, the next preference is.
    failed = [r for r in partial if r["role"] != "source" or r["task"] not in ("movie_sentiment", "amazon_sentiment")]
    failed.append({"task": "movie_sentiment", "role": "source", "seed": 0, "confirms": False})
    assert choice.needed_runs(failed, apart) == [("amazon_sentiment", "source", 0)]
    # Once the runs land, the choice is the one the full records give.
    landed = failed + [{"task": "amazon_sentiment", "role": "source", "seed": s, "confirms": True} for s in (0, 1)]
    assert choice.choose_suite(landed, apart)[0]["sources"][0] == "amazon_sentiment"


def test_the_lazy_screening_chooses_what_the_full_screening_would(monkeypatch):
    """On random verdicts and random shared texts, screening only what the rule reads (``screen --needed``) ends with
    the suite, or the reasons for none, that screening every candidate in both roles gives."""
    import random

    screen = repo_module("benchmarks.screen")
    choice = repo_module("benchmarks.suite_choice")
    plan = [(t, role, s) for role in screen.ROLES for s in screen.SEEDS for t in screen.CANDIDATES]
    for trial in range(200):
        rng = random.Random(trial)
        share = rng.random() * 0.9  # from nearly always to never confirming
        table = {run: rng.random() < share for run in plan}
        clash = {frozenset(rng.sample(screen.CANDIDATES, 2)) for _ in range(rng.randrange(4))}
        shares = lambda a, b, clash=clash: frozenset((a, b)) in clash  # noqa: E731
        monkeypatch.setattr(choice, "text_overlaps", lambda tasks, shares=shares: shares)
        lazy: list[dict] = []
        for task, role, seed in screen._runs(plan, lazy, needed=True):
            lazy.append({"task": task, "role": role, "seed": seed, "confirms": table[(task, role, seed)],
                         "confirmed_score": 0.7, "negation_rule": {"score": 0.6}})
        full = [{"task": t, "role": r, "seed": s, "confirms": c, "confirmed_score": 0.7, "negation_rule": {"score": 0.6}}
                for (t, r, s), c in table.items()]
        assert choice.needed_runs(lazy, shares) == []
        assert choice.choose_suite(lazy, shares)[0] == choice.choose_suite(full, shares)[0], trial
        assert len(lazy) < len(full)


def test_learning_curve_reads_validation_only_and_picks_the_smallest_budget_near_pts_best(tmp_path, capsys):
    curve = repo_module("benchmarks.learning_curve")
    records = curve.run("smoke", tmp_path / "curve.jsonl", steps=(2, 4), ks=(2,), methods=("pt", "mpt"))
    assert "mpt: skipped, its source stage is not shipped" in capsys.readouterr().out
    assert sorted(curve._key(r) for r in records) == [("amazon_sentiment", "pt", 2, 2), ("amazon_sentiment", "pt", 2, 4)]
    for r in records:
        assert r["test"] is None and r["test_predictions"] is None and r["test_rows"] == 0  # no test row read
        assert r["validation_curve"][0]["step"] == 0 and len(r["validation_curve"]) >= 2
    assert curve.run("smoke", tmp_path / "curve.jsonl", steps=(2, 4), ks=(2,), methods=("pt",)) == records  # resumes
    fake = [{"task": t, "method": "pt", "k": k, "steps": n, "validation": v, "best_step": n}
            for t in ("a", "b") for k in (16, 32) for n, v in ((40, 0.50), (120, 0.585), (300, 0.59))]
    assert curve.budget(fake) == (120, {40: 0.50, 120: 0.585, 300: 0.59})  # 120 is within a point of 300's
    assert curve.budget(fake[:-1])[0] is None  # a cell missing: no budget yet
    assert "Budget: 120 steps." in curve.render(fake)
