"""Metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from mpt_nb.metrics import (
    METRICS,
    chance_score,
    compute_metric,
    normalize_answer,
    squad_exact_match,
    squad_f1,
)


def test_accuracy():
    assert compute_metric("accuracy", [1, 0, 1, 1], [1, 0, 0, 1]) == {"accuracy": 0.75}


def test_f1_is_binary_f1_of_class_one_with_accuracy():
    # TP=2, FP=1, FN=1 -> precision = recall = 2/3 -> F1 = 2/3.
    result = compute_metric("f1", [1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    assert result["f1"] == pytest.approx(2 / 3)
    assert result["accuracy"] == pytest.approx(3 / 5)


def test_f1_counts_unmatched_prediction_as_wrong_not_as_a_class():
    # -1 (no label word matched) on a positive row is a false negative: TP=1, FN=1 -> F1 = 2/3.
    result = compute_metric("f1", [1, -1, 0], [1, 1, 0])
    assert result["f1"] == pytest.approx(2 / 3)
    assert result["accuracy"] == pytest.approx(2 / 3)


def test_macro_f1():
    # Per-class F1: class 0 = 1/2, class 1 = 4/5 (P=2/3, R=1), class 2 = 2/3 (P=1, R=1/2).
    result = compute_metric("macro_f1", [0, 1, 1, 1, 2, 0], [0, 0, 1, 1, 2, 2])
    assert result["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert result["accuracy"] == pytest.approx(4 / 6)


def test_matthews():
    # TP=2, TN=2, FP=1, FN=1: (2*2 - 1*1) / sqrt(3*3*3*3) = 1/3.
    result = compute_metric("matthews", [1, 1, 0, 0, 0, 1], [1, 1, 1, 0, 0, 0])
    assert result["matthews"] == pytest.approx(1 / 3)
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert compute_metric("matthews", [1, 1, 1, 1], [1, 0, 1, 0])["matthews"] == 0.0  # constant prediction


def test_pearson_spearman():
    # Deviations (-1.5, -.5, .5, 1.5) vs (-1.5, .5, -.5, 1.5): covariance 4, variances 5 -> r = 0.8 (ranks alike).
    result = compute_metric("pearson_spearman", [1, 2, 3, 4], [1, 3, 2, 4])
    assert result["pearson"] == pytest.approx(0.8)
    assert result["spearman"] == pytest.approx(0.8)
    assert result["pearson_spearman"] == pytest.approx(0.8)
    monotone = compute_metric("pearson_spearman", [1, 2, 3, 100], [1, 2, 3, 4])
    assert monotone["spearman"] == pytest.approx(1.0)
    assert monotone["pearson"] < 0.9
    assert monotone["pearson_spearman"] == pytest.approx((monotone["pearson"] + 1) / 2)


def test_pearson_spearman_constant_prediction_is_zero_not_nan():
    result = compute_metric("pearson_spearman", [2.0, 2.0, 2.0], [1.0, 3.0, 5.0])
    assert result == {"pearson": 0.0, "spearman": 0.0, "pearson_spearman": 0.0}


def test_squad_normalisation():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple a day, THE end.") == "apple day end"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words


def test_squad_exact_match_and_f1():
    assert squad_exact_match("the Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert squad_exact_match("Denver", "Denver Broncos") == 0.0
    # One common token: precision 1, recall 1/2 -> F1 = 2/3; the best gold answer counts.
    assert squad_f1("Denver", "Denver Broncos") == pytest.approx(2 / 3)
    assert squad_f1("Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert squad_f1("", "") == 1.0
    assert squad_f1("a", "Paris") == 0.0  # "a" normalises to nothing


def test_squad_metric_averages_over_questions():
    result = compute_metric("squad", ["Denver", "Paris"], [["Denver Broncos", "Broncos"], "paris."])
    assert result["exact_match"] == pytest.approx(0.5)
    assert result["f1"] == pytest.approx((2 / 3 + 1) / 2)
    assert result["squad"] == result["f1"]


@pytest.mark.parametrize("name", list(METRICS))
def test_every_metric_reports_its_own_name(name):
    if name == "squad":
        predictions, references = ["a b", "c"], ["a b", "d"]
    else:
        predictions, references = [0, 1, 1, 0], [0, 1, 0, 0]
    result = compute_metric(name, predictions, references)
    assert name in result
    assert all(isinstance(v, float) for v in result.values())


def test_unknown_metric_lists_known_ones():
    with pytest.raises(KeyError) as err:
        compute_metric("bleu", [1], [1])
    assert "bleu" in str(err.value) and "accuracy" in str(err.value) and "pearson_spearman" in str(err.value)


@pytest.mark.parametrize("name", list(METRICS))
def test_empty_and_mismatched_inputs_are_clear_errors(name):
    with pytest.raises(ValueError, match="empty"):
        compute_metric(name, [], [])
    with pytest.raises(ValueError, match="2 predictions but 3 references"):
        compute_metric(name, [1, 0], [1, 0, 1])



def test_chance_score_is_what_random_guessing_scores():
    balanced = [0, 1, 2] * 200
    assert chance_score("accuracy", balanced, 3) == pytest.approx(1 / 3, abs=0.01)
    assert chance_score("macro_f1", balanced, 3) == pytest.approx(1 / 3, abs=0.01)
    # Imbalanced: random guessing still hits 1/C of the rows, but its macro-F1 falls below 1/C (the rare class).
    skewed = [0] * 540 + [1] * 60
    assert chance_score("accuracy", skewed, 2) == pytest.approx(0.5, abs=0.01)
    assert chance_score("macro_f1", skewed, 2) < 0.45
    assert chance_score("accuracy", skewed, 2, seed=1) != chance_score("accuracy", skewed, 2, seed=2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        chance_score("accuracy", [0, 0], 1)


def test_blind_chance_is_the_best_input_ignoring_predictor():
    from mpt_nb.metrics import blind_chance

    balanced = [0, 1, 2] * 100
    # Macro-F1: a constant answer scores 1/6 on three balanced classes; a draw at the class shares about 1/3.
    result = blind_chance("macro_f1", balanced, 3)
    assert result["constant"] == pytest.approx(1 / 6)
    assert result["chance"] == pytest.approx(1 / 3, abs=0.01)
    # Accuracy: the majority share, which no draw beats.
    skewed = [0] * 70 + [1] * 30
    assert blind_chance("accuracy", skewed, 2)["chance"] == pytest.approx(0.7)
    # F1 of a rare positive class: always answering "positive" (2·0.1/1.1) beats any draw.
    rare = [0] * 90 + [1] * 10
    assert blind_chance("f1", rare, 2)["chance"] == pytest.approx(2 * 0.1 / 1.1)


def test_batched_scores_match_compute_metric():
    from mpt_nb.metrics import _batched_scores

    rng = np.random.default_rng(0)
    for name in ("accuracy", "f1", "macro_f1"):
        for _ in range(30):
            n, classes = int(rng.integers(5, 40)), int(rng.integers(2, 5))
            refs, preds = rng.integers(0, classes, n), rng.integers(-1, classes, (4, n))
            expected = [compute_metric(name, p.tolist(), refs.tolist())[name] for p in preds]
            np.testing.assert_allclose(_batched_scores(name, preds, refs), expected)


def test_permutation_p_value_tells_input_dependence_from_none():
    from mpt_nb.metrics import permutation_p_value

    rng = np.random.default_rng(1)
    gold = rng.integers(0, 3, 200).tolist()
    assert permutation_p_value("macro_f1", gold, gold, permutations=999) == pytest.approx(1 / 1000)
    blind = rng.integers(0, 3, 200).tolist()  # independent of the rows
    assert permutation_p_value("macro_f1", blind, gold, permutations=999) > 0.05
