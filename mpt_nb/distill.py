"""Prompt distillation's teachers: their outputs, cached once. The student loss is ``mpt_nb.losses.DistillationLoss``.

The backbone and the teacher prompts are frozen, so a teacher's output for an example never changes during student
training: one forward pass per example (``TeacherCache.fill`` or the first lookup) replaces a teacher pass per step.
"""

from __future__ import annotations

import datasets
import torch

from .data import PromptCollator
from .progress import progress_bar
from .prompted import MASKED_LOGIT, PromptedModel

__all__ = ["TeacherCache"]


class TeacherCache:
    """Teacher label-word logits (n, C) and answer hidden states (n, d), indexed by ``example_id``.

    Filled lazily: the first time a batch asks for an example, the frozen teacher runs on it once (no gradients);
    every later visit reads the stored result. ``fill()`` computes everything up front instead.
    """

    def __init__(self, teacher: PromptedModel, dataset: datasets.Dataset, collator: PromptCollator, *, batch_size: int = 32) -> None:
        if len(dataset) == 0:
            raise ValueError("cannot cache teacher outputs for an empty dataset")
        # The cache is indexed by example_id, so the ids must be the rows' positions (what tokenize_task and
        # concat_tasks give); a subset or a shuffle keeps the old ids and would read other examples' outputs.
        if dataset["example_id"] != list(range(len(dataset))):
            raise ValueError(
                "the dataset's example_id column is not 0..n-1 in row order; renumber it first: "
                "dataset.remove_columns('example_id').add_column('example_id', list(range(len(dataset))))"
            )
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
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            batch = self.collator([self.dataset[i] for i in chunk])
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
        for start in progress_bar(range(0, len(missing), 256), desc="caching teacher outputs", leave=False):
            self._compute(missing[start : start + 256])
        return self

    def lookup(self, example_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher (logits, hidden) for a batch of example ids, on their device; computes any not cached yet."""
        ids = example_ids.cpu()
        missing = ids[~self.filled[ids]].unique().tolist()
        if missing:
            self._compute(missing)
        return self.logits[ids].to(example_ids.device), self.hidden[ids].to(example_ids.device)
