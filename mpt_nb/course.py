"""The notebooks' shell: one call, ``setup(notebook)``, gives a notebook its profile, its workspace, its source
stages and its records file, and times it.

The notebooks' sizes are a profile in a named sizing (see ``mpt_nb.profiles``): ``course`` on a CPU (each notebook
fits minutes on 2 cores), ``colab`` on a Colab GPU; ``choose_profile`` picks it. Notebooks 04-06 start from the
converged source stages shipped in ``sources/<profile>/`` when all are there (``mpt_nb.sources.preferred_store``);
otherwise the teachers and shared prompts that notebook 03 trains are exactly what they would train themselves when
run alone, and the store in ``artefact_dir()`` finds them by their identity. Where the files live is
``mpt_nb.paths``.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import __version__
from .methods import SourceStage
from .paths import artefact_dir, benchmark_results_path, display_path, records_path, repo_root
from .profiles import ENV_VAR, Profile, describe, get_profile, without_unfetched_targets
from .sources import SourceStore, preferred_store
from .train import process_state
from .workspace import Workspace

__all__ = [
    "DRY_RUN_ENV_VAR",
    "NOTEBOOK_TITLE",
    "REPO_REF",
    "REPO_URL",
    "CourseNotebook",
    "Notebook",
    "artefact_dir",
    "benchmark_results_path",
    "choose_profile",
    "course_notebooks",
    "display_path",
    "on_colab",
    "records_path",
    "repo_root",
    "setup",
    "training_device",
]

# The repository the notebooks' Colab install cell clones, at the release these notebooks belong to (a fork may name
# a branch). The one place they are set: tools/release.py writes them into the install cells (which run before this
# package is installed), the Colab badges and the README, and CI runs it with --check.
REPO_URL = "https://github.com/mpt-notebooks/mpt-notebooks"
REPO_REF = "v" + __version__
# Set to 1 and the set-up script the install cell runs (tools/colab_setup.py) prints its steps instead of running them.
DRY_RUN_ENV_VAR = "MPT_NB_INSTALL_DRY_RUN"

# A notebook's title line, the first line of its opening markdown cell in ``notebooks/NN_topic.py``:
# ``# # NN · Topic: what it teaches``. The one place the notebooks' titles live; the README's table
# (tools/release.py) and the roadmap figure (mpt_nb.diagrams.roadmap_diagram) read them from there.
NOTEBOOK_TITLE = re.compile(r"^# # (\d\d) · ([^:\n]+): (.+)$", flags=re.M)
_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class CourseNotebook:
    """One notebook of the course, as its title line names it."""

    number: int  # 4
    stem: str  # "04_target_adaptation"
    topic: str  # "Target adaptation"
    teaches: str  # "start new tasks from the shared prompt"


def course_notebooks(folder: Path | None = None) -> tuple[CourseNotebook, ...]:
    """The course's notebooks in reading order, each as its title line in ``notebooks/NN_topic.py`` names it."""
    folder = _NOTEBOOKS if folder is None else folder
    found = []
    for script in sorted(folder.glob("[0-9][0-9]_*.py")):
        title = NOTEBOOK_TITLE.search(script.read_text(encoding="utf-8"))
        if title is None:
            raise ValueError(f"{script.name} has no title line '# # NN · Topic: what it teaches'; add one")
        number, topic, teaches = title.groups()
        found.append(CourseNotebook(int(number), script.stem, topic.strip(), teaches.strip()))
    if not found:
        raise ValueError(f"no notebooks/NN_topic.py under {folder}; the course's notebooks come with a checkout "
                         "(git clone, then pip install -e .)")
    return tuple(found)


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
    return process_state().device


@dataclass
class Notebook:
    """What ``setup`` gives a notebook: its profile, and on first use its workspace (the frozen backbone, loaded
    once), its source stages and its records file; ``elapsed()`` is the wall time since set-up."""

    name: str
    profile: Profile
    started: float = field(default_factory=time.perf_counter)
    _ws: Workspace | None = field(default=None, repr=False)

    @property
    def ws(self) -> Workspace:
        """The profile's workspace; the backbone loads on first use."""
        if self._ws is None:
            self._ws = Workspace.from_profile(self.profile)
        return self._ws

    @property
    def records(self) -> Path:
        """The JSON Lines file this notebook writes its result records to (``records_path``)."""
        return records_path(self.name, self.profile.name)

    def sources(self, stages: Sequence[SourceStage], *, retrain: bool = False) -> SourceStore:
        """The store to read ``stages`` from: the shipped converged ones when all are there, else the notebooks'
        artefacts folder, which loads or trains them (``retrain=True``: train them here). Prints which."""
        store, origin = preferred_store(self.ws, list(stages), artefact_dir(), retrain=retrain)
        print(origin)
        return store

    def elapsed(self) -> float:
        """Seconds since ``setup``."""
        return time.perf_counter() - self.started


def setup(notebook: str, profile: str | None = None, *, sizing: str | None = None, **overrides: object) -> Notebook:
    """A notebook's set-up in one call: ``nb = setup("04_target_adaptation")``.

    The profile is ``choose_profile(profile, sizing=sizing, **overrides)`` (``$MPT_NB_PROFILE``, else ``offline`` in
    the sizing for this machine), printed with every size it sets. ``nb.ws``, ``nb.sources(stages)`` and
    ``nb.records`` give the workspace, the source stages and the records file; ``nb.elapsed()`` the wall time.
    """
    if not notebook or "/" in notebook:
        raise ValueError(f"notebook is the notebook's file stem, e.g. '04_target_adaptation', not {notebook!r}")
    started = time.perf_counter()
    chosen = choose_profile(profile, sizing=sizing, **overrides)
    print(describe(chosen))
    return Notebook(notebook, chosen, started)
