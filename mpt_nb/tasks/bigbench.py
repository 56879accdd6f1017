"""Offline tasks from BIG-bench 1.0.0 (Srivastava et al. 2022, arXiv 2206.04615): NLI, fact verification, yes/no
questions and commonsense judgements, so the offline suite has the paper's kinds of task, not only sentiment.

The data are the ``bigbench/benchmark_tasks/<task>/task.json`` files inside the ``bigbench==1.0.0`` source
distribution on PyPI (Apache-2.0). The package itself is never imported or built (it pulls TensorFlow and dozens of
other packages): ``fetch_bigbench`` downloads the sdist with pip and extracts only the files these tasks read into
``data_dir()`` (``$MPT_NB_DATA``, default ``~/.cache/mpt_nb``). ``make setup`` runs it; so can you:
``python -m mpt_nb fetch-data``.

Each reader keeps the rows whose ``target_scores`` name one clear answer, splits the input into its fields (so the
template, not BIG-bench's few-shot prefix, frames the task), drops duplicated inputs (and ones with conflicting
answers) so no text straddles splits, and maps the answers to natural label words.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .base import Task

__all__ = ["BIGBENCH_PIP_SPEC", "BIGBENCH_TASKS", "data_dir", "fetch_bigbench", "missing_bigbench_files"]

BIGBENCH_PIP_SPEC = "bigbench==1.0.0"
_SDIST_ROOT = "bigbench-1.0.0/bigbench/benchmark_tasks"
_FETCH_HINT = "run: python -m mpt_nb fetch-data (make setup does it; it downloads the 358 MB bigbench sdist once)"


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


def _read_bigbench(spec: _Spec) -> Callable[[], pd.DataFrame]:
    def read() -> pd.DataFrame:
        path = _task_file(spec.bigbench_name)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the BIG-bench tasks are not fetched yet; {_FETCH_HINT}")
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
    ),
    "presupposition_nli": _Spec(
        "presuppositions_as_nli", ("premise", "hypothesis"), r"^Sentence 1:(.*)\nSentence 2:(.*)\n\nThe answer is: ?$",
        ("entailment", "neutral", "contradiction"),
        "presuppositions as NLI: does sentence 1 entail, contradict or say nothing of sentence 2 (CB-like, 3-way)",
    ),
    "epistemic_nli": _Spec(
        "epistemic_reasoning", ("premise", "hypothesis"), r"^Premise: (.*) Hypothesis: (.*)$",
        ("non-entailment", "entailment"),
        "epistemic reasoning: entailment between sentences about who knows or believes what (RTE-like, 2-way)",
    ),
    "strategy_qa": _Spec(
        "strategyqa", ("question",), None, ("No", "Yes"),
        "StrategyQA (Geva et al., TACL 2021): yes/no questions that need implicit multi-step reasoning (BoolQ-like, "
        "without a passage)",
    ),
    "winowhy": _Spec(
        "winowhy", ("text",), None, ("incorrect", "correct"),
        "WinoWhy (Zhang et al., ACL 2020): is the stated reason for a Winograd pronoun resolution correct",
    ),
    "implicatures": _Spec(
        "implicatures", ("dialogue",), None, ("no", "yes"),
        "conversational implicatures: does speaker 2's indirect answer mean yes or no",
    ),
    "sports_plausibility": _Spec(
        "sports_understanding", ("statement",), None, ("implausible", "plausible"),
        "sports understanding: is a sentence about a named athlete plausible",
    ),
    "metaphor_paraphrase": _Spec(
        "metaphor_boolean", ("sentence", "paraphrase"), r"^(.*) <--> (.*)$", ("False", "True"),
        "metaphor paraphrase: is the second sentence a correct paraphrase of the metaphoric first one",
    ),
    "intent_recognition": _Spec(
        "intent_recognition", ("utterance",), r"^Utterance: (.*)$",
        ("add_to_playlist", "book_restaurant", "get_weather", "play_music", "rate_book", "search_creative_work",
         "search_screening_event"),
        "intent recognition: which of 7 voice-assistant intents an utterance expresses (SNIPS, Coucke et al. 2018)",
    ),
    "social_support": _Spec(
        "social_support", ("reply",), None, ("unsupportive", "neutral", "supportive"),
        "social support: is a forum reply unsupportive, neutral or supportive (3-way, mostly neutral)",
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
                    f"BIG-bench task {spec.bigbench_name} ({spec.what}), read from "
                    f"bigbench/benchmark_tasks/{spec.bigbench_name}/task.json in the {BIGBENCH_PIP_SPEC} sdist; "
                    "rows without one clear answer and duplicated inputs dropped"
                ),
                licence=_LICENCE,
                loader=pool_loader(_read_bigbench(spec)),
            )
        )
    return tasks


def missing_bigbench_files(root: Path | None = None) -> list[Path]:
    """The task files ``fetch_bigbench`` would still have to bring."""
    return [p for s in _SPECS.values() if not (p := _task_file(s.bigbench_name, root)).is_file()]


def fetch_bigbench(root: Path | None = None, *, quiet: bool = False) -> Path:
    """Download the bigbench sdist with pip (once) and extract the task files these tasks read; returns the folder.

    Files already present are kept, so a second call costs nothing. Each file is written under a temporary name
    and renamed, so an interrupted fetch leaves nothing half-written.
    """
    root = root or data_dir()
    target = root / "bigbench-1.0.0"
    if not missing_bigbench_files(root):
        return target
    wanted = {f"{_SDIST_ROOT}/{s.bigbench_name}/task.json": s.bigbench_name for s in _SPECS.values()}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", tmp, BIGBENCH_PIP_SPEC]
        done = subprocess.run(cmd, capture_output=quiet, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"pip could not download {BIGBENCH_PIP_SPEC} (exit {done.returncode}); it needs PyPI once. "
                f"{(done.stderr or '').strip()[-300:]}"
            )
        (sdist,) = Path(tmp).glob("bigbench-*.tar.gz")
        found = set()
        with tarfile.open(sdist, "r:gz") as tar:
            for member in tar:
                name = wanted.get(member.name)
                if name is None or not member.isfile():
                    continue
                dest = target / name / "task.json"
                dest.parent.mkdir(parents=True, exist_ok=True)
                partial = dest.with_suffix(".json.partial")
                with tar.extractfile(member) as src:
                    partial.write_bytes(src.read())
                partial.replace(dest)
                found.add(name)
        lost = sorted(set(wanted.values()) - found)
        if lost:
            raise FileNotFoundError(f"{sdist.name} has no task.json for {lost}; is {BIGBENCH_PIP_SPEC} the right sdist?")
    return target
