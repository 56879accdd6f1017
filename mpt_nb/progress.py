"""The package's one progress switch: every loop in ``mpt_nb`` draws its bar through ``progress_bar``.

``set_progress(False)`` (or ``MPT_NB_PROGRESS=0`` in the environment) silences the bars of training, evaluation,
teacher caching, ``datasets`` and ``transformers`` alike; benchmarks, CI logs and committed notebook outputs use it
instead of patching modules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress_bar", "progress_enabled", "set_progress"]

_enabled = True


def set_progress(enabled: bool) -> None:
    """Show (True) or hide (False) every progress bar of mpt_nb, ``datasets`` and ``transformers``."""
    import datasets
    import transformers

    global _enabled
    _enabled = bool(enabled)
    if _enabled:
        datasets.enable_progress_bars()
        transformers.utils.logging.enable_progress_bar()
    else:
        datasets.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()


def progress_enabled() -> bool:
    """Whether mpt_nb's progress bars are shown."""
    return _enabled


def progress_bar(iterable: Iterable | None = None, *, disable: bool = False, **kwargs: Any) -> tqdm:
    """``tqdm.auto.tqdm`` that respects the switch (``disable=True`` hides this one bar regardless)."""
    return tqdm(iterable, disable=disable or not _enabled, leave=kwargs.pop("leave", False), **kwargs)


if os.environ.get("MPT_NB_PROGRESS", "1").lower() in ("0", "false", "no"):
    set_progress(False)
