"""Inference tasks from pinned GitHub files: SICK (3-way NLI), CREAK (claims about entities, true or false, alone or
with their explanation as evidence) and FEVER-Symmetric (a claim and one Wikipedia sentence: supports or refutes).

FEVER-Symmetric pairs each claim with a supporting and a refuting sentence, so its pool is split by claim: no claim
straddles splits, and the claim alone says nothing of the label. CREAK's explanations often state the answer through
a negation ("... is not ..."), so ``negation_rule`` gives the score of a rule that reads only negation words, to be
reported beside any prompt trained on claims with explanations.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable

import datasets
import numpy as np
import pandas as pd

from .base import Task
from .pinned import PinnedFile, fetch_file
from .splits import _partition

__all__ = ["CREAK_FILES", "FEVER_FILES", "SICK_FILES", "inference_tasks", "negation_rule"]

SICK_FILES = (
    PinnedFile(
        "praguna/sick_dataset", "a35d440f028175a4c774a19e9d6ef02c3a6f9e06", "SICK.txt",
        "3de6211d6cee83b1b444c1205da36bd18e6cabf5b4debfc24995b1510b796878",
        "CC-BY-NC-SA-3.0 (non-commercial)",
        "Marelli et al. (2014) A SICK cure for the evaluation of compositional distributional semantic models, LREC",
    ),
)
_CREAK_REPO, _CREAK_COMMIT = "yasumasaonoe/creak", "5e892b28b6dad3e87769cfc01f00a6577ca44068"
_CREAK_CITATION = "Onoe et al. (2021) CREAK: A Dataset for Commonsense Reasoning over Entity Knowledge, NeurIPS D&B"
CREAK_FILES = (
    PinnedFile(_CREAK_REPO, _CREAK_COMMIT, "data/creak/train.json",
               "f71b4fa370bbbd7f4b5fc32b82231c18f9e68911c00fc513be0075dea9b90d90", "MIT", _CREAK_CITATION),
    PinnedFile(_CREAK_REPO, _CREAK_COMMIT, "data/creak/dev.json",
               "de61800bb7d0c07a9d5b8abdf4c1604db21151bdfcb13a284db112a531bf3455", "MIT", _CREAK_CITATION),
)
_FEVER_REPO, _FEVER_COMMIT = "TalSchuster/FeverSymmetric", "fa25d17e73ea0694edc78133ec654b9f32f6db73"
_FEVER_CITATION = (
    "Schuster et al. (2019) Towards Debiasing Fact Verification Models, EMNLP-IJCNLP; FEVER: Thorne et al. (2018), "
    "NAACL"
)
FEVER_FILES = (
    PinnedFile(_FEVER_REPO, _FEVER_COMMIT, "symmetric_v0.2/fever_symmetric_dev.jsonl",
               "1d43d016da9264de2139cd10edd459ffbeac84f1fd85d60b70ab6ef63d283f81", "CC-BY-SA-3.0", _FEVER_CITATION),
    PinnedFile(_FEVER_REPO, _FEVER_COMMIT, "symmetric_v0.2/fever_symmetric_test.jsonl",
               "b2ff560615bd3337c858bc5b09256d04f39aaa034aaae2351bb2d6345c110f83", "CC-BY-SA-3.0", _FEVER_CITATION),
)

SICK_LABELS = ("ENTAILMENT", "NEUTRAL", "CONTRADICTION")
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|nothing|nobody|neither|cannot)\b|n't\b", re.I)


def _tidy(text: str) -> str:
    # FEVER's sentences are tokenised ("Paris , France ."); rejoin the common cases so prompts read naturally.
    text = " ".join(str(text).split())
    text = re.sub(r" ([.,;:!?)'])", r"\1", text).replace("( ", "(")
    return text.replace("-LRB-", "(").replace("-RRB-", ")").replace(" 's", "'s")


def _dedupe(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per distinct input; inputs given conflicting labels are dropped."""
    key = df[columns].agg("\n".join, axis=1)
    conflicting = df.groupby(key)["label"].transform("nunique") > 1
    return df[~conflicting.to_numpy()].loc[lambda d: ~key[d.index].duplicated()].reset_index(drop=True)


def read_sick() -> pd.DataFrame:
    """SICK's sentence pairs with their entailment judgement: entailment = 0, neutral = 1, contradiction = 2."""
    path = fetch_file(SICK_FILES[0])
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or set(rows[0]) != {"pair_ID", "sentence_A", "sentence_B", "relatedness_score", "entailment_judgment"}:
        raise ValueError(f"{path} does not read as SICK's pair_ID / sentence_A / sentence_B / ... columns")
    df = pd.DataFrame(
        {"id": r["pair_ID"], "premise": " ".join(r["sentence_A"].split()),
         "hypothesis": " ".join(r["sentence_B"].split()), "label": SICK_LABELS.index(r["entailment_judgment"])}
        for r in rows
    )
    return _dedupe(df, ["premise", "hypothesis"])


def read_creak() -> pd.DataFrame:
    """CREAK's train and dev claims (JSON Lines) with their explanations: false = 0, true = 1."""
    rows = []
    for file in CREAK_FILES:
        for line in fetch_file(file).read_text(encoding="utf-8").splitlines():
            if line.strip():
                ex = json.loads(line)
                rows.append({"id": ex["ex_id"], "claim": " ".join(ex["sentence"].split()),
                             "explanation": " ".join(ex["explanation"].split()),
                             "label": ("false", "true").index(ex["label"])})
    return _dedupe(pd.DataFrame(rows), ["claim"])


def read_fever_symmetric() -> pd.DataFrame:
    """FEVER-Symmetric v0.2 (dev and test files): a claim and one evidence sentence; refutes = 0, supports = 1."""
    rows = []
    for file in FEVER_FILES:
        for line in fetch_file(file).read_text(encoding="utf-8").splitlines():
            if line.strip():
                ex = json.loads(line)
                rows.append({"id": f"{file.path.rsplit('_', 1)[1].split('.')[0]}/{ex['id']}",
                             "claim": _tidy(ex["claim"]), "evidence": _tidy(ex["evidence"]),
                             "label": ("REFUTES", "SUPPORTS").index(ex["label"])})
    return _dedupe(pd.DataFrame(rows), ["claim", "evidence"])


def negation_rule(explanations: list[str]) -> list[int]:
    """A rule that reads only negation words: "false" (0) when the explanation holds one, else "true" (1)."""
    return [0 if _NEGATION.search(e) else 1 for e in explanations]


def _grouped_pool_loader(read: Callable[[], pd.DataFrame], group: str, min_test: int) -> Callable:
    """A loader that splits a pool by ``group`` (every row of a group in one split): validation 10%, test 10% or
    ``min_test`` rows (at most half), train the rest, counted in groups."""

    def load(split_seed: int = 0) -> datasets.DatasetDict:
        df = read()
        groups = df[group].drop_duplicates().to_numpy()
        rows_per_group = len(df) / len(groups)
        parts = _partition(None, len(groups), split_seed, min_test=round(min_test / rows_per_group))
        pool = datasets.Dataset.from_dict(df.to_dict("list"))
        where = {g: i for i, g in enumerate(groups)}
        index = np.array([where[g] for g in df[group]])
        return datasets.DatasetDict(
            {s: pool.select(np.flatnonzero(np.isin(index, ids))) for s, ids in parts.items()}
        )

    return load


def inference_tasks(pool_loader: Callable, min_test: int) -> list[Task]:
    """The inference tasks, their pools split by ``pool_loader`` (FEVER-Symmetric by claim, with ``min_test``)."""
    creak_source = (
        "CREAK (yasumasaonoe/creak, train and dev): is a claim about an entity true or false; {what}; duplicated "
        "claims dropped"
    )
    return [
        Task(
            name="sick_nli",
            template="Premise: {premise}\nHypothesis: {hypothesis}\nEntailment, neutral or contradiction? Answer:",
            label_words=("entailment", "neutral", "contradiction"),
            metric="macro_f1",  # 57% of the pairs are neutral
            task_type="nli",
            source="SICK (praguna/sick_dataset, SICK.txt): 3-way entailment between two short sentences",
            licence=SICK_FILES[0].licence,
            citation=SICK_FILES[0].citation,
            files=SICK_FILES,
            loader=pool_loader(read_sick),
        ),
        Task(
            name="creak_claim",
            template="Claim: {claim}\nTrue or false? Answer:",
            label_words=("false", "true"),
            metric="accuracy",
            task_type="fact_verification",
            source=creak_source.format(what="the claim alone"),
            licence=CREAK_FILES[0].licence,
            citation=_CREAK_CITATION,
            files=CREAK_FILES,
            loader=pool_loader(read_creak),
        ),
        Task(
            name="creak_explained",
            template="Evidence: {explanation}\nClaim: {claim}\nTrue or false? Answer:",
            label_words=("false", "true"),
            metric="accuracy",
            task_type="fact_verification",
            source=creak_source.format(
                what="the claim with its explanation as evidence (explanations often state the answer by negation: "
                "compare with negation_rule)"
            ),
            licence=CREAK_FILES[0].licence,
            citation=_CREAK_CITATION,
            files=CREAK_FILES,
            loader=pool_loader(read_creak),
        ),
        Task(
            name="fever_symmetric",
            template="Evidence: {evidence}\nClaim: {claim}\nDoes the evidence support or refute the claim? Answer:",
            label_words=("refutes", "supports"),
            metric="accuracy",
            task_type="fact_verification",
            source=(
                "FEVER-Symmetric v0.2 (TalSchuster/FeverSymmetric, dev and test files): does one Wikipedia sentence "
                "support or refute a claim; each claim comes with one of each, so the pool is split by claim"
            ),
            licence=FEVER_FILES[0].licence,
            citation=_FEVER_CITATION,
            files=FEVER_FILES,
            loader=_grouped_pool_loader(read_fever_symmetric, "claim", min_test),
        ),
    ]
