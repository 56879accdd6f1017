"""The paper's reported numbers, in one place: Wang et al., "Multitask Prompt Tuning Enables Parameter-Efficient
Transfer Learning", ICLR 2023 (arXiv 2303.02861), Table 1, T5-Base.

Scores are GLUE and SuperGLUE averages (%). ``scores_verified`` says whether a row's averages were checked against
the paper's Table 1; the PT row was not. Parameters per task: MPT's 77.6K and the transfer + multitask variant's
10.5K are the paper's; the others are derived or nominal (see ``params_note``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BACKBONE", "BACKBONE_PARAMS", "DIM", "MPT_PER_TASK", "PROMPT_TOKENS", "SOURCE", "TABLE1", "PaperRow"]

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
