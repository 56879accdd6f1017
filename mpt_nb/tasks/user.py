"""Your own data as a task: ``task_from_dataset`` turns a Dataset, DatasetDict or CSV file into a registered
classification task that then works everywhere a built-in task does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd

from .base import _BUILTIN, SPLITS, MissingFieldError, Task, _template_fields, register_task
from .offline import _to_dataset
from .splits import _holdout, _labels, _split_pool, _validation_size


def _read_user_data(data: Any) -> tuple[datasets.DatasetDict, str]:
    if isinstance(data, datasets.DatasetDict):
        return data, "a user DatasetDict"
    if isinstance(data, datasets.Dataset):
        return datasets.DatasetDict({"all": data}), "a user Dataset"
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise FileNotFoundError(
                f"no CSV file at {path}; pass a path to a CSV file, a Dataset or a DatasetDict"
            )
        # keep_default_na=False: a text "NA" or "null" stays text instead of becoming a missing value.
        df = pd.read_csv(path, keep_default_na=False)
        return datasets.DatasetDict({"all": _to_dataset(df)}), f"user CSV {path.name}"
    raise TypeError(
        f"data must be a datasets.Dataset, a DatasetDict or a CSV path, got {type(data).__name__}"
    )


def _is_int_like(value: Any) -> bool:
    if isinstance(value, (bool, int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and float(value).is_integer()


def _label_mapping(
    values: list, label_words: Sequence[str], label_names: Sequence | None
) -> tuple[Callable[[Any], int | None], str]:
    """A function from raw label value to id (None when outside the verbaliser) and a description of the ids."""
    n = len(label_words)
    if label_names is not None:
        if len(label_names) != n:
            raise ValueError(
                f"{len(label_names)} label_names for {n} label words; give one name per label word"
            )
        index = {name: i for i, name in enumerate(label_names)}
        allowed = ", ".join(f"{name!r} -> {w!r}" for name, w in zip(label_names, label_words, strict=True))
        return (lambda v: index.get(v)), allowed
    if all(_is_int_like(v) for v in values):
        allowed = ", ".join(f"{i} -> {w!r}" for i, w in enumerate(label_words))
        return (lambda v: int(v) if 0 <= int(v) < n else None), allowed
    unique = sorted({str(v) for v in values})
    if len(unique) != n:
        raise ValueError(
            f"the labels take {len(unique)} distinct values {unique[:10]} but there are {n} label words; pass "
            "label_names=[...] (one raw label value per label word, in label-word order) to say which is which"
        )
    index = {name: i for i, name in enumerate(unique)}
    allowed = ", ".join(f"{name!r} -> {w!r}" for name, w in zip(unique, label_words, strict=True))
    return (lambda v: index.get(str(v))), allowed


def task_from_dataset(
    name: str,
    data: datasets.Dataset | datasets.DatasetDict | str | os.PathLike,
    *,
    text_fields: Sequence[str],
    label_field: str,
    label_words: Sequence[str],
    template: str | None = None,
    metric: str = "accuracy",
    task_type: str = "custom",
    label_names: Sequence | None = None,
    register: bool = True,
) -> Task:
    """Turn your own labelled data (Dataset, DatasetDict or CSV path) into a registered classification task.

    Labels are ids 0..C-1, or values mapped through ``label_names`` (``label_names[i]`` is label word i), or else
    strings mapped in sorted order. A single Dataset/CSV is split 80/10/10 by ``split_seed`` at load time; a
    DatasetDict with train/validation/test is used as is (a missing validation is carved from train; a missing test
    becomes the given validation, with a new validation carved from train, as for hub tasks).
    """
    if name in _BUILTIN:
        raise ValueError(f"{name!r} is a built-in task; give your task another name")
    if isinstance(text_fields, str):
        text_fields = [text_fields]
    text_fields = list(text_fields)
    if not text_fields:
        raise ValueError("text_fields is empty; name the column(s) holding the input text")
    if template is None:
        template = "\n".join(f"{f.capitalize()}: {{{f}}}" for f in text_fields) + "\nAnswer:"
    dd, where = _read_user_data(data)
    if len(dd) > 1 and ("train" not in dd or set(dd) - set(SPLITS)):
        raise ValueError(
            f"the DatasetDict has splits {list(dd)}; use 'train' plus optional 'validation'/'test' (or a single split)"
        )
    if sum(len(ds) for ds in dd.values()) == 0:
        raise ValueError(
            f"task {name!r}: the data ({where}) is empty; give at least a few labelled rows per class"
        )
    needed = list(dict.fromkeys([*text_fields, *_template_fields(template), label_field]))
    for split, ds in dd.items():
        if len(ds) == 0:
            raise ValueError(f"task {name!r}: split {split!r} is empty; drop it or give it rows")
        missing = [f for f in needed if f not in ds.column_names]
        if missing:
            raise MissingFieldError(
                f"task {name!r}: column(s) {missing} not found in {where} (split {split!r}); available columns: "
                f"{ds.column_names}"
            )
    # Build the Task first: it validates the label words and the metric before any data work.
    task = Task(
        name=name, template=template, label_words=tuple(label_words), metric=metric, task_type=task_type
    )
    all_values = [v for ds in dd.values() for v in ds[label_field]]
    to_id, allowed = _label_mapping(all_values, task.label_words, label_names)
    converted = {}
    for split, ds in dd.items():
        ids = [to_id(v) for v in ds[label_field]]
        bad = sorted({repr(v) for v, i in zip(ds[label_field], ids, strict=True) if i is None})
        if bad:
            raise ValueError(
                f"task {name!r}: label value(s) {', '.join(bad[:5])} in split {split!r} are outside the verbaliser; "
                f"allowed: {allowed}. Fix the data, or pass label_names to map your values onto the label words"
            )
        data_dict = ds.to_dict()
        data_dict["label"] = ids
        converted[split] = datasets.Dataset.from_dict(data_dict)

    def load(split_seed: int = 0) -> datasets.DatasetDict:
        if len(converted) == 1:  # one pool: split it 80/10/10
            return _split_pool(next(iter(converted.values())), split_seed)
        if "validation" in converted and "test" in converted:
            return datasets.DatasetDict({s: converted[s] for s in SPLITS})
        train = converted["train"]
        test = converted["test"] if "test" in converted else converted["validation"]
        labels = _labels(train)
        kept, held = _holdout(np.arange(len(train)), labels, _validation_size(len(train)), split_seed)
        return datasets.DatasetDict(
            {"train": train.select(kept), "validation": train.select(held), "test": test}
        )

    task = replace(task, source=where, licence="as provided by the user", loader=load)
    if register:
        register_task(task, overwrite=True)  # re-running a notebook cell redefines the task
    return task
