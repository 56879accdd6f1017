"""What the notebooks share: their CPU-sized budget on the offline profile, and where they keep artefacts and records.

The notebooks call ``get_profile(**course_overrides())``: on ``offline`` this shrinks the profile so each notebook fits
about 8 minutes on a 2-core CPU (fewer source tasks, fewer steps, smaller evaluation splits); ``gpu`` runs unchanged;
``smoke`` gets two targets, seeds and k so every plot has something to show. Keeping the sizes here, not in each
notebook, means the teachers and shared prompts that notebook 03 trains are exactly what notebooks 04-06 would train
themselves when run alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .prompts import MultitaskPrompt

__all__ = [
    "COURSE_OVERRIDES",
    "artefact_dir",
    "benchmark_results_path",
    "course_overrides",
    "records_path",
    "repo_root",
    "save_shared_stage",
]

# Only sizes change; names of the model and the metric stay the profile's. Smoke gets a second target (so mixed-task
# batches really mix, with 2 and 3 classes), two seeds and two k (so spreads and plots are not degenerate).
COURSE_OVERRIDES: dict[str, dict[str, Any]] = {
    "smoke": {
        "target_tasks": ("amazon_sentiment", "tweet_sentiment3"),
        "seeds": (0, 1),
        "few_shot_k": (4, 8),
    },
    "offline": {
        # Measured on a 2-core CPU: a SmolLM2 training step (batch 8) takes ~2 s and scoring 100 rows ~5 s, so a
        # notebook's 8 minutes hold roughly 150-200 steps plus its evaluations.
        "source_tasks": ("movie_sentiment", "question_type", "sms_spam"),
        "target_tasks": ("amazon_sentiment", "tweet_sentiment3"),
        "max_validation": 50,
        "max_eval": 200,
        "teacher_steps": 32,
        "distill_steps": 48,
        "target_steps": 16,
        "few_shot_steps": 10,
        "eval_every": 0,  # score the validation split once, at the end of each run
        "seeds": (0, 1),
    },
}


def course_overrides(name: str | None = None) -> dict[str, Any]:
    """The notebooks' size overrides for profile ``name`` (default ``$MPT_NB_PROFILE``, else offline)."""
    name = name or os.environ.get("MPT_NB_PROFILE") or "offline"
    return dict(COURSE_OVERRIDES.get(name, {}))


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


def save_shared_stage(
    ws, shared: MultitaskPrompt, *, distill: bool, decompose: bool = True, seed: int = 0, cache_dir: str | Path | None = None
) -> Path:
    """Save a shared prompt where ``mpt_nb.pipeline.load_or_train_shared`` (same arguments) will find it.

    Notebooks 02 and 03 train their stage with ``distill_shared_prompt`` (to show its losses) and save it with this,
    so notebooks 04-06 load it instead of training it again.
    """
    from .checkpoint import save_prompt
    from .pipeline import shared_stage_path

    path = shared_stage_path(
        ws, cache_dir or artefact_dir(), distill=distill, decompose=decompose, rank=shared.rank, seed=seed
    )
    return save_prompt(path, shared, model_name=ws.backbone.name, task_names=ws.profile.source_tasks)
