"""Tokenisation, dynamic padding, k-shot sampling and MPT's multitask batches.

A tokenised example is a row of a ``datasets.Dataset`` with ``input_ids``, ``label``, ``task_id`` and ``example_id``
(its row in the dataset the loader reads, which is how cached teacher outputs are looked up), plus ``target_ids`` for
generation tasks. Padding happens per batch, to the longest row, never to a fixed maximum.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import datasets
import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from .backbones import Backbone, task_label_token_ids
from .tasks import Task

__all__ = [
    "MultitaskBatchSampler",
    "PromptCollator",
    "build_multitask_dataset",
    "eval_loader",
    "k_shot",
    "multitask_loader",
    "right_pad",
    "tokenize_task",
    "train_loader",
]


def _truncate_middle(ids: list[int], max_len: int) -> list[int]:
    # Keep the head (the field name, e.g. "Review:") and the tail (the answer cue, e.g. "Sentiment:").
    if len(ids) <= max_len:
        return ids
    head = max_len // 4
    return ids[:head] + ids[len(ids) - (max_len - head) :]


def tokenize_task(
    split: datasets.Dataset, task: Task, backbone: Backbone, *, task_id: int = 0, max_input_tokens: int = 128
) -> datasets.Dataset:
    """Tokenise a formatted split (``input_text``/``target_text``/``label`` columns) for one task."""
    if len(split) == 0:
        raise ValueError(f"the {task.name} split is empty; check the data source or the size caps of your profile")
    tokenizer = backbone.tokenizer
    causal = not backbone.is_seq2seq
    generation = task.kind == "generation"

    def encode(batch):
        # Causal LMs read the answer right after the cue, so no end-of-sequence token goes on the input.
        enc = tokenizer(batch["input_text"], add_special_tokens=not causal)["input_ids"]
        out = {"input_ids": [_truncate_middle(ids, max_input_tokens) for ids in enc]}
        if generation:
            targets = [(" " + t) if causal else t for t in batch["target_text"]]
            tgt = tokenizer(targets, add_special_tokens=False)["input_ids"]
            eos = tokenizer.eos_token_id
            out["target_ids"] = [[*t[: max_input_tokens - 1], eos] for t in tgt]
        return out

    keep = {"label", "score"} & set(split.column_names)
    tokenised = split.map(encode, batched=True, remove_columns=[c for c in split.column_names if c not in keep])
    if "label" not in tokenised.column_names:
        tokenised = tokenised.add_column("label", [-1] * len(tokenised))
    tokenised = tokenised.add_column("task_id", [task_id] * len(tokenised))
    return tokenised.add_column("example_id", list(range(len(tokenised))))


def build_multitask_dataset(parts: Sequence[datasets.Dataset]) -> datasets.Dataset:
    """Concatenate per-task tokenised splits (each with its own ``task_id``) and renumber ``example_id``."""
    if not parts:
        raise ValueError("no task data given; pass at least one tokenised split")
    # Columns only some tasks have (STS-B's float "score") cannot be concatenated; losses never read them.
    common = set.intersection(*(set(p.column_names) for p in parts))
    parts = [p.remove_columns([c for c in p.column_names if c not in common]) for p in parts]
    merged = datasets.concatenate_datasets(parts)
    return merged.remove_columns("example_id").add_column("example_id", list(range(len(merged))))


def k_shot(
    split: datasets.Dataset, k: int, *, seed: int, label_column: str = "label", at_most: bool = False
) -> datasets.Dataset:
    """k examples per class, drawn with ``seed`` and shuffled; errors if a class has fewer than k, unless
    ``at_most`` takes all of such a class's rows."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    labels = np.asarray(split[label_column])
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        if len(idx) < k and at_most:
            chosen.extend(rng.permutation(idx).tolist())
            continue
        if len(idx) < k:
            raise ValueError(
                f"class {int(cls)} has only {len(idx)} example(s) in this split but k={k} per class was asked; "
                f"lower k to at most {len(idx)} or load a larger training split"
            )
        chosen.extend(rng.choice(idx, size=k, replace=False).tolist())
    return split.select(rng.permutation(chosen).tolist())


def right_pad(sequences: Sequence[Sequence[int]], pad_value: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad token lists on the right to the longest: (ids (batch, width), mask (batch, width), 1 on real tokens)."""
    width = max((len(s) for s in sequences), default=0)
    ids = torch.full((len(sequences), width), pad_value, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, seq in enumerate(sequences):
        ids[i, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[i, : len(seq)] = 1
    return ids, mask


class PromptCollator:
    """Pads a list of tokenised rows into tensors, and adds each row's label-word token ids.

    ``candidates[task_id]`` are the first-token ids of that task's label words; rows of tasks with fewer classes
    get a False ``candidate_mask`` in the spare columns.
    """

    def __init__(self, pad_token_id: int, candidates: Sequence[Sequence[int]]) -> None:
        self.pad_token_id = pad_token_id
        self.candidates = [list(c) for c in candidates]
        self.max_classes = max((len(c) for c in self.candidates), default=0)

    @classmethod
    def for_tasks(cls, backbone: Backbone, tasks: Sequence[Task]) -> PromptCollator:
        """Collator whose task ids index ``tasks``."""
        causal = not backbone.is_seq2seq
        cands = [task_label_token_ids(backbone.tokenizer, t, causal=causal) if t.label_words else [] for t in tasks]
        return cls(backbone.tokenizer.pad_token_id, cands)

    def __call__(self, rows: Sequence[dict]) -> dict[str, torch.Tensor]:
        batch = len(rows)
        input_ids, attention_mask = right_pad([r["input_ids"] for r in rows], self.pad_token_id)
        task_ids = torch.tensor([r["task_id"] for r in rows], dtype=torch.long)
        if int(task_ids.max()) >= len(self.candidates):
            raise IndexError(
                f"a row has task_id {int(task_ids.max())} but the collator knows {len(self.candidates)} task(s); "
                "build it with PromptCollator.for_tasks over the same task list as the data"
            )
        candidate_ids = torch.zeros((batch, max(self.max_classes, 1)), dtype=torch.long)
        candidate_mask = torch.zeros_like(candidate_ids, dtype=torch.bool)
        for i, t in enumerate(task_ids.tolist()):
            c = self.candidates[t]
            candidate_ids[i, : len(c)] = torch.tensor(c, dtype=torch.long)
            candidate_mask[i, : len(c)] = True
        out = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "task_ids": task_ids,
            "labels": torch.tensor([r["label"] for r in rows], dtype=torch.long),
            "candidate_ids": candidate_ids,
            "candidate_mask": candidate_mask,
            "example_ids": torch.tensor([r["example_id"] for r in rows], dtype=torch.long),
        }
        if "target_ids" in rows[0]:
            out["target_ids"], _ = right_pad([r["target_ids"] for r in rows], -100)  # -100: ignored by the LM loss
        return out


class MultitaskBatchSampler(Sampler[list[int]]):
    """MPT's task sampling: each batch draws m from [2, κ], picks m tasks, and fills the batch from them.

    ``task_of_example[i]`` is the task id of row i. Each task cycles through its own reshuffled rows, so small tasks
    are revisited rather than drowned by big ones. With a single task every batch comes from it.
    """

    def __init__(
        self,
        task_of_example: Sequence[int],
        batch_size: int,
        *,
        max_tasks_per_batch: int = 2,
        num_batches: int,
        seed: int = 0,
    ) -> None:
        if batch_size < 1 or num_batches < 1:
            raise ValueError("batch_size and num_batches must be >= 1")
        task_of_example = np.asarray(task_of_example)
        self.tasks = np.unique(task_of_example)
        if max_tasks_per_batch < 1:
            raise ValueError(f"max_tasks_per_batch (κ) must be >= 1, got {max_tasks_per_batch}")
        self.rows = {int(t): np.flatnonzero(task_of_example == t) for t in self.tasks}
        self.batch_size = batch_size
        self.kappa = max_tasks_per_batch
        self.num_batches = num_batches
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        pools = {t: rng.permutation(rows) for t, rows in self.rows.items()}
        cursor = dict.fromkeys(pools, 0)
        n_tasks = len(self.tasks)
        for _ in range(self.num_batches):
            high = min(self.kappa, n_tasks, self.batch_size)
            low = min(2, high)
            k = int(rng.integers(low, high + 1))
            chosen = rng.choice(self.tasks, size=k, replace=False)
            shares = np.full(k, self.batch_size // k)
            shares[rng.choice(k, size=self.batch_size % k, replace=False)] += 1
            batch: list[int] = []
            for t, share in zip(chosen.tolist(), shares.tolist(), strict=True):
                for _ in range(share):
                    if cursor[t] == len(pools[t]):
                        pools[t], cursor[t] = rng.permutation(self.rows[t]), 0
                    batch.append(int(pools[t][cursor[t]]))
                    cursor[t] += 1
            yield batch


def multitask_loader(
    dataset: datasets.Dataset,
    collator: PromptCollator,
    *,
    batch_size: int,
    num_batches: int,
    max_tasks_per_batch: int = 2,
    seed: int = 0,
) -> DataLoader:
    """Training loader over a multitask dataset with MPT's per-batch task sampling."""
    sampler = MultitaskBatchSampler(
        dataset["task_id"], batch_size, max_tasks_per_batch=max_tasks_per_batch, num_batches=num_batches, seed=seed
    )
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collator)


def train_loader(
    dataset: datasets.Dataset, collator: PromptCollator, *, batch_size: int, num_batches: int, seed: int = 0
) -> DataLoader:
    """Single-task training loader: reshuffled passes over the data, ``num_batches`` batches in all."""
    return multitask_loader(
        dataset, collator, batch_size=batch_size, num_batches=num_batches, max_tasks_per_batch=1, seed=seed
    )


def eval_loader(dataset: datasets.Dataset, collator: PromptCollator, *, batch_size: int = 32) -> DataLoader:
    """Evaluation loader that groups rows of similar length (less padding); rows carry ``example_id`` for reordering."""
    order = np.argsort([len(ids) for ids in dataset["input_ids"]], kind="stable").tolist()
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return DataLoader(dataset, batch_sampler=batches, collate_fn=collator)
