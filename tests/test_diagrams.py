"""The teaching diagrams: they build headless, say what they should, keep their text apart, and the mixed batch is
the real sampler's output; the roadmap lights the notebook asked for, and opens every notebook."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import jupytext
import matplotlib.pyplot as plt
import pytest
from conftest import repo_module
from matplotlib.colors import same_color
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text

from mpt_nb.course import course_notebooks
from mpt_nb.data import MultitaskBatchSampler
from mpt_nb.diagrams import (
    ROADMAP_STAGES,
    TRAINABLE,
    distillation_diagram,
    mixed_batch_diagram,
    mpt_pipeline_diagram,
    roadmap_diagram,
    soft_prompt_diagram,
)

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("movie_sentiment", "question_type", "sms_spam", "fact_verification")


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _all_text(fig: Figure) -> str:
    return "\n".join(t.get_text() for t in _texts(fig))


def _overlaps(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of texts whose drawn boxes overlap (by more than a pixel), at the dpi the docs use."""
    fig.set_dpi(110)
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    boxes = [(t.get_text(), t.get_window_extent(renderer).expanded(1.0, 1.0).padded(-1.0)) for t in _texts(fig)]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]


def _outside(fig: Figure) -> list[str]:
    """Texts that stick out of the figure (would be cut off in the PNG)."""
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    frame = fig.bbox
    return [t.get_text() for t in _texts(fig) if not (
        frame.x0 <= (b := t.get_window_extent(renderer)).x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1
    )]


BUILDERS = {
    "soft_prompt": soft_prompt_diagram,
    "mpt_pipeline": mpt_pipeline_diagram,
    "distillation": distillation_diagram,
    "mixed_batch": mixed_batch_diagram,
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_each_diagram_is_readable_headless(name):
    fig = BUILDERS[name]()
    try:
        assert isinstance(fig, Figure)
        width, height = fig.get_size_inches()
        assert 9 <= width <= 11 and 3.5 <= height <= 5.5  # notebook width
        texts = _texts(fig)
        assert len(texts) > 10
        assert min(t.get_fontsize() for t in texts) >= 8
        assert _overlaps(fig) == []
        assert _outside(fig) == []
    finally:
        plt.close(fig)


def test_overlap_check_can_fail():
    fig = soft_prompt_diagram()
    try:
        fig.axes[0].text(50, 20, "a label on top of another", fontsize=12)
        fig.axes[0].text(50, 20, "another label", fontsize=12)
        fig.axes[0].text(200, 20, "off the page", fontsize=12)
        assert _overlaps(fig)
        assert "off the page" in _outside(fig)
    finally:
        plt.close(fig)


def test_soft_prompt_shows_shapes_frozen_parts_and_label_words():
    fig = soft_prompt_diagram(l=20, d=576)
    text = _all_text(fig)
    plt.close(fig)
    assert "l × d = 20 × 576" in text and "11,520" in text  # l·d trainable numbers
    assert "frozen language model" in text and "trainable" in text and "frozen (no gradients)" in text
    assert "“negative”" in text and "“positive”" in text and "answer position" in text
    assert "updates only P" in text
    assert all(word in text for word in ("Review:", "gem", "film", "Sentiment:"))
    assert "p₁" in text and "p₂₀" in text
    small = soft_prompt_diagram(l=3, d=8)
    text = _all_text(small)
    plt.close(small)
    assert "3 × 8" in text and "p₃" in text and "⋯" not in text  # three vectors: all drawn, none elided
    with pytest.raises(ValueError, match="l and d must be >= 1"):
        soft_prompt_diagram(l=0)


def test_pipeline_uses_the_course_notation():
    fig = mpt_pipeline_diagram()
    texts = [t.get_text() for t in _texts(fig)]
    text = "\n".join(texts)
    plt.close(fig)
    assert any("P*" in t for t in texts) and any(t.startswith("u₁") for t in texts)
    for stage in ("Stage 1a", "Stage 1b", "Stage 2"):
        assert stage in text
    assert "u₁: l×r" in text and "v₁: r×d" in text and "Wᵢ = uᵢvᵢ" in text
    assert "P̂₁\n= P* ∘ W₁" in text  # the student of task 1 is P* ∘ W₁
    assert "l·d + (l+d)·r" in text and "l·d + (l+d)·r·S" in text  # trainable in stage 2 and in stage 1b
    assert "k examples per" in text and "m ∈ [2, κ]" in text and "λ (L_logits + L_hidden)" in text
    assert "u v = 1" in text  # fresh u, v start the target at P*
    assert "L_PLM alone" in text  # targets train without distillation


def test_distillation_names_every_loss_term():
    fig = distillation_diagram()
    text = _all_text(fig)
    plt.close(fig)
    assert "L = L_PLM +\nλ (L_logits +\nL_hidden)" in text
    assert "KL(teacher ‖\nstudent)" in text and "temperature T" in text
    assert "answer-position\nhidden states" in text  # one hidden state per example, where the answer is read
    assert "teacher prompt Pᵢ\n(stage 1a, frozen)" in text and "P̂ᵢ = P* ∘ (uᵢ vᵢ)" in text
    assert "cached" in text and "gold label y" in text and "P*, uᵢ, vᵢ only" in text


def _rows(fig: Figure) -> list[str]:
    """The task of each drawn batch row, top to bottom."""
    rows = [t for t in _texts(fig) if (t.get_gid() or "").startswith("batch-row:")]
    return [t.get_gid().split(":", 1)[1] for t in sorted(rows, key=lambda t: -t.get_position()[1])]


@pytest.mark.parametrize(("seed", "m", "batch_size"), [(0, 3, 8), (1, 3, 8), (2, 2, 6), (3, 4, 12), (4, 3, 5)])
def test_mixed_batch_rows_are_the_real_samplers_batch(seed, m, batch_size):
    fig = mixed_batch_diagram(batch_size=batch_size, tasks=TASKS, m=m, seed=seed)
    rows, text = _rows(fig), _all_text(fig)
    plt.close(fig)
    # The same sampler, called here on its own, over batch_size fake examples per task.
    task_of = [t for t in range(len(TASKS)) for _ in range(batch_size)]
    batch = next(iter(MultitaskBatchSampler(task_of, batch_size, max_tasks_per_batch=m, num_batches=6, seed=seed)))
    assert rows == [TASKS[task_of[e]] for e in batch]
    assert len(rows) == batch_size
    drawn = set(rows)
    assert 2 <= len(drawn) <= m
    assert f"this batch mixes m = {len(drawn)} of the S = 4" in text and f"κ = {m}" in text
    for e in batch:
        assert f"example #{e} of {TASKS[task_of[e]]}" in text


def test_mixed_batch_prompts_follow_the_rows_task():
    fig = mixed_batch_diagram(seed=1)
    texts = _texts(fig)
    rows = [t for t in texts if (t.get_gid() or "").startswith("batch-row:")]
    prompts = {round(t.get_position()[1], 3): t.get_text() for t in texts if t.get_text().startswith("P̂")}
    plt.close(fig)
    subscripts = "₁₂₃₄"
    for row in rows:
        task = row.get_gid().split(":", 1)[1]
        assert prompts[round(row.get_position()[1], 3)] == f"P̂{subscripts[TASKS.index(task)]}"
    assert len(set(prompts.values())) >= 2  # the rows' prompts differ; the model box is one


def test_mixed_batch_over_seeds_mixes_two_to_kappa_tasks():
    sizes = set()
    for seed in range(8):
        fig = mixed_batch_diagram(m=3, seed=seed)
        sizes.add(len(set(_rows(fig))))
        plt.close(fig)
    assert sizes <= {2, 3} and sizes == {2, 3}  # both happen: m is drawn per batch


def test_mixed_batch_rejects_what_it_cannot_draw():
    with pytest.raises(ValueError, match="κ = 1"):
        mixed_batch_diagram(m=1)
    with pytest.raises(ValueError, match="2 to 8 source tasks"):
        mixed_batch_diagram(tasks=("movie_sentiment",))
    with pytest.raises(ValueError, match="2 to 16 rows"):
        mixed_batch_diagram(batch_size=32)


def test_render_tool_writes_every_png(tmp_path):
    tool = repo_module("tools.render_diagrams")
    written = tool.render(tmp_path, ["soft_prompt", "mixed_batch"], dpi=40)
    assert [p.name for p in written] == ["soft_prompt.png", "mixed_batch.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed_batch.png", "soft_prompt.png"]  # no temp files left
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)
    roadmaps = {f"roadmap_{n:02d}" for n in range(1, 7)}
    assert set(tool.DIAGRAMS) == {"soft_prompt", "mpt_pipeline", "distillation", "mixed_batch"} | roadmaps
    written = tool.render(tmp_path, ["roadmap_04"], dpi=40)
    assert [p.name for p in written] == ["roadmap_04.png"] and written[0].read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit, match="unknown diagram"):
        tool.render(tmp_path, ["nope"])


# --------------------------------------------------------------------------------------------------- roadmap
NOTEBOOKS = course_notebooks()


def _roadmap_boxes(fig: Figure) -> list[FancyBboxPatch]:
    """The notebook boxes of a roadmap, left to right."""
    boxes = [p for p in fig.axes[0].patches if (p.get_gid() or "").startswith("roadmap:")]
    return sorted(boxes, key=lambda p: p.get_x())


def _lit(fig: Figure) -> list[str]:
    """The numbers of the roadmap's boxes drawn in the lit colour."""
    return [p.get_gid().split(":")[1] for p in _roadmap_boxes(fig) if same_color(p.get_facecolor(), TRAINABLE)]


def test_the_course_has_six_notebooks_each_in_one_roadmap_stage():
    assert [nb.number for nb in NOTEBOOKS] == [1, 2, 3, 4, 5, 6]
    assert all(nb.stem.startswith(f"{nb.number:02d}_") and 1 <= len(nb.topic.split()) <= 4 for nb in NOTEBOOKS)
    assert [n for _, members in ROADMAP_STAGES for n in members] == [1, 2, 3, 4, 5, 6]  # in reading order, once each


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_roadmap_lights_exactly_the_notebook_asked_for(nb):
    for asked in (nb.number, nb.stem):
        fig = roadmap_diagram(asked)
        try:
            width, height = fig.get_size_inches()
            assert 10 <= width <= 11.5 and 1.2 <= height <= 2.0  # a strip above the notebook's first section
            boxes = _roadmap_boxes(fig)
            assert [b.get_gid() for b in boxes] == [f"roadmap:{n.number:02d}" for n in NOTEBOOKS]  # reading order
            assert _lit(fig) == [f"{nb.number:02d}"]
            lit = next(b for b in boxes if b.get_gid() == f"roadmap:{nb.number:02d}")
            assert lit.get_linewidth() > max(b.get_linewidth() for b in boxes if b is not lit)  # the bold edge
            text = _all_text(fig)
            assert all(n.topic in text.replace("\n", " ") and f"{n.number:02d}" in text for n in NOTEBOOKS)
            assert all(stage in text for stage, _ in ROADMAP_STAGES)
            assert min(t.get_fontsize() for t in _texts(fig)) >= 8
            assert _overlaps(fig) == [] and _outside(fig) == []
            renderer = fig.canvas.get_renderer()
            for box in boxes:  # every title sits inside its own box
                title = next(t for t in _texts(fig) if t.get_gid() == box.get_gid().replace(":", "-title:"))
                inner = box.get_window_extent(renderer)
                drawn = title.get_window_extent(renderer)
                assert inner.x0 < drawn.x0 and drawn.x1 < inner.x1, f"{title.get_text()!r} sticks out of its box"
        finally:
            plt.close(fig)


def test_lit_box_check_can_fail():
    fig = roadmap_diagram(2)
    try:
        _roadmap_boxes(fig)[4].set_facecolor(TRAINABLE)  # light notebook 05 as well
        assert _lit(fig) == ["02", "05"]
    finally:
        plt.close(fig)


@pytest.mark.parametrize("bad", [0, 7, -1, True, 4.0, "4", "04", "04_target", "notebooks/04_target_adaptation", None])
def test_roadmap_refuses_what_is_not_a_notebook(bad):
    with pytest.raises(ValueError) as refused:
        roadmap_diagram(bad)
    message = str(refused.value)
    assert "\n" not in message and f"no notebook {bad!r}" in message
    assert "1 to 6" in message and all(nb.stem in message for nb in NOTEBOOKS)


ROADMAP_CALL = re.compile(r"^roadmap_diagram\((.*)\)$", flags=re.M)


def _opening_roadmap(script: Path) -> tuple[str, int, int, list]:
    """In a notebook's .py: the argument of its one roadmap_diagram call, that cell's index, the index of the set-up
    cell (the one calling setup), and the cells."""
    cells = jupytext.read(script).cells
    calls = [(i, m.group(1)) for i, c in enumerate(cells) if c.cell_type == "code"
             for m in ROADMAP_CALL.finditer(c.source)]
    assert len(calls) == 1, f"{script.name}: expected one roadmap_diagram(...) call, found {len(calls)}"
    at, argument = calls[0]
    setup_at = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "nb = setup(" in c.source)
    return argument, at, setup_at, cells


@pytest.mark.parametrize("script", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")), ids=lambda p: p.stem)
def test_every_notebook_opens_with_its_own_roadmap(script):
    argument, at, setup_at, cells = _opening_roadmap(script)
    number = int(script.stem[:2])
    assert argument == str(number), (
        f"{script.name} draws roadmap_diagram({argument}); it should light itself: roadmap_diagram({number})")
    # Right after the set-up: the profile cell, a markdown cell saying what the picture is, then the picture.
    assert at == setup_at + 2, f"{script.name}: the roadmap must follow the set-up cell (cell {setup_at}), not be cell {at}"
    assert cells[at - 1].cell_type == "markdown" and "roadmap_diagram" in cells[at - 1].source
    assert not any(c.source.startswith("## 1") for c in cells[:at]), f"{script.name}: the roadmap comes before section 1"


def test_opening_roadmap_check_can_fail(tmp_path):
    script = sorted((ROOT / "notebooks").glob("04_*.py"))[0]
    copy = tmp_path / script.name
    copy.write_text(script.read_text(encoding="utf-8").replace("roadmap_diagram(4)", "roadmap_diagram(3)"),
                    encoding="utf-8")
    with pytest.raises(AssertionError, match="should light itself"):
        test_every_notebook_opens_with_its_own_roadmap(copy)
