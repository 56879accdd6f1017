"""Prompt checkpoints and resumable training state, as safetensors with metadata (never pickle).

Every write goes through ``mpt_nb.files.atomic_path``: an interrupted save leaves the previous file intact and never
a half-written one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .files import atomic_path
from .prompts import MultitaskPrompt, SoftPrompt

__all__ = [
    "CheckpointError",
    "CheckpointMismatchError",
    "load_prompt",
    "load_training_state",
    "save_prompt",
    "save_training_state",
]

FORMAT_VERSION = "1"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt or truncated."""


class CheckpointMismatchError(ValueError):
    """A checkpoint was made for another model, width or task list."""


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> Path:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    return path


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}; train one first or check the path")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"{path} is corrupt or truncated ({err}); delete it and re-run the training that writes it"
        ) from err
    if metadata.get("mpt_nb_format") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not an mpt_nb checkpoint (format {metadata.get('mpt_nb_format')!r})")
    return tensors, metadata


def save_prompt(
    path: str | os.PathLike,
    prompt: SoftPrompt | MultitaskPrompt,
    *,
    model_name: str,
    task_names: Sequence[str],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save a prompt with what is needed to refuse a mismatched load: model, d, l, r and task names."""
    if len(task_names) != prompt.num_tasks:
        raise ValueError(f"{len(task_names)} task names given for a prompt of {prompt.num_tasks} task(s)")
    metadata = {
        "mpt_nb_format": FORMAT_VERSION,
        "kind": "mpt" if isinstance(prompt, MultitaskPrompt) else "soft",
        "model_name": model_name,
        "dim": str(prompt.dim),
        "num_tokens": str(prompt.num_tokens),
        "rank": str(getattr(prompt, "rank", 0)),
        "task_names": json.dumps(list(task_names)),
        "extra": json.dumps(extra or {}),
    }
    return _atomic_save(dict(prompt.state_dict()), Path(path), metadata)


def load_prompt(
    path: str | os.PathLike, *, model_name: str | None = None, dim: int | None = None
) -> tuple[SoftPrompt | MultitaskPrompt, dict[str, Any]]:
    """Load a prompt saved by ``save_prompt``; refuses one made for another model or width."""
    path = Path(path)
    tensors, meta = _read(path)
    if model_name is not None and meta["model_name"] != model_name:
        raise CheckpointMismatchError(
            f"{path} holds a prompt trained for {meta['model_name']!r} (d={meta['dim']}), not {model_name!r}; load "
            f"it with that backbone or train a prompt for {model_name!r}"
        )
    if dim is not None and int(meta["dim"]) != dim:
        raise CheckpointMismatchError(
            f"{path} holds a prompt with d={meta['dim']} but the model's embeddings have d={dim}; load a prompt "
            f"trained for this model"
        )
    task_names = json.loads(meta["task_names"])
    num_tokens, width = int(meta["num_tokens"]), int(meta["dim"])
    if meta["kind"] == "mpt":
        prompt: SoftPrompt | MultitaskPrompt = MultitaskPrompt(num_tokens, width, len(task_names), int(meta["rank"]))
    else:
        prompt = SoftPrompt(num_tokens, width, len(task_names))
    try:
        prompt.load_state_dict(tensors)
    except RuntimeError as err:
        raise CheckpointError(f"{path} does not match its own metadata ({err}); it is damaged, re-create it") from err
    info = {
        "model_name": meta["model_name"],
        "task_names": task_names,
        "kind": meta["kind"],
        "extra": json.loads(meta["extra"]),
    }
    return prompt, info


def save_training_state(
    path: str | os.PathLike,
    *,
    prompt: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    step: int,
    extra: dict[str, Any],
    best_state: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Everything needed to resume: prompt weights, AdamW moments, schedule position and loop bookkeeping."""
    tensors = {f"prompt.{k}": v for k, v in prompt.state_dict().items()}
    tensors.update({f"best.{k}": v for k, v in (best_state or {}).items()})
    opt = optimizer.state_dict()
    for index, state in opt["state"].items():
        for key, value in state.items():
            tensors[f"optim.{index}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    metadata = {
        "mpt_nb_format": FORMAT_VERSION,
        "step": str(step),
        "param_groups": json.dumps(opt["param_groups"]),
        "scheduler": json.dumps(scheduler.state_dict()),
        "extra": json.dumps(extra),
    }
    return _atomic_save(tensors, Path(path), metadata)


def load_training_state(
    path: str | os.PathLike, *, prompt: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any
) -> tuple[int, dict[str, Any], dict[str, torch.Tensor]]:
    """Restore a state saved by ``save_training_state`` in place; returns (step, extra, best_state)."""
    tensors, meta = _read(Path(path))
    best_state = {k[len("best.") :]: v for k, v in tensors.items() if k.startswith("best.")}
    prompt.load_state_dict({k[len("prompt.") :]: v for k, v in tensors.items() if k.startswith("prompt.")})
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    scheduler.load_state_dict(json.loads(meta["scheduler"]))
    return int(meta["step"]), json.loads(meta["extra"]), best_state
