"""Task metrics, each returning a dict whose key equal to the metric's name holds the headline number.

Classification metrics come from scikit-learn, correlations from SciPy; only SQuAD's exact match and token F1 are
written here (the official script's normalisation: lowercase, drop punctuation and articles, squash whitespace).
Scores are fractions in [0, 1]; correlations (Pearson, Spearman, Matthews) lie in [-1, 1].

A classification prediction of ``-1`` (generated text that matched no label word) counts as wrong everywhere and is
never treated as a class of its own.
"""

from __future__ import annotations

import re
import string
import warnings
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

__all__ = [
    "METRICS",
    "UnknownMetricError",
    "blind_chance",
    "chance_score",
    "compute_metric",
    "normalize_answer",
    "permutation_p_value",
    "squad_exact_match",
    "squad_f1",
]


class UnknownMetricError(KeyError, ValueError):
    """A metric name that is not in ``METRICS``."""

    def __str__(self) -> str:  # KeyError would print the message quoted, as a repr
        return str(self.args[0]) if self.args else ""


def _check(predictions: Sequence, references: Sequence) -> tuple[list, list]:
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references; score the same rows, in the same order"
        )
    if not predictions:
        raise ValueError(
            "no predictions to score (empty inputs); check that the evaluation split is not empty"
        )
    return predictions, references


def _labels(predictions: list, references: list) -> list:
    # The classes seen in the references or predicted; -1 ("no label word matched") is wrong, not a class.
    return sorted(set(references) | {p for p in predictions if p != -1})


def accuracy(predictions: Sequence, references: Sequence) -> dict[str, float]:
    """Fraction of exact matches."""
    predictions, references = _check(predictions, references)
    return {"accuracy": float(accuracy_score(references, predictions))}


def f1(predictions: Sequence, references: Sequence) -> dict[str, float]:
    """Binary F1 of class 1 (the positive class: spam, duplicate, paraphrase, correct answer), plus accuracy."""
    predictions, references = _check(predictions, references)
    # labels=[1] rather than average="binary", which refuses a -1 prediction as a third class.
    score = f1_score(references, predictions, labels=[1], average="macro", zero_division=0.0)
    return {"f1": float(score), "accuracy": float(accuracy_score(references, predictions))}


def macro_f1(predictions: Sequence, references: Sequence) -> dict[str, float]:
    """Unweighted mean of per-class F1 (CB, 3-class tweets), plus accuracy."""
    predictions, references = _check(predictions, references)
    labels = _labels(predictions, references)
    score = f1_score(references, predictions, labels=labels, average="macro", zero_division=0.0)
    return {"macro_f1": float(score), "accuracy": float(accuracy_score(references, predictions))}


def matthews(predictions: Sequence, references: Sequence) -> dict[str, float]:
    """Matthews correlation (CoLA's metric, robust to class imbalance), plus accuracy."""
    predictions, references = _check(predictions, references)
    score = matthews_corrcoef(references, predictions)
    return {"matthews": float(score), "accuracy": float(accuracy_score(references, predictions))}


def pearson_spearman(predictions: Sequence, references: Sequence) -> dict[str, float]:
    """Pearson and Spearman correlation and their mean (STS-B's headline number)."""
    predictions, references = _check(predictions, references)
    pred = np.asarray(predictions, dtype=np.float64)
    ref = np.asarray(references, dtype=np.float64)
    if len(pred) < 2 or np.ptp(pred) == 0 or np.ptp(ref) == 0:
        # Correlation is undefined for constant inputs (SciPy returns nan with a warning); report 0, "no relation",
        # so that a collapsed model early in training still plots and averages.
        pearson = spearman = 0.0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pearson = float(pearsonr(pred, ref)[0])
            spearman = float(spearmanr(pred, ref)[0])
    return {"pearson": pearson, "spearman": spearman, "pearson_spearman": (pearson + spearman) / 2}


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, drop punctuation and the articles a/an/the, squash whitespace."""
    text = "".join(ch for ch in str(text).lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _golds(reference: str | Sequence[str]) -> list[str]:
    golds = [reference] if isinstance(reference, str) else list(reference)
    return golds or [""]  # no gold answer: only an empty prediction is right


def _token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_exact_match(prediction: str, reference: str | Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised gold answer."""
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in _golds(reference)))


def squad_f1(prediction: str, reference: str | Sequence[str]) -> float:
    """Best bag-of-tokens F1 between the normalised prediction and any gold answer."""
    return max(_token_f1(prediction, g) for g in _golds(reference))


def squad(predictions: Sequence[str], references: Sequence[str | Sequence[str]]) -> dict[str, float]:
    """SQuAD/ReCoRD exact match and token F1 (headline ``squad`` = F1, as MRQA and the MPT paper report)."""
    predictions, references = _check(predictions, references)
    em = float(np.mean([squad_exact_match(p, r) for p, r in zip(predictions, references, strict=True)]))
    f1_ = float(np.mean([squad_f1(p, r) for p, r in zip(predictions, references, strict=True)]))
    return {"exact_match": em, "f1": f1_, "squad": f1_}


METRICS: dict[str, Callable[[Sequence, Sequence], dict[str, float]]] = {
    "accuracy": accuracy,
    "f1": f1,
    "macro_f1": macro_f1,
    "matthews": matthews,
    "pearson_spearman": pearson_spearman,
    "squad": squad,
}


def compute_metric(name: str, predictions: Sequence, references: Sequence) -> dict[str, float]:
    """Score predictions against references with the named metric; ``result[name]`` is the headline number."""
    if name not in METRICS:
        raise UnknownMetricError(f"unknown metric {name!r}; known metrics: {', '.join(METRICS)}")
    return METRICS[name](predictions, references)


def chance_score(name: str, references: Sequence[int], num_classes: int, *, draws: int = 200, seed: int = 0) -> float:
    """The metric a uniformly random guess would score on these references: the mean over ``draws`` seeded draws
    (1/C for accuracy; for macro-F1 it depends on the class balance, hence the simulation)."""
    if num_classes < 2:
        raise ValueError(f"a chance level needs at least 2 classes, got {num_classes}")
    references = list(references)
    rng = np.random.default_rng(seed)
    scores = [compute_metric(name, rng.integers(num_classes, size=len(references)).tolist(), references)[name]
              for _ in range(draws)]
    return float(np.mean(scores))



def _batched_scores(name: str, predictions: np.ndarray, references: np.ndarray) -> np.ndarray:
    """``name`` for each row of ``predictions`` (draws, rows) against ``references`` (rows), as ``compute_metric``
    scores it; vectorised for accuracy, F1 and macro-F1 (the null distributions need thousands of scorings)."""
    if name == "accuracy":
        return (predictions == references).mean(1)
    if name in ("f1", "macro_f1"):
        classes = [1] if name == "f1" else range(int(max(predictions.max(), references.max())) + 1)
        f1s, present = [], []
        for c in classes:
            tp = ((predictions == c) & (references == c)).sum(1)
            total = (predictions == c).sum(1) + (references == c).sum()
            f1s.append(np.where(total > 0, 2 * tp / np.maximum(total, 1), 0.0))
            present.append(total > 0 if name == "macro_f1" else np.ones_like(total, dtype=bool))
        f1s, present = np.array(f1s), np.array(present)
        return (f1s * present).sum(0) / np.maximum(present.sum(0), 1)
    return np.array([compute_metric(name, p.tolist(), references.tolist())[name] for p in predictions])


def blind_chance(name: str, references: Sequence[int], num_classes: int, *, draws: int = 2000,
                 seed: int = 0) -> dict[str, float]:
    """The best expected score of a predictor that ignores the input, on these references: the best constant answer,
    or labels drawn at the references' class shares, or drawn uniformly (means over ``draws`` seeded draws).

    For accuracy that is the majority share; for F1 and macro-F1 a draw can beat every constant answer (about 1/C for
    macro-F1 on C balanced classes, where a constant scores about 1/C²·C/(C+1)). ``result["chance"]`` is the best.
    """
    if num_classes < 2:
        raise ValueError(f"a chance level needs at least 2 classes, got {num_classes}")
    references = np.asarray(list(references))
    rng = np.random.default_rng(seed)
    shares = np.bincount(references, minlength=num_classes) / len(references)
    constant = max(compute_metric(name, [c] * len(references), references.tolist())[name] for c in range(num_classes))

    def mean_draw(p: np.ndarray) -> float:
        return float(_batched_scores(name, rng.choice(num_classes, size=(draws, len(references)), p=p), references).mean())

    at_shares = mean_draw(shares)
    uniform = mean_draw(np.full(num_classes, 1 / num_classes))
    return {"chance": max(constant, at_shares, uniform), "constant": constant, "draw_at_shares": at_shares,
            "draw_uniform": uniform}


def permutation_p_value(name: str, predictions: Sequence[int], references: Sequence[int], *,
                        permutations: int = 2000, seed: int = 0) -> float:
    """One-sided p-value that the predictions ignore the input: the share of shuffles of the predictions (over the
    rows, so their class counts stay) that score at least as well as the observed ones (with the +1 correction)."""
    predictions, references = _check(predictions, references)
    observed = compute_metric(name, predictions, references)[name]
    rng = np.random.default_rng(seed)
    shuffled = rng.permuted(np.tile(np.asarray(predictions), (permutations, 1)), axis=1)
    hits = int((_batched_scores(name, shuffled, np.asarray(references)) >= observed - 1e-12).sum())
    return (hits + 1) / (permutations + 1)
