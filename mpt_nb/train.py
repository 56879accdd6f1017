"""One training loop for every stage (teachers, distillation, joint decomposition, target adaptation).

Built on ``accelerate`` so ``accelerate launch`` (or ``torchrun``) runs it on several processes unchanged: AdamW, linear
warm-up and decay, gradient accumulation, gradient clipping, periodic evaluation with best-checkpoint selection,
resumable state, and a stop with a clear message when the loss stops being finite.

One optimiser step consumes one global batch (the loader's ``batch_size`` rows), split by position across the N
processes, so N processes train the same prompt as one, step for step. ``process_state()`` is the package's one view of
those processes (which one writes a file, when they wait for each other), on a GPU or, under plain ``torchrun``, the CPU.
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
from accelerate import Accelerator, DataLoaderConfiguration, PartialState
from accelerate.data_loader import skip_first_batches
from accelerate.utils import broadcast_object_list, get_int_from_env, parse_flag_from_env
from torch.utils.data import DataLoader
from transformers import get_linear_schedule_with_warmup

from .checkpoint import load_training_state, save_training_state
from .losses import Objective, classification_objective
from .profiles import Profile
from .progress import progress_bar
from .prompted import PromptedModel

__all__ = [
    "NonFiniteLossError",
    "TrainConfig",
    "TrainResult",
    "process_state",
    "train_prompt",
]

class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the last good prompt was kept."""


@dataclass
class TrainConfig:
    """Optimisation settings; ``lr_low_rank`` is the learning rate of MPT's u, v (None: ``lr``).

    Defaults are the profiles' defaults (one home for each number); ``from_profile`` reads a given profile.
    """

    max_steps: int
    lr: float = Profile.lr
    lr_low_rank: float | None = None
    weight_decay: float = Profile.weight_decay
    warmup_ratio: float = Profile.warmup_ratio
    grad_accum: int = 1
    max_grad_norm: float = Profile.max_grad_norm
    eval_every: int = 0  # 0: evaluate once, at the end
    eval_at_start: bool = False  # also score the initial prompt (step 0); it can win best-checkpoint selection
    # Early stopping: end the run once this many evaluations in a row after the warm-up bring no new best score (0: run
    # max_steps). The schedule still spans max_steps, so a run stopped early ends before its rate has decayed.
    patience: int = 0
    seed: int = 0
    progress: bool = True
    desc: str = "training"
    mixed_precision: str = "no"  # "fp16" / "bf16": accelerate's autocast

    @classmethod
    def from_profile(cls, profile: Profile, steps: int, **changes: Any) -> TrainConfig:
        """The profile's optimisation settings for a run of ``steps`` steps; ``changes`` set single fields."""
        settings = {
            "max_steps": steps,
            "lr": profile.lr,
            "lr_low_rank": profile.lr_low_rank,
            "weight_decay": profile.weight_decay,
            "warmup_ratio": profile.warmup_ratio,
            "max_grad_norm": profile.max_grad_norm,
            "eval_every": profile.eval_every,
            "eval_at_start": profile.eval_at_start,
            "mixed_precision": profile.mixed_precision,
        }
        return cls(**{**settings, **changes})


@dataclass
class TrainResult:
    """What a run did: best validation score and step, logged losses, evaluations and wall time (of the whole run:
    a resumed run adds the time its saved state records up to its last evaluation)."""

    best_metric: float | None
    best_step: int
    steps: int
    wall_time_s: float
    history: list[dict[str, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False  # the validation score stopped improving (``patience``) before max_steps


def _check_process_count(num_processes: int) -> None:
    """Refuse an accelerate process count that is not torch.distributed's: each process would train alone."""
    if torch.distributed.is_initialized() and torch.distributed.get_world_size() != num_processes:
        raise RuntimeError(
            f"accelerate counts {num_processes} process(es) but torch.distributed joined "
            f"{torch.distributed.get_world_size()}: its state was set up without cpu=True on a machine without a GPU. "
            "Call mpt_nb.train.process_state() before any PartialState() or Accelerator(), or build Accelerator(cpu=True)"
        )


def process_state() -> PartialState:
    """The launched processes as accelerate's shared state counts them (one when nothing launched several)."""
    # The variables launchers set (torchrun: WORLD_SIZE; MPI: the others), read as accelerate reads them.
    launched = get_int_from_env(["PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "WORLD_SIZE"], 1) > 1
    # Without a GPU, a bare PartialState() joins torchrun's process group yet counts one process, and it ignores
    # ACCELERATE_USE_CPU (``accelerate launch --cpu``); asked for the CPU, it counts them all over gloo.
    cpu = parse_flag_from_env("ACCELERATE_USE_CPU") or (launched and not torch.cuda.is_available())
    state = PartialState(cpu=cpu)
    _check_process_count(state.num_processes)
    return state


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


def _loader_batch_size(loader: DataLoader) -> int | None:
    """Rows per batch of ``loader`` (our loaders set it on their batch sampler), or None when it does not say."""
    if loader.batch_size is not None:
        return loader.batch_size
    return getattr(loader.batch_sampler, "batch_size", None)


def _check_global_batches(loader: DataLoader, accelerator: Accelerator) -> None:
    """Refuse a run whose global batches cannot be split evenly over the processes."""
    n = accelerator.num_processes
    if n == 1:
        return
    if not accelerator.split_batches:
        # Without split_batches each process would take every N-th whole batch: N times fewer steps per process than
        # max_steps (the loop would run out of batches), and a schedule that steps N times per step.
        raise ValueError(
            f"the accelerator given to train_prompt shards whole batches over its {n} processes; build it with "
            "Accelerator(dataloader_config=DataLoaderConfiguration(split_batches=True)) so one step is one global batch"
        )
    batch_size = _loader_batch_size(loader)
    if batch_size is None:
        raise ValueError(
            f"cannot split the loader's batches over {n} processes: it has no batch_size (nor does its batch sampler)"
        )
    if batch_size % n:
        raise ValueError(
            f"batch_size {batch_size} cannot be split over {n} processes; use a multiple of {n} "
            f"(or launch a number of processes that divides {batch_size})"
        )


def _stops_no_sooner(patience: int, than: int) -> bool:
    """Whether a run under ``patience`` stops no sooner than one under ``than`` (0: never stops early)."""
    return patience == 0 or (than != 0 and patience >= than)


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

    ``eval_fn(model) -> float`` (higher is better) picks the best step; without it the last step is kept. It runs on
    the main process only and its score is broadcast, so every process keeps the same best step.
    ``config.eval_at_start`` also scores the initial prompt (step 0), so an initialisation that training only makes worse
    is kept.
    Under several processes each step takes one batch of the loader and splits its rows evenly over the processes
    (``batch_size`` must be a multiple of their number); the gradients DDP averages are then those of the whole batch
    for losses that are means over rows, so the run matches a single-process one.
    ``config.patience`` (with ``eval_fn`` and ``eval_every``) stops the run once that many evaluations in a row have
    not beaten the best score: the validation curve has plateaued.
    ``state_path`` (a ``.safetensors`` file) makes the run resumable: it is rewritten atomically after every
    evaluation, and an interrupted run restarted with the same config continues from its step (a changed config,
    e.g. a larger ``max_steps``, is refused: the schedule would differ).
    """
    if config.patience and (eval_fn is None or not config.eval_every):
        raise ValueError("patience (early stopping) needs an eval_fn and eval_every > 0: it counts evaluations")
    if len(loader) < config.max_steps * config.grad_accum:
        raise ValueError(
            f"the loader yields {len(loader)} batches but {config.max_steps} steps x {config.grad_accum} accumulation "
            "need more; build it with num_batches=max_steps*grad_accum"
        )
    accelerator = accelerator or Accelerator(
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.grad_accum,
        # One process needs no splitting (and a loader without a batch size, like the benchmarks' one-batch loaders,
        # could not be split anyway).
        dataloader_config=DataLoaderConfiguration(split_batches=process_state().num_processes > 1),
    )
    _check_process_count(accelerator.num_processes)
    _check_global_batches(loader, accelerator)
    torch.manual_seed(config.seed)
    optimizer = torch.optim.AdamW(_param_groups(model, config), weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, math.ceil(config.warmup_ratio * config.max_steps), config.max_steps
    )
    prepared, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    inner: PromptedModel = accelerator.unwrap_model(prepared)

    step, best_metric, best_step, history, evals, stopped_early = 0, None, 0, [], [], False
    earlier_s = 0.0  # training time behind a resumed state (its earlier sessions), so wall_time_s is the whole run's
    best_state = copy.deepcopy(inner.prompt.state_dict())
    resumed = state_path is not None and Path(state_path).exists()
    if resumed:
        step, extra, best_state = load_training_state(
            state_path, prompt=inner.prompt, optimizer=optimizer, scheduler=scheduler
        )
        saved = extra["config"]
        # patience only decides whether to stop at an evaluation, never what a step computes: a state saved under a
        # patience that stops no later than this run's is exactly this run's state at its step.
        exempt = {"progress"} | ({"patience"} if _stops_no_sooner(config.patience, saved.get("patience", 0)) else set())
        changed = {k: (saved[k], v) for k, v in asdict(config).items() if k in saved and saved[k] != v and k not in exempt}
        if changed:
            # The schedule (warm-up, decay to zero at max_steps) and the batches depend on these: resuming under other
            # settings would silently train something neither run describes.
            raise ValueError(
                f"{state_path} was saved by a run with other settings {changed} (saved, now); resume with the same "
                "TrainConfig, or delete the state file to start over"
            )
        best_metric, best_step, history, evals = extra["best_metric"], extra["best_step"], extra["history"], extra["evals"]
        earlier_s = float(extra.get("wall_time_s", 0.0))
        loader = skip_first_batches(loader, step * config.grad_accum)

    start = time.perf_counter()

    def score_prompt() -> float:
        # Scoring the validation split is the slow part of a checkpoint: the main process does it once and tells the
        # others, rather than N processes each scoring everything (and perhaps disagreeing on the best step).
        result = [float(eval_fn(inner)) if accelerator.is_main_process else None]
        return broadcast_object_list(result, from_process=0)[0]

    def checkpoint() -> None:
        nonlocal best_metric, best_step, best_state
        if eval_fn is not None:
            score = score_prompt()
            evals.append({"step": step, "metric": score})
            if best_metric is None or score > best_metric:
                best_metric, best_step = score, step
                best_state = copy.deepcopy(inner.prompt.state_dict())
        else:
            best_step, best_state = step, copy.deepcopy(inner.prompt.state_dict())
        if state_path is not None and accelerator.is_main_process:
            extra = {"best_metric": best_metric, "best_step": best_step, "history": history, "evals": evals,
                     "config": asdict(config), "wall_time_s": earlier_s + time.perf_counter() - start}
            save_training_state(state_path, prompt=inner.prompt, optimizer=optimizer, scheduler=scheduler,
                                step=step, extra=extra, best_state=best_state)

    warmup_steps = math.ceil(config.warmup_ratio * config.max_steps)

    def plateaued() -> bool:
        """Whether ``patience`` evaluations in a row have not beaten the best score (before max_steps). Only
        evaluations after the warm-up count: a prompt that has barely started to move is no plateau."""
        nonlocal stopped_early
        since = sum(e["step"] > max(best_step, warmup_steps) for e in evals)
        stopped_early = bool(config.patience) and since >= config.patience and step < config.max_steps
        return stopped_early

    prepared.train()
    if config.eval_at_start and eval_fn is not None and not resumed:
        checkpoint()  # step 0: the initial prompt is a candidate too (a resumed run has this evaluation already)
    bar = progress_bar(total=config.max_steps, initial=step, desc=config.desc, disable=not config.progress)
    batches = iter(loader)
    while step < config.max_steps and not plateaued():  # (a resumed run may have stopped already)
        terms_sum: dict[str, float] = {"loss": 0.0}
        for _ in range(config.grad_accum):
            batch = next(batches)
            with accelerator.accumulate(prepared):
                loss, terms = objective(prepared, batch)
                # Each process holds an equal share of the global batch, so the mean of their row-mean losses is the
                # global batch's; logging it (not this shard's) makes the history match a single process, and deciding
                # on it makes every process stop together rather than one raising while the others wait.
                means = accelerator.reduce(
                    torch.tensor([loss.item(), *terms.values()], dtype=torch.float32, device=loss.device), "mean"
                ).tolist()
                logged = {"loss": means[0], **dict(zip(terms, means[1:], strict=True))}
                if not math.isfinite(logged["loss"]):
                    message = (
                        f"loss became {logged['loss']} at step {step + 1} of {config.desc!r}; the prompt was left at its "
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
            for k, v in logged.items():
                terms_sum[k] = terms_sum.get(k, 0.0) + v / config.grad_accum
        step += 1
        history.append({"step": step, **terms_sum, "lr": scheduler.get_last_lr()[0]})
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
        if (config.eval_every and step % config.eval_every == 0) or step == config.max_steps:
            checkpoint()
            if plateaued():
                break
    bar.close()
    inner.prompt.load_state_dict(best_state)
    return TrainResult(best_metric, best_step, step, earlier_s + time.perf_counter() - start, history, evals, stopped_early)

