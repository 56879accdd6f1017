"""The l × r sweep: its plan (size, order, keys) and the command end to end on the smoke profile (records that place
each run at its l and r, resume without re-running, source stages per l, the figure)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import repo_module

from mpt_nb.profiles import get_profile
from mpt_nb.prompts import expected_trainable
from mpt_nb.results import (
    SweepConfig,
    config_hash,
    current_sweep,
    load_records,
    plan_sweep,
    sweep_key,
)

sweep = repo_module("benchmarks.sweep")


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
        "output": {"results": str(tmp_path / "grid.jsonl"), "artefacts": str(tmp_path / "art")},
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
