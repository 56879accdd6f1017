"""A target run's identity: every setting that shapes the run changes it, and nothing else does; the targets' pools
split by their own seed."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import other_value

from mpt_nb.methods import get_method
from mpt_nb.profiles import SCORED_TEST_SPLITS, SOURCE_SPLIT_SEED, SharedConfig, TargetConfig, get_profile
from mpt_nb.targets import run_identity, run_settings
from mpt_nb.tasks import base as task_base
from mpt_nb.tasks import get_task, load_task_splits
from mpt_nb.workspace import Workspace

TARGET = "amazon_sentiment"
RUN = {"k": 4, "seed": 0}


@pytest.fixture(scope="module")
def profile():
    return get_profile("smoke")


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(TargetConfig)])
@pytest.mark.parametrize("method", ["pt", "mpt"])
def test_changing_any_target_config_field_changes_the_run_identity(profile, field, method):
    changed = profile.with_overrides(**{field: other_value(getattr(profile, field))})
    assert getattr(changed.target_config(), field) != getattr(profile.target_config(), field)
    assert run_identity(profile, TARGET, method, **RUN) != run_identity(changed, TARGET, method, **RUN), field


def test_the_run_its_data_and_its_source_stage_change_the_identity(profile, monkeypatch):
    ident = lambda p=profile, method="mpt", **run: run_identity(p, TARGET, method, **{**RUN, **run})  # noqa: E731
    for run in ({"k": None}, {"seed": 1}, {"source_seed": 1}, {"validation_k": 2}, {"steps": 9}, {"rank": 3},
                {"lr": 0.3}, {"ablation": "target_source_mean"}, {"ablation": "vocab_init"}):
        assert ident(**run) != ident(), run
    assert len({ident(method=m) for m in ("pt", "spot", "spot_generic", "decomp", "mpt")}) == 5
    assert ident(profile.with_overrides(backbone="tiny-t5")) != ident()
    # A source-config change is another source stage, so another run for the methods that start from one, not PT.
    source_only = set(f.name for f in dataclasses.fields(SharedConfig)) - set(f.name for f in dataclasses.fields(TargetConfig))
    changed = profile.with_overrides(distill_steps=profile.distill_steps + 1)
    assert "distill_steps" in source_only
    assert ident(changed) != ident() and ident(changed, "pt") == ident(method="pt")
    # A stage taken from another profile (a shipped store) is named by its own identity.
    assert ident(source_identity="0" * 12) != ident()
    task = get_task(TARGET)
    monkeypatch.setitem(task_base._REGISTRY, TARGET, dataclasses.replace(task, template=task.template + " "))
    changed_data = ident()
    monkeypatch.setitem(task_base._REGISTRY, TARGET, task)
    assert changed_data != ident()


def test_the_identity_holds_the_rank_the_target_trains(profile):
    ident = lambda method="mpt", **run: run_identity(profile, TARGET, method, **{**RUN, **run})  # noqa: E731
    # u, v default to the source stage's r: the profile's (so r = 1 named and left to the profile are one run) ...
    assert profile.rank == 1 and ident(rank=None) == ident(rank=1) != ident(rank=2)
    # ... or the stage's own (the rank4 ablation trains r = 4 unless told otherwise).
    assert ident(ablation="rank4", rank=None) == ident(ablation="rank4", rank=4) != ident(ablation="rank4", rank=1)
    # A target without u, v reads no rank: any it is given makes no other run.
    for method in ("pt", "spot", "spot_generic"):
        assert ident(method, rank=None) == ident(method, rank=3)


def test_run_fields_and_other_targets_do_not_change_the_identity(profile):
    same = profile.with_overrides(target_tasks=(TARGET, "nyt_sentiment"), seeds=(7,), sizing="course", name="other")
    assert run_identity(same, TARGET, "mpt", **RUN) == run_identity(profile, TARGET, "mpt", **RUN)


def test_settings_say_what_the_run_is(profile):
    settings = run_settings(profile, TARGET, "mpt", k=4, seed=1)
    assert settings["steps"] == profile.few_shot_steps and settings["source_seed"] == 1
    assert settings["task"] == get_task(TARGET).data_identity(**profile.split_of(TARGET))
    assert settings["method"]["name"] == "mpt" and settings["config"] == dataclasses.asdict(profile.target_config())
    assert run_settings(profile, TARGET, "pt", k=None, seed=0)["source"] is None
    assert run_settings(profile, TARGET, get_method("pt"), k=None, seed=0)["steps"] == profile.target_steps


def test_targets_split_by_their_own_seed_and_sources_by_the_fixed_one(profile):
    moved = profile.with_overrides(target_split_seed=5)
    assert moved.split_seed(TARGET) == 5 and moved.split_seed(profile.source_tasks[0]) == SOURCE_SPLIT_SEED == 0
    assert TARGET in SCORED_TEST_SPLITS and moved.split_of(TARGET) == {"split_seed": 5, "fresh_test_from": 0}
    assert profile.split_of(TARGET) == {"split_seed": 0, "fresh_test_from": None}
    # A target whose split-0 test rows no run scored keeps split 0 (its validation rows were screened: re-dealing
    # them into a test split would put scored rows there).
    unscored = profile.with_overrides(target_tasks=("snips_intent",), target_split_seed=5)
    assert unscored.split_of("snips_intent") == {"split_seed": 0, "fresh_test_from": None}
    before, after = Workspace(profile, backbone=None), Workspace(moved, backbone=None)
    assert before.splits(TARGET)["test"]["input_text"] != after.splits(TARGET)["test"]["input_text"]
    source = profile.source_tasks[0]
    assert before.splits(source)["test"]["input_text"] == after.splits(source)["test"]["input_text"]
    # The identity of a run on a target with its own split seed says how its test rows were drawn.
    assert run_settings(moved, TARGET, "pt", **RUN)["task"]["fresh_test_from"] == 0
    assert "fresh_test_from" not in run_settings(profile, TARGET, "pt", **RUN)["task"]


def test_the_tasks_whose_test_rows_were_scored_are_the_committed_grids_targets():
    from pathlib import Path

    from mpt_nb.results import load_records

    results = Path(__file__).resolve().parent.parent / "results"
    scored = {r["task"] for name in ("quality_offline.jsonl", "grid_offline_v2_lr_search.jsonl")
              for r in load_records(results / name)}
    assert scored == set(SCORED_TEST_SPLITS)


@pytest.mark.parametrize("name", ["amazon_sentiment", "tweet_sentiment3", "presupposition_nli"])
def test_a_fresh_test_split_holds_only_rows_of_split_zeros_training_split(name):
    old = load_task_splits(name)  # what every earlier run read: its validation and test rows were scored
    new = load_task_splits(name, split_seed=7, fresh_test_from=0)
    text = lambda split: set(split["input_text"])  # noqa: E731
    assert text(new["test"]) <= text(old["train"])
    assert len(new["test"]) == min(len(old["test"]), len(old["train"]) // 2)  # presupposition: half its 293 rows
    assert not text(new["test"]) & (text(old["validation"]) | text(old["test"]))
    assert text(new["validation"]) == text(old["validation"])
    assert text(new["train"]) == (text(old["train"]) - text(new["test"])) | text(old["test"])
    assert sorted(set(new["test"]["label"])) == sorted(set(old["test"]["label"]))  # stratified: every class
    again = load_task_splits(name, split_seed=7, fresh_test_from=0)
    assert again["test"]["input_text"] == new["test"]["input_text"]
    assert load_task_splits(name, split_seed=8, fresh_test_from=0)["test"]["input_text"] != new["test"]["input_text"]


def test_a_task_cannot_be_source_and_target_under_two_split_seeds(profile):
    with pytest.raises(ValueError, match="target_split_seed"):
        profile.with_overrides(target_tasks=(profile.source_tasks[0],), target_split_seed=3)
    assert profile.with_overrides(target_tasks=(profile.source_tasks[0],)).split_seed(profile.source_tasks[0]) == 0
