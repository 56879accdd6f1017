"""A workspace: one backbone, one profile, and the tokenised splits of the tasks a run uses (loaded lazily, once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import datasets

from .backbones import Backbone, load_backbone
from .data import PromptCollator, tokenize_task
from .evaluate import Predictions, predict_task
from .profiles import Profile
from .prompted import PromptedModel
from .tasks import get_task, load_task_splits
from .train import TrainConfig

__all__ = ["Workspace"]


@dataclass
class Workspace:
    """A backbone, a profile, and the tokenised splits of the tasks a run uses (loaded lazily, once)."""

    profile: Profile
    backbone: Backbone
    _splits: dict[str, datasets.DatasetDict] = field(default_factory=dict, repr=False)
    _tokenised: dict[tuple[str, str], datasets.Dataset] = field(default_factory=dict, repr=False)
    # SPoT's choice of teacher per (teachers, target, selection rows): it scores every teacher on validation, the same
    # for every k and seed of a grid, so it is made once.
    _spot_choices: dict[tuple, int] = field(default_factory=dict, repr=False)

    @classmethod
    def from_profile(cls, profile: Profile, backbone: Backbone | None = None) -> Workspace:
        """Load the profile's backbone (or use the given one); an unknown task name fails here, before any loading."""
        for task in (*profile.source_tasks, *profile.target_tasks):
            get_task(task)
        return cls(profile, backbone or load_backbone(profile.backbone, offline=profile.offline))

    def splits(self, task: str) -> datasets.DatasetDict:
        """The formatted train/validation/test splits of a task (split by the profile's seed for it), capped by the
        profile."""
        if task not in self._splits:
            profile = self.profile
            splits = load_task_splits(
                task, **profile.split_of(task), max_train=profile.max_train, max_eval=profile.max_eval
            )
            if profile.max_validation is not None and len(splits["validation"]) > profile.max_validation:
                splits["validation"] = splits["validation"].select(range(profile.max_validation))
            self._splits[task] = splits
        return self._splits[task]

    def tokenised(self, task: str, split: str, *, task_id: int = 0) -> datasets.Dataset:
        """A tokenised split whose rows carry ``task_id``."""
        key = (task, split)
        if key not in self._tokenised:
            self._tokenised[key] = tokenize_task(
                self.splits(task)[split], get_task(task), self.backbone, max_input_tokens=self.profile.max_input_tokens
            )
        data = self._tokenised[key]
        return data if task_id == 0 else data.remove_columns("task_id").add_column("task_id", [task_id] * len(data))

    def collator(self, tasks: Sequence[str]) -> PromptCollator:
        """Collator whose task ids index ``tasks``."""
        return PromptCollator.for_tasks(self.backbone, [get_task(t) for t in tasks])

    def train_config(self, steps: int, *, seed: int = 0, desc: str = "training", **changes: Any) -> TrainConfig:
        """The profile's optimisation settings for a run of ``steps`` steps."""
        return TrainConfig.from_profile(self.profile, steps, seed=seed, desc=desc, **changes)

    def predict(
        self, model: PromptedModel, task: str, split: str = "validation", *, task_id: int = 0,
        rows: datasets.Dataset | None = None,
    ) -> Predictions:
        """Per-row predictions and references on one split (or on ``rows``, a subset of its tokenised rows), with the
        model's prompt for ``task_id``."""
        t = get_task(task)
        data = self.tokenised(task, split, task_id=task_id) if rows is None else rows
        collator = PromptCollator.for_tasks(self.backbone, [t] * (task_id + 1))
        refs = self.splits(task)[split]["references"] if t.kind == "generation" else None
        return predict_task(
            model, t, data, collator, batch_size=self.profile.eval_batch_size, references=refs,
            tokenizer=self.backbone.tokenizer,
        )

    def evaluate(self, model: PromptedModel, task: str, split: str = "validation", *, task_id: int = 0) -> dict:
        """The task's metric on one split, with the model's prompt for ``task_id``."""
        return self.predict(model, task, split, task_id=task_id).score(get_task(task).metric)

    def headline(
        self, model: PromptedModel, task: str, split: str = "validation", *, task_id: int = 0,
        rows: datasets.Dataset | None = None,
    ) -> float:
        """Just the task's headline metric (what best-checkpoint selection maximises)."""
        metric = get_task(task).metric
        return self.predict(model, task, split, task_id=task_id, rows=rows).score(metric)[metric]
