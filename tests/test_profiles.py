"""Profiles: lookup by name and environment, overrides, and the offline guard."""

from __future__ import annotations

import dataclasses

import pytest

from mpt_nb.backbones import OFFLINE_DEFAULT, HubModelUnavailableError
from mpt_nb.pipeline import Workspace
from mpt_nb.profiles import ENV_VAR, PROFILES, SIZINGS, describe, get_profile, without_unfetched_targets
from mpt_nb.train import TrainConfig


@pytest.mark.parametrize("name", ["smoke", "offline", "gpu"])
def test_get_profile_by_name(name, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    profile = get_profile(name)
    assert profile.name == name and profile == PROFILES[name] and profile.sizing == "default"


def test_profile_backbones():
    assert PROFILES["smoke"].backbone == "tiny-llama" and PROFILES["smoke"].offline
    assert PROFILES["offline"].backbone == OFFLINE_DEFAULT and PROFILES["offline"].offline
    assert not PROFILES["gpu"].offline


def test_env_var_picks_the_profile_and_an_argument_wins(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "smoke")
    assert ENV_VAR == "MPT_NB_PROFILE"
    assert get_profile().name == "smoke"
    assert get_profile("gpu").name == "gpu"


def test_default_without_env_is_offline(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert get_profile().name == "offline"


@pytest.mark.parametrize("via_env", [False, True])
def test_unknown_name_lists_the_known_ones(monkeypatch, via_env):
    if via_env:
        monkeypatch.setenv(ENV_VAR, "fast")
    with pytest.raises(KeyError) as info:
        get_profile(None if via_env else "fast")
    message = str(info.value)
    assert "'fast'" in message
    for known in ("gpu", "offline", "smoke"):
        assert known in message


def test_overrides_change_single_fields_and_leave_the_registry_alone():
    profile = get_profile("smoke", prompt_tokens=10, rank=3, seeds=(4,))
    assert (profile.prompt_tokens, profile.rank, profile.seeds) == (10, 3, (4,))
    assert profile.batch_size == PROFILES["smoke"].batch_size
    assert PROFILES["smoke"].prompt_tokens == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.rank = 2  # type: ignore[misc]


def test_unknown_override_is_an_error():
    with pytest.raises(TypeError, match="prompt_token"):
        get_profile("smoke", prompt_token=10)


def test_offline_profile_with_hub_backbone_points_to_offline():
    with pytest.raises(HubModelUnavailableError) as info:
        get_profile("smoke", backbone="google-t5/t5-base")
    message = str(info.value)
    assert "google-t5/t5-base" in message and "'offline'" in message and OFFLINE_DEFAULT in message


def test_offline_profile_accepts_a_local_folder_and_online_profile_a_hub_name(tmp_path):
    assert get_profile("offline", backbone=str(tmp_path)).backbone == str(tmp_path)
    assert get_profile("gpu", backbone="google/flan-t5-small").backbone == "google/flan-t5-small"


def test_describe_names_profile_backbone_and_sizes():
    text = describe(get_profile("smoke"))
    assert "profile=smoke" in text and "backbone=tiny-llama" in text and "l=4" in text
    assert "movie_sentiment" in text and "torch=" in text


def test_sizings_are_the_one_place_for_course_and_demo_sizes():
    assert set(SIZINGS) == {"default", "course", "demo", "colab"}
    demo = get_profile("offline", sizing="demo")
    assert demo.sizing == "demo" and demo.teacher_steps == 40 and demo.max_eval == 200
    assert get_profile("smoke", sizing="demo") == get_profile("smoke").with_overrides(sizing="demo")
    # The course drops the target runs' step-0 evaluation and keeps the source stages' (their identity), the grid
    # (default sizing) scores step 0 in both.
    course = get_profile("offline", sizing="course")
    assert (course.eval_at_start, course.target_eval_at_start) == (True, False)
    assert get_profile("offline").target_eval_at_start
    # Overrides apply on top of the sizing.
    assert get_profile("offline", sizing="course", teacher_steps=3).teacher_steps == 3
    with pytest.raises(KeyError, match="unknown sizing 'huge'"):
        get_profile("offline", sizing="huge")


def test_train_config_takes_every_optimisation_setting_from_the_profile():
    profile = get_profile("smoke", lr=0.05, lr_low_rank=0.002, weight_decay=0.1, warmup_ratio=0.2, max_grad_norm=0.5,
                          eval_every=3, eval_at_start=True, mixed_precision="bf16")
    config = TrainConfig.from_profile(profile, 7, seed=2)
    assert (config.max_steps, config.seed, config.lr, config.lr_low_rank) == (7, 2, 0.05, 0.002)
    assert (config.weight_decay, config.warmup_ratio, config.max_grad_norm) == (0.1, 0.2, 0.5)
    assert (config.eval_every, config.eval_at_start, config.mixed_precision) == (3, True, "bf16")
    # TrainConfig's own defaults are the profiles' defaults, so a hand-built config agrees with them.
    default = PROFILES["offline"]
    assert (TrainConfig(1).lr, TrainConfig(1).weight_decay, TrainConfig(1).warmup_ratio) == (
        default.lr, default.weight_decay, default.warmup_ratio
    )
    ws = Workspace(profile, backbone=None)
    assert ws.train_config(7, seed=2) == config


@pytest.mark.parametrize(("field", "value"), [("mixed_precision", "fp8"), ("target_low_rank_init", "zeros")])
def test_enumerated_settings_are_checked(field, value):
    with pytest.raises(ValueError, match=field):
        get_profile("smoke", **{field: value})


def test_every_profile_in_every_sizing_can_train_its_source_stages():
    for name in PROFILES:
        for sizing in SIZINGS:
            profile = get_profile(name, sizing=sizing)  # a plateau rule without evaluations is refused here
            assert not profile.source_patience or profile.eval_every, (name, sizing)
    with pytest.raises(ValueError, match="needs eval_every > 0"):
        get_profile("smoke", source_patience=2, eval_every=0)
    with pytest.raises(ValueError, match="needs distill_eval_every or eval_every > 0"):
        get_profile("smoke", distill_patience=2, eval_every=0)
    get_profile("smoke", distill_patience=2, eval_every=0, distill_eval_every=3)  # shared stages' own interval


def test_targets_whose_data_files_are_missing_are_left_out_with_a_notice(tmp_path, monkeypatch, capsys):
    from mpt_nb.course import choose_profile

    monkeypatch.setenv("MPT_NB_DATA", str(tmp_path))  # an empty data cache
    monkeypatch.setenv("MPT_NB_MIRROR", "")  # and no mirror: the pinned files would need GitHub
    profile = get_profile("offline")
    kept, notice = without_unfetched_targets(profile)
    assert kept.target_tasks == ("tweet_sentiment3",)
    assert kept.source_tasks == profile.source_tasks  # the shipped stages were trained on them: never dropped
    assert notice.startswith("targets left out: presupposition_nli (") and "fetch-data" in notice
    assert notice.endswith("running tweet_sentiment3")
    # The notebooks' one call that picks the profile says so too.
    assert choose_profile("offline", sizing="colab").target_tasks == ("tweet_sentiment3",)
    assert capsys.readouterr().out.startswith("targets left out: presupposition_nli (")
    with pytest.raises(FileNotFoundError, match=r"every target of profile 'offline' \(presupposition_nli\).*fetch-data"):
        without_unfetched_targets(profile.with_overrides(target_tasks=("presupposition_nli",)))

    monkeypatch.delenv("MPT_NB_MIRROR")  # the mirror beside the checkout holds them: nothing changes
    assert without_unfetched_targets(profile) == (profile, None)
    assert without_unfetched_targets(get_profile("smoke")) == (get_profile("smoke"), None)
