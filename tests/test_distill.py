"""Distillation: the temperature-scaled KL, masked label slots, hidden MSE, the teacher cache and the total loss."""

from __future__ import annotations

import math

import datasets
import pytest
import torch
import torch.nn.functional as F

from mpt_nb.data import PromptCollator, build_multitask_dataset, tokenize_task
from mpt_nb.distill import TeacherCache
from mpt_nb.losses import DistillationLoss, classification_loss, distillation_kl, hidden_mse
from mpt_nb.prompted import MASKED_LOGIT, PromptedModel, PromptOutput
from mpt_nb.prompts import MultitaskPrompt, SoftPrompt
from mpt_nb.tasks import Task

BINARY = Task(
    name="d_bin", template="{text}", label_words=("no", "yes"), metric="accuracy", task_type="custom"
)
TERNARY = Task(
    name="d_ter",
    template="{text}",
    label_words=("bad", "okay", "good"),
    metric="accuracy",
    task_type="custom",
)


# --------------------------------------------------------------------------------------------- KL


def test_kl_is_zero_for_identical_distributions():
    logits = torch.randn(4, 3)
    assert distillation_kl(logits, logits.clone(), temperature=2.0).item() == pytest.approx(0.0, abs=1e-7)
    # Shifting all logits of a row by a constant does not change its distribution either.
    assert distillation_kl(logits + 5.0, logits, temperature=1.0).item() == pytest.approx(0.0, abs=1e-6)


def test_kl_is_positive_for_different_distributions():
    student, teacher = torch.randn(4, 3), torch.randn(4, 3)
    assert distillation_kl(student, teacher, temperature=1.0).item() > 1e-4


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_kl_matches_hand_computation_with_t_squared(temperature):
    g = torch.Generator().manual_seed(1)
    student, teacher = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    # KL(teacher || student) = sum_c p_t log(p_t / p_s), averaged over rows, times T².
    total = 0.0
    for s_row, t_row in zip(student.tolist(), teacher.tolist(), strict=True):
        zs = sum(math.exp(x / temperature) for x in s_row)
        zt = sum(math.exp(x / temperature) for x in t_row)
        for s, t in zip(s_row, t_row, strict=True):
            ps, pt = math.exp(s / temperature) / zs, math.exp(t / temperature) / zt
            total += pt * math.log(pt / ps)
    expected = total / 5 * temperature**2
    assert distillation_kl(student, teacher, temperature).item() == pytest.approx(expected, rel=1e-5)
    via_torch = (
        F.kl_div(
            F.log_softmax(student / temperature, -1),
            F.log_softmax(teacher / temperature, -1),
            reduction="batchmean",
            log_target=True,
        )
        * temperature**2
    )
    assert distillation_kl(student, teacher, temperature).item() == pytest.approx(via_torch.item(), rel=1e-5)


def test_masked_slots_contribute_nothing_and_give_no_nan_gradients():
    g = torch.Generator().manual_seed(2)
    student_small, teacher_small = torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g)
    masked = torch.full((3, 1), MASKED_LOGIT)
    student = torch.cat([student_small, masked], 1).requires_grad_(True)
    teacher = torch.cat([teacher_small, masked], 1)
    kl = distillation_kl(student, teacher, temperature=2.0)
    assert kl.item() == pytest.approx(distillation_kl(student_small, teacher_small, 2.0).item(), rel=1e-6)
    kl.backward()
    assert torch.isfinite(student.grad).all()
    assert (student.grad[:, 2] == 0).all()
    assert student.grad[:, :2].abs().sum() > 0


def test_mixed_class_counts_rows_are_each_scored_on_their_own_classes():
    student = torch.tensor([[1.0, 2.0, MASKED_LOGIT], [0.5, -1.0, 2.0]])
    teacher = torch.tensor([[2.0, 0.0, MASKED_LOGIT], [0.0, 0.0, 1.0]])
    row0 = distillation_kl(student[:1, :2], teacher[:1, :2], 1.0)
    row1 = distillation_kl(student[1:], teacher[1:], 1.0)
    assert distillation_kl(student, teacher, 1.0).item() == pytest.approx((row0 + row1).item() / 2, rel=1e-6)


def test_hidden_mse():
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    assert hidden_mse(a, b).item() == pytest.approx(((a - b) ** 2).mean().item(), rel=1e-6)
    assert hidden_mse(a, a).item() == 0.0


# --------------------------------------------------------------------------------------------- teacher cache


@pytest.fixture(scope="module")
def two_task_data(llama):
    def split(texts, labels):
        return datasets.Dataset.from_dict(
            {"input_text": texts, "target_text": ["x"] * len(texts), "label": labels}
        )

    a = tokenize_task(
        split([f"sample {'a' * i}" for i in range(5)], [0, 1, 0, 1, 0]), BINARY, llama, task_id=0
    )
    b = tokenize_task(
        split([f"row {'b' * 2 * i}" for i in range(4)], [2, 1, 0, 2]), TERNARY, llama, task_id=1
    )
    return build_multitask_dataset([a, b]), PromptCollator.for_tasks(llama, [BINARY, TERNARY])


@pytest.fixture
def teacher(llama):
    torch.manual_seed(3)
    return PromptedModel(llama, SoftPrompt(3, llama.dim, num_tasks=2, init=torch.randn(2, 3, llama.dim)))


def test_teacher_cache_computes_each_example_once(teacher, two_task_data):
    data, collator = two_task_data
    cache = TeacherCache(teacher, data, collator, batch_size=4)
    assert cache.teacher_passes == 0
    cache.lookup(torch.tensor([3, 3, 6]))
    assert cache.teacher_passes == 2  # the duplicate is computed once
    cache.lookup(torch.tensor([6, 3]))
    assert cache.teacher_passes == 2  # both cached already
    cache.lookup(torch.tensor([0, 6, 8]))
    assert cache.teacher_passes == 4
    cache.lookup(torch.arange(9))
    assert cache.teacher_passes == len(data) == 9
    assert cache.filled.all()
    cache.lookup(torch.arange(9).flip(0))
    assert cache.teacher_passes == 9


def test_teacher_cache_refuses_ids_that_are_not_row_positions(teacher, two_task_data):
    data, collator = two_task_data
    for moved in (data.select([2, 0, 1]), data.select(range(1, len(data)))):  # a shuffle and a subset keep old ids
        with pytest.raises(ValueError, match="renumber it first"):
            TeacherCache(teacher, moved, collator)
    renumbered = data.select([2, 0, 1]).remove_columns("example_id").add_column("example_id", [0, 1, 2])
    assert len(TeacherCache(teacher, renumbered, collator).filled) == 3


def test_teacher_cache_fill_computes_only_missing_examples(teacher, two_task_data):
    data, collator = two_task_data
    cache = TeacherCache(teacher, data, collator, batch_size=4)
    cache.lookup(torch.tensor([1, 5]))
    assert cache.fill() is cache
    assert cache.filled.all()
    assert cache.teacher_passes == len(data) == 9
    cache.fill()
    assert cache.teacher_passes == 9


def test_teacher_cache_lookups_equal_a_direct_teacher_forward(teacher, two_task_data):
    data, collator = two_task_data
    cache = TeacherCache(teacher, data, collator, batch_size=3)
    cache.lookup(torch.arange(len(data)))  # cached in chunks of 3, in row order
    ids = [7, 1, 4, 8]
    batch = collator([data[i] for i in ids])  # other batch-mates, other padding than when cached
    with torch.no_grad():
        direct = teacher(**batch)
    logits, hidden = cache.lookup(torch.tensor(ids))
    torch.testing.assert_close(logits, direct.label_logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(hidden, direct.hidden, rtol=1e-4, atol=1e-5)
    # Binary-task rows keep the masked third slot.
    assert logits[1, 2].item() == MASKED_LOGIT and logits[0, 2].item() != MASKED_LOGIT


def test_teacher_cache_restores_training_mode_and_needs_rows(teacher, two_task_data):
    data, collator = two_task_data
    teacher.train()
    TeacherCache(teacher, data, collator).lookup(torch.tensor([0]))
    assert teacher.training
    with pytest.raises(ValueError, match="empty"):
        TeacherCache(teacher, data.select([]), collator)


# --------------------------------------------------------------------------------------------- total loss


@pytest.mark.parametrize("use_hidden", [True, False])
def test_distillation_loss_is_plm_plus_lambda_times_kl_plus_mse(llama, teacher, two_task_data, use_hidden):
    data, collator = two_task_data
    cache = TeacherCache(teacher, data, collator)
    student_prompt = MultitaskPrompt.from_teachers(teacher.prompt.task_prompts().detach() * 0.5, rank=1)
    student = PromptedModel(llama, student_prompt)
    loss_fn = DistillationLoss(cache, weight=0.7, temperature=3.0, use_hidden=use_hidden)
    batch = collator([data[i] for i in (0, 5, 2, 8)])
    output = student(**batch)
    total, terms = loss_fn(output, batch)

    teacher_logits, teacher_hidden = cache.lookup(batch["example_ids"])
    plm = F.cross_entropy(output.label_logits, batch["labels"])
    kl = distillation_kl(output.label_logits, teacher_logits, 3.0)
    mse = F.mse_loss(output.hidden, teacher_hidden) if use_hidden else torch.tensor(0.0)
    assert kl.item() > 0 and (mse.item() > 0 or not use_hidden)
    assert terms["loss_plm"] == pytest.approx(plm.item(), rel=1e-6)
    assert terms["loss_logits"] == pytest.approx(kl.item(), rel=1e-6)
    assert terms["loss_hidden"] == pytest.approx(mse.item(), rel=1e-6, abs=1e-12)
    assert total.item() == pytest.approx((plm + 0.7 * (kl + mse)).item(), rel=1e-6)
    total.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in student_prompt.parameters())
    assert all(p.grad is None for p in teacher.prompt.parameters()), "the teacher must stay frozen"


def test_classification_loss_ignores_masked_slots():
    logits = torch.tensor([[2.0, 0.0, MASKED_LOGIT]])
    out = PromptOutput(logits, torch.zeros(1, 4))
    expected = F.cross_entropy(logits[:, :2], torch.tensor([1]))
    assert classification_loss(out, torch.tensor([1])).item() == pytest.approx(expected.item(), rel=1e-6)
