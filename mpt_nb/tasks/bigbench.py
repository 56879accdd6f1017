"""Offline tasks from BIG-bench 1.0.0 (Srivastava et al. 2022, arXiv 2206.04615): NLI, fact verification, yes/no
questions and commonsense judgements, so the offline suite has the paper's kinds of task, not only sentiment.

The data are the ``bigbench/benchmark_tasks/<task>/task.json`` files of BIG-bench (Apache-2.0), as in the
``bigbench==1.0.0`` source distribution the offline suite v2 was built from. The package itself is never imported or
built (it pulls TensorFlow and dozens of other packages): ``fetch_bigbench`` copies only the files these tasks read
into ``data_dir()`` (``$MPT_NB_DATA``, default ``~/.cache/mpt_nb``), from one of three places
(``python -m mpt_nb fetch-data --from ...``; ``make setup`` tries the first, or the path in ``BIGBENCH_FROM``):

- ``pypi``: the sdist, downloaded with pip (358 MB). Since 2026-12-06 the package index these machines reach lists only
  ``bigbench`` 0.0.1, so this fails here with a message naming the other two.
- ``github``: the ten task files from the BIG-bench repository's main branch (tens of MB, not the 358 MB sdist; needs
  the internet: Colab's set-up uses it). The branch is not pinned, so the check below is what keeps it honest.
- a path: a ``bigbench-1.0.0.tar.gz``, a ``.tar.gz`` or ``.zip`` archive of the BIG-bench repository, or a folder (a
  clone, its ``benchmark_tasks/``, or a folder of ``<task>/task.json``) -- how a classroom without network gets them.

Whatever the source, the files are checked against the ones the suite was built from before they are put in place
(``check_bigbench_files``: each pool's row count, and the test split's labels, in order, of the two BIG-bench targets),
so files from another BIG-bench version cannot silently change the grid's splits.

Each reader keeps the rows whose ``target_scores`` name one clear answer, splits the input into its fields (so the
template, not BIG-bench's few-shot prefix, frames the task), drops duplicated inputs (and ones with conflicting
answers) so no text straddles splits, and maps the answers to natural label words.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from .base import Task

__all__ = [
    "BIGBENCH_PIP_SPEC",
    "BIGBENCH_TASKS",
    "FETCH_COMMAND",
    "FETCH_HINT",
    "check_bigbench_files",
    "data_dir",
    "fetch_bigbench",
    "missing_bigbench_files",
    "unfetched_tasks",
]

BIGBENCH_PIP_SPEC = "bigbench==1.0.0"
# Where a task's file sits inside the sdist, a clone or an archive of the BIG-bench repository.
_TASKS_FOLDER = "benchmark_tasks"
_GITHUB_RAW = "https://raw.githubusercontent.com/google/BIG-bench/main/bigbench/benchmark_tasks/{name}/task.json"
FETCH_COMMAND = "python -m mpt_nb fetch-data [--from github | --from PATH]"  # the short form, for one-line notices
_OTHER_SOURCES = (
    "--from github (needs the internet) or --from PATH (a bigbench sdist, an archive or clone of "
    "github.com/google/BIG-bench, or a folder of <task>/task.json)"
)
FETCH_HINT = (
    f"run: python -m mpt_nb fetch-data (make setup tries it); where the package index does not serve "
    f"{BIGBENCH_PIP_SPEC}, add {_OTHER_SOURCES}"
)


def data_dir() -> Path:
    """Where fetched data live: ``$MPT_NB_DATA``, else ``~/.cache/mpt_nb``."""
    return Path(os.environ.get("MPT_NB_DATA") or Path.home() / ".cache" / "mpt_nb")


def _task_file(bigbench_name: str, root: Path | None = None) -> Path:
    return (root or data_dir()) / "bigbench-1.0.0" / bigbench_name / "task.json"


@dataclass(frozen=True)
class _Spec:
    """How one BIG-bench task becomes rows: the fields of its input, and its answers as label ids."""

    bigbench_name: str
    fields: tuple[str, ...]
    pattern: str | None  # splits the input into ``fields`` (None: the whole input is the one field)
    answers: tuple[str, ...]  # BIG-bench's answer strings, in label-id order
    what: str  # for the task's ``source`` text
    rows: int  # the pool's rows after the reader, in the files the suite was built from (results/screening.md)


def _read_bigbench(spec: _Spec, root: Path | None = None) -> Callable[[], pd.DataFrame]:
    def read() -> pd.DataFrame:
        path = _task_file(spec.bigbench_name, root)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the BIG-bench tasks are not fetched yet; {FETCH_HINT}")
        examples = json.loads(path.read_text(encoding="utf-8"))["examples"]
        pattern = re.compile(spec.pattern, re.S) if spec.pattern else None
        rows = []
        for n, ex in enumerate(examples):
            scores = ex["target_scores"]
            best = max(scores, key=scores.get)
            if sorted(scores) != sorted(spec.answers) or sum(v == scores[best] for v in scores.values()) != 1:
                continue  # not one clear answer among the expected options
            text = ex["input"].replace("\ufffd", " ")  # BIG-bench kept U+FFFD where the source had a no-break space
            if pattern is None:
                values = (text,)
            else:
                m = pattern.match(text)
                if not m:
                    raise ValueError(f"{path}: example {n} does not read as {spec.fields}: {text[:80]!r}")
                values = m.groups()
            row = {f: " ".join(v.split()) for f, v in zip(spec.fields, values, strict=True)}
            rows.append({"id": str(n), **row, "answer": best, "label": spec.answers.index(best)})
        if not rows:
            raise ValueError(f"{path} holds no examples with one of the answers {spec.answers}")
        df = pd.DataFrame(rows)
        key = df[list(spec.fields)].agg("\n".join, axis=1)
        conflicting = df.groupby(key)["label"].transform("nunique") > 1
        return df[~conflicting.to_numpy()].loc[lambda d: ~key[d.index].duplicated()].reset_index(drop=True)

    return read


_SPECS = {
    "fact_verification": _Spec(
        "vitaminc_fact_verification", ("passage", "claim"), r"^(.*)\nClaim: (.*)$", ("True", "False", "Neither"),
        "VitaminC contrastive fact verification (Schuster, Fisch & Barzilay, NAACL 2021): does a Wikipedia passage "
        "support the claim, refute it, or neither",
        54_668,
    ),
    "presupposition_nli": _Spec(
        "presuppositions_as_nli", ("premise", "hypothesis"), r"^Sentence 1:(.*)\nSentence 2:(.*)\n\nThe answer is: ?$",
        ("entailment", "neutral", "contradiction"),
        "presuppositions as NLI: does sentence 1 entail, contradict or say nothing of sentence 2 (CB-like, 3-way)",
        732,
    ),
    "epistemic_nli": _Spec(
        "epistemic_reasoning", ("premise", "hypothesis"), r"^Premise: (.*) Hypothesis: (.*)$",
        ("non-entailment", "entailment"),
        "epistemic reasoning: entailment between sentences about who knows or believes what (RTE-like, 2-way)",
        2_000,
    ),
    "strategy_qa": _Spec(
        "strategyqa", ("question",), None, ("No", "Yes"),
        "StrategyQA (Geva et al., TACL 2021): yes/no questions that need implicit multi-step reasoning (BoolQ-like, "
        "without a passage)",
        2_289,
    ),
    "winowhy": _Spec(
        "winowhy", ("text",), None, ("incorrect", "correct"),
        "WinoWhy (Zhang et al., ACL 2020): is the stated reason for a Winograd pronoun resolution correct",
        2_856,
    ),
    "implicatures": _Spec(
        "implicatures", ("dialogue",), None, ("no", "yes"),
        "conversational implicatures: does speaker 2's indirect answer mean yes or no",
        492,
    ),
    "sports_plausibility": _Spec(
        "sports_understanding", ("statement",), None, ("implausible", "plausible"),
        "sports understanding: is a sentence about a named athlete plausible",
        986,
    ),
    "metaphor_paraphrase": _Spec(
        "metaphor_boolean", ("sentence", "paraphrase"), r"^(.*) <--> (.*)$", ("False", "True"),
        "metaphor paraphrase: is the second sentence a correct paraphrase of the metaphoric first one",
        680,
    ),
    "intent_recognition": _Spec(
        "intent_recognition", ("utterance",), r"^Utterance: (.*)$",
        ("add_to_playlist", "book_restaurant", "get_weather", "play_music", "rate_book", "search_creative_work",
         "search_screening_event"),
        "intent recognition: which of 7 voice-assistant intents an utterance expresses (SNIPS, Coucke et al. 2018)",
        693,
    ),
    "social_support": _Spec(
        "social_support", ("reply",), None, ("unsupportive", "neutral", "supportive"),
        "social support: is a forum reply unsupportive, neutral or supportive (3-way, mostly neutral)",
        895,
    ),
}

_TEMPLATES = {
    "fact_verification": ("Passage: {passage}\nClaim: {claim}\nTrue, false or neither?", ("true", "false", "neither")),
    "presupposition_nli": (
        "Premise: {premise}\nHypothesis: {hypothesis}\nEntailment, neutral or contradiction?",
        ("entailment", "neutral", "contradiction"),
    ),
    "epistemic_nli": (
        "Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise entail the hypothesis?",
        ("no", "yes"),
    ),
    "strategy_qa": ("Question: {question}\nYes or no?", ("no", "yes")),
    "winowhy": ("{text}\nIs this reasoning correct?", ("no", "yes")),
    "implicatures": ("{dialogue}\nDoes speaker 2 mean yes or no?", ("no", "yes")),
    "sports_plausibility": ("Statement: {statement}\nPlausible?", ("no", "yes")),
    "metaphor_paraphrase": ("Sentence: {sentence}\nParaphrase: {paraphrase}\nIs the paraphrase correct?", ("no", "yes")),
    # One word per intent, in the answers' order (rate_book is "book", search_screening_event "cinema"), first letters
    # distinct so byte tokenizers tell them apart too.
    "intent_recognition": (
        "Utterance: {utterance}\nWhat does the user want?",
        ("playlist", "restaurant", "weather", "music", "book", "search", "cinema"),
    ),
    "social_support": (
        "Reply: {reply}\nIs the reply unsupportive, neutral or supportive?",
        ("unsupportive", "neutral", "supportive"),
    ),
}

_TASK_TYPES = {
    "fact_verification": "nli",
    "presupposition_nli": "nli",
    "epistemic_nli": "nli",
    "strategy_qa": "yes_no_qa",
    "winowhy": "commonsense",
    "implicatures": "yes_no_qa",
    "sports_plausibility": "commonsense",
    "metaphor_paraphrase": "paraphrase",
    "intent_recognition": "intent",
    "social_support": "social_support",
}

_LICENCE = (
    "bigbench 1.0.0 package: Apache-2.0. Cite BIG-bench (Srivastava et al., 2022, arXiv 2206.04615) and the task's "
    "original authors (its README in the BIG-bench repository)"
)

BIGBENCH_TASKS = tuple(_SPECS)


def bigbench_tasks(pool_loader: Callable[[Callable[[], pd.DataFrame]], Callable]) -> list[Task]:
    """The BIG-bench tasks, their pools split by ``pool_loader`` (the offline suite's split rule)."""
    tasks = []
    for name, spec in _SPECS.items():
        template, words = _TEMPLATES[name]
        tasks.append(
            Task(
                name=name,
                template=template + " Answer:",
                label_words=words,
                metric="macro_f1" if len(words) > 2 else "accuracy",
                task_type=_TASK_TYPES[name],
                source=(
                    f"BIG-bench task {spec.bigbench_name} ({spec.what}), read from BIG-bench 1.0.0's "
                    f"bigbench/benchmark_tasks/{spec.bigbench_name}/task.json; "
                    "rows without one clear answer and duplicated inputs dropped"
                ),
                licence=_LICENCE,
                loader=pool_loader(_read_bigbench(spec)),
            )
        )
    return tasks


def unfetched_tasks(names: Iterable[str], root: Path | None = None) -> list[str]:
    """The tasks among ``names`` that read a BIG-bench file this machine does not have (``fetch_bigbench`` brings
    it); the others can be loaded."""
    return [n for n in names if n in _SPECS and not _task_file(_SPECS[n].bigbench_name, root).is_file()]


def missing_bigbench_files(root: Path | None = None) -> list[Path]:
    """The task files ``fetch_bigbench`` would still have to bring (``root``: default ``data_dir()``)."""
    return [p for s in _SPECS.values() if not (p := _task_file(s.bigbench_name, root)).is_file()]


# The test split's labels, in order, of the suite's two BIG-bench targets as the grid scored them: sha256 of the
# comma-joined label ids (from results/grid_offline_v2_lr_search.jsonl, whose test rows came from the 1.0.0 sdist).
_TEST_LABELS_SHA256 = {
    "intent_recognition": "615dc108b281239fc11bf548037b5757df7af928e43240e1028b93fe8a9e230a",
    "presupposition_nli": "6b12dea0d6a166e31425c96156a119a5041a28cbcff2322383af43a4ef68a0b0",
}


def _labels_sha256(labels: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, labels)).encode()).hexdigest()


def check_bigbench_files(root: Path | None = None) -> list[str]:
    """What differs between the task files under ``root`` and those the offline suite was built from: each present
    file's pool size after the reader and, for the BIG-bench targets, the test split's labels in order. Empty: they
    match (a missing file is ``missing_bigbench_files``'s business, not a difference)."""
    return list(_file_problems(root).values())


def _file_problems(root: Path | None = None) -> dict[str, str]:
    """{BIG-bench task name: what differs} for the present files that differ from the suite's (see
    ``check_bigbench_files``)."""
    from .offline import _pool_loader  # the suite's split rule (offline.py imports this module)
    from .splits import load_task_splits

    problems = {}
    tasks = {t.name: t for t in bigbench_tasks(_pool_loader)}
    for name, spec in _SPECS.items():
        path = _task_file(spec.bigbench_name, root)
        if not path.is_file():
            continue
        try:
            rows = len(_read_bigbench(spec, root)())
        except (ValueError, KeyError, TypeError, AttributeError) as err:  # not JSON, or not a task's structure
            problems[spec.bigbench_name] = (
                f"{spec.bigbench_name}: does not read as BIG-bench's task ({str(err).replace(str(path), 'its task.json')})"
            )
            continue
        if rows != spec.rows:
            problems[spec.bigbench_name] = (
                f"{spec.bigbench_name}: {rows:,} rows after cleaning where the suite's files gave {spec.rows:,}"
            )
        elif name in _TEST_LABELS_SHA256:
            task = replace(tasks[name], loader=_pool_loader(_read_bigbench(spec, root)))
            if _labels_sha256(load_task_splits(task)["test"]["label"]) != _TEST_LABELS_SHA256[name]:
                problems[spec.bigbench_name] = (
                    f"{spec.bigbench_name}: its test split's labels differ from the ones the grid scored"
                )
    return problems


def _pip_sdist(folder: Path) -> Path:
    """The bigbench sdist downloaded with pip into ``folder``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--retries", "1", "--timeout", "30",
           "-d", str(folder), BIGBENCH_PIP_SPEC]  # one quick try: setup asks on every call while the files are missing
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr or "").strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"pip could not download {BIGBENCH_PIP_SPEC} (exit {done.returncode}: {last[0][:200]})")
    found = sorted(folder.glob("bigbench-*.tar.gz"))
    if len(found) != 1:
        raise RuntimeError(f"pip downloaded {[p.name for p in folder.iterdir()]} for {BIGBENCH_PIP_SPEC}, not one sdist")
    return found[0]


def _member_task(member: str) -> str | None:
    """The task whose task.json an archive member or relative path is, else None: ``<task>/task.json`` at the top,
    under one folder (``tasks/<task>/task.json``), under ``benchmark_tasks/`` (an sdist, a repository archive) or
    under ``bigbench-1.0.0/`` (a copy of ``data_dir()``). Deeper paths are subtasks, never the task's own file."""
    parts = [p for p in member.replace("\\", "/").split("/") if p not in ("", ".")]
    if len(parts) < 2 or parts[-1] != "task.json":
        return None
    if len(parts) <= 3 or parts[-3] in (_TASKS_FOLDER, "bigbench-1.0.0"):
        return parts[-2]
    return None


def _stage_from_archive(archive: Path, staged: Path, wanted: set[str]) -> None:
    """Copy the wanted tasks' files out of a .tar.gz (sdist or repository archive) or .zip."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    if not info.is_dir() and (name := _member_task(info.filename)) in wanted:
                        _write(staged, name, zf.read(info))
            return
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.isfile() and (name := _member_task(member.name)) in wanted:
                    with tar.extractfile(member) as src:
                        _write(staged, name, src.read())
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as err:  # not an archive, or a damaged one
        raise ValueError(f"{archive} is not a readable .tar.gz or .zip archive ({err})") from err


def _stage_from_folder(folder: Path, staged: Path, wanted: set[str]) -> None:
    """Copy the wanted tasks' files out of a BIG-bench clone, its benchmark_tasks/, a copy of ``data_dir()``, or a
    folder of <task>/task.json."""
    for base in (folder / "bigbench" / _TASKS_FOLDER, folder / _TASKS_FOLDER, folder / "bigbench-1.0.0", folder):
        for name in wanted:
            path = base / name / "task.json"
            if path.is_file() and not (staged / name / "task.json").exists():
                _write(staged, name, path.read_bytes())


def _stage_from_github(staged: Path, wanted: set[str]) -> None:
    """Download the wanted tasks' files from the BIG-bench repository (needs the internet)."""
    for name in sorted(wanted):
        url = _GITHUB_RAW.format(name=name)
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                _write(staged, name, response.read())
        except (urllib.error.URLError, TimeoutError) as err:
            raise OSError(f"could not download {url} ({getattr(err, 'reason', err)}); --from github needs the internet") from err


def _write(staged: Path, name: str, data: bytes) -> None:
    dest = staged / name / "task.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def fetch_bigbench(root: Path | None = None, *, source: str = "pypi") -> Path:
    """Put the task files these tasks read under ``root`` (default ``data_dir()``); returns their folder.

    ``source`` is ``"pypi"`` (the sdist, with pip), ``"github"`` (the repository's files, over the internet) or a path
    (an sdist or repository archive, or a folder: see the module's docstring). Files already present are kept, so a
    second call costs nothing. The files are staged beside the destination and checked (``check_bigbench_files``)
    before any is renamed into place: only those that match the suite's are kept, so nothing half-written or
    different is ever left. Raises ``ValueError`` naming each refused file and what differs, and ``FileNotFoundError``
    naming the tasks still missing when the source lacks some (the others are in place either way).
    """
    root = root or data_dir()
    target = root / "bigbench-1.0.0"
    missing = {p.parent.name for p in missing_bigbench_files(root)}
    if not missing:
        return target
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".fetching-") as tmp:
        staged = Path(tmp) / "bigbench-1.0.0"
        staged.mkdir()
        if source == "pypi":
            try:
                _stage_from_archive(_pip_sdist(Path(tmp)), staged, missing)
            except RuntimeError as err:
                raise RuntimeError(f"{err}; fetch the files with {_OTHER_SOURCES}") from err
        elif source == "github":
            _stage_from_github(staged, missing)
        else:
            path = Path(source).expanduser()
            if path.is_dir():
                _stage_from_folder(path, staged, missing)
            elif path.is_file():
                _stage_from_archive(path, staged, missing)
            else:
                raise FileNotFoundError(
                    f"--from {source}: no such file or folder; give pypi, github, or the path of a bigbench sdist, a "
                    "BIG-bench archive or clone, or a folder of <task>/task.json"
                )
        problems = _file_problems(Path(tmp))
        kept = 0
        for task_file in sorted(staged.glob("*/task.json")):
            if task_file.parent.name in problems:
                continue
            dest = target / task_file.parent.name / "task.json"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(task_file, dest)  # the same filesystem: a rename
            kept += 1
    if problems:
        raise ValueError(
            f"refused {len(problems)} BIG-bench file(s) from {source}, not written: " + "; ".join(problems.values())
            + ". The suite was built from bigbench 1.0.0; get that version's files"
            + (f" ({kept} that match are in {target})" if kept else "")
        )
    still = sorted(p.parent.name for p in missing_bigbench_files(root))
    if still:
        raise FileNotFoundError(
            f"{source} holds no task.json for {still}" + (f" ({kept} placed in {target})" if kept else " (none placed)")
            + f"; bring them with {_OTHER_SOURCES}"
        )
    return target
