"""Where the course's files live: the checkout's root, the notebooks' artefacts and records, the committed grids, and
how a path is printed (relative, never a machine path, so saved outputs read the same on every machine)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["V1_GRID_RESULTS", "artefact_dir", "benchmark_results_path", "display_path", "records_path", "repo_root"]


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
