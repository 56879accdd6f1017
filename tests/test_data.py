"""Tokenisation, truncation, collation, k-shot sampling and MPT's multitask batch sampler."""

from __future__ import annotations

from collections import Counter

import datasets
import numpy as np
import pytest
import torch

from mpt_nb.data import (
    MultitaskBatchSampler,
    PromptCollator,
    build_multitask_dataset,
    eval_loader,
    k_shot,
    multitask_loader,
    tokenize_task,
    train_loader,
)
from mpt_nb.tasks import Task

BINARY = Task(
    name="toy_binary",
    template="Text: {text}\nAnswer:",
    label_words=("no", "yes"),
    metric="accuracy",
    task_type="custom",
)
TERNARY = Task(
    name="toy_ternary",
    template="Text: {text}\nMood:",
    label_words=("bad", "okay", "good"),
    metric="accuracy",
    task_type="custom",
)
QA = Task(
    name="toy_qa",
    template="Q: {question}\nA:",
    label_words=(),
    metric="squad",
    task_type="qa",
    kind="generation",
)


def _split(texts, labels, **extra):
    return datasets.Dataset.from_dict(
        {"input_text": texts, "target_text": [str(x) for x in labels], "label": labels, **extra}
    )


# --------------------------------------------------------------------------------------------- tokenize_task


@pytest.mark.parametrize("arch", ["llama", "t5"])
def test_tokenize_task_columns_and_ids(arch, request):
    backbone = request.getfixturevalue(arch)
    tok = backbone.tokenizer
    split = _split(["Text: hi\nAnswer:", "Text: hello there\nAnswer:"], [1, 0], id=["a", "b"])
    out = tokenize_task(split, BINARY, backbone, task_id=2)
    assert set(out.column_names) == {"input_ids", "label", "task_id", "example_id"}
    assert out["label"] == [1, 0]
    assert out["task_id"] == [2, 2]
    assert out["example_id"] == [0, 1]
    plain = tok("Text: hi\nAnswer:", add_special_tokens=False)["input_ids"]
    if backbone.is_seq2seq:
        assert out[0]["input_ids"] == [*plain, tok.eos_token_id]  # encoders see the EOS
    else:
        assert out[0]["input_ids"] == plain  # causal LMs read the answer right after the cue: no EOS


def test_tokenize_task_keeps_score_column(llama):
    split = _split(["a", "b"], [0, 1], score=[0.25, 3.5])
    out = tokenize_task(split, BINARY, llama)
    assert out["score"] == [0.25, 3.5]


@pytest.mark.parametrize("arch", ["llama", "t5"])
def test_tokenize_generation_task_adds_target_ids(arch, request):
    backbone = request.getfixturevalue(arch)
    tok = backbone.tokenizer
    split = datasets.Dataset.from_dict(
        {"input_text": ["Q: capital of France?\nA:"], "target_text": ["Paris"], "label": [-1]}
    )
    out = tokenize_task(split, QA, backbone)
    target = out[0]["target_ids"]
    expected = tok(("Paris" if backbone.is_seq2seq else " Paris"), add_special_tokens=False)["input_ids"]
    assert target == [*expected, tok.eos_token_id]
    assert out["label"] == [-1]


def test_tokenize_task_truncates_the_middle_keeping_head_and_tail(llama):
    tok = llama.tokenizer
    text = "Review: " + "blah " * 60 + "the end.\nSentiment:"
    split = _split([text], [1])
    out = tokenize_task(split, BINARY, llama, max_input_tokens=20)
    ids = out[0]["input_ids"]
    full = tok(text, add_special_tokens=False)["input_ids"]
    assert len(full) > 20 and len(ids) == 20
    head = 20 // 4
    assert ids == full[:head] + full[-(20 - head) :]
    decoded = tok.decode(ids)
    assert decoded.startswith("Revi") and decoded.endswith("end.\nSentiment:")


def test_tokenize_task_does_not_touch_short_inputs(llama):
    out = tokenize_task(_split(["short"], [0]), BINARY, llama, max_input_tokens=20)
    assert out[0]["input_ids"] == llama.tokenizer("short", add_special_tokens=False)["input_ids"]


def test_tokenize_task_empty_split_is_an_error(llama):
    empty = _split(["x"], [0]).select([])
    with pytest.raises(ValueError, match=r"toy_binary split is empty"):
        tokenize_task(empty, BINARY, llama)


def test_build_multitask_dataset_renumbers_example_ids(llama):
    a = tokenize_task(_split(["a", "bb", "ccc"], [0, 1, 0]), BINARY, llama, task_id=0)
    b = tokenize_task(_split(["d", "ee"], [2, 1]), TERNARY, llama, task_id=1)
    merged = build_multitask_dataset([a, b])
    assert merged["example_id"] == [0, 1, 2, 3, 4]
    assert merged["task_id"] == [0, 0, 0, 1, 1]
    assert merged["label"] == [0, 1, 0, 2, 1]
    with pytest.raises(ValueError, match="no task data"):
        build_multitask_dataset([])


# --------------------------------------------------------------------------------------------- collator


def test_collator_pads_masks_and_candidate_masks_for_different_class_counts(llama, make_rows):
    tok = llama.tokenizer
    collator = PromptCollator.for_tasks(llama, [BINARY, TERNARY])
    assert collator.max_classes == 3
    rows = make_rows(tok, ["abc", "a", "abcdef"], task_id=[0, 1, 1], labels=[1, 2, 0])
    batch = collator(rows)
    assert batch["input_ids"].shape == (3, 6)
    assert batch["input_ids"][1].tolist() == [*rows[1]["input_ids"], *[tok.pad_token_id] * 5]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0], [1] * 6]
    assert batch["task_ids"].tolist() == [0, 1, 1]
    assert batch["labels"].tolist() == [1, 2, 0]
    assert batch["example_ids"].tolist() == [0, 1, 2]

    def first(word):
        return tok(word, add_special_tokens=False)["input_ids"][0]

    assert batch["candidate_ids"].shape == (3, 3)
    assert batch["candidate_ids"][0, :2].tolist() == [first("n"), first("y")]
    assert batch["candidate_ids"][1].tolist() == [first("b"), first("o"), first("g")]
    assert batch["candidate_mask"].tolist() == [[True, True, False], [True, True, True], [True, True, True]]
    assert "target_ids" not in batch


def test_collator_pads_target_ids_with_ignore_index(llama):
    collator = PromptCollator(llama.tokenizer.pad_token_id, [[]])
    rows = [
        {"input_ids": [5, 6], "label": -1, "task_id": 0, "example_id": 0, "target_ids": [7, 8, 1]},
        {"input_ids": [5], "label": -1, "task_id": 0, "example_id": 1, "target_ids": [9, 1]},
    ]
    batch = collator(rows)
    assert batch["target_ids"].tolist() == [[7, 8, 1], [9, 1, -100]]
    assert batch["candidate_mask"].shape == (2, 1) and not batch["candidate_mask"].any()


def test_collator_rejects_unknown_task_id(llama, make_rows):
    collator = PromptCollator.for_tasks(llama, [BINARY])
    with pytest.raises(IndexError, match="knows 1 task"):
        collator(make_rows(llama.tokenizer, ["a"], task_id=1))


# --------------------------------------------------------------------------------------------- k-shot


def _labelled(counts):
    labels = [c for c, n in enumerate(counts) for _ in range(n)]
    return datasets.Dataset.from_dict({"label": labels, "row": list(range(len(labels)))})


def test_k_shot_exactly_k_per_class():
    data = _labelled([10, 6, 8])
    few = k_shot(data, 3, seed=0)
    assert len(few) == 9
    assert Counter(few["label"]) == {0: 3, 1: 3, 2: 3}
    assert len(set(few["row"])) == 9  # without replacement


def test_k_shot_is_shuffled_not_grouped_by_class():
    few = k_shot(_labelled([20, 20]), 8, seed=0)
    assert few["label"] != sorted(few["label"])


def test_k_shot_deterministic_per_seed_and_different_across_seeds():
    data = _labelled([30, 30, 30])
    first = k_shot(data, 4, seed=1)["row"]
    assert k_shot(data, 4, seed=1)["row"] == first
    others = {tuple(k_shot(data, 4, seed=s)["row"]) for s in (2, 3, 4)}
    assert tuple(first) not in others


def test_k_shot_class_with_too_few_examples_names_class_and_k():
    data = _labelled([10, 2, 8])
    with pytest.raises(ValueError) as info:
        k_shot(data, 5, seed=0)
    message = str(info.value)
    assert "class 1" in message and "k=5" in message


def test_k_shot_at_most_takes_every_row_of_a_small_class():
    data = _labelled([10, 2, 8])
    few = k_shot(data, 5, seed=0, at_most=True)
    assert Counter(few["label"]) == {0: 5, 1: 2, 2: 5} and len(set(few["row"])) == 12
    assert k_shot(data, 2, seed=4, at_most=True)["row"] == k_shot(data, 2, seed=4)["row"]  # no small class: the same


def test_k_shot_k_must_be_positive():
    with pytest.raises(ValueError, match="k must be"):
        k_shot(_labelled([3, 3]), 0, seed=0)


# --------------------------------------------------------------------------------------------- multitask sampler


TASK_OF_EXAMPLE = [0] * 7 + [1] * 13 + [2] * 5 + [3] * 9


@pytest.mark.parametrize(("kappa", "batch_size"), [(2, 8), (3, 8), (4, 7), (4, 3)])
def test_every_batch_mixes_between_two_and_kappa_tasks(kappa, batch_size):
    sampler = MultitaskBatchSampler(
        TASK_OF_EXAMPLE, batch_size, max_tasks_per_batch=kappa, num_batches=60, seed=0
    )
    batches = list(sampler)
    assert len(batches) == len(sampler) == 60
    counts = Counter()
    for batch in batches:
        assert len(batch) == batch_size
        tasks = {TASK_OF_EXAMPLE[i] for i in batch}
        assert 2 <= len(tasks) <= min(kappa, batch_size)
        counts[len(tasks)] += 1
    # K is drawn from [2, κ]: every allowed count shows up over 60 batches.
    assert set(counts) == set(range(2, min(kappa, batch_size) + 1))


def test_sampler_deterministic_for_a_seed():
    def run(seed, epoch=0):
        sampler = MultitaskBatchSampler(TASK_OF_EXAMPLE, 8, max_tasks_per_batch=3, num_batches=20, seed=seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert run(0) == run(0)
    assert run(0) != run(1)
    assert run(0, epoch=1) != run(0)


def test_each_task_cycles_through_all_its_rows_before_repeating():
    sampler = MultitaskBatchSampler(TASK_OF_EXAMPLE, 8, max_tasks_per_batch=3, num_batches=80, seed=0)
    drawn: dict[int, list[int]] = {t: [] for t in range(4)}
    for batch in sampler:
        for i in batch:
            drawn[TASK_OF_EXAMPLE[i]].append(i)
    for t, seq in drawn.items():
        rows = sorted(i for i, task in enumerate(TASK_OF_EXAMPLE) if task == t)
        n = len(rows)
        assert len(seq) >= 2 * n, f"task {t} too rarely drawn for the check to mean anything"
        for start in range(0, len(seq) - n + 1, n):
            assert sorted(seq[start : start + n]) == rows, (
                f"task {t}: pass starting at draw {start} repeats a row"
            )
        # Passes are reshuffled, not replayed in the same order.
        assert seq[:n] != seq[n : 2 * n]


def test_single_task_and_kappa_one_give_one_task_per_batch():
    single = MultitaskBatchSampler([0] * 10, 4, max_tasks_per_batch=3, num_batches=5)
    assert all(len(b) == 4 for b in single)
    only_one = MultitaskBatchSampler(TASK_OF_EXAMPLE, 6, max_tasks_per_batch=1, num_batches=30)
    assert all(len({TASK_OF_EXAMPLE[i] for i in b}) == 1 for b in only_one)


@pytest.mark.parametrize(
    "kwargs",
    [{"batch_size": 0}, {"num_batches": 0}, {"max_tasks_per_batch": 0}],
    ids=["batch", "batches", "kappa"],
)
def test_sampler_rejects_bad_sizes(kwargs):
    settings = {"batch_size": 4, "num_batches": 3, "max_tasks_per_batch": 2, **kwargs}
    batch_size = settings.pop("batch_size")
    with pytest.raises(ValueError):
        MultitaskBatchSampler(TASK_OF_EXAMPLE, batch_size, **settings)


# --------------------------------------------------------------------------------------------- loaders


def test_multitask_loader_yields_collated_mixed_batches(llama):
    a = tokenize_task(_split([f"a{i}" for i in range(6)], [0, 1] * 3), BINARY, llama, task_id=0)
    b = tokenize_task(_split([f"bb{i}" for i in range(6)], [0, 1, 2] * 2), TERNARY, llama, task_id=1)
    data = build_multitask_dataset([a, b])
    collator = PromptCollator.for_tasks(llama, [BINARY, TERNARY])
    loader = multitask_loader(data, collator, batch_size=4, num_batches=5, max_tasks_per_batch=2, seed=0)
    batches = list(loader)
    assert len(batches) == 5
    for batch in batches:
        assert batch["input_ids"].shape[0] == 4
        assert set(batch["task_ids"].tolist()) == {0, 1}
        # The candidate mask follows each row's task: 2 classes for task 0, 3 for task 1.
        torch.testing.assert_close(batch["candidate_mask"].sum(1), batch["task_ids"] + 2)


def test_train_loader_length_and_eval_loader_covers_every_row_once(llama):
    data = tokenize_task(_split(["x" * n for n in (5, 1, 9, 3, 7)], [0, 1, 0, 1, 0]), BINARY, llama)
    collator = PromptCollator.for_tasks(llama, [BINARY])
    assert len(train_loader(data, collator, batch_size=2, num_batches=7)) == 7
    seen = []
    widths = []
    for batch in eval_loader(data, collator, batch_size=2):
        seen.extend(batch["example_ids"].tolist())
        widths.append(batch["input_ids"].shape[1])
    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert widths == sorted(widths), "eval batches group rows of similar length"
    assert np.sum(widths) < 3 * 9
