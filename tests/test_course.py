"""The notebooks' shell (``mpt_nb.course.setup``), where they keep artefacts and records and how they print paths
(``mpt_nb.paths``); the course sizing of the profiles they run (choose_profile and the Colab install cell:
test_course_profile.py)."""

from __future__ import annotations

import pytest

from mpt_nb import course, paths
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
    root = paths.repo_root()
    assert (root / "mpt_nb").is_dir()
    monkeypatch.chdir(root / "notebooks" if (root / "notebooks").is_dir() else root)
    assert paths.repo_root() == root  # a notebook's kernel runs in notebooks/
    assert paths.records_path("04_x", "offline") == root / "outputs" / "notebooks" / "offline" / "04_x.jsonl"
    assert paths.benchmark_results_path("offline") == root / "results" / "grid_offline_v2.jsonl"
    v1 = paths.benchmark_results_path("offline", grid="v1")
    assert v1 == root / "results" / "quality_offline.jsonl" and v1.exists(), "the v1 grid notebook 05 reads"
    monkeypatch.chdir(tmp_path)
    assert paths.repo_root() == tmp_path.resolve()  # outside a checkout (Colab): the current folder


def test_records_keep_one_file_per_profile():
    # A smoke test run must not replace the offline records notebook 06 reads.
    assert paths.records_path("04_x", "smoke") != paths.records_path("04_x", "offline")
    for bad in ("", "../offline", ".hidden", "a/b"):
        with pytest.raises(ValueError, match="profile's name"):
            paths.records_path("04_x", bad)


def test_display_path_never_shows_a_machine_path(monkeypatch, tmp_path):
    root = paths.repo_root()
    monkeypatch.chdir(root / "notebooks" if (root / "notebooks").is_dir() else root)
    assert paths.display_path(paths.records_path("04_x", "smoke")) == "outputs/notebooks/smoke/04_x.jsonl"  # root
    assert paths.display_path("../results/quality_offline.jsonl") == "results/quality_offline.jsonl"
    monkeypatch.chdir(tmp_path)  # outside a checkout: relative to the working folder, else just the name
    assert paths.display_path(tmp_path / "a" / "b.jsonl") == "a/b.jsonl"
    elsewhere = tmp_path.parent / "elsewhere" / "c.jsonl"
    assert paths.display_path(elsewhere) == "c.jsonl"
    assert str(tmp_path) not in paths.display_path(elsewhere)


def test_training_device_is_where_accelerate_puts_the_model():
    import torch
    from accelerate import PartialState

    assert course.training_device() == PartialState().device
    if not torch.cuda.is_available():
        assert course.training_device().type in ("cpu", "mps")


def test_each_profiles_grid_file_is_the_one_its_benchmark_writes():
    import yaml

    from mpt_nb.paths import benchmark_results_path, repo_root

    paper = yaml.safe_load((repo_root() / "configs" / "paper_t5_base.yaml").read_text())
    offline = yaml.safe_load((repo_root() / "configs" / "offline_v2.yaml").read_text())
    assert benchmark_results_path("gpu") == repo_root() / paper["output"]["results"]
    assert benchmark_results_path("offline") == repo_root() / offline["output"]["results"]
    with pytest.raises(ValueError, match="only the offline profile"):
        benchmark_results_path("gpu", grid="v1")


def test_setup_gives_a_notebook_its_profile_workspace_records_and_clock(capsys):
    nb = course.setup("04_x", "smoke", target_steps=2)
    printed = capsys.readouterr().out
    assert nb.profile.name == "smoke" and nb.profile.target_steps == 2 and "profile=smoke" in printed
    assert nb.records == paths.records_path("04_x", "smoke")
    assert nb._ws is None, "the backbone loads on first use, not at set-up"
    assert nb.ws is nb.ws and nb.ws.profile == nb.profile
    assert 0 <= nb.elapsed() < 600
    for bad in ("", "notebooks/04_x"):
        with pytest.raises(ValueError, match="file stem"):
            course.setup(bad, "smoke")


def test_setup_sources_says_where_the_stages_come_from(capsys, tmp_path, monkeypatch):
    from mpt_nb.methods import TEACHERS

    monkeypatch.setattr(course, "artefact_dir", lambda: tmp_path)
    nb = course.setup("03_x", "smoke", teacher_steps=1)
    store = nb.sources([TEACHERS])
    printed = capsys.readouterr().out
    assert "source stages:" in printed and store.cache_dir == tmp_path
