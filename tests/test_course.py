"""mpt_nb.course: where notebooks keep artefacts and records and how they print paths; the course sizing of the
profiles they run (choose_profile and the Colab install cell: test_course_profile.py)."""

from __future__ import annotations

import pytest

from mpt_nb import course
from mpt_nb.profiles import PROFILES, SIZINGS, get_profile


@pytest.mark.parametrize("name", ["smoke", "offline", "gpu"])
def test_course_sizing_changes_only_sizes(name):
    profile = get_profile(name, sizing="course")  # unknown fields would raise
    assert profile.backbone == PROFILES[name].backbone and profile.name == name and profile.sizing == "course"
    assert set(profile.source_tasks) <= set(PROFILES[name].source_tasks) | set(PROFILES["offline"].source_tasks)
    changed = {f for f in SIZINGS["course"].get(name, {})}
    assert changed <= {"source_tasks", "target_tasks", "max_validation", "max_eval", "teacher_steps", "distill_steps",
                       "target_steps", "few_shot_steps", "eval_every", "target_eval_at_start", "source_patience",
                       "distill_eval_every", "seeds", "few_shot_k"}


def test_paths_point_into_the_checkout(monkeypatch, tmp_path):
    root = course.repo_root()
    assert (root / "mpt_nb").is_dir()
    monkeypatch.chdir(root / "notebooks" if (root / "notebooks").is_dir() else root)
    assert course.repo_root() == root  # a notebook's kernel runs in notebooks/
    assert course.records_path("04_x", "offline") == root / "outputs" / "notebooks" / "offline" / "04_x.jsonl"
    assert course.benchmark_results_path("offline") == root / "results" / "grid_offline_v2.jsonl"
    v1 = course.benchmark_results_path("offline", grid="v1")
    assert v1 == root / "results" / "quality_offline.jsonl" and v1.exists(), "the v1 grid notebook 05 reads"
    monkeypatch.chdir(tmp_path)
    assert course.repo_root() == tmp_path.resolve()  # outside a checkout (Colab): the current folder


def test_records_keep_one_file_per_profile():
    # A smoke test run must not replace the offline records notebook 06 reads.
    assert course.records_path("04_x", "smoke") != course.records_path("04_x", "offline")
    for bad in ("", "../offline", ".hidden", "a/b"):
        with pytest.raises(ValueError, match="profile's name"):
            course.records_path("04_x", bad)


def test_display_path_never_shows_a_machine_path(monkeypatch, tmp_path):
    root = course.repo_root()
    monkeypatch.chdir(root / "notebooks" if (root / "notebooks").is_dir() else root)
    assert course.display_path(course.records_path("04_x", "smoke")) == "outputs/notebooks/smoke/04_x.jsonl"  # root
    assert course.display_path("../results/quality_offline.jsonl") == "results/quality_offline.jsonl"
    monkeypatch.chdir(tmp_path)  # outside a checkout: relative to the working folder, else just the name
    assert course.display_path(tmp_path / "a" / "b.jsonl") == "a/b.jsonl"
    elsewhere = tmp_path.parent / "elsewhere" / "c.jsonl"
    assert course.display_path(elsewhere) == "c.jsonl"
    assert str(tmp_path) not in course.display_path(elsewhere)


def test_training_device_is_where_accelerate_puts_the_model():
    import torch
    from accelerate import PartialState

    assert course.training_device() == PartialState().device
    if not torch.cuda.is_available():
        assert course.training_device().type in ("cpu", "mps")


def test_each_profiles_grid_file_is_the_one_its_benchmark_writes():
    import yaml

    from mpt_nb.course import benchmark_results_path, repo_root

    paper = yaml.safe_load((repo_root() / "configs" / "paper_t5_base.yaml").read_text())
    offline = yaml.safe_load((repo_root() / "configs" / "offline_v2.yaml").read_text())
    assert benchmark_results_path("gpu") == repo_root() / paper["output"]["results"]
    assert benchmark_results_path("offline") == repo_root() / offline["output"]["results"]
    with pytest.raises(ValueError, match="only the offline profile"):
        benchmark_results_path("gpu", grid="v1")
