"""Soft prompts and MPT's decomposition P̂_k = P* ∘ (u_k v_kᵀ): values, shapes, parameter counts and inits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mpt_nb.prompts import (
    MultitaskPrompt,
    SoftPrompt,
    count_trainable,
    expected_trainable,
    percent_of,
    sample_vocab_embeddings,
    text_init_embeddings,
)


def _randomise(prompt: MultitaskPrompt, seed: int = 0) -> MultitaskPrompt:
    """Give P*, u and v distinct random values, so that no composition rule passes by accident."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        prompt.shared.copy_(torch.randn(prompt.shared.shape, generator=g))
        prompt.u.copy_(torch.randn(prompt.u.shape, generator=g))
        prompt.v.copy_(torch.randn(prompt.v.shape, generator=g))
    return prompt


def _compose_by_hand(shared: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """P*[i, j] * sum_r u[i, r] v[r, j], with explicit loops (shared (l, d), u (l, r), v (r, d))."""
    num_tokens, dim = shared.shape
    out = torch.empty(num_tokens, dim, dtype=torch.float64)
    for i in range(num_tokens):
        for j in range(dim):
            low_rank = sum(float(u[i, r]) * float(v[r, j]) for r in range(u.shape[1]))
            out[i, j] = float(shared[i, j]) * low_rank
    return out


# --------------------------------------------------------------------------------------------- composition


@pytest.mark.parametrize("rank", [1, 3])
def test_composed_prompt_is_hadamard_product_with_low_rank_matrix(rank):
    prompt = _randomise(MultitaskPrompt(num_tokens=4, dim=6, num_tasks=3, rank=rank), seed=rank)
    composed = prompt.task_prompts()
    assert composed.shape == (3, 4, 6)
    for k in range(3):
        expected = _compose_by_hand(prompt.shared[0].detach(), prompt.u[k].detach(), prompt.v[k].detach())
        torch.testing.assert_close(composed[k].detach().double(), expected, rtol=1e-5, atol=1e-6)
        # The same through einsum, which spells the formula differently from the implementation's bmm.
        via_einsum = prompt.shared[0] * torch.einsum("lr,rd->ld", prompt.u[k], prompt.v[k])
        torch.testing.assert_close(composed[k], via_einsum)


def test_rank_one_composition_is_row_scale_times_column_scale():
    prompt = _randomise(MultitaskPrompt(3, 5, num_tasks=2, rank=1), seed=7)
    k = 1
    u, v, shared = prompt.u[k, :, 0], prompt.v[k, 0, :], prompt.shared[0]
    torch.testing.assert_close(prompt.task_prompts()[k], shared * u[:, None] * v[None, :])


def test_forward_equals_task_prompts_rows():
    prompt = _randomise(MultitaskPrompt(4, 6, num_tasks=3, rank=2))
    ids = torch.tensor([0, 1, 2])
    torch.testing.assert_close(prompt(ids), prompt.task_prompts())


@pytest.mark.parametrize("kind", ["soft", "mpt"])
def test_mixed_batch_gets_each_row_its_own_task_prompt(kind):
    if kind == "soft":
        prompt = SoftPrompt(4, 6, num_tasks=3)
    else:
        prompt = _randomise(MultitaskPrompt(4, 6, num_tasks=3, rank=2))
    task_ids = torch.tensor([2, 0, 1, 2, 0])
    batch = prompt(task_ids)
    assert batch.shape == (5, 4, 6)
    per_task = prompt.task_prompts()
    for row, k in enumerate(task_ids.tolist()):
        torch.testing.assert_close(batch[row], per_task[k])
    # Different tasks really do get different prompts (otherwise the check above proves nothing).
    assert not torch.allclose(per_task[0], per_task[1])
    assert not torch.allclose(per_task[1], per_task[2])


@pytest.mark.parametrize("kind", ["soft", "mpt"])
@pytest.mark.parametrize("bad", [3, 7, -1])
def test_task_id_out_of_range_raises_index_error_naming_the_count(kind, bad):
    prompt = SoftPrompt(2, 4, num_tasks=3) if kind == "soft" else MultitaskPrompt(2, 4, num_tasks=3)
    with pytest.raises(IndexError, match=r"3 task\(s\)") as info:
        prompt(torch.tensor([0, bad, 1]))
    assert str(bad) in str(info.value)


def test_task_ids_must_be_one_dimensional():
    with pytest.raises(ValueError, match="1-D"):
        SoftPrompt(2, 4, num_tasks=2)(torch.tensor([[0, 1]]))


def test_gradients_reach_shared_u_and_v():
    prompt = _randomise(MultitaskPrompt(3, 4, num_tasks=2, rank=2))
    prompt(torch.tensor([0, 1])).pow(2).sum().backward()
    for name in ("shared", "u", "v"):
        grad = getattr(prompt, name).grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_rank_below_one_is_rejected():
    with pytest.raises(ValueError, match="rank"):
        MultitaskPrompt(2, 4, rank=0)


def test_unknown_low_rank_init_is_rejected():
    with pytest.raises(ValueError, match="low_rank_init"):
        MultitaskPrompt(2, 4, low_rank_init="zeros")


def test_normal_low_rank_init_is_small_and_seeded():
    a = MultitaskPrompt(4, 8, num_tasks=2, rank=2, low_rank_init="normal", seed=1)
    b = MultitaskPrompt(4, 8, num_tasks=2, rank=2, low_rank_init="normal", seed=1)
    c = MultitaskPrompt(4, 8, num_tasks=2, rank=2, low_rank_init="normal", seed=2)
    torch.testing.assert_close(a.u, b.u)
    torch.testing.assert_close(a.v, b.v)
    assert not torch.allclose(a.u, c.u)
    assert 0.0 < a.u.std().item() < 0.1


# --------------------------------------------------------------------------------------------- parameter counts


@pytest.mark.parametrize(
    ("num_tokens", "dim", "rank", "num_tasks"),
    [(1, 1, 1, 1), (4, 32, 1, 1), (10, 64, 1, 3), (20, 576, 2, 4), (100, 768, 3, 8), (7, 13, 5, 2)],
)
def test_count_trainable_matches_formulas_and_numel(num_tokens, dim, rank, num_tasks):
    soft = SoftPrompt(num_tokens, dim, num_tasks)
    mpt = MultitaskPrompt(num_tokens, dim, num_tasks, rank)
    assert count_trainable(soft) == expected_trainable("pt", num_tokens, dim, num_tasks=num_tasks)
    assert count_trainable(soft) == num_tokens * dim * num_tasks
    assert count_trainable(soft) == soft.weight.numel()
    assert count_trainable(mpt) == expected_trainable("mpt", num_tokens, dim, rank=rank, num_tasks=num_tasks)
    assert count_trainable(mpt) == num_tokens * dim + (num_tokens + dim) * rank * num_tasks
    assert count_trainable(mpt) == mpt.shared.numel() + mpt.u.numel() + mpt.v.numel()


def test_count_trainable_skips_frozen_and_counts_shared_parameters_once():
    mpt = MultitaskPrompt(5, 8, num_tasks=2, rank=2)
    mpt.u.requires_grad_(False)
    mpt.v.requires_grad_(False)
    assert count_trainable(mpt) == expected_trainable("shared", 5, 8) == 40

    tied = nn.Module()
    tied.a = nn.Linear(3, 3, bias=False)
    tied.b = nn.Linear(3, 3, bias=False)
    tied.b.weight = tied.a.weight  # the same Parameter registered twice
    assert count_trainable(tied) == 9


def test_expected_trainable_unknown_method():
    with pytest.raises(ValueError, match="unknown method"):
        expected_trainable("lora", 4, 4)


def test_percent_of():
    backbone = nn.Linear(10, 10)  # 110 parameters
    assert percent_of(11, backbone) == pytest.approx(10.0)
    assert percent_of(110, backbone) == pytest.approx(100.0)
    mpt = MultitaskPrompt(2, 10, rank=1)  # 20 + 12 = 32
    assert percent_of(count_trainable(mpt), backbone) == pytest.approx(100 * 32 / 110)


# --------------------------------------------------------------------------------------------- inits


@pytest.mark.parametrize("rank", [1, 4])
def test_for_new_tasks_copies_shared_and_ones_init_gives_exactly_shared(rank):
    source = _randomise(MultitaskPrompt(4, 6, num_tasks=3, rank=2))
    target = source.for_new_tasks(2, rank=rank, low_rank_init="ones")
    assert target.num_tasks == 2 and target.rank == rank
    assert torch.equal(target.shared, source.shared)
    # For rank 1 and 4 the "ones" scaling 1/sqrt(r) is exact in binary floating point.
    assert torch.equal(target.task_prompts(), source.shared.expand(2, -1, -1))
    # A copy, not a view: training the new prompt leaves the source's P* alone.
    before = source.shared.detach().clone()
    with torch.no_grad():
        target.shared.add_(1.0)
    assert torch.equal(source.shared, before)


def test_for_new_tasks_ones_init_other_ranks_start_at_shared_up_to_rounding():
    source = _randomise(MultitaskPrompt(4, 6, num_tasks=1, rank=1))
    target = source.for_new_tasks(1, rank=3)
    torch.testing.assert_close(target.task_prompts()[0], source.shared[0], rtol=1e-6, atol=0)


def test_for_new_tasks_keeps_rank_by_default():
    source = MultitaskPrompt(4, 6, num_tasks=3, rank=2)
    assert source.for_new_tasks().rank == 2
    assert source.for_new_tasks().num_tasks == 1


def test_from_teachers_shared_is_mean_of_teachers():
    teachers = torch.randn(3, 4, 6)
    mpt = MultitaskPrompt.from_teachers(teachers, rank=1)
    assert (mpt.num_tasks, mpt.num_tokens, mpt.dim, mpt.rank) == (3, 4, 6, 1)
    torch.testing.assert_close(mpt.shared[0], (teachers[0] + teachers[1] + teachers[2]) / 3)
    # With the default "ones" init every task starts at the mean prompt.
    for k in range(3):
        torch.testing.assert_close(mpt.task_prompts()[k], teachers.mean(0))


def test_soft_prompt_init_shape_checked():
    with pytest.raises(ValueError, match=r"l=4, d=6"):
        SoftPrompt(4, 6, 1, init=torch.zeros(4, 5))
    shared2d = torch.randn(4, 6)
    prompt = SoftPrompt(4, 6, num_tasks=2, init=shared2d)
    torch.testing.assert_close(prompt.weight[0], shared2d)
    torch.testing.assert_close(prompt.weight[1], shared2d)


def test_from_vocab_rows_are_embedding_rows_and_seeded():
    emb = nn.Embedding(50, 8)
    prompt = SoftPrompt.from_vocab(emb, num_tokens=5, num_tasks=2, seed=3)
    assert prompt.weight.shape == (2, 5, 8)
    for k in range(2):
        for row in prompt.weight[k]:
            matches = (emb.weight == row).all(dim=1)
            assert matches.any(), "every prompt row must be a row of the embedding matrix"
    again = SoftPrompt.from_vocab(emb, num_tokens=5, num_tasks=2, seed=3)
    other = SoftPrompt.from_vocab(emb, num_tokens=5, num_tasks=2, seed=4)
    torch.testing.assert_close(prompt.weight, again.weight)
    assert not torch.equal(prompt.weight, other.weight)
    # A copy: the prompt is not a view of the (frozen) embedding matrix.
    assert prompt.weight.requires_grad and prompt.weight.data_ptr() != emb.weight.data_ptr()


def test_sample_vocab_embeddings_respects_top_k():
    emb = nn.Embedding(100, 4)
    with torch.no_grad():
        emb.weight.copy_(torch.arange(100).float()[:, None].expand(-1, 4))  # row i is all i
    rows = sample_vocab_embeddings(emb, 200, generator=torch.Generator().manual_seed(0), top_k=10)
    assert rows.shape == (200, 4)
    assert rows.max().item() <= 9 and rows.min().item() >= 0
    assert len(rows[:, 0].unique()) > 1


def test_from_text_repeats_or_cuts_the_text_tokens(llama):
    tok, emb = llama.tokenizer, llama.embeddings
    ids = tok("ab", add_special_tokens=False)["input_ids"]
    assert len(ids) == 2
    prompt = SoftPrompt.from_text(tok, emb, "ab", num_tokens=5)
    assert prompt.weight.shape == (1, 5, llama.dim)
    expected = emb.weight[torch.tensor([ids[0], ids[1], ids[0], ids[1], ids[0]])]
    torch.testing.assert_close(prompt.weight[0], expected)
    cut = text_init_embeddings(tok, emb, "abcdefgh", 3)
    torch.testing.assert_close(
        cut, emb.weight[torch.tensor(tok("abc", add_special_tokens=False)["input_ids"])]
    )


def test_from_text_empty_text_is_an_error(llama):
    with pytest.raises(ValueError, match="tokenises to nothing"):
        SoftPrompt.from_text(llama.tokenizer, llama.embeddings, "", 4)


def test_from_prompts_spot_copies_values():
    teachers = torch.randn(3, 4, 6)
    one = SoftPrompt.from_prompts(teachers[1])
    assert one.weight.shape == (1, 4, 6)
    torch.testing.assert_close(one.weight[0], teachers[1])
    many = SoftPrompt.from_prompts([teachers[0], teachers[2]])
    assert many.weight.shape == (2, 4, 6)
    torch.testing.assert_close(many.weight[1], teachers[2])
    with torch.no_grad():
        one.weight.zero_()
    assert teachers[1].abs().sum() > 0, "training the copy must not change the teacher"
