"""Tasks from BIG-bench (Srivastava et al. 2022, arXiv 2206.04615) task files, read from a pinned copy.

BIG-bench's ``task.json`` files (Apache-2.0) are read from the copies kept in keirp/automatic_prompt_engineer
(``data/bigbench-ii/<task>/task.json``), pinned by commit and sha256 (``pinned.py``). The package ``bigbench`` is
never installed, built or imported.

Each reader keeps the rows whose ``target_scores`` name one clear answer, splits the input into its fields (so the
template, not BIG-bench's few-shot prefix, frames the task), drops duplicated inputs (and ones with conflicting
answers) so no text straddles splits, and maps the answers to natural label words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .base import Task
from .pinned import DataFileError, PinnedFile, fetch_file

__all__ = ["BIGBENCH_FILES", "BIGBENCH_TASKS", "RETIRED_TASKS", "bigbench_tasks", "retired_tasks"]

_REPO, _COMMIT = "keirp/automatic_prompt_engineer", "eac521c79a78965245ce7745dcc9f6b0792c7ec7"
_LICENCE = "Apache-2.0 (BIG-bench)"
_CITATION = "Srivastava et al. (2022) Beyond the Imitation Game (BIG-bench), arXiv 2206.04615, and the task's authors"


def _file(bigbench_name: str, sha256: str) -> PinnedFile:
    return PinnedFile(_REPO, _COMMIT, f"data/bigbench-ii/{bigbench_name}/task.json", sha256, _LICENCE, _CITATION)


@dataclass(frozen=True)
class _Spec:
    """How one BIG-bench task becomes rows: its file, the fields of its input, and its answers as label ids."""

    file: PinnedFile
    fields: tuple[str, ...]
    pattern: str | None  # splits the input into ``fields`` (None: the whole input is the one field)
    answers: tuple[str, ...]  # BIG-bench's answer strings, in label-id order
    what: str  # for the task's ``source`` text
    template: str
    label_words: tuple[str, ...]
    task_type: str


def _read_bigbench(spec: _Spec) -> Callable[[], pd.DataFrame]:
    def read() -> pd.DataFrame:
        path = fetch_file(spec.file)
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
    "presupposition_nli": _Spec(
        _file("presuppositions_as_nli", "d814e1bc156be09aaf40ba62560ec783762e56c7cfa47276e97c5dfa0e58b928"),
        ("premise", "hypothesis"), r"^Sentence 1:(.*)\nSentence 2:(.*)\n\nThe answer is: ?$",
        ("entailment", "neutral", "contradiction"),
        "presuppositions as NLI: does sentence 1 entail, contradict or say nothing of sentence 2 (CB-like, 3-way)",
        "Premise: {premise}\nHypothesis: {hypothesis}\nEntailment, neutral or contradiction?",
        ("entailment", "neutral", "contradiction"), "nli",
    ),
    "epistemic_nli": _Spec(
        _file("epistemic_reasoning", "98209623d1bf28ed6b99ec50b772b367f24467d190ceb9d1c0298e91c04548f1"),
        ("premise", "hypothesis"), r"^Premise: (.*) Hypothesis: (.*)$", ("non-entailment", "entailment"),
        "epistemic reasoning: entailment between sentences about who knows or believes what (RTE-like, 2-way)",
        "Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise entail the hypothesis?", ("no", "yes"), "nli",
    ),
    "winowhy": _Spec(
        _file("winowhy", "9e7bf7b31fa5027925cee141e17eb6b9253c37e6a11f007bfec72ee47a35521c"),
        ("text",), None, ("incorrect", "correct"),
        "WinoWhy (Zhang et al., ACL 2020): is the stated reason for a Winograd pronoun resolution correct",
        "{text}\nIs this reasoning correct?", ("no", "yes"), "commonsense",
    ),
    "implicatures": _Spec(
        _file("implicatures", "94cc36aa0da62b6abfc1e4f50a8e0b49902fa7a17b6d7e9db63cc30a25036e6b"),
        ("dialogue",), None, ("no", "yes"),
        "conversational implicatures: does speaker 2's indirect answer mean yes or no",
        "{dialogue}\nDoes speaker 2 mean yes or no?", ("no", "yes"), "yes_no_qa",
    ),
    "sports_plausibility": _Spec(
        _file("sports_understanding", "1240ad265efdc160c502eb6c5c6a005f50a45156675bfda97ad3d3fb297547bc"),
        ("statement",), None, ("implausible", "plausible"),
        "sports understanding: is a sentence about a named athlete plausible",
        "Statement: {statement}\nPlausible?", ("no", "yes"), "commonsense",
    ),
}

BIGBENCH_TASKS = tuple(_SPECS)
BIGBENCH_FILES = tuple(spec.file for spec in _SPECS.values())


def bigbench_tasks(pool_loader: Callable[[Callable[[], pd.DataFrame]], Callable]) -> list[Task]:
    """The BIG-bench tasks, their pools split by ``pool_loader`` (the offline suite's split rule)."""
    return [
        Task(
            name=name,
            template=spec.template + " Answer:",
            label_words=spec.label_words,
            metric="macro_f1" if len(spec.label_words) > 2 else "accuracy",
            task_type=spec.task_type,
            source=(
                f"BIG-bench task {spec.file.path.split('/')[-2]} ({spec.what}); rows without one clear answer and "
                "duplicated inputs dropped"
            ),
            licence=_LICENCE,
            citation=_CITATION,
            files=(spec.file,),
            loader=pool_loader(_read_bigbench(spec)),
        )
        for name, spec in _SPECS.items()
    ]


# Suite v2 read two more BIG-bench files that no pinned copy holds. Their tasks stay registered, without data, so the
# source stages trained on suite v2 (keyed by their templates and label words) still load; reading their rows fails.
RETIRED_TASKS = {
    "fact_verification": (
        "vitaminc_fact_verification", "Passage: {passage}\nClaim: {claim}\nTrue, false or neither? Answer:",
        ("true", "false", "neither"), "nli",
    ),
    "intent_recognition": (
        "intent_recognition", "Utterance: {utterance}\nWhat does the user want? Answer:",
        ("playlist", "restaurant", "weather", "music", "book", "search", "cinema"), "intent",
    ),
}


def _unavailable(name: str, bigbench_name: str) -> Callable[..., object]:
    def load(split_seed: int = 0) -> object:
        raise DataFileError(
            f"task {name!r} read BIG-bench's {bigbench_name}/task.json, which no pinned copy holds; it belongs to the "
            "retired offline suite v2: use a suite-v3 task (docs/tasks.md and list_tasks('offline') list them)"
        )

    return load


def retired_tasks() -> list[Task]:
    """Suite v2's BIG-bench tasks whose files cannot be had: templates and label words only."""
    return [
        Task(
            name=name, template=template, label_words=words, metric="macro_f1", task_type=task_type,
            source=f"BIG-bench task {bigbench_name} (no pinned copy: retired with suite v2)", licence=_LICENCE,
            package="bigbench==1.0.0",
            loader=_unavailable(name, bigbench_name),
        )
        for name, (bigbench_name, template, words, task_type) in RETIRED_TASKS.items()
    ]
