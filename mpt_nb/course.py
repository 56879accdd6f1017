"""Where the notebooks keep their artefacts and records, and where the committed benchmark results are.

The notebooks' sizes are the profiles' ``course`` sizing (``get_profile(sizing="course")``, see ``mpt_nb.profiles``),
so the teachers and shared prompts that notebook 03 trains are exactly what notebooks 04-06 would train themselves
when run alone, and ``SourceStore(ws, artefact_dir())`` finds them by their settings.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["artefact_dir", "benchmark_results_path", "records_path", "repo_root"]


def repo_root() -> Path:
    """The checkout's root when running inside one (a notebook's cwd is ``notebooks/``), else the current folder."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "mpt_nb").is_dir() and (folder / "pyproject.toml").exists():
            return folder
    return here


def artefact_dir() -> Path:
    """Where the notebooks keep teachers and shared prompts: ``outputs/notebooks/artefacts``."""
    return repo_root() / "outputs" / "notebooks" / "artefacts"


def benchmark_results_path(profile_name: str) -> Path:
    """The quality benchmark's committed grid for a profile: ``results/quality_<profile>.jsonl``."""
    return repo_root() / "results" / f"quality_{profile_name}.jsonl"


def records_path(notebook: str) -> Path:
    """The JSON Lines file a notebook writes its result records to: ``outputs/notebooks/<notebook>.jsonl``."""
    return repo_root() / "outputs" / "notebooks" / f"{notebook}.jsonl"
