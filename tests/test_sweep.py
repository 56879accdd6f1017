"""The l × r sweep: its plan (size, order, keys) and the command end to end on the smoke profile (records that place
each run at its l and r, resume without re-running, source stages per l, the grid's runs copied rather than run
again, the figure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import repo_module

from mpt_nb.profiles import get_profile
from mpt_nb.prompts import expected_trainable
from mpt_nb.results import (
    GridConfig,
    SweepConfig,
    accuracy_by_setting,
    config_hash,
    current_sweep,
    load_records,
    measured_settings,
    plan_sweep,
    search_runs,
    sweep_key,
)

sweep = repo_module("benchmarks.sweep")
quality = repo_module("benchmarks.quality")
grid_runner = repo_module("benchmarks.grid_runner")


def test_the_plan_runs_pt_once_per_l_and_mpt_at_every_r():
    cfg = SweepConfig()
    assert (cfg.lengths, cfg.ranks, cfg.k, cfg.seeds) == ([5, 10, 20, 40], [1, 2, 4], [16, "full"], [0, 1, 2])
    targets = cfg.chosen_targets(["t1", "t2", "t3"])
    assert targets == ["t1", "t2"]  # the grid's first two
    plan = plan_sweep(cfg, targets, first_length=20)
    assert len(plan) == 4 * 2 * 3 * 2 * (1 + 3) == 192  # l × k × target seeds × targets × (PT + MPT at 3 ranks)
    assert len({run.key for run in plan}) == len(plan)
    assert [run.prompt_tokens for run in plan[::48]] == [20, 5, 10, 40]  # the grid's own l first, then in order
    pt = [run for run in plan if run.spec.method == "pt"]
    mpt = [run for run in plan if run.spec.method == "mpt"]
    assert len(pt) == 48 and {(run.rank, run.spec.source_seed) for run in pt} == {(0, None)}
    assert len(mpt) == 144 and {(run.rank, run.spec.source_seed) for run in mpt} == {(1, 0), (2, 0), (4, 0)}
    assert [run.spec.k for run in plan[:24]] == [16] * 24 and plan[24].spec.k == "full"  # k = 16 first within an l
    assert plan[1].describe() == "l=20 r=1 mpt t1 k=16 seed=0 source_seed=0"
    # A record of a run carries what places it: its key is the run's.
    run = plan[3]
    record = {"task": run.spec.task, "method": run.spec.method, "k": run.spec.k, "seed": run.spec.seed,
              "source_seed": run.spec.source_seed, "prompt_tokens": run.prompt_tokens, "rank": run.rank}
    assert sweep_key(record) == run.key


@pytest.mark.parametrize("change, message", [
    ({"ranks": [1, 1]}, "distinct"), ({"lengths": []}, "at least one"), ({"ranks": [0, 1]}, ">= 1"),
])
def test_a_sweep_config_refuses_what_cannot_be_planned(change, message):
    with pytest.raises(ValueError, match=message):
        SweepConfig(**change)
    with pytest.raises(ValueError, match="--targets"):
        SweepConfig().chosen_targets([])


def test_current_sweep_keeps_records_made_under_the_profile_at_their_own_l():
    profile = get_profile("smoke")
    at = {length: config_hash(profile.with_overrides(prompt_tokens=length)) for length in (2, 4)}
    records = [{"prompt_tokens": 2, "config_hash": at[2]}, {"prompt_tokens": 4, "config_hash": at[4]},
               {"prompt_tokens": 4, "config_hash": at[2]}, {"prompt_tokens": 2, "config_hash": "other"}]
    assert current_sweep(records, profile) == records[:2]


def _config(tmp_path: Path, **grid) -> Path:
    config = {
        "profile": "smoke",
        "overrides": {"teacher_steps": 2, "distill_steps": 2, "target_steps": 2, "few_shot_steps": 2,
                      "eval_every": 2, "max_train": 48, "max_eval": 16, "max_validation": 8},
        "grid": {"methods": ["pt", "mpt"], "k": [4], "seeds": [0], "ablations": False, **grid},
        "output": {"results": str(tmp_path / "grid.jsonl"), "table": str(tmp_path / "grid.md"),
                   "figure": str(tmp_path / "grid.png"), "artefacts": str(tmp_path / "art")},
    }
    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return ["--config", str(_config(tmp_path)), "--lengths", "2", "4", "--ranks", "1", "2", "--seeds", "0", "1",
            "--k", "4", "full", "--results", str(tmp_path / "s.jsonl"), "--figure", str(tmp_path / "s.png"), *extra]


def test_the_sweep_runs_resumes_and_places_each_run_at_its_l_and_r(tmp_path, capsys):
    assert sweep.main(_args(tmp_path, "--dry-run", "--quiet")) == 0
    out = capsys.readouterr().out
    assert "sweep: 24 runs" in out and "24 to go; 4 source stage(s) to train" in out  # teachers and P* per l
    assert not (tmp_path / "art").exists()  # a dry run loads and trains nothing

    assert sweep.main(_args(tmp_path, "--max-runs", "7")) == 0
    first = load_records(tmp_path / "s.jsonl")
    assert len(first) == 7 and "ran 7 run(s)" in capsys.readouterr().out
    assert sweep.main(_args(tmp_path)) == 0  # resumes: only the 17 runs left
    out = capsys.readouterr().out
    assert "7 already in" in out and "ran 17 run(s)" in out and "0 run(s) left" in out
    records = load_records(tmp_path / "s.jsonl")
    assert records[:7] == first and len({sweep_key(r) for r in records}) == len(records) == 24
    d = next(r["trainable_params"] // r["prompt_tokens"] for r in records if r["method"] == "pt")
    for r in records:  # each record says where it sits, and its count is the formula's at its l and r
        assert (r["prompt_tokens"], r["rank"]) in {(2, 0), (4, 0), (2, 1), (2, 2), (4, 1), (4, 2)}
        assert (r["rank"] == 0) == (r["method"] == "pt")
        assert r["trainable_params"] == expected_trainable(r["method"], r["prompt_tokens"], d, rank=r["rank"] or 1)
    # One source stage per l: the teachers and P* at l = 2 are other files than at l = 4.
    assert len(list((tmp_path / "art").glob("teachers-seed0-*.safetensors"))) == 2
    assert (tmp_path / "s.png").stat().st_size > 20_000

    assert sweep.main(_args(tmp_path)) == 0  # nothing left: no run
    assert "0 to go" in capsys.readouterr().out and len(load_records(tmp_path / "s.jsonl")) == 24


def test_without_training_sources_mpt_waits_and_pt_runs(tmp_path, capsys):
    assert sweep.main(_args(tmp_path, "--no-train-sources", "--k", "4", "--seeds", "0")) == 0
    out = capsys.readouterr().out
    assert "ran 2 run(s)" in out and "l = [2, 4] wait for their source stages" in out
    assert {(r["method"], r["prompt_tokens"]) for r in load_records(tmp_path / "s.jsonl")} == {("pt", 2), ("pt", 4)}
    assert not list((tmp_path / "art").glob("*.safetensors"))


def test_the_sweep_refuses_settings_it_cannot_run_in_one_line(tmp_path, capsys):
    assert sweep.main(_args(tmp_path, "--set", "target_low_rank_init=source_mean")) == 2
    assert "--set target_low_rank_init=ones" in capsys.readouterr().err
    config = _config(tmp_path, lr_search=[0.01, 0.03])
    assert sweep.main(["--config", str(config), "--results", str(tmp_path / "s.jsonl")]) == 2
    assert "target-lr search is not complete" in capsys.readouterr().err
    assert sweep.main(["--config", str(config), "--targets", "no_such_task", "--dry-run"]) == 2
    assert "no_such_task" in capsys.readouterr().err


def _sweep_args(config: Path, name: str, *extra: str) -> list[str]:
    """The sweep at the smoke profile's own l (4) only, into ``<name>.jsonl``."""
    return ["--config", str(config), "--lengths", "4", "--seeds", "0", "--results", str(config.parent / f"{name}.jsonl"),
            "--figure", str(config.parent / f"{name}.png"), *extra]


def test_the_sweep_copies_the_runs_the_grid_has_made_and_runs_the_others(tmp_path, capsys, monkeypatch):
    config = _config(tmp_path)
    # The sweep's r = 1 (passed as rank=1) and the grid's default rank (None: the profile's 1) are one computation:
    # made by the sweep alone first, then by the grid, they agree in identity and in every prediction.
    assert sweep.main(_sweep_args(config, "alone", "--ranks", "1", "--k", "4")) == 0
    assert quality.main(["--config", str(config)]) == 0  # PT and MPT at k = 4, seed 0, source seed 0
    grid = {r["run_identity"]: r for r in load_records(tmp_path / "grid.jsonl")}
    alone = load_records(tmp_path / "alone.jsonl")
    assert len(grid) == len(alone) == 2 and {r["rank"] for r in grid.values()} == {0, 1}
    for record in alone:
        same = grid[record["run_identity"]]
        assert (record["test_predictions"], record["validation_curve"]) == (same["test_predictions"], same["validation_curve"])

    ran: list[tuple] = []
    run = grid_runner.Runner.run
    monkeypatch.setattr(grid_runner.Runner, "run", lambda self, spec, **kw: ran.append((spec, kw)) or run(self, spec, **kw))
    args = _sweep_args(config, "s", "--ranks", "1", "2", "--k", "4", "full")
    capsys.readouterr()
    assert sweep.main([*args, "--dry-run", "--quiet"]) == 0
    assert f"0 already in {tmp_path / 's.jsonl'}, 2 to copy from the grid's {tmp_path / 'grid.jsonl'}, 4 to go" in (
        capsys.readouterr().out)
    assert not ran and not (tmp_path / "s.jsonl").exists()  # a dry run copies nothing
    assert sweep.main(args) == 0
    out = capsys.readouterr().out
    assert "2 copied from the grid's" in out and "ran 4 run(s)" in out and "0 run(s) left" in out
    records = load_records(tmp_path / "s.jsonl")
    copied = [r for r in records if r.get("from_grid")]
    made = [r for r in records if "from_grid" not in r]
    assert len(records) == len({sweep_key(r) for r in records}) == 6 and len(ran) == len(made) == 4
    # The copies are the grid's records as they are, with the marker; none of them ran again.
    assert {(r["method"], r["k"], r["rank"]) for r in copied} == {("pt", 4, 0), ("mpt", 4, 1)}
    assert [{k: v for k, v in r.items() if k != "from_grid"} for r in copied] == [grid[r["run_identity"]] for r in copied]
    assert not {(spec.method, spec.k, kw["rank"]) for spec, kw in ran} & {("pt", 4, None), ("mpt", 4, 1)}
    # Another k (full data) or another r is another run: the sweep made it, and its identity is the predicted one.
    assert {(r["method"], str(r["k"]), r["rank"]) for r in made} == {
        ("pt", "full", 0), ("mpt", "full", 1), ("mpt", "full", 2), ("mpt", "4", 2)}
    cfg = GridConfig.from_yaml(config)
    for spec, kw in ran:
        record = next(r for r in made if (r["method"], str(r["k"]), r["rank"] or None) == (spec.method, str(spec.k),
                                                                                             kw["rank"]))
        assert record["run_identity"] == grid_runner.run_identity_of(cfg, cfg.build_profile(), spec, **kw)
        assert record["run_identity"] not in grid
    # The explorer places the copies as it places the sweep's own runs.
    assert (measured_settings(records)["l"], measured_settings(records)["r"]) == ([4], [1, 2])
    assert list(accuracy_by_setting(records, k=4)) == [("pt", 4, 0), ("mpt", 4, 1), ("mpt", 4, 2)]

    assert sweep.main(args) == 0  # resumes: the copies are records of the sweep's own file
    out = capsys.readouterr().out
    assert "6 already in" in out and "0 copied" in out and "0 to go" in out and len(ran) == 4
    assert len(load_records(tmp_path / "s.jsonl")) == 6


def test_a_grid_run_at_another_target_lr_is_not_copied(tmp_path):
    config = _config(tmp_path)
    cfg = GridConfig.from_yaml(config)
    profile = cfg.build_profile()
    plan = plan_sweep(SweepConfig(lengths=[profile.prompt_tokens], ranks=[1], k=[4], seeds=[0]), profile.target_tasks)
    # Grid records carry their run's identity (what ``adapt_target`` hashes): here at the profile's rate.
    grid = [{"task": run.spec.task, "method": run.spec.method, "k": 4, "seed": 0, "source_seed": run.spec.source_seed,
             "prompt_tokens": run.prompt_tokens, "rank": run.rank,
             "run_identity": grid_runner.run_identity_of(cfg, profile, run.spec)} for run in plan]
    profiles = {profile.prompt_tokens: profile}
    assert len(sweep.grid_copies(cfg, profiles, plan, None, grid)) == len(plan) == 2
    assert len(sweep.grid_copies(cfg, profiles, plan, {"pt": profile.lr, "mpt": profile.lr}, grid)) == 2
    assert sweep.grid_copies(cfg, profiles, plan, {"pt": 3 * profile.lr, "mpt": profile.lr}, grid).keys() == {plan[1].key}
    other_k = plan_sweep(SweepConfig(lengths=[profile.prompt_tokens], ranks=[1], k=[8], seeds=[0]), profile.target_tasks)
    assert sweep.grid_copies(cfg, profiles, other_k, None, grid) == {}


def test_sweep_records_at_another_target_lr_stop_the_sweep_naming_its_file(tmp_path, capsys):
    config = _config(tmp_path, lr_search=[0.01, 0.03], lr_search_k=4, source_seeds=[0])
    cfg = GridConfig.from_yaml(config)
    profile = cfg.build_profile()
    search = [{"task": s.task, "method": s.method, "k": s.k, "seed": s.seed, "ablation": s.ablation,
               "source_seed": s.source_seed, "validation_k": s.validation_k, "lr": s.lr, "validation": s.lr,
               "config_hash": config_hash(profile)} for s in search_runs(cfg, profile)]  # 0.03 scores best
    cfg.lr_search_file().write_text("".join(json.dumps(r) + "\n" for r in search))
    off = {"task": profile.target_tasks[0], "method": "pt", "k": 4, "seed": 0, "source_seed": None, "rank": 0,
           "prompt_tokens": 4, "lr": 0.01, "config_hash": config_hash(profile)}
    (tmp_path / "s.jsonl").write_text(json.dumps(off) + "\n")
    assert sweep.main(_sweep_args(config, "s", "--dry-run")) == 2
    assert f"1 record(s) in {tmp_path / 's.jsonl'} ran at another target lr" in capsys.readouterr().err
