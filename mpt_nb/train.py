"""One training loop for every stage (teachers, distillation, joint decomposition, target adaptation).

Built on ``accelerate`` so ``accelerate launch`` runs it on several GPUs unchanged: AdamW, linear warm-up and decay,
gradient accumulation, gradient clipping, periodic evaluation with best-checkpoint selection, resumable state, and a
stop with a clear message when the loss stops being finite.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.data_loader import skip_first_batches
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from .backbones import PromptedModel
from .checkpoint import load_training_state, save_training_state
from .distill import classification_loss

__all__ = [
    "NonFiniteLossError",
    "TrainConfig",
    "TrainResult",
    "classification_objective",
    "lm_objective",
    "train_prompt",
]

Objective = Callable[[PromptedModel, dict[str, torch.Tensor]], tuple[torch.Tensor, dict[str, float]]]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the last good prompt was kept."""


def classification_objective(model: PromptedModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Cross-entropy over each row's label words (L_PLM)."""
    loss = classification_loss(model(**batch), batch["labels"])
    return loss, {"loss_plm": loss.item()}


def lm_objective(model: PromptedModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Full-vocabulary cross-entropy of the target text, for generation tasks."""
    loss = model(**batch, objective="lm")
    return loss, {"loss_plm": loss.item()}


@dataclass
class TrainConfig:
    """Optimisation settings; ``lr_low_rank`` is the learning rate of MPT's u, v (defaults to ``lr``)."""

    max_steps: int
    lr: float = 3e-2
    lr_low_rank: float | None = None
    weight_decay: float = 1e-5
    warmup_ratio: float = 0.1
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    eval_every: int = 0  # 0: evaluate once, at the end
    seed: int = 0
    progress: bool = True
    desc: str = "training"


@dataclass
class TrainResult:
    """What a run did: best validation score and step, logged losses, evaluations and wall time."""

    best_metric: float | None
    best_step: int
    steps: int
    wall_time_s: float
    history: list[dict[str, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)


def _param_groups(model: PromptedModel, config: TrainConfig) -> list[dict[str, Any]]:
    low_rank, other = [], []
    for name, p in model.prompt.named_parameters():
        if p.requires_grad:
            (low_rank if name in ("u", "v") else other).append(p)
    groups = [{"params": other, "lr": config.lr}] if other else []
    if low_rank:
        groups.append({"params": low_rank, "lr": config.lr if config.lr_low_rank is None else config.lr_low_rank})
    if not groups:
        raise ValueError("the prompt has no trainable parameters; nothing to train")
    return groups


def train_prompt(
    model: PromptedModel,
    loader: DataLoader,
    config: TrainConfig,
    *,
    objective: Objective = classification_objective,
    eval_fn: Callable[[PromptedModel], float] | None = None,
    state_path: str | Path | None = None,
    accelerator: Accelerator | None = None,
) -> TrainResult:
    """Train ``model.prompt`` for ``config.max_steps`` optimiser steps; returns with the best prompt loaded.

    ``eval_fn(model) -> float`` (higher is better) picks the best step; without it the last step is kept.
    ``state_path`` (a ``.safetensors`` file) makes the run resumable: it is rewritten atomically after every
    evaluation, and an interrupted run restarted with the same config continues from its step (a changed config,
    e.g. a larger ``max_steps``, is refused: the schedule would differ).
    """
    if len(loader) < config.max_steps * config.grad_accum:
        raise ValueError(
            f"the loader yields {len(loader)} batches but {config.max_steps} steps x {config.grad_accum} accumulation "
            "need more; build it with num_batches=max_steps*grad_accum"
        )
    accelerator = accelerator or Accelerator(gradient_accumulation_steps=config.grad_accum)
    torch.manual_seed(config.seed)
    optimizer = torch.optim.AdamW(_param_groups(model, config), weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, math.ceil(config.warmup_ratio * config.max_steps), config.max_steps
    )
    prepared, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    inner: PromptedModel = accelerator.unwrap_model(prepared)

    step, best_metric, best_step, history, evals = 0, None, 0, [], []
    best_state = copy.deepcopy(inner.prompt.state_dict())
    if state_path is not None and Path(state_path).exists():
        step, extra, best_state = load_training_state(
            state_path, prompt=inner.prompt, optimizer=optimizer, scheduler=scheduler
        )
        saved = extra["config"]
        changed = {k: (saved[k], v) for k, v in asdict(config).items() if k in saved and saved[k] != v and k != "progress"}
        if changed:
            # The schedule (warm-up, decay to zero at max_steps) and the batches depend on these: resuming under other
            # settings would silently train something neither run describes.
            raise ValueError(
                f"{state_path} was saved by a run with other settings {changed} (saved, now); resume with the same "
                "TrainConfig, or delete the state file to start over"
            )
        best_metric, best_step, history, evals = extra["best_metric"], extra["best_step"], extra["history"], extra["evals"]
        loader = skip_first_batches(loader, step * config.grad_accum)

    def checkpoint() -> None:
        nonlocal best_metric, best_step, best_state
        if eval_fn is not None:
            score = float(eval_fn(inner))
            evals.append({"step": step, "metric": score})
            if best_metric is None or score > best_metric:
                best_metric, best_step = score, step
                best_state = copy.deepcopy(inner.prompt.state_dict())
        else:
            best_step, best_state = step, copy.deepcopy(inner.prompt.state_dict())
        if state_path is not None and accelerator.is_main_process:
            extra = {"best_metric": best_metric, "best_step": best_step, "history": history, "evals": evals,
                     "config": asdict(config)}
            save_training_state(state_path, prompt=inner.prompt, optimizer=optimizer, scheduler=scheduler,
                                step=step, extra=extra, best_state=best_state)

    start = time.perf_counter()
    prepared.train()
    bar = tqdm(total=config.max_steps, initial=step, desc=config.desc, disable=not config.progress, leave=False)
    batches = iter(loader)
    while step < config.max_steps:
        terms_sum: dict[str, float] = {"loss": 0.0}
        for _ in range(config.grad_accum):
            batch = next(batches)
            with accelerator.accumulate(prepared):
                loss, terms = objective(prepared, batch)
                if not torch.isfinite(loss):
                    message = (
                        f"loss became {loss.item()} at step {step + 1} of {config.desc!r}; the prompt was left at its "
                        f"best state (step {best_step}). Lower the learning rate (now {config.lr}) or check the inputs."
                    )
                    inner.prompt.load_state_dict(best_state)
                    bar.close()
                    raise NonFiniteLossError(message)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm:
                    accelerator.clip_grad_norm_(inner.prompt.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            for k, v in {"loss": loss.item(), **terms}.items():
                terms_sum[k] = terms_sum.get(k, 0.0) + v / config.grad_accum
        step += 1
        history.append({"step": step, **terms_sum, "lr": scheduler.get_last_lr()[0]})
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
        if (config.eval_every and step % config.eval_every == 0) or step == config.max_steps:
            checkpoint()
    bar.close()
    inner.prompt.load_state_dict(best_state)
    return TrainResult(best_metric, best_step, step, time.perf_counter() - start, history, evals)

