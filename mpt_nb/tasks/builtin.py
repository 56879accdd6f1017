"""The built-in tasks: the offline tasks then the hub tasks, registered in that order (the order of
``list_tasks()``), and their named suites.
"""

from __future__ import annotations

from . import base
from .base import _BUILTIN, register_task
from .bigbench import BIGBENCH_TASKS, bigbench_tasks
from .hub import _HUB, GENERATION_TASKS, GLUE_TASKS, PAPER_SOURCE_TASKS, SUPERGLUE_TASKS
from .offline import _OFFLINE, OFFLINE_SOURCE_TASKS, OFFLINE_TARGET_TASKS, _pool_loader

for _task in _OFFLINE + bigbench_tasks(_pool_loader) + _HUB:
    register_task(_task)
    _BUILTIN.add(_task.name)
del _task

SUITES: dict[str, tuple[str, ...]] = {
    "offline_source": OFFLINE_SOURCE_TASKS,
    "offline_target": OFFLINE_TARGET_TASKS,
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
