"""The prompted model: a frozen backbone with a trainable soft prompt in front of its input embeddings.

``PromptedModel`` prepends the composed prompt to the input embeddings (encoder side for seq2seq models, front of the
sequence for causal LMs), extends the attention mask, and returns what the losses need: the logits of each row's
label words at the position where the answer is read, and the final hidden state there. It never computes the
full-vocabulary head over every position, which on SmolLM2 costs a quarter of a training step. On a causal LM the
prompt's keys and values are computed once per task and shared by every row of the batch (they do not depend on the
input that follows them), instead of once per row.

Every entry point that takes a batch moves it to the model's device first, so a batch built on the CPU works with a
model that training (accelerate) moved to a GPU; outputs stay on the model's device. The prompt follows the backbone
too, when training another prompt moved the shared backbone after this model was built (a teacher's).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import DynamicCache

from .backbones import Backbone, freeze
from .prompts import check_task_ids

__all__ = ["MASKED_LOGIT", "PromptOutput", "PromptedModel", "length_groups"]

# Logit given to label slots a row's task does not have: finite, so softmax/KL stay free of NaN gradients.
MASKED_LOGIT = -1e9


def length_groups(lengths: torch.Tensor, *, extra: int = 0, min_saving: float = 0.2) -> list[torch.Tensor] | None:
    """Two groups of row indices (short rows, long rows) when padding each group to its own longest row saves at
    least ``min_saving`` of the tokens one padded batch would hold; else None. ``extra``: tokens every row has on top
    (the prompt). A mixed batch of short questions and long passages pays for the passages' width in every row."""
    n = lengths.numel()
    if n < 2:
        return None
    ordered, order = torch.sort(lengths)
    widths = ordered + extra
    whole = n * int(widths[-1])
    costs = [i * int(widths[i - 1]) + (n - i) * int(widths[-1]) for i in range(1, n)]
    best = min(range(len(costs)), key=costs.__getitem__)
    if costs[best] > (1 - min_saving) * whole:
        return None
    return [order[: best + 1], order[best + 1 :]]


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
        # Causal LMs: run a batch of very unequal rows as two narrower passes (each row's answer state is unchanged:
        # right padding never reaches the last real token). `python -m benchmarks.speed groups` measures the gain.
        self.group_lengths = True
        # Causal LMs: the prompt's keys and values computed once per task and shared by its rows (same states).
        self.cache_prompt = True

    @property
    def device(self) -> torch.device:
        """Where the backbone's weights are; every batch is moved here."""
        return self.model.get_input_embeddings().weight.device

    def _here(self, *tensors: torch.Tensor | None) -> list[torch.Tensor | None]:
        device = self.device
        return [t if t is None or t.device == device else t.to(device) for t in tensors]

    def train(self, mode: bool = True) -> PromptedModel:
        # Only the prompt switches mode: the frozen backbone stays in eval (no dropout), as in prompt tuning.
        self.training = mode
        self.prompt.train(mode)
        return self

    def _prompt_rows(self, task_ids: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """The prompt for each of ``task_ids``, (n, l, d), on the device and in the dtype of ``like``."""
        first = next(self.prompt.parameters(), None)
        if first is not None and first.device != like.device:
            # The backbone moved after this model was built: training (accelerate) moved the shared backbone with
            # another prompt, e.g. a student's, while this one (a frozen teacher) stayed behind.
            self.prompt.to(like.device)
        return self.prompt(task_ids).to(like.dtype)

    def _prompted_inputs(self, input_ids, attention_mask, task_ids):
        embeds = self.model.get_input_embeddings()(input_ids)
        prompt = self._prompt_rows(task_ids, embeds)
        embeds = torch.cat([prompt, embeds], dim=1)
        prompt_mask = attention_mask.new_ones(attention_mask.shape[0], prompt.shape[1])
        return embeds, torch.cat([prompt_mask, attention_mask], dim=1)

    def answer_hidden(self, input_ids, attention_mask, task_ids) -> torch.Tensor:
        """Final hidden state where the answer's first token is predicted: (batch, d).

        Causal LM: at the last real input token (inputs are right-padded). Seq2seq: the decoder's first position.
        """
        input_ids, attention_mask, task_ids = self._here(input_ids, attention_mask, task_ids)
        if not self.is_seq2seq:
            return self._causal_answer_hidden(input_ids, attention_mask, task_ids)
        embeds, mask = self._prompted_inputs(input_ids, attention_mask, task_ids)
        encoder_out = self.model.get_encoder()(inputs_embeds=embeds, attention_mask=mask)
        start = torch.full((input_ids.shape[0], 1), self.model.config.decoder_start_token_id, device=input_ids.device)
        decoder_out = self.model.get_decoder()(
            input_ids=start,
            encoder_hidden_states=encoder_out.last_hidden_state,
            encoder_attention_mask=mask,
        )
        hidden = decoder_out.last_hidden_state[:, 0]
        if getattr(self.model.config, "scale_decoder_outputs", getattr(self.model.config, "tie_word_embeddings", False)):
            hidden = hidden * self.model.config.d_model**-0.5  # what T5 does before its tied head
        return hidden

    def _causal_answer_hidden(self, input_ids, attention_mask, task_ids) -> torch.Tensor:
        """Causal LMs, [prompt | input] per row. The prompt comes first, so its keys and values do not depend on the
        input after it: with ``cache_prompt`` (the default) they are computed once per task, not once per row, and
        handed to the rows as a key-value cache. Same states and gradients up to rounding (tests/test_backbones.py),
        less time per step and per scored row (`python -m benchmarks.speed prefix`, [7])."""
        decoder = self.model.get_decoder()
        embeds = self.model.get_input_embeddings()(input_ids)
        # A prompt depends on its task id alone: every task's prompt once (a handful of tasks of l tokens beside a
        # batch of rows; no data-dependent shapes), then each row reads its own task's.
        prompts = self._prompt_rows(torch.arange(self.prompt.num_tasks, device=embeds.device), embeds)
        check_task_ids(task_ids, self.prompt.num_tasks)
        cache_prompt = self.cache_prompt and prompts.shape[1] > 0  # no prompt (zero-shot): nothing to cache
        if cache_prompt:
            prefix = [(k, v) for k, v, *_ in decoder(inputs_embeds=prompts, use_cache=True).past_key_values]
        lengths = attention_mask.sum(1)
        # A cached prompt is no per-row work; a concatenated one adds its l tokens to every row.
        extra = 0 if cache_prompt else prompts.shape[1]
        groups = length_groups(lengths, extra=extra) if self.group_lengths else None
        parts = []
        for rows in groups or [torch.arange(input_ids.shape[0], device=input_ids.device)]:
            width = int(lengths[rows].max())  # right padding: a narrower group drops only padding columns
            mask = attention_mask[rows, :width]
            full_mask = torch.cat([mask.new_ones(mask.shape[0], prompts.shape[1]), mask], dim=1)
            if cache_prompt:
                cache = DynamicCache(ddp_cache_data=[(k[task_ids[rows]], v[task_ids[rows]]) for k, v in prefix])
                out = decoder(inputs_embeds=embeds[rows, :width], attention_mask=full_mask, past_key_values=cache,
                              use_cache=False)
            else:
                full = torch.cat([prompts[task_ids[rows]], embeds[rows, :width]], dim=1)
                out = decoder(inputs_embeds=full, attention_mask=full_mask)
            states = out.last_hidden_state[:, -width:]  # the input positions
            parts.append(states[torch.arange(mask.shape[0], device=mask.device), mask.sum(dim=1) - 1])
        if groups is None:
            return parts[0]
        return torch.cat(parts)[torch.argsort(torch.cat(groups))]

    def label_logits(self, hidden: torch.Tensor, candidate_ids: torch.Tensor, candidate_mask: torch.Tensor) -> torch.Tensor:
        """Logits of each row's label words only: hidden (batch, d), candidates (batch, C) -> (batch, C)."""
        hidden, candidate_ids, candidate_mask = self._here(hidden, candidate_ids, candidate_mask)
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
        input_ids, attention_mask, task_ids, target_ids = self._here(input_ids, attention_mask, task_ids, target_ids)
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
        input_ids, attention_mask, task_ids = self._here(input_ids, attention_mask, task_ids)
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
