"""Splitting: seeded, stratified train/validation/test partitions and hold-outs, stratified nested caps, and
``load_task_splits``, which turns any task's raw splits into capped, formatted ``input_text``/``target_text`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import numpy as np
import pyarrow as pa
from sklearn.model_selection import train_test_split

from .base import SPLITS, Task, _all_answers, get_task


def _stratify_or_none(labels: np.ndarray | None, n_test: int) -> np.ndarray | None:
    # sklearn stratifies only if every class has >= 2 rows and the held-out part can hold every class.
    if labels is None:
        return None
    _, counts = np.unique(labels, return_counts=True)
    if len(counts) < 2 or counts.min() < 2 or min(n_test, len(labels) - n_test) < len(counts):
        return None
    return labels


def _holdout(
    idx: np.ndarray, labels: np.ndarray | None, n_out: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` into (kept, held out) with ``n_out`` rows held out, stratified by label when possible."""
    strat = _stratify_or_none(None if labels is None else labels[idx], n_out)
    kept, out = train_test_split(idx, test_size=n_out, random_state=seed, stratify=strat)
    return np.sort(kept), np.sort(out)


def _partition(
    labels: np.ndarray | None, n: int, seed: int, *, min_test: int | None = None
) -> dict[str, np.ndarray]:
    """Seeded train/validation/test row indices of one pool, stratified by label when possible.

    Validation and test get 10% each; ``min_test`` raises the test share to that many rows where the pool allows,
    but never past half of it (a 300-row test set at 85% accuracy has a standard error of 2 points).
    """
    if n < 3:
        raise ValueError(f"need at least 3 rows to split into train/validation/test, got {n}")
    n_test = max(1, round(0.1 * n))
    if min_test is not None:
        n_test = max(n_test, min(min_test, n // 2))
    n_val = max(1, round(0.1 * n))
    rest, test = _holdout(np.arange(n), labels, n_test, seed)
    train, val = _holdout(rest, labels, n_val, seed)
    return {"train": train, "validation": val, "test": test}


def _split_pool(pool: datasets.Dataset, split_seed: int, *, min_test: int | None = None) -> datasets.DatasetDict:
    """One pool of rows split train/validation/test (10% each, test at least ``min_test`` rows where the pool
    allows), stratified, by ``split_seed``."""
    parts = _partition(_labels(pool), len(pool), split_seed, min_test=min_test)
    return datasets.DatasetDict({s: pool.select(idx) for s, idx in parts.items()})


def _validation_size(n_train: int) -> int:
    # The paper's recipe: 1,000 held-out training rows, or 10% for small training sets.
    return 1000 if n_train >= 10_000 else max(1, round(0.1 * n_train))


def _stratified_order(labels: np.ndarray | None, n: int, seed: Sequence[int]) -> np.ndarray:
    """A seeded shuffle in which every prefix keeps the class proportions (so caps are stratified and nested).

    Within each class, the k-th shuffled row gets the key (k + 0.5) / n_class; sorting by that key interleaves the
    classes in proportion. Ties keep the shuffled order.
    """
    perm = np.random.default_rng(list(seed)).permutation(n)
    if labels is None or n == 0:
        return perm
    shuffled = np.asarray(labels)[perm]
    key = np.empty(n, dtype=np.float64)
    for cls in np.unique(shuffled):
        pos = np.flatnonzero(shuffled == cls)
        key[pos] = (np.arange(len(pos)) + 0.5) / len(pos)
    return perm[np.argsort(key, kind="stable")]


def _check_cap(name: str, cap: int | None) -> None:
    if cap is not None and (not isinstance(cap, (int, np.integer)) or isinstance(cap, bool) or cap < 1):
        raise ValueError(f"{name} must be None (no cap) or a positive int, got {cap!r}")


def _rows(ds: datasets.Dataset) -> pa.Table:
    # One vectorised read of the split's rows (honouring any select()); per-row Python access is ~10x slower.
    return ds.with_format("arrow")[:]


def _labels(ds: datasets.Dataset) -> np.ndarray:
    return _rows(ds.select_columns(["label"])).column("label").to_numpy()


def _finish(data: dict[str, list], features: datasets.Features, task: Task) -> datasets.Dataset:
    """Add ``input_text``/``target_text`` (and ``references`` for generation), with ``label`` as plain int64."""
    columns = list(data)
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*data.values(), strict=True)]
    features = features.copy()
    if task.kind == "generation":
        data["label"] = [-1] * len(rows)
        # Every gold answer, so SQuAD-style scoring can take the best match, not just target_text's first.
        data["references"] = [_all_answers(r) for r in rows]
        features["references"] = datasets.Sequence(datasets.Value("string"))
    # Plain ints, not per-task ClassLabels, so splits of different tasks concatenate into one multitask dataset.
    features["label"] = datasets.Value("int64")
    data["input_text"] = [task.format(r) for r in rows]
    data["target_text"] = [task.target(r) for r in rows]
    features["input_text"] = datasets.Value("string")
    features["target_text"] = datasets.Value("string")
    if "score" in data:
        features["score"] = datasets.Value("float64")
    return datasets.Dataset.from_dict(data, features=features)


def _fresh_test(raw: datasets.DatasetDict, task: Task, seed: int) -> datasets.DatasetDict:
    """The test split drawn from ``raw``'s training rows (``load_task_splits``' ``fresh_test_from``)."""
    train, test = raw["train"], raw["test"]
    size = min(len(test), len(train) // 2)
    if size < 1:
        raise ValueError(f"task {task.name!r}: {len(train)} training row(s) cannot give a fresh test split")
    labels = np.asarray(train["label"]) if task.kind == "classification" else None
    kept, drawn = _holdout(np.arange(len(train)), labels, size, seed)
    rest = datasets.concatenate_datasets([train.select(kept), test.cast(train.features)])
    return datasets.DatasetDict({"train": rest, "validation": raw["validation"], "test": train.select(drawn)})


def load_task_splits(
    task: Task | str,
    *,
    split_seed: int = 0,
    max_train: int | None = None,
    max_eval: int | None = None,
    fresh_test_from: int | None = None,
) -> datasets.DatasetDict:
    """Train/validation/test of a task with ``input_text``, ``target_text`` and int ``label`` columns.

    Deterministic given ``split_seed``. Each split is shuffled with the seed so that every prefix keeps the class
    proportions, then capped to its first ``max_train`` (train) or ``max_eval`` (validation, test) rows; the test
    partition never depends on ``max_train``, so runs with different training budgets score the same test rows.

    ``fresh_test_from`` (a split seed) draws the test split from that seed's *training* rows only: runs that read
    that seed's validation or test rows never scored them. The loader splits with ``fresh_test_from``; as many rows
    as its test split holds, but at most half its training rows, are drawn, stratified, from its training split with
    ``split_seed`` and become the test split; its validation split stays; the old test rows join the remaining
    training rows.
    """
    task = get_task(task)
    _check_cap("max_train", max_train)
    _check_cap("max_eval", max_eval)
    if task.loader is None:
        raise ValueError(
            f"task {task.name!r} has no loader; build it with task_from_dataset or give Task a loader"
        )
    raw = task.loader(split_seed=split_seed if fresh_test_from is None else fresh_test_from)
    missing = [s for s in SPLITS if s not in raw]
    if missing:
        raise ValueError(
            f"the loader of task {task.name!r} returned splits {list(raw)}; it must return {list(SPLITS)}"
        )
    if fresh_test_from is not None:
        raw = _fresh_test(raw, task, split_seed)
    out = {}
    for i, split in enumerate(SPLITS):
        ds = raw[split]
        table = _rows(ds)
        labels = None
        if task.kind == "classification":
            labels = table.column("label").to_numpy()
            bad = labels[(labels < 0) | (labels >= task.num_classes)]
            if len(bad):
                raise ValueError(
                    f"task {task.name!r}, split {split!r}: label ids {sorted(set(bad.tolist()))[:5]} are outside "
                    f"0..{task.num_classes - 1} ({', '.join(task.label_words)}); fix the loader's label mapping"
                )
        order = _stratified_order(labels, len(ds), (split_seed, i))
        cap = max_train if split == "train" else max_eval
        if cap is not None:
            order = order[:cap]
        out[split] = _finish(table.take(order).to_pydict(), ds.features, task)
    return datasets.DatasetDict(out)
