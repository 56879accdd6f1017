"""Teaching diagrams drawn by code: the soft prompt, the MPT pipeline, teacher/student distillation, a mixed batch,
and the course's roadmap that opens each notebook.

Each builder returns a ``matplotlib.figure.Figure`` (show it with ``plt.show()``, save it with ``fig.savefig``), so
tests can build them headless and ``tools/render_diagrams.py`` can write them to ``docs/figures/``. Notation is the
course's: l prompt length, d model width, r rank, P* the shared prompt (l × d), uᵢ (l × r), vᵢ (r × d),
Wᵢ = uᵢvᵢ (the code's ``u @ v``), P̂ᵢ = P* ∘ Wᵢ (∘ the element-wise product), i the source-task index, S the number
of source tasks, m the tasks mixed in one batch (m ∈ [2, κ]; the paper's K), k training examples per class,
λ the distillation weight, T the temperature.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle

__all__ = ["distillation_diagram", "mixed_batch_diagram", "mpt_pipeline_diagram", "roadmap_diagram",
           "soft_prompt_diagram"]

# One colour per role, the same in every diagram.
TRAINABLE, TRAINABLE_EDGE = "#F6B26B", "#B45F06"
FROZEN, FROZEN_EDGE = "#D9D9D9", "#7F7F7F"
SHARED, SHARED_EDGE = "#9FC5E8", "#1F5FA8"
MODEL, MODEL_EDGE = "#F3F3F3", "#434343"
LOSS, LOSS_EDGE = "#FFF2CC", "#BF9000"
MUTED, MUTED_EDGE, MUTED_TEXT = "#F7F7F7", "#BBBBBB", "#8A8A8A"
GRADIENT = "#C62828"
TASK_COLOURS = ("#1B9E77", "#D95F02", "#7570B3", "#E7298A", "#66A61E", "#E6AB02", "#A6761D", "#666666")


# --------------------------------------------------------------------------------------------------- drawing kit

def _canvas(width: float, height: float, title: str = "") -> tuple[Figure, Axes]:
    """A figure of width × height inches whose single axes counts 10 units per inch, with a title on top (if any)."""
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10 * width)
    ax.set_ylim(0, 10 * height)
    ax.axis("off")
    if title:
        ax.text(5 * width, 10 * height - 1.5, title, ha="center", va="top", fontsize=11, fontweight="bold")
    return fig, ax


def _box(ax: Axes, x: float, y: float, w: float, h: float, text: str = "", *, face: str = MODEL,
         edge: str = MODEL_EDGE, fontsize: float = 9, lw: float = 1.2, ls: str = "-", **text_kw) -> FancyBboxPatch:
    """A rounded box with its lower-left corner at (x, y) and centred text; returns the box."""
    box = ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.8", facecolor=face,
                                      edgecolor=edge, linewidth=lw, linestyle=ls))
    if text:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, linespacing=1.3, **text_kw)
    return box


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], *, color: str = "black", lw: float = 1.2,
           ls: str = "-", connection: str | None = None, halo: bool = False) -> None:
    """An arrow from start to end (data units); ``halo`` draws a white band under it where it crosses another line."""
    props = {"arrowstyle": "-|>", "color": color, "lw": lw, "linestyle": ls, "shrinkA": 0, "shrinkB": 0,
             "mutation_scale": 12}
    if connection:
        props["connectionstyle"] = connection
    if halo:
        band = {**props, "arrowstyle": "-", "color": "white", "lw": 6, "shrinkA": 3, "shrinkB": 2}
        ax.annotate("", xy=end, xytext=start, arrowprops=band)
    ax.annotate("", xy=end, xytext=start, arrowprops=props)


def _bracket(ax: Axes, x0: float, x1: float, y: float, text: str, *, color: str = "black", fontsize: float = 9,
             **text_kw) -> None:
    """A square bracket under [x0, x1] at height y with a label below it."""
    ax.plot([x0, x0, x1, x1], [y + 0.8, y, y, y + 0.8], color=color, lw=1)
    ax.text((x0 + x1) / 2, y - 0.6, text, ha="center", va="top", fontsize=fontsize, color=color, linespacing=1.3,
            **text_kw)


def _legend(ax: Axes, x: float, y: float, entries: Sequence[tuple[str, str, str]], *, fontsize: float = 9) -> None:
    """Colour swatches with labels in a row starting at (x, y): entries are (face, edge, label)."""
    for face, edge, label in entries:
        ax.add_patch(Rectangle((x, y - 0.8), 2.4, 1.6, facecolor=face, edgecolor=edge, lw=1))
        ax.text(x + 3.0, y, label, ha="left", va="center", fontsize=fontsize)
        x += 4.2 + 0.62 * len(label)


def _sub(number: int | str) -> str:
    """Unicode subscript digits (and i, k, S): 20 → ₂₀."""
    return str(number).translate(str.maketrans("0123456789ikS", "₀₁₂₃₄₅₆₇₈₉ᵢₖₛ"))


def _low_rank(ax: Axes, x: float, yc: float, i: str, *, face: str = TRAINABLE, edge: str = TRAINABLE_EDGE) -> float:
    """uᵢ (a tall thin l × r block) times vᵢ (a flat wide r × d block), labelled; returns the right end."""
    ax.add_patch(Rectangle((x, yc - 2.6), 1.3, 5.2, facecolor=face, edgecolor=edge, lw=1.1))
    ax.text(x + 0.65, yc - 3.2, f"u{i}: l×r", ha="center", va="top", fontsize=8.5)
    ax.text(x + 2.2, yc + 1.2, "·", ha="center", va="center", fontsize=12)
    ax.add_patch(Rectangle((x + 3.1, yc + 0.6), 8.5, 1.3, facecolor=face, edgecolor=edge, lw=1.1))
    ax.text(x + 7.35, yc - 0.2, f"v{i}: r×d", ha="center", va="top", fontsize=8.5)
    return x + 11.6


# --------------------------------------------------------------------------------------------------- soft prompt

def soft_prompt_diagram(l: int = 20, d: int = 576) -> Figure:  # noqa: E741 (the paper's l)
    """Prompt tuning: l trainable vectors (l × d) in front of the frozen input embeddings, label words scored."""
    if l < 1 or d < 1:
        raise ValueError(f"l and d must be >= 1, got l={l}, d={d}")
    fig, ax = _canvas(10.5, 4.4, "Prompt tuning: a soft prompt in front of the input, only the prompt is trained")

    # The input sequence: l prompt vectors (the first three, ⋯, the last), then the example's token embeddings.
    y0, h = 8.0, 6.0
    shown = [f"p{_sub(i)}" for i in range(1, min(l, 3) + 1)]
    shown += (["⋯"] if l > 4 else []) + ([f"p{_sub(l)}"] if l > 3 else [])
    x = 3.0
    prompt_centres = []
    for name in shown:
        w = 3.0 if name == "⋯" else 5.0
        if name == "⋯":
            ax.text(x + w / 2, y0 + h / 2, "⋯", ha="center", va="center", fontsize=12)
        else:
            _box(ax, x, y0, w, h, name, face=TRAINABLE, edge=TRAINABLE_EDGE, fontsize=10)
            prompt_centres.append(x + w / 2)
        x += w + 0.8
    prompt_end = x - 0.8
    x += 2.0
    words = ["Review:", "a", "gem", "of", "a", "film", "Sentiment:"]
    input_start, word_centres = x, []
    for word in words:
        w = 2.6 + 0.72 * len(word)
        _box(ax, x, y0, w, h, word, face=FROZEN, edge=FROZEN_EDGE, fontsize=9)
        word_centres.append(x + w / 2)
        x += w + 0.8
    input_end = x - 0.8
    _bracket(ax, 3.0, prompt_end, y0 - 1.2, f"soft prompt P: l × d = {l} × {d}\ntrainable: l·d = {l * d:,} numbers",
             color=TRAINABLE_EDGE)
    _bracket(ax, input_start, input_end, y0 - 1.2,
             "E(x): embeddings of the n input tokens, n × d (frozen embedding table)", color=FROZEN_EDGE)

    # The frozen model over the whole (l + n) × d sequence.
    lm_y, lm_h = 20.0, 7.5
    _box(ax, 3.0, lm_y, input_end - 3.0, lm_h, "", face=MODEL, edge=MODEL_EDGE, lw=1.5)
    ax.text((3.0 + input_end) / 2 + 6, lm_y + lm_h / 2 + 1.3, "frozen language model", ha="center", va="center",
            fontsize=11, fontweight="bold")
    ax.text((3.0 + input_end) / 2 + 6, lm_y + lm_h / 2 - 1.5,
            f"reads the sequence [P ; E(x)] of shape (l + n) × d   (d = {d})", ha="center", va="center", fontsize=9)
    for cx in prompt_centres + word_centres:
        _arrow(ax, (cx, y0 + h), (cx, lm_y), lw=1)

    # The answer position: next-token logits there, restricted to the task's label words.
    answer_x = word_centres[-1]
    sx, sy, sw, sh = answer_x + 5.5, 25.5, 26.0, 13.0
    ax.plot([answer_x, answer_x], [lm_y + lm_h, 32.5], color="black", lw=1.2)
    _arrow(ax, (answer_x, 32.5), (sx, 32.5))
    ax.text(answer_x - 0.8, 30.3, "answer position\n(last input token)", ha="right", va="center", fontsize=9)
    _box(ax, sx, sy, sw, sh, "", face=LOSS, edge=LOSS_EDGE)
    ax.text(sx + sw / 2, sy + sh - 1.4, "next-token logits at the answer,\nonly the label words", ha="center",
            va="top", fontsize=9)
    for j, (word, p) in enumerate((("negative", 0.12), ("positive", 0.88))):
        by = sy + 6.6 - 2.3 * j
        ax.text(sx + 9.5, by, f"“{word}”", ha="right", va="center", fontsize=9)
        ax.add_patch(Rectangle((sx + 10.0, by - 0.8), 12.0 * p, 1.6, facecolor=TRAINABLE_EDGE if j else FROZEN_EDGE))
        ax.text(sx + 10.4 + 12.0 * p, by, f"{p:.2f}", ha="left", va="center", fontsize=8)
    ax.text(sx + sw / 2, sy + 0.9, "L_PLM: cross-entropy of the gold word", ha="center", va="bottom", fontsize=9)

    # Gradients: back through the frozen model, into the prompt only.
    gy = sy + sh - 1.5
    ax.plot([sx, 1.2, 1.2], [gy, gy, y0 + h / 2], color=GRADIENT, lw=1.2, ls="--")
    _arrow(ax, (1.2, y0 + h / 2), (3.0, y0 + h / 2), color=GRADIENT)
    ax.text(3.0, gy + 0.5, "gradient of L_PLM: flows back through the frozen model, updates only P", ha="left",
            va="bottom", fontsize=9, color=GRADIENT)
    for row, (face, edge, label) in enumerate(((TRAINABLE, TRAINABLE_EDGE, "trainable (gets gradients)"),
                                               (FROZEN, FROZEN_EDGE, "frozen (no gradients)"))):
        _legend(ax, sx + 1.0, 12.0 - 3.0 * row, [(face, edge, label)])
    return fig


# --------------------------------------------------------------------------------------------------- MPT pipeline

def mpt_pipeline_diagram() -> Figure:
    """MPT's stages: teachers per source task (1a), shared P* with per-task uᵢ, vᵢ distilled (1b), target adaptation (2)."""
    fig, ax = _canvas(11.0, 5.2, "Multitask prompt tuning (MPT): learn one shared prompt P* from S source tasks, "
                                 "then adapt it")
    panels = (
        (1.0, 28.5, "Stage 1a · teachers", "one prompt per source task,\ntrained alone (prompt tuning)"),
        (31.0, 47.5, "Stage 1b · multitask distillation", "one shared P*, a rank-r Wᵢ = uᵢvᵢ per task;\n"
                                                           "student P̂ᵢ learns from teacher Pᵢ"),
        (80.5, 28.5, "Stage 2 · target adaptation", "a new task with k examples per\nclass (few-shot) or all data"),
    )
    for x, w, title, subtitle in panels:
        ax.add_patch(FancyBboxPatch((x, 2.0), w, 44.5, boxstyle="round,pad=0,rounding_size=1.2", facecolor="#FAFAFA",
                                    edgecolor="#BBBBBB", lw=1, zorder=0))
        ax.text(x + w / 2, 45.0, title, ha="center", va="top", fontsize=10, fontweight="bold")
        ax.text(x + w / 2, 42.3, subtitle, ha="center", va="top", fontsize=9, linespacing=1.25)

    rows = ((34.5, "1"), (25.5, "2"), (13.0, "S"))
    lane = 19.2  # between task 2 and task S: where the trained P* leaves for stage 2
    for n, (yc, i) in enumerate(rows):
        colour, sub = TASK_COLOURS[n], _sub(i)
        # 1a: the task and its teacher.
        _box(ax, 2.5, yc - 2.5, 9.0, 5.0, f"source\ntask {i}", face="white", edge=colour, lw=1.6, fontsize=9)
        _arrow(ax, (11.5, yc), (14.5, yc))
        _box(ax, 14.5, yc - 2.5, 12.5, 5.0, f"teacher P{sub}\nl × d", face=TRAINABLE, edge=TRAINABLE_EDGE)
        # 1b: the student prompt of the same task, P̂ᵢ = P* ∘ (uᵢ vᵢ).
        _arrow(ax, (27.0, yc), (33.5, yc), color=colour, lw=1.6)
        ax.text(30.25, yc + 0.5, "distil", ha="center", va="bottom", fontsize=8.5, color=colour)
        _box(ax, 33.5, yc - 2.5, 13.0, 5.0, f"student P̂{sub}\n= P* ∘ W{sub}", face="white", edge=colour, lw=1.6)
        ax.text(48.0, yc, "=", ha="center", va="center", fontsize=11)
        _box(ax, 49.5, yc - 2.0, 5.5, 4.0, "P*", face=SHARED, edge=SHARED_EDGE, fontsize=10)
        ax.text(56.5, yc, "∘ (", ha="center", va="center", fontsize=11)
        right = _low_rank(ax, 58.5, yc, sub)
        ax.text(right + 1.0, yc, ")", ha="center", va="center", fontsize=11)
    for x in (20.75, 40.0):
        ax.text(x, lane, "⋮", ha="center", va="center", fontsize=14)
    for row, (face, edge, label) in enumerate(((TRAINABLE, TRAINABLE_EDGE, "trained in that stage"),
                                               (SHARED, SHARED_EDGE, "the shared P* (trained too)"))):
        _legend(ax, 3.0, 7.6 - 3.0 * row, [(face, edge, label)], fontsize=8.5)
    ax.plot([52.25, 52.25], [rows[-1][0] + 2.0, rows[0][0] - 2.0], color=SHARED_EDGE, lw=2.5, alpha=0.45, zorder=0.5)
    ax.text(55.5, 5.6, "mixed batches: m ∈ [2, κ] tasks each, every row with its own P̂ᵢ\n"
                       "L = L_PLM + λ (L_logits + L_hidden); teachers frozen\n"
                       "trainable: P* and all uᵢ, vᵢ = l·d + (l+d)·r·S",
            ha="center", va="center", fontsize=8.5, linespacing=1.35)

    # Stage 2: start from the trained P*, fresh u, v for the target task.
    _arrow(ax, (52.25, lane), (86.0, lane), color=SHARED_EDGE, lw=1.8)
    ax.text(66.0, lane + 0.4, "the one trained P*", ha="center", va="bottom", fontsize=8.5, color=SHARED_EDGE)
    _box(ax, 86.0, lane - 2.5, 6.5, 5.0, "P*", face=SHARED, edge=SHARED_EDGE, fontsize=10)
    ax.text(94.0, lane, "∘ (", ha="center", va="center", fontsize=11)
    right = _low_rank(ax, 95.8, lane, "")
    ax.text(right + 0.8, lane, ")", ha="center", va="center", fontsize=11)
    ax.text(94.75, 28.5, "start from the trained P*;\nfresh u, v with u v = 1,\nso P̂ starts exactly at P*",
            ha="center", va="center", fontsize=8.5, linespacing=1.35)
    _arrow(ax, (89.25, lane - 2.5), (89.25, 13.0))
    _box(ax, 83.0, 5.0, 23.5, 8.0, "target prompt P̂ = P* ∘ (u v)\ntrains P*, u, v on L_PLM alone:\nl·d + (l+d)·r parameters",
         face=TRAINABLE, edge=TRAINABLE_EDGE, fontsize=8.5)
    return fig


# --------------------------------------------------------------------------------------------------- distillation

def distillation_diagram() -> Figure:
    """Teacher/student distillation: one frozen LM, two passes, L = L_PLM + λ (L_logits + L_hidden)."""
    fig, ax = _canvas(11.0, 5.0, "Prompt distillation: the same frozen model runs an example twice, "
                                 "with the teacher's and the student's prompt")
    top, mid, bottom, h = 37.5, 23.5, 10.5, 6.4  # row centres and box height
    ax.text(1.0, top, "teacher pass\n(once per example;\noutputs cached)", ha="left", va="center", fontsize=9,
            linespacing=1.3)
    ax.text(1.0, bottom, "student pass\n(every step)", ha="left", va="center", fontsize=9, linespacing=1.3)

    # Column A: the two prompts and the shared example.
    _box(ax, 15.0, top - h / 2, 19.0, h, "teacher prompt Pᵢ\n(stage 1a, frozen)", face=FROZEN, edge=FROZEN_EDGE)
    _box(ax, 15.0, bottom - h / 2, 19.0, h, "student prompt\nP̂ᵢ = P* ∘ (uᵢ vᵢ)", face=TRAINABLE,
         edge=TRAINABLE_EDGE)
    _box(ax, 15.0, mid - h / 2, 19.0, h, "example x of task i:\n“Review: a gem of a film\nSentiment:”",
         face="white", edge=FROZEN_EDGE, fontsize=8.5)
    # Column B: the frozen model, run twice.
    for yc in (top, bottom):
        _arrow(ax, (34.0, yc), (38.0, yc))
        _box(ax, 38.0, yc - h / 2, 13.0, h, "frozen LM", face=MODEL, edge=MODEL_EDGE, lw=1.5, fontweight="bold")
    _arrow(ax, (34.0, mid + 1.5), (38.0, top - h / 2))
    _arrow(ax, (34.0, mid - 1.5), (38.0, bottom + h / 2))
    ax.text(44.5, mid, "the same\nweights", ha="center", va="center", fontsize=8.5, color=MODEL_EDGE,
            linespacing=1.3)
    # Columns C and D: what each pass returns at the answer position.
    for yc, who in ((top, "teacher"), (bottom, "student")):
        _arrow(ax, (51.0, yc), (55.0, yc))
        _box(ax, 55.0, yc - h / 2, 17.0, h, f"h_{who}: hidden state\nat the answer (d)", face="white",
             edge=MODEL_EDGE)
        _arrow(ax, (72.0, yc), (75.0, yc))
        _box(ax, 75.0, yc - h / 2, 17.0, h, f"z_{who}: logits of\nthe label words", face="white", edge=MODEL_EDGE)
    # The middle row: the two distillation terms, between the teacher's and the student's outputs.
    _box(ax, 55.0, mid - h / 2, 17.0, h, "L_hidden: MSE between\nthe answer-position\nhidden states",
         face=LOSS, edge=LOSS_EDGE, fontsize=8.5)
    _box(ax, 75.0, mid - h / 2, 17.0, h, "L_logits: KL(teacher ‖\nstudent) of label-word\nsoftmax at temperature T",
         face=LOSS, edge=LOSS_EDGE, fontsize=8.5)
    for x in (63.5, 83.5):
        _arrow(ax, (x, top - h / 2), (x, mid + h / 2))
        _arrow(ax, (x, bottom + h / 2), (x, mid - h / 2))
    # Column E: the task loss and the total.
    _arrow(ax, (92.0, bottom), (95.0, bottom))
    _box(ax, 95.0, bottom - h / 2, 12.0, h, "L_PLM: cross-\nentropy with the\ngold label y", face=LOSS,
         edge=LOSS_EDGE, fontsize=8.5)
    _box(ax, 95.0, mid - h / 2, 12.0, h, "L = L_PLM +\nλ (L_logits +\nL_hidden)", face=LOSS, edge=GRADIENT,
         fontsize=9, lw=1.6)
    _arrow(ax, (92.0, mid), (95.0, mid))
    _arrow(ax, (101.0, bottom + h / 2), (101.0, mid - h / 2))
    _arrow(ax, (69.0, mid - h / 2), (97.5, mid - h / 2), connection="arc3,rad=0.3", halo=True)

    # Gradients go back to the student's prompt only.
    gy = 2.8
    ax.plot([107.0, 108.5, 108.5, 24.5], [mid, mid, gy, gy], color=GRADIENT, lw=1.2, ls="--")
    _arrow(ax, (24.5, gy), (24.5, bottom - h / 2), color=GRADIENT)
    ax.text(66.0, gy + 0.5, "gradient of L: back through the frozen LM into P*, uᵢ, vᵢ only", ha="center",
            va="bottom", fontsize=9, color=GRADIENT)
    ax.text(55.0, 45.3, "λ weighs the distillation terms against the task loss; T > 1 softens both label-word "
                        "distributions (the KL is scaled by T²)", ha="center", va="top", fontsize=9)
    return fig


# --------------------------------------------------------------------------------------------------- mixed batch

def _sampled_batches(batch_size: int, num_tasks: int, kappa: int, seed: int, num_batches: int) -> list[list[int]]:
    """Batches of example ids from the real ``MultitaskBatchSampler`` over ``batch_size`` fake examples per task."""
    from .data import MultitaskBatchSampler

    task_of_example = [t for t in range(num_tasks) for _ in range(batch_size)]
    sampler = MultitaskBatchSampler(task_of_example, batch_size, max_tasks_per_batch=kappa, num_batches=num_batches,
                                    seed=seed)
    return list(sampler)


def mixed_batch_diagram(
    batch_size: int = 8,
    tasks: Sequence[str] = ("movie_sentiment", "question_type", "sms_spam", "fact_verification"),
    m: int = 3,
    seed: int = 0,
) -> Figure:
    """A batch drawn by ``MultitaskBatchSampler`` with κ = m: each row carries its own task's P̂ᵢ, the model is shared.

    ``m`` is the most tasks one batch may mix (κ, the sampler's ``max_tasks_per_batch``); the batch drawn mixes
    between 2 and m of the S = len(tasks) tasks. ``batch_size`` fake examples per task stand in for the data.
    """
    tasks = list(tasks)
    if not 2 <= len(tasks) <= len(TASK_COLOURS):
        raise ValueError(f"draw 2 to {len(TASK_COLOURS)} source tasks, got {len(tasks)}")
    if m < 2:
        raise ValueError(f"a mixed batch needs m (κ) >= 2, got m={m}; with κ = 1 every batch holds one task")
    if not 2 <= batch_size <= 16:
        raise ValueError(f"the diagram draws 2 to 16 rows, got batch_size={batch_size}")
    batches = _sampled_batches(batch_size, len(tasks), m, seed, num_batches=6)
    task_of = [t for t in range(len(tasks)) for _ in range(batch_size)]
    batch, later = batches[0], batches[1:]
    drawn = sorted({task_of[e] for e in batch})

    fig, ax = _canvas(10.5, 5.4, "A mixed-task batch: every row carries its own task's prompt P̂ᵢ, "
                                 "the frozen model is shared")
    ax.text(52.5, 50.5, f"drawn by mpt_nb.data.MultitaskBatchSampler (seed {seed}, κ = {m}): this batch mixes "
                        f"m = {len(drawn)} of the S = {len(tasks)} source tasks", ha="center", va="top", fontsize=9)

    # Left: the source tasks, those in this batch marked.
    ax.text(1.5, 45.0, f"source tasks (S = {len(tasks)})", ha="left", va="center", fontsize=9, fontweight="bold")
    for t, name in enumerate(tasks):
        y = 41.0 - 4.2 * t
        chosen = t in drawn
        ax.add_patch(Rectangle((1.5, y - 1.3), 2.6, 2.6, facecolor=TASK_COLOURS[t], alpha=1.0 if chosen else 0.3,
                               edgecolor="none"))
        ax.text(5.0, y + 0.2, f"{t + 1}: {name}", ha="left", va="bottom", fontsize=8.5,
                color="black" if chosen else "#888888")
        ax.text(5.0, y - 0.1, "in this batch" if chosen else "not drawn this time", ha="left", va="top", fontsize=8,
                color="black" if chosen else "#888888", fontstyle="normal" if chosen else "italic")

    # Middle: the rows, each with its task's prompt in front.
    top, bottom = 42.0, 10.0
    pitch = (top - bottom) / batch_size
    bar_h = 0.78 * pitch
    fs = 9 if batch_size <= 10 else 8
    ax.text(31.0, 45.0, "prompt", ha="center", va="center", fontsize=9, fontweight="bold")
    ax.text(51.0, 45.0, "batch row (input)", ha="center", va="center", fontsize=9, fontweight="bold")
    for j, example in enumerate(batch):
        t = task_of[example]
        yc = top - pitch * (j + 0.5)
        ax.add_patch(FancyBboxPatch((27.5, yc - bar_h / 2), 7.0, bar_h, boxstyle="round,pad=0,rounding_size=0.5",
                                    facecolor=TASK_COLOURS[t], edgecolor="none"))
        ax.text(31.0, yc, f"P̂{_sub(t + 1)}", ha="center", va="center", fontsize=fs, color="white",
                fontweight="bold")
        ax.add_patch(FancyBboxPatch((35.3, yc - bar_h / 2), 31.5, bar_h, boxstyle="round,pad=0,rounding_size=0.5",
                                    facecolor=TASK_COLOURS[t], alpha=0.22, edgecolor=TASK_COLOURS[t]))
        ax.text(36.3, yc, f"row {j + 1}: example #{example} of {tasks[t]}", ha="left", va="center", fontsize=fs,
                gid=f"batch-row:{tasks[t]}")
        _arrow(ax, (66.8, yc), (72.0, yc), lw=0.9)

    _box(ax, 72.0, bottom, 11.0, top - bottom, "one\nfrozen LM\n\nshared by\nevery row", face=MODEL,
         edge=MODEL_EDGE, lw=1.5, fontsize=9)
    ax.text(85.0, (top + bottom) / 2, "each row is scored\non its own task's\nlabel words and\ndistilled from its "
                                      "own\nteacher Pᵢ; the\ngradient reaches P*\nand that task's uᵢ, vᵢ",
            ha="left", va="center", fontsize=9, linespacing=1.35)

    # Bottom: the next batches of the same sampler mix other tasks.
    ax.text(1.5, 4.2, "next batches\n(same sampler):", ha="left", va="center", fontsize=8.5, linespacing=1.25)
    cell = min(1.5, 13.0 / batch_size)
    for b, later_batch in enumerate(later):
        x0 = 17.0 + b * (batch_size * cell + 4.5)
        for j, example in enumerate(later_batch):
            ax.add_patch(Rectangle((x0 + j * cell, 2.2), cell, 2.2, facecolor=TASK_COLOURS[task_of[example]],
                                   edgecolor="white", lw=0.6))
        m_b = len({task_of[e] for e in later_batch})
        ax.text(x0 + batch_size * cell / 2, 5.2, f"batch {b + 2}: m = {m_b}", ha="center", va="bottom", fontsize=8)
    return fig


# --------------------------------------------------------------------------------------------------- roadmap

# The MPT stage each notebook belongs to, by notebook number, in reading order; the stage names are the pipeline's
# (mpt_pipeline_diagram). The notebooks' titles come from their title lines (mpt_nb.course.course_notebooks).
ROADMAP_STAGES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("Stage 1a · teachers", (1,)),
    ("Stage 1b · multitask distillation", (2, 3)),
    ("Stage 2 · target adaptation", (4, 5)),
    ("across all stages", (6,)),
)


def roadmap_diagram(notebook: int | str) -> Figure:
    """The course in one strip: its notebooks in reading order under their MPT stages, ``notebook`` lit.

    ``notebook`` is a number (1 for notebook 01) or a notebook's name (``"04_target_adaptation"``).
    """
    from .course import course_notebooks

    notebooks = course_notebooks()
    numbers = {nb.number for nb in notebooks}
    names = {nb.stem: nb.number for nb in notebooks}
    if isinstance(notebook, str) and notebook in names:
        lit = names[notebook]
    elif isinstance(notebook, int) and not isinstance(notebook, bool) and notebook in numbers:
        lit = notebook
    else:
        raise ValueError(f"no notebook {notebook!r} in the course; give a number {min(numbers)} to {max(numbers)} "
                         f"or a name: {', '.join(names)}")
    staged = [n for _, members in ROADMAP_STAGES for n in members]
    if sorted(staged) != sorted(numbers):
        raise ValueError(f"the roadmap's stages hold notebooks {sorted(staged)} but the course has {sorted(numbers)}; "
                         "update ROADMAP_STAGES in mpt_nb/diagrams.py")

    width, height, margin, gap = 11.0, 1.6, 1.5, 3.2
    fig, ax = _canvas(width, height)
    box_w = (10 * width - 2 * margin - gap * (len(notebooks) - 1)) / len(notebooks)
    y0, box_h = 1.0, 9.5
    left = {nb.number: margin + i * (box_w + gap) for i, nb in enumerate(notebooks)}
    for i, nb in enumerate(notebooks):
        x, here = left[nb.number], nb.number == lit
        box = _box(ax, x, y0, box_w, box_h, face=TRAINABLE if here else MUTED,
                   edge=TRAINABLE_EDGE if here else MUTED_EDGE, lw=2.4 if here else 1.0)
        box.set_gid(f"roadmap:{nb.number:02d}")
        colour = "black" if here else MUTED_TEXT
        ax.text(x + box_w / 2, y0 + box_h - 1.2, f"{nb.number:02d}", ha="center", va="top", fontsize=10,
                fontweight="bold", color=colour)
        ax.text(x + box_w / 2, y0 + box_h / 2 - 1.2, textwrap.fill(nb.topic, 20), ha="center", va="center",
                fontsize=8.5, linespacing=1.2, color=colour, gid=f"roadmap-title:{nb.number:02d}")
        if i:
            _arrow(ax, (x - gap + 0.3, y0 + box_h / 2), (x - 0.3, y0 + box_h / 2), color=MUTED_TEXT, lw=1.0)
    for stage, members in ROADMAP_STAGES:
        here = lit in members
        x0, x1 = left[members[0]] + 0.6, left[members[-1]] + box_w - 0.6
        colour = TRAINABLE_EDGE if here else MUTED_TEXT
        ax.plot([x0, x0, x1, x1], [y0 + box_h + 0.6, y0 + box_h + 1.3, y0 + box_h + 1.3, y0 + box_h + 0.6],
                color=colour, lw=1.4 if here else 0.9)
        ax.text((x0 + x1) / 2, y0 + box_h + 1.6, stage, ha="center", va="bottom", fontsize=8.5, color=colour,
                fontweight="bold" if here else "normal")
    return fig
