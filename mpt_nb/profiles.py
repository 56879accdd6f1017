"""The one switch that decides sizes: ``smoke`` (CI, seconds), ``offline`` (packaged real model and data, minutes on a
CPU) and ``gpu`` (T5 + GLUE/SuperGLUE from the hub, paper-like). Code never forks per profile; only these numbers and
names change.

A profile can be asked for in a named *sizing*: ``default`` (its own numbers, what the quality benchmark runs),
``course`` (what the notebooks run: each fits minutes on its hardware) and ``demo`` (what ``make demo`` runs). The
sizings are the only other place sizes live; the training loop, the demo and the notebooks read the resulting profile.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch

from .backbones import OFFLINE_DEFAULT, HubModelUnavailableError
from .tasks import unfetched_tasks
from .tasks.pinned import FETCH_COMMAND, FETCH_HINT

__all__ = [
    "PROFILES",
    "RUN_FIELDS",
    "SCORED_TEST_SPLITS",
    "SIZINGS",
    "SOURCE_SPLIT_SEED",
    "Profile",
    "SharedConfig",
    "TargetConfig",
    "TeacherConfig",
    "TrainingConfig",
    "describe",
    "get_profile",
    "without_unfetched_targets",
]

ENV_VAR = "MPT_NB_PROFILE"
MIXED_PRECISION = ("no", "fp16", "bf16")
TARGET_LOW_RANK_INITS = ("ones", "source_mean")
SOURCE_SPLIT_SEED = 0  # every source task's train/validation/test split (part of each source stage's identity)
# The tasks whose split-0 test rows runs on the offline model have scored: the targets of the v1 grid
# (results/quality_offline.jsonl) and of the v2 demo, notebooks and lr search (results/grid_offline_v2_lr_search.jsonl;
# tests/test_targets.py reads both). A target among them, under a target_split_seed of its own, takes fresh test rows.
SCORED_TEST_SPLITS = ("amazon_sentiment", "nyt_sentiment", "tweet_sentiment3", "intent_recognition", "presupposition_nli")


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
    max_tasks_per_batch: int = 2  # κ: each batch mixes m ∈ [2, κ] source tasks
    max_input_tokens: int = 64
    max_train: int | None = 2000  # rows per task kept for training
    max_eval: int | None = 300  # test rows per task
    max_validation: int | None = 100  # validation rows per task (read at every evaluation during training)
    batch_size: int = 8
    eval_batch_size: int = 32
    # Sized so `make demo` (all stages, 3 targets) fits in ~20 minutes on a 2-core CPU.
    teacher_steps: int = 50  # with source_patience: the most steps a teacher may take
    distill_steps: int = 100  # likewise (distill_patience) for the shared (distilled, joint, generic) source stages
    target_steps: int = 50
    few_shot_steps: int = 40
    # Teachers train until their validation score plateaus: they stop once this many evaluations in a row bring no new
    # best (0: they run all their steps). distill_patience is the same rule for the shared stages; 0 gives every method's
    # shared stage the same budget. Target runs never stop early (their budgets are pre-registered).
    source_patience: int = 0
    distill_patience: int = 0
    distill_eval_every: int | None = None  # shared stages' evaluation interval (None: half-way and at the end)
    eval_every: int = 25
    lr: float = 1e-2  # soft prompts and P* (chosen on validation: 0.1 diverged, 0.01 learnt question_type 0.29→0.56 in 40 steps)
    lr_low_rank: float = 1e-2  # u, v
    weight_decay: float = 1e-5
    warmup_ratio: float = 0.1  # linear warm-up over this share of the steps, then linear decay to zero
    max_grad_norm: float = 1.0
    distill_weight: float = 1.0  # λ
    temperature: float = 2.0  # T
    # Score the validation split before the first update too, so an initialisation that training only worsens
    # (a transferred prompt on a tiny k-shot set) can be kept as the best checkpoint. Source stages read
    # eval_at_start (part of their identity); target runs read target_eval_at_start, so a sizing can drop the
    # targets' step-0 evaluation without making the shipped source stages stale.
    eval_at_start: bool = False
    target_eval_at_start: bool = False
    # A target's fresh u, v: "ones" (it starts exactly at P*) or "source_mean" (the mean of the source tasks' u, v).
    target_low_rank_init: str = "ones"
    mixed_precision: str = "no"  # "fp16" / "bf16": accelerate's autocast (fp16 needs a GPU)
    few_shot_k: tuple[int, ...] = (4, 16, 32)
    # How the targets' pools are split into train/validation/test (sources always split with SOURCE_SPLIT_SEED): a
    # seed no run has used before gives test rows no run has scored.
    target_split_seed: int = 0
    seeds: tuple[int, ...] = (0, 1, 2)
    sizing: str = "default"  # which entry of SIZINGS shaped the numbers above (set by get_profile)

    def __post_init__(self) -> None:
        for field_name, allowed in (("mixed_precision", MIXED_PRECISION), ("target_low_rank_init", TARGET_LOW_RANK_INITS)):
            if getattr(self, field_name) not in allowed:
                raise ValueError(f"{field_name}={getattr(self, field_name)!r} is not one of {list(allowed)}")
        if self.distill_weight <= 0:
            raise ValueError(
                f"distill_weight (λ) is {self.distill_weight}; it must be > 0. A stage without distillation says so "
                "itself: SourceStage(distill=False), e.g. get_method('mpt', 'no_distill').source"
            )
        both = sorted(set(self.source_tasks) & set(self.target_tasks))
        if both and self.target_split_seed != SOURCE_SPLIT_SEED:
            raise ValueError(
                f"{both} are source and target tasks, whose pools split by different seeds (target_split_seed="
                f"{self.target_split_seed}); drop them from one list, or set target_split_seed={SOURCE_SPLIT_SEED}"
            )
        if self.source_patience and not self.eval_every:
            raise ValueError(
                f"source_patience={self.source_patience} stops source stages on a validation plateau, which needs "
                "eval_every > 0; set eval_every, or source_patience=0 for fixed budgets"
            )
        if self.distill_patience and not (self.distill_eval_every or self.eval_every):
            raise ValueError(
                f"distill_patience={self.distill_patience} stops shared stages on a validation plateau, which needs "
                "distill_eval_every or eval_every > 0; set one, or distill_patience=0 for fixed budgets"
            )

    def split_seed(self, task: str) -> int:
        """The split seed of ``task``'s pool under this profile: the targets' own, else ``SOURCE_SPLIT_SEED``."""
        return self.target_split_seed if task in self.target_tasks else SOURCE_SPLIT_SEED

    def split_of(self, task: str) -> dict[str, int | None]:
        """How ``task`` is split under this profile (``load_task_splits``' keywords). Every task keeps split
        ``SOURCE_SPLIT_SEED``, except a target whose test rows earlier runs scored (``SCORED_TEST_SPLITS``) when the
        profile gives targets a split seed of their own: its test rows are then drawn with that seed from split
        ``SOURCE_SPLIT_SEED``'s training rows, which no run has scored. Either way no run has scored a test row."""
        seed = self.split_seed(task)
        if seed == SOURCE_SPLIT_SEED or task not in SCORED_TEST_SPLITS:
            return {"split_seed": SOURCE_SPLIT_SEED, "fresh_test_from": None}
        return {"split_seed": seed, "fresh_test_from": SOURCE_SPLIT_SEED}

    def teacher_config(self) -> TeacherConfig:
        """Every setting that shapes the teachers, as one value (what their identity hashes, whole)."""
        return TeacherConfig(**{f.name: getattr(self, f.name) for f in fields(TeacherConfig)})

    def shared_config(self) -> SharedConfig:
        """Every setting that shapes a shared-prompt stage, as one value (what its identity hashes, whole)."""
        return SharedConfig(**{f.name: getattr(self, f.name) for f in fields(SharedConfig)})

    def target_config(self) -> TargetConfig:
        """Every setting that shapes a target run, as one value."""
        return TargetConfig(**{f.name: getattr(self, f.name) for f in fields(TargetConfig)})

    def with_overrides(self, **changes: object) -> Profile:
        """A copy with some fields changed (e.g. ``prompt_tokens=10``); unknown names are an error."""
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise TypeError(f"unknown profile field(s) {sorted(unknown)}; known: {sorted(asdict(self))}")
        return replace(self, **changes)


# What shapes what. Every Profile field is a run field or belongs to the teacher, shared or target config (or several;
# tests/test_sources.py checks it), so no field can be left out of every identity.
RUN_FIELDS = ("name", "backbone", "source_tasks", "target_tasks", "offline", "seeds", "sizing")

@dataclass(frozen=True)
class TrainingConfig:
    """The settings every prompt training shares, teachers, shared prompt or target run: the prompt, the data caps,
    the batches and the optimiser."""

    prompt_tokens: int
    max_input_tokens: int
    max_train: int | None
    max_eval: int | None
    max_validation: int | None
    batch_size: int
    eval_batch_size: int
    eval_every: int
    eval_at_start: bool
    lr: float
    weight_decay: float
    warmup_ratio: float
    max_grad_norm: float
    mixed_precision: str


@dataclass(frozen=True)
class TeacherConfig(TrainingConfig):
    """Every setting that shapes the teachers (one vanilla prompt per source task, trained alone)."""

    teacher_steps: int
    source_patience: int


@dataclass(frozen=True)
class SharedConfig(TrainingConfig):
    """Every setting that shapes a shared-prompt stage (P* ∘ (u v) on batches mixing the source tasks, distilled or
    not); the teachers it reads are keyed by their own config."""

    rank: int
    lr_low_rank: float
    max_tasks_per_batch: int
    distill_steps: int
    distill_patience: int
    distill_eval_every: int | None
    distill_weight: float
    temperature: float


@dataclass(frozen=True)
class TargetConfig(TrainingConfig):
    """Every setting that shapes a target run (on top of the source stage it starts from)."""

    rank: int
    lr_low_rank: float

    target_steps: int
    few_shot_steps: int
    target_eval_at_start: bool
    target_low_rank_init: str
    few_shot_k: tuple[int, ...]
    target_split_seed: int


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
    # The offline suite v2: four sources of four kinds, whose stages are shipped in sources/offline/ (the source-stage
    # settings below key them: changing one makes them stale), and the two targets whose data can still be read.
    # Suite v3 replaces it, chosen by the screening in results/screening.md.
    "offline": Profile(
        name="offline",
        backbone=OFFLINE_DEFAULT,
        source_tasks=("movie_sentiment", "question_type", "sms_spam", "fact_verification"),
        target_tasks=("tweet_sentiment3", "presupposition_nli"),
        offline=True,
        max_tasks_per_batch=3,  # κ = 3 with S = 4: batches mix m = 2 or 3 tasks
        max_input_tokens=128,  # NLI premises run long (fact verification: 4% of rows over 128 tokens)
        max_eval=1000,  # test rows per task (validation is capped by max_validation)
        max_validation=200,
        # Teachers train to a plateau (our choice): at most 600 steps, stopping after 2 evaluations (every 50 steps)
        # without a new best. Every shared stage trains its full 800 steps, scored every 100, keeping its best
        # checkpoint, so the methods' shared stages get the same budget.
        teacher_steps=600,
        distill_steps=800,
        source_patience=2,
        distill_patience=0,
        distill_eval_every=100,
        target_steps=100,
        few_shot_steps=40,
        eval_every=50,
        eval_at_start=True,
        target_eval_at_start=True,  # the grid scores step 0 (results/preregistration.md)
        seeds=(0, 1),
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


# The demo's budget: `make demo` must finish in about 20 minutes on a 2-core CPU. The smoke profile's own numbers are
# smaller already, so its demo is the profile itself.
_DEMO = {
    "teacher_steps": 40,
    "distill_steps": 80,
    "target_steps": 40,
    "few_shot_steps": 30,
    "eval_every": 20,
    "source_patience": 0,  # the demo's budgets are fixed and small: no plateau to wait for
    "distill_eval_every": None,
    "max_input_tokens": 48,
    "max_eval": 200,
    "max_validation": 80,
}

# Named sizings: {sizing: {profile: field changes}}. Only sizes change; model, task kinds and metrics stay the
# profile's. A profile a sizing does not list runs unchanged in it.
SIZINGS: dict[str, dict[str, dict[str, Any]]] = {
    "default": {},
    "course": {
        # Smoke gets a second target (so mixed-task batches really mix, with 2 and 3 classes), two seeds and two k
        # (so spreads and plots are not degenerate).
        "smoke": {
            "target_tasks": ("amazon_sentiment", "tweet_sentiment3"),
            "seeds": (0, 1),
            "few_shot_k": (4, 8),
        },
        # On a 2-core CPU a SmolLM2 training step (batch 8) takes about 1.5-3 s and scoring 100 rows about 5 s
        # (benchmarks/speed.py), so a notebook's budget (8 minutes when it trains source stages, 5 when it starts from
        # shipped ones) holds ~100-150 steps plus evaluations. Notebook 02 trains its own small source stage on the
        # three short-text sources, 03 distils them from the shipped teachers; 04-06 start from the shipped
        # converged stages (four sources). k = 4 and 16 per class in notebook 05.
        "offline": {
            "source_tasks": ("movie_sentiment", "question_type", "sms_spam"),
            "target_tasks": ("tweet_sentiment3",),
            "max_validation": 50,
            "max_eval": 200,
            "teacher_steps": 32,
            "distill_steps": 48,
            # Short target budgets keep 04 and 05 within 5 minutes; they are also where the shared prompt's head start
            # is meant to show.
            "target_steps": 12,
            "few_shot_steps": 8,
            "eval_every": 0,  # score the validation split once, at the end of each run
            # ... and not at step 0 as well: it costs one validation pass per run (~5 s)
            "target_eval_at_start": False,
            "source_patience": 0,  # fixed small budgets (the shipped stages are the converged ones)
            "distill_eval_every": None,
            "seeds": (0, 1),
            "few_shot_k": (4, 16),
        },
    },
    # What the notebooks run on a free Colab GPU (a T4; `mpt_nb.course.choose_profile` picks it there): the profile's
    # own numbers (its targets, k = 4/16/32, 2 seeds) with longer target stages, in fp16. The
    # source-stage fields (source tasks, teacher/distill step caps and stopping rules, lr, validation and test caps,
    # max_input_tokens, eval_every, batch_size) stay the profile's own: what 02-03 train on a GPU is then trained
    # like the shipped converged stages, which 04-06 load (the shipped ones are read in the default sizing anyway).
    # Budgets are an estimate, not a measurement. Work per notebook, counted from the code (shipped stages
    # present): 01 1,810 train steps (610 of them hand-written, fp32) and ~10k rows scored; 02 and 03
    # each <= 1,600 shared-stage steps (4 sources, mixed batches) and <= 18k rows (03 also ~13k teacher rows); 04
    # 1,800 steps and ~19k rows; 05 1,600 steps and ~25k rows; 06 up to 1,000 steps and ~11k rows. A SmolLM2 step at
    # batch 8 takes ~2 s on a 2-core CPU and should take ~0.035-0.07 s on a T4 in fp16, scoring ~1-2 ms a row: at the
    # slow end ~2 min of steps and ~1 min of scoring per notebook, plus the install cell (~2 min, with the data
    # files) and the first model load (~30 s): each should fit ~15 minutes.
    "colab": {
        "offline": {
            "target_tasks": ("tweet_sentiment3", "presupposition_nli"),
            "target_steps": 300,
            "few_shot_steps": 100,
            "mixed_precision": "fp16",
        },
        "smoke": {},
    },
    "demo": {"offline": _DEMO, "gpu": _DEMO},
}


def get_profile(name: str | None = None, *, sizing: str | None = None, **overrides: object) -> Profile:
    """The named profile (else ``$MPT_NB_PROFILE``, else ``offline``) in a named sizing (default: its own numbers);
    keyword overrides then change single fields."""
    name = name or os.environ.get(ENV_VAR) or "offline"
    if name not in PROFILES:
        raise KeyError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)} (argument or ${ENV_VAR})")
    sizing = sizing or "default"
    if sizing not in SIZINGS:
        raise KeyError(f"unknown sizing {sizing!r}; choose one of {sorted(SIZINGS)}")
    changes = {**SIZINGS[sizing].get(name, {}), **overrides}
    profile = PROFILES[name].with_overrides(sizing=sizing, **changes)
    if profile.offline and "/" in profile.backbone and not os.path.isdir(profile.backbone):
        raise HubModelUnavailableError(
            f"profile {profile.name!r} is offline but its backbone {profile.backbone!r} is a hub name; use the "
            f"packaged default {OFFLINE_DEFAULT!r} (profile 'offline') or a local folder"
        )
    return profile


def without_unfetched_targets(profile: Profile) -> tuple[Profile, str | None]:
    """The profile less the target tasks whose pinned data files are neither cached nor mirrored on this machine, and
    a line saying which were left out and how to bring them (None: all are there). Source tasks are never dropped: the
    shipped stages were trained on them (loading those needs no source data; training them again does)."""
    lacking = unfetched_tasks(profile.target_tasks)
    if not lacking:
        return profile, None
    kept = tuple(t for t in profile.target_tasks if t not in lacking)
    if not kept:
        raise FileNotFoundError(
            f"every target of profile {profile.name!r} ({', '.join(lacking)}) reads data files that are not here; "
            f"{FETCH_HINT}"
        )
    notice = (f"targets left out: {', '.join(lacking)} (their data files are not on this machine: {FETCH_COMMAND} "
              f"brings them); running {', '.join(kept)}")
    return profile.with_overrides(target_tasks=kept), notice


def describe(profile: Profile) -> str:
    """A short report of what will run, where, with which versions (for notebook setup cells and logs)."""
    import transformers

    device = "cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return (
        f"profile={profile.name} sizing={profile.sizing} backbone={profile.backbone} device={device} threads={torch.get_num_threads()}\n"
        f"sources={list(profile.source_tasks)} targets={list(profile.target_tasks)} "
        f"l={profile.prompt_tokens} r={profile.rank} κ={profile.max_tasks_per_batch}\n"
        f"python={platform.python_version()} torch={torch.__version__} transformers={transformers.__version__}"
    )
