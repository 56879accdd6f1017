"""The built-in tasks: the offline tasks then the hub tasks, registered in that order (the order of
``list_tasks()``), and their named suites.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from . import base
from .base import _BUILTIN, register_task
from .bigbench import BIGBENCH_TASKS, RETIRED_TASKS, bigbench_tasks, retired_tasks
from .hub import _HUB, GENERATION_TASKS, GLUE_TASKS, PAPER_SOURCE_TASKS, SUPERGLUE_TASKS
from .inference import inference_tasks
from .intents import intent_tasks
from .offline import _OFFLINE, MIN_TEST_ROWS, OFFLINE_SOURCE_TASKS, OFFLINE_TARGET_TASKS, _pool_loader
from .pinned import fetch_file, missing_files

_PINNED = intent_tasks(_pool_loader) + inference_tasks(_pool_loader, MIN_TEST_ROWS) + bigbench_tasks(_pool_loader)

for _task in _OFFLINE + _PINNED + retired_tasks() + _HUB:
    register_task(_task)
    _BUILTIN.add(_task.name)
del _task

SUITES: dict[str, tuple[str, ...]] = {
    "offline": tuple(t.name for t in _OFFLINE + _PINNED),  # every task with data that needs no hub
    "hub": tuple(t.name for t in _HUB),
    "offline_source": OFFLINE_SOURCE_TASKS,
    "offline_target": OFFLINE_TARGET_TASKS,
    "pinned": tuple(t.name for t in _PINNED),
    "bigbench": BIGBENCH_TASKS,
    "glue": GLUE_TASKS,
    "superglue": SUPERGLUE_TASKS,
    "paper_source": PAPER_SOURCE_TASKS,
    "generation": GENERATION_TASKS,
}


def list_tasks(suite: str | None = None) -> list[str]:
    """Names of all registered tasks, or of one suite (``offline_source``, ``glue``, ...)."""
    if suite is None:
        return list(base._REGISTRY)
    if suite not in SUITES:
        raise ValueError(
            f"unknown suite {suite!r}; choose one of {', '.join(SUITES)} (or None for every task)"
        )
    return list(SUITES[suite])


def unfetched_tasks(names: Iterable[str]) -> list[str]:
    """The tasks among ``names`` whose data this machine cannot read without the internet: a pinned file neither in
    the data cache nor in the mirror (``fetch_task_files`` brings it from GitHub), or a retired task (none at all)."""
    lacking = []
    for name in names:
        task = base.get_task(name)
        if name in RETIRED_TASKS or missing_files(task.files):
            lacking.append(name)
    return lacking


def fetch_task_files(names: Iterable[str] | None = None, *, mirror: Path | str | None = "default") -> list[Path]:
    """Bring every pinned file that ``names`` (default: every built-in task) read into the data cache, checked."""
    tasks = [base.get_task(n) for n in (list(names) if names is not None else list(_BUILTIN))]
    files = dict.fromkeys(f for t in tasks for f in t.files)  # each once, in order
    return [fetch_file(f, mirror=mirror) for f in files]
