"""The paper's reported numbers, in one place: Wang et al., "Multitask Prompt Tuning Enables Parameter-Efficient
Transfer Learning", ICLR 2023 (arXiv 2303.02861), Table 1, T5-Base.

Scores are GLUE and SuperGLUE averages (%). ``scores_verified`` says whether a row's averages were checked against
the paper's Table 1; the PT row was not. Parameters per task: MPT's 77.6K and the transfer + multitask variant's
10.5K are the paper's; the others are derived or nominal (see ``params_note``).

Beside Table 1: the SuperGLUE test sets this line of work scores on (``SUPERGLUE_TEST_SIZES``: CB has 28 items), the
per-task SuperGLUE rows of MPT and of DePT (``SUPERGLUE_PER_TASK``, each labelled by its paper and source), and the
arithmetic that says what one test example is worth in a score and in a benchmark average (``count_of``,
``points_per_item``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "BACKBONE",
    "BACKBONE_PARAMS",
    "DIM",
    "MPT_PER_TASK",
    "PROMPT_TOKENS",
    "SOURCE",
    "SUPERGLUE_PER_TASK",
    "SUPERGLUE_TEST_SIZES",
    "SUPERGLUE_VALIDATION_SIZES",
    "TABLE1",
    "TEST_SPLIT_SOURCE",
    "PaperRow",
    "SuperGlueRow",
    "count_of",
    "points_per_item",
    "superglue_average",
]

SOURCE = "Wang et al. (ICLR 2023), arXiv 2303.02861, Table 1 (T5-Base)"
BACKBONE = "T5-Base"
BACKBONE_PARAMS = 220_000_000
PROMPT_TOKENS = 100  # l
DIM = 768  # d of T5-Base


@dataclass(frozen=True)
class PaperRow:
    """One method's row of Table 1: parameters per task and the GLUE / SuperGLUE averages (%)."""

    params_per_task: int
    glue: float
    superglue: float
    scores_verified: bool
    params_note: str


TABLE1: dict[str, PaperRow] = {
    "FT": PaperRow(220_000_000, 84.9, 73.9, True, "all of T5-Base (nominal size)"),
    "PT": PaperRow(76_800, 72.2, 57.8, False, "l·d = 100·768 (derived)"),
    "SPoT": PaperRow(76_800, 82.3, 62.9, True, "l·d = 100·768 (derived)"),
    "ATTEMPT": PaperRow(232_000, 83.4, 70.5, True, "as commonly quoted; not verified"),
    "MPT": PaperRow(77_600, 85.6, 74.1, True, "Table 1; = l·d + (l + d)·r = 77,668 with r = 1"),
    "MPT (transfer + multitask)": PaperRow(
        10_500, 85.8, 76.1, True, "Table 1; one P* shared by the 8 GLUE targets, own u, v each"
    ),
}

# MPT's per-task scores in Table 1 (%), keyed by this package's task names (WSC is not in its task registry).
MPT_PER_TASK: dict[str, float] = {
    "glue/mnli": 85.9,
    "glue/qqp": 90.3,
    "glue/qnli": 93.1,
    "glue/sst2": 93.8,
    "glue/stsb": 90.4,
    "glue/mrpc": 89.1,
    "glue/rte": 79.4,
    "glue/cola": 62.4,
    "superglue/multirc": 74.8,
    "superglue/boolq": 79.6,
    "superglue/wic": 69.0,
    "superglue/wsc": 67.3,
    "superglue/cb": 79.8,
}


# ------------------------------------------------------------------------------------ SuperGLUE's small test sets
# SuperGLUE's own test labels are hidden, so ATTEMPT's, DePT's and ULPT's code scores SuperGLUE on half of its
# validation set (MPT's code was not checked here): for a dataset under 10K examples the validation split is shuffled
# (torch.randperm, seed 42), its first len // 2 rows become the validation set and the other len - len // 2 rows the
# test set.
TEST_SPLIT_SOURCE = (
    "AbstractTask.get(..., split_validation_test=True) with validation_size=len(dataset)//2: "
    "github.com/AkariAsai/ATTEMPT attempt/data/tasks.py, github.com/ZhengxiangShi/DePT src/tasks.py, "
    "github.com/MANGA-UOFA/ULPT src/tasks.py; validation sizes from github.com/huggingface/datasets "
    "datasets/super_glue/dataset_infos.json"
)

# Rows in SuperGLUE's validation split (Hugging Face super_glue; WSC is wsc.fixed, MultiRC counts answers).
SUPERGLUE_VALIDATION_SIZES: dict[str, int] = {
    "superglue/multirc": 4848,
    "superglue/boolq": 3270,
    "superglue/wic": 638,
    "superglue/wsc": 104,
    "superglue/cb": 56,
}

# The test half: CB 28, WSC 52, WiC 319, BoolQ 1,635, MultiRC 2,424 (DePT's released checkpoints score exactly these).
SUPERGLUE_TEST_SIZES: dict[str, int] = {task: n - n // 2 for task, n in SUPERGLUE_VALIDATION_SIZES.items()}


@dataclass(frozen=True)
class SuperGlueRow:
    """One method's five SuperGLUE test scores (%), keyed like ``MPT_PER_TASK``, with where they come from."""

    scores: dict[str, float]
    source: str
    scores_verified: bool
    note: str


SUPERGLUE_PER_TASK: dict[str, SuperGlueRow] = {
    "MPT": SuperGlueRow(
        {task: score for task, score in MPT_PER_TASK.items() if task.startswith("superglue/")},
        SOURCE,
        False,
        "this package's Table 1 row; the five average to the paper's 74.1, but they were not re-read against the "
        "paper. CB 79.8 is no whole number of 28 items (22.3 of 28)",
    ),
    "DePT": SuperGlueRow(
        {
            "superglue/multirc": 74.3,  # F1 74.297
            "superglue/boolq": 79.3,  # 1,297 of 1,635
            "superglue/wic": 68.7,  # 219 of 319
            "superglue/wsc": 67.3,  # 35 of 52
            "superglue/cb": 92.9,  # accuracy, 26 of 28 (macro-F1 89.5)
        },
        "Shi & Lipani, DePT (ICLR 2024, arXiv 2309.05173), T5-Base: the released checkpoints' "
        "checkpoints/superglue-*/test_results.json in github.com/ZhengxiangShi/DePT, rounded to one decimal",
        True,
        "read from the released results files; their mean, 76.49, is the 76.5 SuperGLUE average quoted for DePT",
    ),
}


def superglue_average(scores: Mapping[str, float]) -> float:
    """The plain mean of a row's per-task scores (%), as a benchmark table's average column is."""
    if not scores:
        raise ValueError("superglue_average needs at least one task's score")
    return math.fsum(scores.values()) / len(scores)


def count_of(score: float, test_size: int, decimals: int = 1) -> int | None:
    """The number k of correct test items whose accuracy 100·k/n prints as ``score``; None if no k does.

    92.9 on CB's 28 items is 26 (92.857 %); 79.8 is None, since 22 and 23 of 28 print as 78.6 and 82.1: such a score
    is not one run's accuracy on those items (a mean over seeds, or over accuracy and F1, can give it). Where several k
    print alike (n above about 1,000 at one decimal), the one nearest score·n/100.
    """
    if test_size < 1:
        raise ValueError(f"test_size is a number of test items, >= 1; got {test_size}")
    nearest = round(score * test_size / 100)
    for k in (nearest, nearest - 1, nearest + 1):
        if 0 <= k <= test_size and round(100 * k / test_size, decimals) == round(score, decimals):
            return k
    return None


def points_per_item(test_size: int, tasks: int = 1) -> float:
    """How far one of ``test_size`` test items moves its task's score (tasks=1) or a plain average over ``tasks``
    equally weighted tasks, in points: 100 / (n · tasks). CB's 28 items: 3.57 points of CB, 0.714 of a 5-task average.
    """
    if test_size < 1 or tasks < 1:
        raise ValueError(f"test_size and tasks are counts, >= 1; got test_size={test_size}, tasks={tasks}")
    return 100 / (test_size * tasks)
