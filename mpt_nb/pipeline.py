"""The method end to end, as reusable stages: teachers → distilled shared prompt → target adaptation → few-shot.

Notebooks, the demo (``python -m mpt_nb demo``) and the benchmarks all call these functions, so every number in the
repository comes from the same code path.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import torch

from .backbones import Backbone, PromptedModel, load_backbone
from .data import (
    PromptCollator,
    build_multitask_dataset,
    k_shot,
    multitask_loader,
    tokenize_task,
    train_loader,
)
from .distill import DistillationLoss, TeacherCache
from .evaluate import evaluate_task
from .profiles import Profile
from .prompts import MultitaskPrompt, SoftPrompt, count_trainable
from .tasks import get_task, load_task_splits
from .train import TrainConfig, TrainResult, classification_objective, lm_objective, train_prompt

__all__ = [
    "METHODS",
    "Workspace",
    "adapt_target",
    "distill_shared_prompt",
    "load_or_train_shared",
    "load_or_train_teachers",
    "save_records",
    "select_spot_source",
    "train_teachers",
]

# Target-adaptation methods and what they start from.
METHODS = {
    "pt": "vanilla prompt tuning from sampled vocabulary embeddings",
    "spot": "SPoT: start from the source teacher prompt that transfers best (validation)",
    "decomp": "P* ∘ (u vᵀ) from joint multitask decomposition without distillation (what PEFT's MPT trains)",
    "mpt": "MPT: P* ∘ (u vᵀ) from the distilled shared prompt, fresh u, v",
}


@dataclass
class Workspace:
    """A backbone, a profile, and the tokenised splits of the tasks a run uses (loaded lazily, once)."""

    profile: Profile
    backbone: Backbone
    _splits: dict[str, datasets.DatasetDict] = field(default_factory=dict, repr=False)
    _tokenised: dict[tuple[str, str], datasets.Dataset] = field(default_factory=dict, repr=False)

    @classmethod
    def from_profile(cls, profile: Profile, backbone: Backbone | None = None) -> Workspace:
        """Load the profile's backbone (or use the given one)."""
        return cls(profile, backbone or load_backbone(profile.backbone, offline=profile.offline))

    def splits(self, task: str) -> datasets.DatasetDict:
        """The formatted train/validation/test splits of a task, capped by the profile."""
        if task not in self._splits:
            profile = self.profile
            splits = load_task_splits(task, max_train=profile.max_train, max_eval=profile.max_eval)
            if profile.max_validation is not None and len(splits["validation"]) > profile.max_validation:
                splits["validation"] = splits["validation"].select(range(profile.max_validation))
            self._splits[task] = splits
        return self._splits[task]

    def tokenised(self, task: str, split: str, *, task_id: int = 0) -> datasets.Dataset:
        """A tokenised split whose rows carry ``task_id``."""
        key = (task, split)
        if key not in self._tokenised:
            self._tokenised[key] = tokenize_task(
                self.splits(task)[split], get_task(task), self.backbone, max_input_tokens=self.profile.max_input_tokens
            )
        data = self._tokenised[key]
        return data if task_id == 0 else data.remove_columns("task_id").add_column("task_id", [task_id] * len(data))

    def collator(self, tasks: Sequence[str]) -> PromptCollator:
        """Collator whose task ids index ``tasks``."""
        return PromptCollator.for_tasks(self.backbone, [get_task(t) for t in tasks])

    def train_config(self, steps: int, *, seed: int = 0, desc: str = "training", **changes: Any) -> TrainConfig:
        """The profile's optimisation settings for a run of ``steps`` steps."""
        settings = {
            "max_steps": steps,
            "lr": self.profile.lr,
            "lr_low_rank": self.profile.lr_low_rank,
            "eval_every": self.profile.eval_every,
            "seed": seed,
            "desc": desc,
        }
        return TrainConfig(**{**settings, **changes})

    def evaluate(self, model: PromptedModel, task: str, split: str = "validation", *, task_id: int = 0) -> dict:
        """The task's metric on one split, with the model's prompt for ``task_id``."""
        t = get_task(task)
        data = self.tokenised(task, split, task_id=task_id)
        collator = PromptCollator.for_tasks(self.backbone, [t] * (task_id + 1))
        refs = self.splits(task)[split]["references"] if t.kind == "generation" else None
        return evaluate_task(
            model, t, data, collator, batch_size=self.profile.eval_batch_size, references=refs,
            tokenizer=self.backbone.tokenizer,
        )

    def headline(self, model: PromptedModel, task: str, split: str = "validation", *, task_id: int = 0) -> float:
        """Just the task's headline metric (what best-checkpoint selection maximises)."""
        return self.evaluate(model, task, split, task_id=task_id)[get_task(task).metric]


def objective_for(task: str):
    """The training loss a task needs: label-word cross-entropy, or the LM loss for generation tasks."""
    return lm_objective if get_task(task).kind == "generation" else classification_objective


def train_teachers(ws: Workspace, *, seed: int = 0) -> tuple[SoftPrompt, list[TrainResult]]:
    """Stage 1a: one vanilla prompt per source task, each trained alone; returned stacked as (tasks, l, d)."""
    profile, prompts, results = ws.profile, [], []
    for i, task in enumerate(profile.source_tasks):
        prompt = SoftPrompt.from_vocab(ws.backbone.embeddings, profile.prompt_tokens, seed=seed + i)
        model = PromptedModel(ws.backbone, prompt)
        loader = train_loader(
            ws.tokenised(task, "train"), ws.collator([task]), batch_size=profile.batch_size,
            num_batches=profile.teacher_steps, seed=seed + i,
        )
        config = ws.train_config(profile.teacher_steps, seed=seed, desc=f"teacher {task}")
        results.append(
            train_prompt(
                model, loader, config, objective=objective_for(task), eval_fn=functools.partial(ws.headline, task=task)
            )
        )
        prompts.append(prompt.weight.detach()[0])
    return SoftPrompt.from_prompts(prompts), results


def _source_training_data(ws: Workspace) -> tuple[datasets.Dataset, PromptCollator]:
    tasks = ws.profile.source_tasks
    data = build_multitask_dataset([ws.tokenised(t, "train", task_id=i) for i, t in enumerate(tasks)])
    return data, ws.collator(tasks)


def _mean_source_score(ws: Workspace, model: PromptedModel) -> float:
    return sum(ws.headline(model, t, task_id=i) for i, t in enumerate(ws.profile.source_tasks)) / len(
        ws.profile.source_tasks
    )


def distill_shared_prompt(
    ws: Workspace,
    teachers: SoftPrompt | None,
    *,
    distill: bool = True,
    decompose: bool = True,
    rank: int | None = None,
    seed: int = 0,
) -> tuple[MultitaskPrompt, TrainResult]:
    """Stage 1b: learn P* and per-task u, v on mixed source batches.

    ``distill=True`` is MPT (L_PLM + λ(L_logits + L_hidden) against cached teacher outputs); ``distill=False`` is the
    decomposition alone, trained jointly on the task loss (what PEFT's MPT does). ``decompose=False`` freezes u, v at
    ones, leaving a single shared prompt (the paper's "no decomposition" ablation).
    """
    profile = ws.profile
    generation = [t for t in profile.source_tasks if get_task(t).kind == "generation"]
    if generation:
        raise ValueError(
            f"source tasks {generation} are generation tasks; mixed multitask batches and label-word distillation "
            "need classification tasks: train generation tasks' prompts with train_teachers/adapt_target instead"
        )
    if distill and teachers is None:
        raise ValueError("distillation needs teacher prompts; run train_teachers first or pass distill=False")
    data, collator = _source_training_data(ws)
    if teachers is not None:
        student = MultitaskPrompt.from_teachers(teachers.task_prompts(), rank or profile.rank, seed=seed)
    else:
        init = SoftPrompt.from_vocab(ws.backbone.embeddings, profile.prompt_tokens, seed=seed).weight[0]
        student = MultitaskPrompt(
            profile.prompt_tokens, ws.backbone.dim, len(profile.source_tasks), rank or profile.rank,
            shared_init=init, seed=seed,
        )
    if not decompose:
        student.u.requires_grad_(False)
        student.v.requires_grad_(False)
    objective = None
    if distill:
        teacher_model = PromptedModel(ws.backbone, teachers)
        cache = TeacherCache(teacher_model, data, collator, batch_size=profile.eval_batch_size)
        loss = DistillationLoss(cache, weight=profile.distill_weight, temperature=profile.temperature)

        def objective(model, batch):
            return loss(model(**batch), batch)

    loader = multitask_loader(
        data, collator, batch_size=profile.batch_size, num_batches=profile.distill_steps,
        max_tasks_per_batch=profile.max_tasks_per_batch, seed=seed,
    )
    model = PromptedModel(ws.backbone, student)
    # Each evaluation reads every source task's validation split, so check twice (half-way, end), not every eval_every.
    config = ws.train_config(
        profile.distill_steps,
        seed=seed,
        desc="distilling" if distill else "joint multitask",
        eval_every=max(profile.eval_every, profile.distill_steps // 2) if profile.eval_every else 0,
    )
    kwargs = {"objective": objective} if objective else {}
    result = train_prompt(model, loader, config, eval_fn=functools.partial(_mean_source_score, ws), **kwargs)
    return student, result


def select_spot_source(ws: Workspace, teachers: SoftPrompt, target: str) -> int:
    """SPoT's source choice: the teacher whose prompt, used as is, scores best on the target's validation split."""
    scores = []
    for i in range(teachers.num_tasks):
        prompt = SoftPrompt.from_prompts(teachers.task_prompts()[i])
        scores.append(ws.headline(PromptedModel(ws.backbone, prompt), target))
    return max(range(len(scores)), key=scores.__getitem__)


def adapt_target(
    ws: Workspace,
    target: str,
    method: str,
    *,
    shared: MultitaskPrompt | None = None,
    teachers: SoftPrompt | None = None,
    k: int | None = None,
    seed: int = 0,
    steps: int | None = None,
    rank: int | None = None,
) -> dict[str, Any]:
    """Stage 2: train a prompt for one target task with the ordinary loss; returns one results record.

    ``k`` per class makes it a few-shot run (rows drawn with ``seed``); the test split is always the full one.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    profile = ws.profile
    extra: dict[str, Any] = {}
    if method == "pt":
        prompt: torch.nn.Module = SoftPrompt.from_vocab(ws.backbone.embeddings, profile.prompt_tokens, seed=seed)
    elif method == "spot":
        if teachers is None:
            raise ValueError("method 'spot' needs the source teacher prompts (teachers=...)")
        source = select_spot_source(ws, teachers, target)
        extra["spot_source"] = profile.source_tasks[source]
        prompt = SoftPrompt.from_prompts(teachers.task_prompts()[source])
    else:
        if shared is None:
            raise ValueError(f"method {method!r} needs a trained shared prompt (shared=...)")
        prompt = shared.for_new_tasks(1, rank=rank, seed=seed)
    train = ws.tokenised(target, "train")
    if k is not None:
        train = k_shot(train, k, seed=seed)
    steps = steps or (profile.few_shot_steps if k is not None else profile.target_steps)
    model = PromptedModel(ws.backbone, prompt)
    loader = train_loader(train, ws.collator([target]), batch_size=profile.batch_size, num_batches=steps, seed=seed)
    config = ws.train_config(steps, seed=seed, desc=f"{method} {target}" + (f" k={k}" if k else ""))
    start = time.perf_counter()
    result = train_prompt(
        model, loader, config, objective=objective_for(target), eval_fn=functools.partial(ws.headline, task=target)
    )
    test = ws.evaluate(model, target, "test")
    task = get_task(target)
    return {
        "profile": profile.name,
        "backbone": ws.backbone.name,
        "task": target,
        "method": method,
        "k": k if k is not None else "full",
        "seed": seed,
        "metric": task.metric,
        "test": test[task.metric],
        "validation": result.best_metric,
        "trainable_params": count_trainable(prompt),
        "prompt_tokens": profile.prompt_tokens,
        "rank": getattr(prompt, "rank", 0),
        "steps": steps,
        "lr": profile.lr,
        "best_step": result.best_step,
        "wall_time_s": round(time.perf_counter() - start, 2),
        **extra,
    }


def save_records(records: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write result records as JSON Lines, atomically."""
    import json

    from .checkpoint import atomic_write_text

    return atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def _stage_path(ws: Workspace, cache_dir: str | Path, name: str) -> Path:
    p = ws.profile
    tag = f"{p.name}-{ws.backbone.name.replace('/', '_')}-l{p.prompt_tokens}-r{p.rank}"
    return Path(cache_dir) / tag / f"{name}.safetensors"


def teachers_stage_path(ws: Workspace, cache_dir: str | Path, *, seed: int = 0) -> Path:
    """Where ``load_or_train_teachers`` keeps the teachers of ``seed`` under ``cache_dir``."""
    return _stage_path(ws, cache_dir, f"teachers-seed{seed}")


def shared_stage_path(
    ws: Workspace, cache_dir: str | Path, *, distill: bool = True, decompose: bool = True, rank: int | None = None, seed: int = 0
) -> Path:
    """Where ``load_or_train_shared`` keeps a source-trained MPT prompt with these settings under ``cache_dir``."""
    how = f"{'distill' if distill else 'joint'}-{'decomp' if decompose else 'nodecomp'}"
    return _stage_path(ws, cache_dir, f"shared-{how}-r{rank or ws.profile.rank}-seed{seed}")


def load_or_train_teachers(ws: Workspace, cache_dir: str | Path = "outputs/artefacts", *, seed: int = 0) -> SoftPrompt:
    """The source teachers from an earlier run (notebook or demo) if saved, else trained now and saved."""
    from .checkpoint import load_prompt, save_prompt

    path = teachers_stage_path(ws, cache_dir, seed=seed)
    if path.exists():
        prompt, info = load_prompt(path, model_name=ws.backbone.name, dim=ws.backbone.dim)
        if tuple(info["task_names"]) == tuple(ws.profile.source_tasks):
            return prompt
    teachers, _ = train_teachers(ws, seed=seed)
    save_prompt(path, teachers, model_name=ws.backbone.name, task_names=ws.profile.source_tasks)
    return teachers


def load_or_train_shared(
    ws: Workspace,
    teachers: SoftPrompt | None,
    cache_dir: str | Path = "outputs/artefacts",
    *,
    distill: bool = True,
    decompose: bool = True,
    rank: int | None = None,
    seed: int = 0,
) -> MultitaskPrompt:
    """The source-trained MPT prompt (P*, u, v) from an earlier run if saved, else trained now and saved."""
    from .checkpoint import load_prompt, save_prompt

    path = shared_stage_path(ws, cache_dir, distill=distill, decompose=decompose, rank=rank, seed=seed)
    if path.exists():
        prompt, info = load_prompt(path, model_name=ws.backbone.name, dim=ws.backbone.dim)
        if tuple(info["task_names"]) == tuple(ws.profile.source_tasks) and isinstance(prompt, MultitaskPrompt):
            return prompt
    shared, _ = distill_shared_prompt(ws, teachers, distill=distill, decompose=decompose, rank=rank, seed=seed)
    save_prompt(path, shared, model_name=ws.backbone.name, task_names=ws.profile.source_tasks)
    return shared
