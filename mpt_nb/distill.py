"""Prompt distillation: teachers' outputs, cached once, and the student loss L_PLM + λ (L_logits + L_hidden).

The backbone and the teacher prompts are frozen, so a teacher's output for an example never changes during student
training: one forward pass per example (``TeacherCache.build``) replaces a teacher pass at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import datasets
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .backbones import MASKED_LOGIT, PromptedModel, PromptOutput
from .data import PromptCollator

__all__ = ["DistillationLoss", "TeacherCache", "classification_loss", "distillation_kl", "hidden_mse"]


def classification_loss(output: PromptOutput, labels: torch.Tensor) -> torch.Tensor:
    """L_PLM for classification: cross-entropy of the gold label word among the task's label words."""
    return F.cross_entropy(output.label_logits, labels)


def distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher ∥ student) of the label-word distributions at temperature T, times T² (Hinton et al.), per-row mean.

    Slots a row's task does not have hold ``MASKED_LOGIT`` in both, so they get zero probability and add nothing.
    """
    s = torch.log_softmax(student_logits / temperature, dim=-1)
    t = torch.log_softmax(teacher_logits / temperature, dim=-1)
    kl = (t.exp() * (t - s)).sum(-1)
    return kl.mean() * temperature**2


def hidden_mse(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor) -> torch.Tensor:
    """Mean squared error between answer-position hidden states (batch, d)."""
    return F.mse_loss(student_hidden, teacher_hidden)


class TeacherCache:
    """Teacher label-word logits (n, C) and answer hidden states (n, d), indexed by ``example_id``.

    Filled lazily: the first time a batch asks for an example, the frozen teacher runs on it once (no gradients);
    every later visit reads the stored result. ``fill()`` computes everything up front instead.
    """

    def __init__(self, teacher: PromptedModel, dataset: datasets.Dataset, collator: PromptCollator, *, batch_size: int = 32) -> None:
        if len(dataset) == 0:
            raise ValueError("cannot cache teacher outputs for an empty dataset")
        self.teacher = teacher
        self.dataset = dataset
        self.collator = collator
        self.batch_size = batch_size
        n, dim = len(dataset), teacher.prompt.dim
        self.logits = torch.full((n, max(collator.max_classes, 1)), MASKED_LOGIT)
        self.hidden = torch.zeros(n, dim)
        self.filled = torch.zeros(n, dtype=torch.bool)
        self.teacher_passes = 0  # how many examples the teacher has run on, for checks and benchmarks

    @torch.no_grad()
    def _compute(self, ids: list[int]) -> None:
        was_training = self.teacher.training
        self.teacher.eval()
        device = next(self.teacher.parameters()).device
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            batch = self.collator([self.dataset[i] for i in chunk])
            batch = {k: v.to(device) for k, v in batch.items()}
            out = self.teacher(**batch)
            index = torch.tensor(chunk)
            self.logits[index] = out.label_logits.cpu()
            self.hidden[index] = out.hidden.cpu()
            self.filled[index] = True
            self.teacher_passes += len(chunk)
        self.teacher.train(was_training)

    def fill(self) -> TeacherCache:
        """Run the teacher on every example not cached yet."""
        missing = torch.nonzero(~self.filled).flatten().tolist()
        for start in tqdm(range(0, len(missing), 256), desc="caching teacher outputs", leave=False):
            self._compute(missing[start : start + 256])
        return self

    def lookup(self, example_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher (logits, hidden) for a batch of example ids, on their device; computes any not cached yet."""
        ids = example_ids.cpu()
        missing = ids[~self.filled[ids]].unique().tolist()
        if missing:
            self._compute(missing)
        return self.logits[ids].to(example_ids.device), self.hidden[ids].to(example_ids.device)


@dataclass
class DistillationLoss:
    """L = L_PLM + λ (L_logits + L_hidden), with teacher outputs read from a cache; returns each term too."""

    cache: TeacherCache
    weight: float = 1.0  # λ
    temperature: float = 2.0  # T
    use_hidden: bool = True

    def __call__(self, output: PromptOutput, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        teacher_logits, teacher_hidden = self.cache.lookup(batch["example_ids"])
        plm = classification_loss(output, batch["labels"])
        kl = distillation_kl(output.label_logits, teacher_logits, self.temperature)
        mse = hidden_mse(output.hidden, teacher_hidden) if self.use_hidden else plm.new_zeros(())
        total = plm + self.weight * (kl + mse)
        return total, {"loss_plm": plm.item(), "loss_logits": kl.item(), "loss_hidden": mse.item()}
