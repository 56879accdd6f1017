"""The method end to end, in one import: teachers → shared prompt → target adaptation → few-shot.

Notebooks, the demo (``python -m mpt_nb demo``) and the benchmarks all call these functions, so every number in the
repository comes from the same code path. Each lives in the module of its concept: ``workspace`` (a backbone, a
profile and the tasks' splits), ``stages`` (source training), ``sources`` (the store of source stages) and
``targets`` (target adaptation).
"""

from __future__ import annotations

from .stages import distill_shared_prompt, source_scores, train_teachers
from .targets import adapt_target, adapt_target_both_selections, select_spot_source, zero_shot
from .workspace import Workspace

__all__ = [
    "Workspace",
    "adapt_target",
    "adapt_target_both_selections",
    "distill_shared_prompt",
    "select_spot_source",
    "source_scores",
    "train_teachers",
    "zero_shot",
]
