"""Evaluation: rank classification over the label words in one forward pass, and generation for free-text tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import datasets
import numpy as np
import torch

from .data import PromptCollator, eval_loader
from .metrics import compute_metric
from .progress import progress_bar
from .prompted import PromptedModel
from .tasks import Task

__all__ = [
    "Predictions",
    "evaluate_by_generation",
    "evaluate_task",
    "predict_label_logits",
    "predict_task",
    "predict_text",
]


def _by_position(dataset: datasets.Dataset) -> datasets.Dataset:
    """The rows with ``example_id`` = their position, so predictions land in row order (a ``select`` of a split keeps
    the ids of the whole split)."""
    if dataset["example_id"] == list(range(len(dataset))):
        return dataset
    return dataset.remove_columns("example_id").add_column("example_id", list(range(len(dataset))))


@torch.no_grad()
def predict_label_logits(
    model: PromptedModel, dataset: datasets.Dataset, collator: PromptCollator, *, batch_size: int = 32
) -> np.ndarray:
    """Label-word logits for every row, in the dataset's row order: (n, max_classes)."""
    was_training = model.training
    model.eval()
    out = None
    dataset = _by_position(dataset)
    for batch in progress_bar(eval_loader(dataset, collator, batch_size=batch_size), desc="evaluating", leave=False):
        logits = model(**batch).label_logits.cpu().numpy()
        if out is None:
            out = np.zeros((len(dataset), logits.shape[1]), dtype=np.float32)
        out[batch["example_ids"].cpu().numpy()] = logits
    model.train(was_training)
    if out is None:
        raise ValueError("cannot evaluate on an empty dataset")
    return out


def _scores_to_predictions(task: Task, logits: np.ndarray) -> np.ndarray:
    logits = logits[:, : len(task.label_words)]
    if task.label_values:  # regression read as classification: the expected value under the label distribution
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        return probs @ np.asarray(task.label_values, dtype=np.float64)
    return logits.argmax(1)


@torch.no_grad()
def predict_text(
    model: PromptedModel,
    dataset: datasets.Dataset,
    collator: PromptCollator,
    tokenizer,
    *,
    batch_size: int = 16,
    max_new_tokens: int = 16,
) -> list[str]:
    """Greedy generated text for every row, in the dataset's row order."""
    was_training = model.training
    model.eval()
    dataset = _by_position(dataset)
    texts: list[str] = [""] * len(dataset)
    for batch in progress_bar(eval_loader(dataset, collator, batch_size=batch_size), desc="generating", leave=False):
        new = model.generate(
            batch["input_ids"],
            batch["attention_mask"],
            batch["task_ids"],
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
        decoded = tokenizer.batch_decode(new, skip_special_tokens=True)
        for i, text in zip(batch["example_ids"].tolist(), decoded, strict=True):
            texts[i] = text.strip()
    model.train(was_training)
    return texts


@dataclass
class Predictions:
    """One split's per-row predictions (class ids, values or texts) and references, in the split's row order."""

    predictions: list
    references: list

    def score(self, metric: str) -> dict[str, float]:
        """The named metric of these predictions (``result[metric]`` is the headline number)."""
        return compute_metric(metric, self.predictions, self.references)

    def as_record(self) -> dict[str, list]:
        """JSON-ready rows for a results record: test row id, prediction, gold (for paired tests on rows)."""
        return {"row": list(range(len(self.predictions))), "pred": list(self.predictions), "gold": list(self.references)}


def predict_task(
    model: PromptedModel,
    task: Task,
    dataset: datasets.Dataset,
    collator: PromptCollator,
    *,
    batch_size: int = 32,
    references: Sequence | None = None,
    tokenizer=None,
) -> Predictions:
    """Per-row predictions on a tokenised split: rank classification, or generation for generation tasks."""
    if task.kind == "generation":
        if references is None or tokenizer is None:
            raise ValueError("generation tasks need references (the answer texts) and the tokenizer")
        return Predictions(predict_text(model, dataset, collator, tokenizer), list(references))
    logits = predict_label_logits(model, dataset, collator, batch_size=batch_size)
    predictions = _scores_to_predictions(task, logits)
    if references is None:
        references = dataset["score"] if task.label_values and "score" in dataset.column_names else dataset["label"]
    return Predictions(predictions.tolist(), list(references))


def evaluate_task(
    model: PromptedModel,
    task: Task,
    dataset: datasets.Dataset,
    collator: PromptCollator,
    *,
    batch_size: int = 32,
    references: Sequence | None = None,
    tokenizer=None,
) -> dict[str, float]:
    """The task's metric on a tokenised split: rank classification, or generation for generation tasks."""
    predictions = predict_task(
        model, task, dataset, collator, batch_size=batch_size, references=references, tokenizer=tokenizer
    )
    return predictions.score(task.metric)


def evaluate_by_generation(
    model: PromptedModel,
    task: Task,
    dataset: datasets.Dataset,
    collator: PromptCollator,
    tokenizer,
    *,
    batch_size: int = 16,
    max_new_tokens: int = 4,
) -> dict[str, float]:
    """Classification scored the slow way: generate text, then map it to the label word it starts with (else wrong)."""
    texts = predict_text(model, dataset, collator, tokenizer, batch_size=batch_size, max_new_tokens=max_new_tokens)
    words = [w.lower() for w in task.label_words]
    predictions = []
    for text in texts:
        text = text.lower()
        match = [i for i, w in enumerate(words) if text.startswith(w) or (text and w.startswith(text))]
        predictions.append(match[0] if match else -1)
    return compute_metric(task.metric, predictions, list(dataset["label"]))
