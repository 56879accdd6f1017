"""Hub tasks: the paper's GLUE, SuperGLUE, SQuAD and ReCoRD, loaded with ``datasets.load_dataset``.

Their test labels are hidden, so, as in the paper's setup, test := the hub's validation split and validation := a
seeded held-out part of train. Without network a load raises ``HubUnreachableError``, pointing to the offline tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import datasets
import numpy as np

from .base import HubUnreachableError, Task, _nearest
from .splits import _holdout, _labels, _validation_size

PROFILE_HINT = 'the offline profile (MPT_NB_PROFILE=offline, or profile="offline")'


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
            f"{task_name!r} ({type(e).__name__}: {e}). Without network, use {PROFILE_HINT}, whose tasks read "
            "files shipped in pip packages or pinned in a local mirror (python -m mpt_nb tasks lists them). If the "
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
