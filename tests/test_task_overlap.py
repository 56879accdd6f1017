"""Text shared between tasks (``mpt_nb.tasks.overlap``): made-up tasks, then SNIPS against CLINC150 on the real files."""

from __future__ import annotations

import datasets
import pytest

from mpt_nb.tasks import base as task_base
from mpt_nb.tasks import near_duplicate_rate, overlap_table, shared_texts, task_from_dataset
from mpt_nb.tasks.overlap import fold, input_fields, task_texts


@pytest.fixture
def scratch_registry(monkeypatch):
    """Tasks registered inside a test disappear after it."""
    monkeypatch.setattr(task_base, "_REGISTRY", dict(task_base._REGISTRY))


def _made_up_tasks() -> None:
    weather = [f"what is the weather in town {i}" for i in range(10)]
    task_from_dataset(
        "asks", datasets.Dataset.from_dict({"text": [*weather, "Play some  Jazz", "book a table"], "y": [0, 1] * 6}),
        text_fields=["text"], label_field="y", label_words=["no", "yes"],
    )
    premises = ["play some jazz", "What is the weather in town 3", "a man is cooking", "book a table", "the sky"]
    task_from_dataset(
        "pairs",
        datasets.Dataset.from_dict({"premise": premises, "hypothesis": ["a man is cooking"] * 4 + ["x"],
                                    "y": [0, 1, 0, 1, 0]}),
        text_fields=["premise", "hypothesis"], label_field="y", label_words=["no", "yes"],
    )


def test_fold_and_input_fields(scratch_registry):
    _made_up_tasks()
    assert fold("  Play some\tJAZZ \n") == "play some jazz"
    assert input_fields("pairs") == ["premise", "hypothesis"]
    texts = task_texts("pairs")
    assert sorted(texts) == sorted(["play some jazz", "What is the weather in town 3", "a man is cooking",
                                    "book a table", "the sky", "x"])  # each text once, from every field and split


def test_shared_texts_exact_and_case_folded(scratch_registry):
    _made_up_tasks()
    assert shared_texts(["asks", "pairs"], folded=False) == {("asks", "pairs"): ["book a table"]}
    # Case-folded, spelled as in the pair's first task; the hypothesis field counts like the premise.
    assert shared_texts(["asks", "pairs"]) == {
        ("asks", "pairs"): ["Play some  Jazz", "book a table", "what is the weather in town 3"]
    }
    assert shared_texts(["pairs", "asks"])[("pairs", "asks")] == [
        "What is the weather in town 3", "book a table", "play some jazz"
    ]
    assert near_duplicate_rate("asks", "pairs") == pytest.approx(3 / 6)  # 3 of pairs' 6 texts are in asks
    assert near_duplicate_rate("pairs", "asks") == pytest.approx(3 / 12)
    table = overlap_table(["asks", "pairs"])
    assert "| asks | pairs | 12 / 6 | 1 | 3 | 25.00% | 50.00% |" in table
    assert table.endswith("0 of 1 pairs of the 2 tasks share no text, exact or case-folded.")
    with pytest.raises(ValueError, match="more than once"):
        shared_texts(["asks", "asks"])


def test_snips_and_clinc_share_topics_but_no_text():
    # Both hold weather and music requests, but no utterance of one is a query of the other, even case-folded.
    found = shared_texts(["snips_intent", "clinc_domain"])
    assert found == {("snips_intent", "clinc_domain"): []}
    assert shared_texts(["snips_intent", "clinc_domain"], folded=False) == found
    assert near_duplicate_rate("snips_intent", "clinc_domain") == 0.0
    snips, clinc = task_texts("snips_intent"), task_texts("clinc_domain")
    assert any("weather" in t.lower() for t in snips) and any("weather" in t.lower() for t in clinc)


def test_creak_tasks_share_their_claims():
    # creak_claim and creak_explained read the same claims: every claim of one is in the other.
    assert near_duplicate_rate("creak_explained", "creak_claim") == 1.0
