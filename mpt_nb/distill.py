"""Prompt distillation: teachers' outputs, cached once, and the student loss L_PLM + λ (L_logits + L_hidden).

The backbone and the teacher prompts are frozen, so a teacher's output for an example never changes during student
training: one forward pass per example (``TeacherCache.build``) replaces a teacher pass at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .backbones import MASKED_LOGIT, PromptedModel, PromptOutput

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
    """Teacher label-word logits (n, C) and answer hidden states (n, d), indexed by ``example_id``."""

    def __init__(self, logits: torch.Tensor, hidden: torch.Tensor) -> None:
        self.logits = logits
        self.hidden = hidden

    @classmethod
    @torch.no_grad()
    def build(cls, teacher: PromptedModel, loader: DataLoader, num_examples: int) -> TeacherCache:
        """One pass of the frozen teacher over every example the student will see."""
        teacher.eval()
        logits = hidden = None
        filled = torch.zeros(num_examples, dtype=torch.bool)
        device = next(teacher.parameters()).device
        for batch in tqdm(loader, desc="caching teacher outputs", leave=False):
            batch = {k: v.to(device) for k, v in batch.items()}
            out = teacher(**batch)
            if logits is None:
                logits = torch.full((num_examples, out.label_logits.shape[1]), MASKED_LOGIT)
                hidden = torch.zeros(num_examples, out.hidden.shape[1])
            ids = batch["example_ids"].cpu()
            logits[ids] = out.label_logits.cpu()
            hidden[ids] = out.hidden.cpu()
            filled[ids] = True
        if logits is None or not bool(filled.all()):
            missing = int((~filled).sum()) if logits is not None else num_examples
            raise ValueError(f"the teacher loader left {missing} of {num_examples} examples uncached; pass a loader over all of them")
        return cls(logits, hidden)

    def lookup(self, example_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cached (logits, hidden) for a batch of example ids, on their device."""
        ids = example_ids.cpu()
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
