"""Every loss in one place: L_PLM (label-word cross-entropy, or the LM loss for generation tasks), the distillation
terms L_logits (KL at temperature T) and L_hidden (MSE), and MPT's student loss L_PLM + λ (L_logits + L_hidden).

An *objective* is what the training loop calls: ``objective(model, batch) -> (loss, {term: value})``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .distill import TeacherCache
from .prompted import PromptedModel, PromptOutput
from .tasks import Task, get_task

__all__ = [
    "DistillationLoss",
    "Objective",
    "classification_loss",
    "classification_objective",
    "distillation_kl",
    "hidden_mse",
    "lm_objective",
    "objective_for",
]

Objective = Callable[[PromptedModel, dict[str, torch.Tensor]], tuple[torch.Tensor, dict[str, float]]]


def classification_loss(output: PromptOutput, labels: torch.Tensor) -> torch.Tensor:
    """L_PLM for classification: cross-entropy of the gold label word among the task's label words."""
    return F.cross_entropy(output.label_logits, labels.to(output.label_logits.device))


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


def classification_objective(model: PromptedModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Cross-entropy over each row's label words (L_PLM)."""
    loss = classification_loss(model(**batch), batch["labels"])
    return loss, {"loss_plm": loss.item()}


def lm_objective(model: PromptedModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    """Full-vocabulary cross-entropy of the target text, for generation tasks (the backbone's own LM loss)."""
    loss = model(**batch, objective="lm")
    return loss, {"loss_plm": loss.item()}


def objective_for(task: str | Task) -> Objective:
    """The training loss a task needs: label-word cross-entropy, or the LM loss for generation tasks."""
    return lm_objective if get_task(task).kind == "generation" else classification_objective


@dataclass
class DistillationLoss:
    """L = L_PLM + λ (L_logits + L_hidden), with teacher outputs read from a cache; returns each term too.

    ``loss(output, batch)`` scores a student's output; ``loss.objective`` is the same as a training objective.
    """

    cache: TeacherCache
    weight: float = 1.0  # λ
    temperature: float = 2.0  # T
    use_logits: bool = True  # the ablations switch either term off
    use_hidden: bool = True

    def __post_init__(self) -> None:
        if not (self.use_logits or self.use_hidden):
            raise ValueError("a distillation loss needs L_logits or L_hidden; with neither, train with distill=False")

    def __call__(self, output: PromptOutput, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        teacher_logits, teacher_hidden = self.cache.lookup(batch["example_ids"].to(output.label_logits.device))
        plm = classification_loss(output, batch["labels"])
        kl = distillation_kl(output.label_logits, teacher_logits, self.temperature) if self.use_logits else plm.new_zeros(())
        mse = hidden_mse(output.hidden, teacher_hidden) if self.use_hidden else plm.new_zeros(())
        total = plm + self.weight * (kl + mse)
        return total, {"loss_plm": plm.item(), "loss_logits": kl.item(), "loss_hidden": mse.item()}

    def objective(self, model: PromptedModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """The student loss as a training objective: run the student on the batch, then score it."""
        return self(model(**batch), batch)
