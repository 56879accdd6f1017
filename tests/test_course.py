"""mpt_nb.course: the notebooks' size overrides, paths, and stage saving that load_or_train_* must find."""

from __future__ import annotations

import pytest
import torch

from mpt_nb import course
from mpt_nb.pipeline import Workspace, load_or_train_shared
from mpt_nb.profiles import PROFILES, get_profile
from mpt_nb.prompts import MultitaskPrompt


@pytest.mark.parametrize("name", ["smoke", "offline", "gpu"])
def test_overrides_are_profile_fields_and_only_sizes(name):
    overrides = course.course_overrides(name)
    profile = get_profile(name, **overrides)  # unknown fields would raise
    assert profile.backbone == PROFILES[name].backbone and profile.name == name
    assert set(profile.source_tasks) <= set(PROFILES[name].source_tasks) | set(PROFILES["offline"].source_tasks)


def test_overrides_follow_the_environment(monkeypatch):
    monkeypatch.setenv("MPT_NB_PROFILE", "offline")
    assert course.course_overrides() == course.COURSE_OVERRIDES["offline"]
    monkeypatch.setenv("MPT_NB_PROFILE", "gpu")
    assert course.course_overrides() == {}


def test_paths_point_into_the_checkout(monkeypatch, tmp_path):
    root = course.repo_root()
    assert (root / "mpt_nb").is_dir()
    monkeypatch.chdir(root / "notebooks" if (root / "notebooks").is_dir() else root)
    assert course.repo_root() == root  # a notebook's kernel runs in notebooks/
    assert course.records_path("04_x") == root / "outputs" / "notebooks" / "04_x.jsonl"
    assert course.benchmark_results_path("offline") == root / "results" / "quality_offline.jsonl"
    assert course.benchmark_results_path("offline").exists(), "the committed grid that notebooks 05 and 06 read"
    monkeypatch.chdir(tmp_path)
    assert course.repo_root() == tmp_path.resolve()  # outside a checkout (Colab): the current folder


def test_saved_shared_stage_is_what_load_or_train_shared_loads(tmp_path, monkeypatch):
    profile = get_profile("smoke", source_tasks=("movie_sentiment", "sms_spam"))
    ws = Workspace.from_profile(profile)
    prompt = MultitaskPrompt(profile.prompt_tokens, ws.backbone.dim, num_tasks=2, rank=profile.rank,
                             low_rank_init="normal", seed=3)

    def refuse(*args, **kwargs):
        raise AssertionError("load_or_train_shared retrained instead of loading the saved stage")

    monkeypatch.setattr("mpt_nb.pipeline.distill_shared_prompt", refuse)
    for distill in (True, False):
        course.save_shared_stage(ws, prompt, distill=distill, seed=0, cache_dir=tmp_path)
        loaded = load_or_train_shared(ws, None, tmp_path, distill=distill, seed=0)
        assert torch.equal(loaded.shared, prompt.shared) and torch.equal(loaded.u, prompt.u)
