"""mpt_nb.course: where notebooks keep artefacts and records; the course sizing of the profiles they run."""

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
                       "target_steps", "few_shot_steps", "eval_every", "seeds", "few_shot_k"}


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
