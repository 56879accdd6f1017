"""The package's one progress switch: every loop in ``mpt_nb`` draws its bar through ``progress_bar``.

``set_progress(False)`` (or ``MPT_NB_PROGRESS=0`` in the environment) silences the bars of training, evaluation,
teacher caching and ``datasets`` alike; benchmarks and CI logs use it instead of patching modules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress_bar", "progress_enabled", "set_progress"]

_enabled = os.environ.get("MPT_NB_PROGRESS", "1") not in ("0", "false", "no")


def set_progress(enabled: bool) -> None:
    """Show (True) or hide (False) every progress bar of mpt_nb and of ``datasets``."""
    import datasets

    global _enabled
    _enabled = bool(enabled)
    if _enabled:
        datasets.enable_progress_bars()
    else:
        datasets.disable_progress_bars()


def progress_enabled() -> bool:
    """Whether mpt_nb's progress bars are shown."""
    return _enabled


def progress_bar(iterable: Iterable | None = None, *, disable: bool = False, **kwargs: Any) -> tqdm:
    """``tqdm.auto.tqdm`` that respects the switch (``disable=True`` hides this one bar regardless)."""
    return tqdm(iterable, disable=disable or not _enabled, leave=kwargs.pop("leave", False), **kwargs)
