"""Intent tasks from pinned GitHub files: SNIPS (7 voice-assistant intents) and CLINC150 (its 10 domains).

Each reader joins its utterances into one pool, drops duplicated utterances (and ones with conflicting labels) so no
text straddles splits, and hands the pool to the offline suite's split rule (``offline._pool_loader``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd

from .base import Task
from .pinned import PinnedFile, fetch_file

__all__ = ["CLINC_DOMAINS", "CLINC_FILES", "SNIPS_FILES", "SNIPS_INTENTS", "intent_tasks"]

_SNIPS_REPO, _SNIPS_COMMIT = "sonos/nlu-benchmark", "b86ac7f1577868c42158d0dec77db50956046696"
_SNIPS_LICENCE = "CC0-1.0"
_SNIPS_CITATION = (
    "Coucke et al. (2018) Snips Voice Platform: an embedded Spoken Language Understanding system for "
    "private-by-design voice interfaces, arXiv 1805.10190"
)
# SNIPS intent -> (label word, sha256 of train_<intent>_full.json, sha256 of validate_<intent>.json). One word per
# intent with distinct first letters, so byte tokenizers tell them apart too.
SNIPS_INTENTS: dict[str, tuple[str, str, str]] = {
    "AddToPlaylist": (
        "playlist",
        "fee1b4645352e70ed8a40f1f87c3b53fc3bf75f8ebc82252a22b82c107e75b01",
        "14cc9ee49ae477b1452632a6e835498cf4c32da397b16967c82abb3e50403e83",
    ),
    "BookRestaurant": (
        "restaurant",
        "7677e82cd6e9a8191f0a4502568c786278c984900b4796d3628e46f1abf73ef4",
        "4f7258ccc768b777b2eb8916532db9aa50dbd058ddf1ffb0dc59218963e7442a",
    ),
    "GetWeather": (
        "weather",
        "86f414b2ad8a993134d85d16e25e5d337beae47cef993c0af2a5f440405c60f6",
        "60c095e193655d6ca92be220fed3926ca25e18cd70c85664145efe25d80993af",
    ),
    "PlayMusic": (
        "music",
        "901ddbe9781d1fdb8196e789c543f80df3d29ca6e237da64947905adcc0312e4",
        "922212775e26259d5bffeaf79b6048d070ca017d229df00b2cc9800f71c75d20",
    ),
    "RateBook": (
        "book",
        "bb43e4b74134300d5766f6b420d0357a63402987a225f6dc92c806c9c040ce04",
        "c1f8b4114da0bb5e8afd78a8062766e18b2eabb0e717539598db01b09d04619b",
    ),
    "SearchCreativeWork": (
        "search",
        "87b3432de48c71c205aa5238b41d9e3f2d70bdfcd0bea2427544fb9e4bd5e5bb",
        "8a5e830eddb185d3e4a9d27ded140a145d04766bdce0e58834676ede32d13e77",
    ),
    "SearchScreeningEvent": (
        "cinema",
        "5447e9440c02e2fb08c3ae16b9f58a4d1332b4bc77fd34691402b02aa4399765",
        "81e1445713e03c7c3e615353c5f3fee05f369fe9834100b9b9735900a96b9498",
    ),
}


def _snips_file(intent: str, name: str, sha256: str) -> PinnedFile:
    return PinnedFile(
        _SNIPS_REPO, _SNIPS_COMMIT, f"2017-06-custom-intent-engines/{intent}/{name}", sha256, _SNIPS_LICENCE,
        _SNIPS_CITATION,
    )


SNIPS_FILES: tuple[PinnedFile, ...] = tuple(
    f
    for intent, (_, train_sha, validate_sha) in SNIPS_INTENTS.items()
    for f in (
        _snips_file(intent, f"train_{intent}_full.json", train_sha),
        _snips_file(intent, f"validate_{intent}.json", validate_sha),
    )
)

_CLINC_REPO, _CLINC_COMMIT = "clinc/oos-eval", "828f8093932c8fe6ca7936c3d2e52903b1c523de"
_CLINC_LICENCE = "CC-BY-3.0"
_CLINC_CITATION = (
    "Larson et al. (2019) An Evaluation Dataset for Intent Classification and Out-of-Scope Prediction, EMNLP-IJCNLP"
)
CLINC_FILES: tuple[PinnedFile, ...] = (
    PinnedFile(_CLINC_REPO, _CLINC_COMMIT, "data/data_full.json",
               "36923c3705a59e08fe9c3883d8bc2dd966ef93e22cb78ac41171782a698d56e0", _CLINC_LICENCE, _CLINC_CITATION),
    PinnedFile(_CLINC_REPO, _CLINC_COMMIT, "data/domains.json",
               "b947b579d3b8e74b06f93b01083d8efaff2888b43a3e362533bd88a6e1211b3a", _CLINC_LICENCE, _CLINC_CITATION),
)
# CLINC domain -> label word (distinct first letters).
CLINC_DOMAINS: dict[str, str] = {
    "banking": "bank",
    "credit_cards": "credit",
    "kitchen_and_dining": "kitchen",
    "home": "home",
    "auto_and_commute": "auto",
    "travel": "travel",
    "utility": "utility",
    "work": "work",
    "small_talk": "social",
    "meta": "meta",
}


def _dedupe(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per text; texts given conflicting labels are dropped."""
    conflicting = df.groupby(column)["label"].transform("nunique") > 1
    return df[~conflicting].drop_duplicates(column).reset_index(drop=True)


def read_snips() -> pd.DataFrame:
    """Every SNIPS 2017 custom-intent utterance (the train_full and validate files), one row per distinct text."""
    rows = []
    for label, (intent, (word, _, _)) in enumerate(SNIPS_INTENTS.items()):
        for file in (f for f in SNIPS_FILES if f"/{intent}/" in f.path):
            # A few bytes of the PlayMusic file are not valid UTF-8.
            data = json.loads(fetch_file(file).read_bytes().decode("utf-8", errors="replace"))
            for n, example in enumerate(data[intent]):
                text = " ".join("".join(part["text"] for part in example["data"]).split())
                rows.append({"id": f"{intent}/{file.path.rsplit('/', 1)[1]}/{n}", "utterance": text,
                             "intent": word, "label": label})
    return _dedupe(pd.DataFrame(rows), "utterance")


def read_clinc() -> pd.DataFrame:
    """CLINC150's in-scope queries (train, val and test of data_full.json) labelled by their intent's domain."""
    data_file, domains_file = (fetch_file(f) for f in CLINC_FILES)
    domains = json.loads(domains_file.read_text(encoding="utf-8"))
    if list(domains) != list(CLINC_DOMAINS):
        raise ValueError(f"{domains_file} lists domains {list(domains)}, expected {list(CLINC_DOMAINS)}")
    domain_of = {intent: d for d, intents in domains.items() for intent in intents}
    data = json.loads(data_file.read_text(encoding="utf-8"))
    rows = []
    for split in ("train", "val", "test"):  # the oos_* splits hold out-of-scope queries: no domain
        for n, (text, intent) in enumerate(data[split]):
            domain = domain_of[intent]
            rows.append({"id": f"{split}/{n}", "query": " ".join(text.split()), "intent": intent, "domain": domain,
                         "label": list(CLINC_DOMAINS).index(domain)})
    return _dedupe(pd.DataFrame(rows), "query")


def intent_tasks(pool_loader: Callable[[Callable[[], pd.DataFrame]], Callable]) -> list[Task]:
    """The intent tasks, their pools split by ``pool_loader`` (the offline suite's split rule)."""
    return [
        Task(
            name="snips_intent",
            template="Utterance: {utterance}\nWhat does the user want? Answer:",
            label_words=tuple(word for word, _, _ in SNIPS_INTENTS.values()),
            metric="macro_f1",
            task_type="intent",
            source=(
                "SNIPS 2017 custom intent engines (sonos/nlu-benchmark): which of 7 voice-assistant intents an "
                "utterance expresses; every train_full and validate file, duplicated utterances dropped"
            ),
            licence=_SNIPS_LICENCE,
            citation=_SNIPS_CITATION,
            files=SNIPS_FILES,
            loader=pool_loader(read_snips),
        ),
        Task(
            name="clinc_domain",
            template="Query: {query}\nWhich domain is it about? Answer:",
            label_words=tuple(CLINC_DOMAINS.values()),
            metric="macro_f1",
            task_type="intent",
            source=(
                "CLINC150 (clinc/oos-eval, data_full.json): which of 10 domains (banking, credit cards, kitchen, "
                "home, auto, travel, utility, work, small talk, meta) a query's intent belongs to; in-scope "
                "queries only, duplicates dropped"
            ),
            licence=_CLINC_LICENCE,
            citation=_CLINC_CITATION,
            files=CLINC_FILES,
            loader=pool_loader(read_clinc),
        ),
    ]
