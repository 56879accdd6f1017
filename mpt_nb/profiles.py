"""The one switch that decides sizes: ``smoke`` (CI, seconds), ``offline`` (packaged real model and data, minutes on a
CPU) and ``gpu`` (T5 + GLUE/SuperGLUE from the hub, paper-like). Code never forks per profile; only these numbers and
names change.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, replace

import torch

from .backbones import OFFLINE_DEFAULT, HubModelUnavailableError

__all__ = ["PROFILES", "Profile", "describe", "get_profile"]

ENV_VAR = "MPT_NB_PROFILE"


@dataclass(frozen=True)
class Profile:
    """Every size and name a run needs. Fields are plain values so a profile prints and serialises as is."""

    name: str
    backbone: str
    source_tasks: tuple[str, ...]
    target_tasks: tuple[str, ...]
    offline: bool
    prompt_tokens: int = 20  # l
    rank: int = 1  # r
    max_tasks_per_batch: int = 2  # κ: each batch mixes K ∈ [2, κ] source tasks
    max_input_tokens: int = 64
    max_train: int | None = 2000  # rows per task kept for training
    max_eval: int | None = 300  # test rows per task
    max_validation: int | None = 100  # validation rows per task (read at every evaluation during training)
    batch_size: int = 8
    eval_batch_size: int = 32
    # Sized so `make demo` (all stages, 3 targets) fits in ~20 minutes on a 2-core CPU.
    teacher_steps: int = 50
    distill_steps: int = 100
    target_steps: int = 50
    few_shot_steps: int = 40
    eval_every: int = 25
    lr: float = 1e-2  # soft prompts and P* (chosen on validation: 0.1 diverged, 0.01 learnt question_type 0.29→0.56 in 40 steps)
    lr_low_rank: float = 1e-2  # u, v
    distill_weight: float = 1.0  # λ
    temperature: float = 2.0  # T
    few_shot_k: tuple[int, ...] = (4, 16, 32)
    seeds: tuple[int, ...] = (0, 1, 2)

    def with_overrides(self, **changes: object) -> Profile:
        """A copy with some fields changed (e.g. ``prompt_tokens=10``); unknown names are an error."""
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise TypeError(f"unknown profile field(s) {sorted(unknown)}; known: {sorted(asdict(self))}")
        return replace(self, **changes)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        backbone="tiny-llama",
        source_tasks=("movie_sentiment", "question_type", "sms_spam"),
        target_tasks=("amazon_sentiment",),
        offline=True,
        prompt_tokens=4,
        max_input_tokens=48,
        max_train=64,
        max_eval=32,
        max_validation=16,
        batch_size=8,
        teacher_steps=4,
        distill_steps=6,
        target_steps=4,
        few_shot_steps=3,
        eval_every=2,
        lr=1e-2,
        lr_low_rank=1e-2,
        few_shot_k=(4,),
        seeds=(0,),
    ),
    "offline": Profile(
        name="offline",
        backbone=OFFLINE_DEFAULT,
        source_tasks=("movie_sentiment", "tweet_sentiment", "question_type", "sms_spam"),
        target_tasks=("amazon_sentiment", "nyt_sentiment", "tweet_sentiment3"),
        offline=True,
    ),
    "gpu": Profile(
        name="gpu",
        backbone="google-t5/t5-base",
        source_tasks=("glue/mnli", "glue/qnli", "glue/qqp", "glue/sst2"),
        target_tasks=(
            "glue/rte", "glue/mrpc", "glue/cola", "glue/stsb",
            "superglue/boolq", "superglue/cb", "superglue/wic", "superglue/multirc",
        ),
        offline=False,
        prompt_tokens=100,
        max_tasks_per_batch=4,
        max_input_tokens=256,
        max_train=None,
        max_eval=None,
        max_validation=None,
        batch_size=32,
        eval_batch_size=128,
        teacher_steps=5000,
        distill_steps=20000,
        target_steps=5000,
        few_shot_steps=500,
        eval_every=500,
        lr=3e-1,
        lr_low_rank=1e-4,
    ),
}


def get_profile(name: str | None = None, **overrides: object) -> Profile:
    """The named profile, else ``$MPT_NB_PROFILE``, else ``offline``; keyword overrides change single fields."""
    name = name or os.environ.get(ENV_VAR) or "offline"
    if name not in PROFILES:
        raise KeyError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)} (argument or ${ENV_VAR})")
    profile = PROFILES[name].with_overrides(**overrides) if overrides else PROFILES[name]
    if profile.offline and "/" in profile.backbone and not os.path.isdir(profile.backbone):
        raise HubModelUnavailableError(
            f"profile {profile.name!r} is offline but its backbone {profile.backbone!r} is a hub name; use the "
            f"packaged default {OFFLINE_DEFAULT!r} (profile 'offline') or a local folder"
        )
    return profile


def describe(profile: Profile) -> str:
    """A short report of what will run, where, with which versions (for notebook setup cells and logs)."""
    import transformers

    device = "cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return (
        f"profile={profile.name} backbone={profile.backbone} device={device} threads={torch.get_num_threads()}\n"
        f"sources={list(profile.source_tasks)} targets={list(profile.target_tasks)} "
        f"l={profile.prompt_tokens} r={profile.rank} κ={profile.max_tasks_per_batch}\n"
        f"python={platform.python_version()} torch={torch.__version__} transformers={transformers.__version__}"
    )
