"""The student copies quote no number of the committed run in their prose: each reading of the run (a markdown cell
tagged ``reading``) becomes a prompt to read one's own output, and one generated cell after the summary cell quotes
what the reference run printed, verbatim from the solution notebook's outputs. A notebook whose summary cell has no
output gets no copy, and tools/make_exercises.py says why in one line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import repo_module

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DECIMAL = re.compile(r"\d+\.\d+")

make_exercises = repo_module("tools.make_exercises")


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def _copy(path: Path):
    return nbformat.reads(make_exercises.render(path), as_version=4)


def leaked_numbers(solution, copy) -> dict[str, list[str]]:
    """For each reading of ``solution`` (by cell id), the decimals it quotes that its cell in ``copy`` still has;
    a reading that is missing from the copy, or has lost its tag there, is reported too."""
    cells = {c.get("id"): c for c in copy.cells}
    leaks = {}
    for cell in solution.cells:
        if make_exercises.READING_TAG not in _tags(cell):
            continue
        other = cells.get(cell.get("id"))
        if other is None or make_exercises.READING_TAG not in _tags(other):
            leaks[cell.get("id")] = ["(the reading is missing or untagged in the copy)"]
            continue
        found = sorted({n for n in DECIMAL.findall(cell.source) if n in other.source})
        if found:
            leaks[cell.get("id")] = found
    return leaks


def reference_problems(solution, copy) -> list[str]:
    """What is wrong with the copy's reference-run cell: not exactly one, not right after the summary cell, or not
    quoting the solution's summary output verbatim."""
    printed = make_exercises.output_text(solution.cells[make_exercises.summary_index(solution, "nb")]).strip("\n")
    found = [i for i, c in enumerate(copy.cells)
             if c.cell_type == "markdown" and c.source.startswith("**A reference run**")]
    if len(found) != 1:
        return [f"{len(found)} reference-run cells, not one"]
    i, problems = found[0], []
    if make_exercises.summary_index(copy, "nb") != i - 1:
        problems.append("the reference run does not follow the summary cell")
    if not printed or printed not in copy.cells[i].source:
        problems.append("the reference run does not quote the summary cell's output verbatim")
    if "Yours will differ" not in copy.cells[i].source:
        problems.append("the reference run does not say the student's numbers will differ")
    return problems


# ----------------------------------------------------------------------------------------------------- readings
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_tags_its_readings_of_the_run(path):
    """Each notebook reads its run at least once, only markdown cells are readings, and a cell that names the
    committed run beside a decimal is tagged (the tag cannot be forgotten on a new reading written that way)."""
    cells = nbformat.read(path, as_version=4).cells
    readings = [c for c in cells if make_exercises.READING_TAG in _tags(c)]
    assert readings, f"{path.name}: no cell tagged {make_exercises.READING_TAG!r}"
    assert all(c.cell_type == "markdown" for c in readings), f"{path.name}: a code cell is tagged as a reading"
    untagged = [c.source[:60] for c in cells if c.cell_type == "markdown" and c not in readings
                and re.search(r"committed run", c.source, flags=re.I) and DECIMAL.search(c.source)]
    assert not untagged, f"{path.name}: these cells quote the committed run; tag them 'reading': {untagged}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_copys_readings_quote_no_number_of_the_run(path):
    solution, copy = nbformat.read(path, as_version=4), _copy(path)
    assert leaked_numbers(solution, copy) == {}
    readings = [c for c in copy.cells if make_exercises.READING_TAG in _tags(c)]
    assert len(readings) == sum(make_exercises.READING_TAG in _tags(c) for c in solution.cells)
    for cell in readings:
        assert not re.search(r"\d", cell.source), f"{path.name}: a reading in the copy still has a digit: {cell.source}"
        assert cell.source.endswith(make_exercises.READING_PROMPT)


def test_the_leak_check_catches_a_copy_that_keeps_its_readings(monkeypatch):
    """The check above can fail: with readings left as they are, it finds the run's numbers in the copy."""
    path = ROOT / "notebooks" / "03_prompt_distillation.ipynb"
    monkeypatch.setattr(make_exercises, "reading_prompt", lambda source: source)
    leaks = leaked_numbers(nbformat.read(path, as_version=4), _copy(path))
    assert any("2.28" in found for found in leaks.values()), leaks


def test_a_reading_keeps_only_its_digit_free_lead_in_and_first_sentence():
    prompt = make_exercises.reading_prompt
    tail = make_exercises.READING_PROMPT
    assert prompt("**How to read this** (the committed run: 48 steps). The loss falls (2.28 → 1.07).") == (
        "**How to read this.** " + tail)
    assert prompt("How to read this: all methods train for the same steps, e.g. PT. PT scores 0.519.") == (
        "How to read this: all methods train for the same steps, e.g. PT. " + tail)
    assert prompt("**The committed run** (seed 0). MPT − PT is −0.023 at k = 4.") == tail
    assert prompt("In the committed run the loss falls from 0.437. Look at it.") == tail
    assert prompt("The curve shows how little one rank buys: at r = 1 it misses by 0.833.") == tail
    assert prompt("Look at the\nbars first.\n\nThey move by 0.02.") == "Look at the bars first. " + tail
    assert not re.search(r"\d", tail)


# ------------------------------------------------------------------------------------------------ reference run
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_copy_quotes_the_reference_run_once_after_the_summary_cell(path):
    solution, copy = nbformat.read(path, as_version=4), _copy(path)
    assert reference_problems(solution, copy) == []
    cell = next(c for c in copy.cells if c.get("id") == make_exercises.REFERENCE_ID)
    assert "notebook wall time:" in cell.source and "profile" in cell.source


def test_the_reference_check_catches_a_missing_moved_or_stale_reference():
    path = ROOT / "notebooks" / "01_prompt_tuning.ipynb"
    solution = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(_copy(path).cells) if c.get("id") == make_exercises.REFERENCE_ID)
    missing = _copy(path)
    del missing.cells[at]
    assert reference_problems(solution, missing) == ["0 reference-run cells, not one"]
    moved = _copy(path)
    moved.cells.insert(0, moved.cells.pop(at))
    assert reference_problems(solution, moved) == ["the reference run does not follow the summary cell"]
    stale = _copy(path)
    stale.cells[at].source = stale.cells[at].source.replace("wall time", "time")
    assert reference_problems(solution, stale) == [
        "the reference run does not quote the summary cell's output verbatim"]


def test_a_summary_cell_without_output_fails_in_one_line(tmp_path, monkeypatch, capsys):
    """Write mode and --check both exit 1 with one line naming the notebook; its copy is neither written nor
    taken for an orphan, and the other notebooks' copies are still written."""
    notebooks, exercises = tmp_path / "notebooks", tmp_path / "exercises"
    notebooks.mkdir()
    for path in NOTEBOOKS[:2]:
        shutil.copy(path, notebooks / path.name)
    broken = notebooks / NOTEBOOKS[1].name
    nb = nbformat.read(broken, as_version=4)
    nb.cells[make_exercises.summary_index(nb, broken.name)].outputs = []
    nbformat.write(nb, broken)
    monkeypatch.setattr(make_exercises, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(make_exercises, "EXERCISES", exercises)
    capsys.readouterr()
    assert make_exercises.main([]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and broken.name in err[0] and "summary cell has no output" in err[0], err
    assert sorted(p.name for p in exercises.glob("*.ipynb")) == [NOTEBOOKS[0].name]
    assert make_exercises.main(["--check"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and broken.name in err[0] and "summary cell has no output" in err[0], err
    with pytest.raises(ValueError, match="summary cell has no output"):
        make_exercises.render(broken)
