"""Interop with HF PEFT's ``MultitaskPromptTuning``: export an MPT prompt as a PEFT adapter folder and import one back.

PEFT's MPT keeps the same three tensors under other names: ``embedding.weight`` = P* (l, d),
``prefix_task_cols`` = u (tasks, l, r), ``prefix_task_rows`` = v (tasks, r, d), and composes them exactly as we do.
For seq2seq models we export an encoder-only prompt (``num_transformer_submodules=1``), which is what ``mpt_nb`` trains.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from peft import MultitaskPromptTuningConfig, TaskType, get_peft_model
from safetensors.torch import load_file

from .backbones import Backbone
from .files import atomic_path
from .prompts import MultitaskPrompt

__all__ = ["export_to_peft", "import_from_peft", "peft_model_for"]


def peft_model_for(backbone: Backbone, prompt: MultitaskPrompt):
    """A PEFT ``MultitaskPromptTuning`` model on ``backbone`` whose prompt tensors are copies of ``prompt``'s."""
    config = MultitaskPromptTuningConfig(
        task_type=TaskType.SEQ_2_SEQ_LM if backbone.is_seq2seq else TaskType.CAUSAL_LM,
        num_virtual_tokens=prompt.num_tokens,
        num_tasks=prompt.num_tasks,
        num_ranks=prompt.rank,
        token_dim=prompt.dim,
        num_transformer_submodules=1,
        prompt_tuning_init="RANDOM",
        base_model_name_or_path=backbone.name,
    )
    peft_model = get_peft_model(backbone.model, config)
    encoder = peft_model.prompt_encoder["default"]
    with torch.no_grad():
        encoder.embedding.weight.copy_(prompt.shared.detach()[0])
        encoder.prefix_task_cols.copy_(prompt.u.detach())
        encoder.prefix_task_rows.copy_(prompt.v.detach())
    return peft_model


def export_to_peft(prompt: MultitaskPrompt, backbone: Backbone, folder: str | os.PathLike) -> Path:
    """Write a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) for ``prompt``.

    Load it with ``peft.PeftModel.from_pretrained(base_model, folder)`` and pass ``task_ids`` to its forward.
    The folder is written under a temporary name and renamed, so a failed export leaves nothing behind.
    """
    if not isinstance(prompt, MultitaskPrompt):
        raise TypeError("only MultitaskPrompt maps onto PEFT's MultitaskPromptTuning; export a SoftPrompt as PEFT prompt tuning instead")
    folder = Path(folder)
    peft_model = peft_model_for(backbone, prompt)
    with atomic_path(folder, folder=True) as tmp:
        peft_model.save_pretrained(tmp)
    return folder


def import_from_peft(folder: str | os.PathLike, *, dim: int | None = None) -> MultitaskPrompt:
    """Read a PEFT ``MultitaskPromptTuning`` adapter folder into a ``MultitaskPrompt``."""
    folder = Path(folder)
    config_path, weights_path = folder / "adapter_config.json", folder / "adapter_model.safetensors"
    if not config_path.exists() or not weights_path.exists():
        raise FileNotFoundError(
            f"{folder} is not a PEFT adapter folder (needs adapter_config.json and adapter_model.safetensors); "
            "save one with PeftModel.save_pretrained(..., safe_serialization=True)"
        )
    config = json.loads(config_path.read_text())
    if config.get("peft_type") != "MULTITASK_PROMPT_TUNING":
        raise ValueError(f"{folder} holds a {config.get('peft_type')} adapter, not MULTITASK_PROMPT_TUNING")
    if config.get("num_transformer_submodules", 1) != 1:
        raise ValueError(
            f"{folder} has prompts for {config['num_transformer_submodules']} submodules (encoder and decoder); "
            "mpt_nb prompts the encoder only: export with num_transformer_submodules=1"
        )
    weights = load_file(str(weights_path))
    shared = weights["prompt_embeddings"]
    if dim is not None and shared.shape[1] != dim:
        raise ValueError(f"the adapter's prompt has d={shared.shape[1]} but the model has d={dim}")
    cols, rows = weights["prefix_task_cols"], weights["prefix_task_rows"]
    prompt = MultitaskPrompt(shared.shape[0], shared.shape[1], cols.shape[0], cols.shape[2], shared_init=shared)
    with torch.no_grad():
        prompt.u.copy_(cols)
        prompt.v.copy_(rows)
    return prompt
