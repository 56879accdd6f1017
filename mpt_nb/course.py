"""What the notebooks share: which profile they run, where the course's repository lives, where they keep artefacts
and records, and how they show paths.

The notebooks' sizes are a profile in a named sizing (see ``mpt_nb.profiles``): ``course`` on a CPU (each notebook
fits minutes on 2 cores), ``colab`` on a Colab GPU. ``choose_profile`` is the one call that picks it. Notebooks 04-06
start from the converged source stages shipped in ``sources/<profile>/`` when all are there
(``mpt_nb.sources.preferred_store``); otherwise the teachers and shared prompts that notebook 03 trains are exactly
what they would train themselves when run alone, and ``SourceStore(ws, artefact_dir())`` finds them by their
settings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from . import __version__
from .profiles import ENV_VAR, Profile, get_profile, without_unfetched_targets

__all__ = [
    "DRY_RUN_ENV_VAR",
    "REPO_REF",
    "REPO_URL",
    "artefact_dir",
    "benchmark_results_path",
    "choose_profile",
    "display_path",
    "on_colab",
    "records_path",
    "repo_root",
    "training_device",
]

# The repository the notebooks' Colab install cell clones, at the release these notebooks belong to. The install cell
# runs before this package is installed, so it spells both; tests/test_course_profile.py checks that it spells these.
REPO_URL = "https://github.com/mpt-notebooks/mpt-notebooks"
REPO_REF = "v" + __version__
# Set to 1 and the set-up script the install cell runs (tools/colab_setup.py) prints its steps instead of running them.
DRY_RUN_ENV_VAR = "MPT_NB_INSTALL_DRY_RUN"


def on_colab() -> bool:
    """Whether this kernel runs on Google Colab (its ``google.colab`` module is loaded)."""
    return "google.colab" in sys.modules


def choose_profile(name: str | None = None, *, sizing: str | None = None, **overrides: object) -> Profile:
    """The profile a notebook runs, chosen in one place.

    Which profile: ``name`` if given (e.g. ``choose_profile("gpu")``: T5-Base + GLUE/SuperGLUE from the Hub), else
    ``$MPT_NB_PROFILE`` when set (CI sets ``smoke``), else ``offline`` (the packaged model and data). Which sizing:
    ``sizing`` if given, else ``colab`` on Colab with a GPU, else ``course`` (a CPU: a laptop, a classroom).
    Keyword overrides then change single fields, e.g. ``choose_profile(target_steps=40)``. Targets whose BIG-bench
    files this machine lacks are left out, and a printed line says which and how to fetch them.
    """
    if name is None and os.environ.get(ENV_VAR):
        name = os.environ[ENV_VAR]
    if sizing is None:
        sizing = "colab" if on_colab() and torch.cuda.is_available() else "course"
    profile, left_out = without_unfetched_targets(get_profile(name or "offline", sizing=sizing, **overrides))
    if left_out:
        print(left_out)
    return profile


def training_device() -> torch.device:
    """Where training puts the model: the GPU when there is one, else the CPU (accelerate's choice, so the same)."""
    from .train import process_state

    return process_state().device


def repo_root() -> Path:
    """The checkout's root when running inside one (a notebook's cwd is ``notebooks/``), else the current folder."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "mpt_nb").is_dir() and (folder / "pyproject.toml").exists():
            return folder
    return here


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as a notebook should print it: relative to the checkout's root, else to the working folder, else its
    file name. Never an absolute machine path, so saved outputs read the same on every machine."""
    resolved = Path(path).resolve()
    for base in (repo_root(), Path.cwd().resolve()):
        if resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
    return resolved.name


def artefact_dir() -> Path:
    """Where the notebooks keep teachers and shared prompts: ``outputs/notebooks/artefacts``."""
    return repo_root() / "outputs" / "notebooks" / "artefacts"


# The results file each profile's grid writes (its config's ``output.results``): the offline profile's is the
# pre-registered v2 grid (configs/offline_v2.yaml), the gpu profile's the paper's setting (configs/paper_t5_base.yaml).
_GRID_RESULTS = {"offline": "grid_offline_v2.jsonl", "gpu": "quality_paper_t5_base.jsonl"}
# The first offline grid, on the v1 suite (results/README.md says why it cannot settle the question): kept as a worked
# example of reading a grid, never shown as this profile's measured runs.
V1_GRID_RESULTS = "quality_offline.jsonl"


def benchmark_results_path(profile_name: str, *, grid: str = "current") -> Path:
    """A profile's committed grid: its current one (``results/grid_offline_v2.jsonl`` for ``offline``, what
    ``configs/offline_v2.yaml`` writes; ``results/quality_paper_t5_base.jsonl`` for ``gpu``), or with ``grid="v1"``
    the offline profile's first grid, on the v1 suite (``results/quality_offline.jsonl``)."""
    if grid == "v1":
        if profile_name != "offline":
            raise ValueError(f"only the offline profile has a v1 grid, not {profile_name!r}")
        return repo_root() / "results" / V1_GRID_RESULTS
    if grid != "current":
        raise ValueError(f"grid is 'current' or 'v1', not {grid!r}")
    return repo_root() / "results" / _GRID_RESULTS.get(profile_name, f"quality_{profile_name}.jsonl")


def records_path(notebook: str, profile_name: str) -> Path:
    """The JSON Lines file a notebook writes its result records to: ``outputs/notebooks/<profile>/<notebook>.jsonl``.

    One folder per profile, so a smoke-profile test run never replaces the offline records notebook 06 reads."""
    if not profile_name or "/" in profile_name or profile_name.startswith("."):
        raise ValueError(f"profile_name must be a profile's name such as 'offline', not {profile_name!r}")
    return repo_root() / "outputs" / "notebooks" / profile_name / f"{notebook}.jsonl"
