"""The course kit (docs/) agrees with the committed outputs and records.

- A number the kit quotes from a run is written as a link to the output or record it comes from: reference style,
  ``[0.840][nb02]`` with ``[nb02]: ../notebooks/02_prompt_decomposition.ipynb "movie_sentiment"`` at the end of the
  file, or inline, ``[0.840](../notebooks/02_prompt_decomposition.ipynb)``. Each must be there: in a notebook's
  outputs (not its prose), in a record's text (``results/*.md``, ``*.txt``), or among the scores and seed-paired
  differences of a JSON Lines grid's records (three decimals or more: a fraction, 0.603; fewer: points, 60.3). A link's title narrows the search: text that must be on the number's
  line, or, for a grid, ``field=value`` pairs the records must have. A link to ``notebooks/`` titled
  ``"count: exercises"`` or ``"count: experiments"`` quotes how many exercise headings the notebooks have.
- Only link-shaped numbers are quotes, so formulas, section numbers and item numbers are never taken for one; and a
  score printed as the notebooks print them (0.ddd) may appear in the kit only as a quote or as the result of a
  worked formula (after ≈ or =).
- The kit has one table of measured times, written by tools/course_times.py from the notebooks' summary cells.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, repo_module

DOCS = ROOT / "docs"
NOTEBOOKS = ROOT / "notebooks"
KIT = sorted(DOCS.rglob("*.md"))

NUMBER = r"[+\-−]?\d[\d,]*(?:\.\d+)?%?"
INLINE = re.compile(rf"\[({NUMBER})\]\(([^)\s]+)(?:\s+\"([^\"]*)\")?\)")
REFERENCE = re.compile(rf"\[({NUMBER})\]\[([^\]]+)\]")
DEFINITION = re.compile(r'^\[([^\]]+)\]:\s*(\S+)(?:\s+"([^"]*)")?\s*$', flags=re.M)
EXERCISE = re.compile(r"\*\*Exercise \d+ \(([^)]*)\)")
SCORE = re.compile(r"(?<![\d.])0\.\d{3}(?!\d)")
COUNTS = ("exercises", "experiments")


@dataclass(frozen=True)
class Quote:
    """One number the kit quotes from a run, and where it says the number comes from."""

    where: str  # "docs/quizzes.md line 12"
    number: str
    target: Path | None  # None: the reference has no definition
    title: str
    link: str  # as written, for messages


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def quotes(text: str, doc: Path) -> list[Quote]:
    """Every link-shaped number in ``text`` (the markdown of ``doc``), with the file it links to."""
    defined = {m.group(1).lower(): (m.group(2), m.group(3) or "") for m in DEFINITION.finditer(text)}
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        if DEFINITION.match(line):
            continue
        links = [(m, m.group(2), m.group(3) or "") for m in INLINE.finditer(line)
                 if not m.group(2).startswith(("#", "http:", "https:"))]  # a link within the page or to the web
        links += [(m, *defined.get(m.group(2).lower(), (None, ""))) for m in REFERENCE.finditer(line)]
        for m, target, title in links:
            path = (doc.parent / target.split("#")[0]).resolve() if target is not None else None
            found.append(Quote(f"{_name(doc)} line {n}", m.group(1), path, title, m.group(0)))
    return found


def _norm(text: str) -> str:
    return text.replace("−", "-")


def output_lines(path: Path) -> list[str]:
    """What a notebook's code cells printed (streams and plain-text results), line by line."""
    lines = []
    for cell in nbformat.read(path, as_version=4).cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = out.get("text", "") if out.get("output_type") == "stream" else out.get("data", {}).get("text/plain", "")
            lines += text.splitlines()
    return lines


def grid_values(path: Path, title: str) -> list[float]:
    """The test scores of a grid's records that have every ``field=value`` of ``title``, and the differences between
    two of them that share task, k and seed (seed-paired gains)."""
    wanted = dict(part.split("=", 1) for part in title.split())
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = [r for r in records if all(str(r.get(field)) == value for field, value in wanted.items())]
    paired = defaultdict(list)
    for r in chosen:
        paired[(r.get("task"), r.get("k"), r.get("seed"))].append(r["test"])
    gains = [a - b for scores in paired.values() for i, a in enumerate(scores) for j, b in enumerate(scores) if i != j]
    return [r["test"] for r in chosen] + gains


def exercise_counts(folder: Path = NOTEBOOKS) -> dict[str, int]:
    """How many **Exercise N (...)** headings the notebooks' markdown cells have, and how many are experiments."""
    heads = [m.group(1) for path in sorted(folder.glob("[0-9][0-9]_*.ipynb"))
             for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown"
             for m in EXERCISE.finditer(cell.source)]
    return {"exercises": len(heads), "experiments": sum(h.startswith("experiment") for h in heads)}


def problem(quote: Quote) -> str | None:
    """What is wrong with ``quote`` (None: its number is where its link says)."""
    if quote.target is None:
        return f"{quote.where}: {quote.link} has no link definition ([label]: path \"title\") in the file"
    if not quote.target.exists():
        return f"{quote.where}: {quote.link} links to {_name(quote.target)}, which does not exist"
    number = _norm(quote.number)
    if quote.target.is_dir():
        kind = quote.title.removeprefix("count: ")
        if kind not in COUNTS or not quote.title.startswith("count: "):
            return (f"{quote.where}: {quote.link} links to a folder; only notebooks/ with the title "
                    f"\"count: exercises\" or \"count: experiments\" quotes a count")
        counted = exercise_counts(quote.target)[kind]
        return None if number == str(counted) else (
            f"{quote.where}: the notebooks have {counted} {kind}, not {quote.number}; write {counted}")
    if quote.target.suffix == ".jsonl":
        values = grid_values(quote.target, quote.title)
        if not values:
            return f"{quote.where}: no record of {_name(quote.target)} has {quote.title!r}; fix the link's title"
        decimals = len(number.split(".")[1].rstrip("%")) if "." in number else 0
        value = float(number.replace(",", "").rstrip("%"))
        scale = 1 if decimals >= 3 else 100  # as the repository prints them: 0.820 a fraction, 82.0 points
        hit = any(float(f"{scale * v:.{decimals}f}") == value for v in values)
        return None if hit else (f"{quote.where}: {quote.number} is not a score or seed-paired difference of the "
                                 f"records of {_name(quote.target)} with {quote.title!r}")
    if quote.target.suffix == ".ipynb":
        lines, what = output_lines(quote.target), "outputs"
    elif quote.target.suffix in (".md", ".txt"):
        lines, what = quote.target.read_text(encoding="utf-8").splitlines(), "text"
    else:
        return f"{quote.where}: {quote.link} links to {_name(quote.target)}; link a notebook, a record or a grid"
    pattern = re.compile(rf"(?<![\d.]){re.escape(number)}(?!\d)")
    if any(pattern.search(_norm(line)) for line in lines if _norm(quote.title) in _norm(line)):
        return None
    on = f" on a line with {quote.title!r}" if quote.title else ""
    return f"{quote.where}: {quote.number} is not in {_name(quote.target)}'s {what}{on}"


def loose_scores(text: str, doc: Path) -> list[str]:
    """Scores at three decimals in ``text`` that are neither a quote (a link) nor part of a worked formula (after ≈, =
    or ~, or a function's argument such as t(0.975, 1))."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        if DEFINITION.match(line):
            continue
        bare = REFERENCE.sub("", INLINE.sub("", line))
        for m in SCORE.finditer(bare):
            before = bare[: m.start()].rstrip()
            if not (before.endswith(("≈", "=", "~")) or re.search(r"\w\($", before)):  # worked, about, f(0.975)
                found.append(f"{_name(doc)} line {n}: {m.group()}")
    return found


# ------------------------------------------------------------------------------------------- the kit as committed
@pytest.mark.parametrize("doc", KIT, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_number_the_kit_quotes_is_in_a_committed_output_or_record(doc):
    problems = [p for q in quotes(doc.read_text(encoding="utf-8"), doc) if (p := problem(q))]
    assert not problems, "the kit quotes numbers the outputs do not have:\n" + "\n".join(problems)


def test_the_kit_quotes_its_run_numbers_as_links():
    by_doc = {doc.relative_to(DOCS).as_posix(): quotes(doc.read_text(encoding="utf-8"), doc) for doc in KIT}
    for name in ("instructors/answer_key.md", "quizzes.md", "course_map.md", "instructors/README.md",
                 "classroom_offline.md"):
        assert by_doc[name], f"docs/{name} quotes no number from a run as a link; the extraction found nothing"
    targets = {q.target.suffix or "folder" for q in by_doc["instructors/answer_key.md"]}
    assert {".ipynb", ".md", ".jsonl"} <= targets, targets
    counted = {q.title for q in by_doc["instructors/README.md"] if q.target is not None and q.target.is_dir()}
    assert counted == {"count: exercises", "count: experiments"}, "the instructors' README quotes both counts"


@pytest.mark.parametrize("doc", KIT, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_scores_appear_in_the_kit_only_as_quotes_or_worked_formulas(doc):
    loose = loose_scores(doc.read_text(encoding="utf-8"), doc)
    assert not loose, ("write these scores as links to the output they come from ([0.840][nb02]), or drop them: "
                       f"{loose}")


def test_the_answer_key_says_where_the_ranges_will_go():
    key = (DOCS / "instructors" / "answer_key.md").read_text(encoding="utf-8")
    assert "**Ranges: to come.**" in key and "at least 3 seeds" in key
    assert key.count("*one reference run*") >= 2, "mark each single run's number as *one reference run*"


# ------------------------------------------------------------------------------- the extraction, on made-up files
@pytest.fixture
def made_up(tmp_path):
    """A docs/ folder beside a notebook, a record and a grid, all made up, in ``tmp_path``."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 02 · Decomposition: x\n\n**Exercise 1 (compose)** and the prose's 0.999"),
        nbformat.v4.new_code_cell("print(scores)", outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="movie_sentiment P̂_i 0.820 | P* alone 0.840\nquestion_type P̂_i 0.500\n")]),
        nbformat.v4.new_markdown_cell("**Exercise 2 (experiment: the rank r)**"),
        nbformat.v4.new_code_cell("gain", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/plain": "k = 4: MPT − PT −0.023"}, execution_count=1)]),
    ]
    nbformat.write(nb, tmp_path / "notebooks" / "02_x.ipynb")
    (tmp_path / "record.md").write_text("| amazon_sentiment | 4 | PT | accuracy 81.8 ± 6.3 |\n| nyt | 4 | PT | 2.0 |\n",
                                        encoding="utf-8")
    rows = [{"task": "nyt", "k": 4, "seed": s, "method": m, "test": t}
            for s, (pt, mpt) in enumerate([(0.6027, 0.7979), (0.8801, 0.8904)]) for m, t in (("pt", pt), ("mpt", mpt))]
    (tmp_path / "grid.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return tmp_path


def _problems(text: str, root: Path) -> list[str | None]:
    return [problem(q) for q in quotes(text, root / "docs" / "made_up.md")]


def test_an_invented_number_is_caught(made_up):
    defs = ('\n\n[nb]: ../notebooks/02_x.ipynb\n[movie]: ../notebooks/02_x.ipynb "movie_sentiment"\n'
            '[rec]: ../record.md "| amazon_sentiment | 4 | PT |"\n[grid]: ../grid.jsonl "task=nyt k=4"\n'
            '[count]: ../notebooks "count: exercises"\n[exp]: ../notebooks "count: experiments"\n')
    good = ("P̂ [0.820][movie] and [0.840][nb], a gain of [−0.023][nb] or [-0.023](../notebooks/02_x.ipynb), a spread "
            "of [6.3][rec], per-seed gains [+19.5][grid] and [1.0][grid], a score of [60.3][grid] and [0.603][grid]; "
            "[2][count] exercises, [1][exp] of them experiments")
    assert _problems(good + defs, made_up) == [None] * 11
    invented = {
        "[0.999][nb]": "02_x.ipynb's outputs",  # in the notebook's prose only: outputs count
        "[0.82][nb]": "not in",  # printed as 0.820: quote it as printed
        "[0.500][movie]": "on a line with 'movie_sentiment'",  # another task's score
        "[2.0][rec]": "on a line with '| amazon_sentiment | 4 | PT |'",
        "[+19.4][grid]": "not a score or seed-paired difference",
        "[0.6][grid]": "not a score or seed-paired difference",  # 0.6027 in points is 60.3
        "[3][count]": "have 2 exercises, not 3",
        "[0.820][nowhere]": "has no link definition",
        "[0.820](../notebooks/03_missing.ipynb)": "does not exist",
        "[0.820][bad-grid]": "no record of",
    }
    bad_grid = '[bad-grid]: ../grid.jsonl "task=amazon"\n'
    for link, message in invented.items():
        found = _problems(f"We measured {link}." + defs + bad_grid, made_up)
        assert len(found) == 1 and found[0] is not None and message in found[0], (link, found)
        assert found[0].startswith(f"{made_up / 'docs' / 'made_up.md'} line 1: "), found[0]


def test_formulas_section_numbers_and_ordinary_links_are_not_quotes(made_up):
    text = ("**4.4 — SE ≈ 2.8 points.** √(0.8 × 0.2 / 200) ≈ 0.028 (§5, 1.2, item 3.3), t(0.975, 1) ≈ 12.7, "
            "l·d + (l + d)·r = 11,520 + 596, [the notes](notes.md), [Exercise 2](#exercises), [2.4](#answers)x "
            "[§3][nb] and `[0.5]` inside code\n\n[nb]: ../notebooks/02_x.ipynb\n")
    assert [q.number for q in quotes(text, made_up / "docs" / "made_up.md")] == []


def test_a_loose_score_is_caught_and_a_quoted_or_worked_one_is_not(made_up):
    doc = made_up / "docs" / "made_up.md"
    assert loose_scores("The student scores 0.720 on question type.", doc) == [f"{doc} line 1: 0.720"]
    assert loose_scores("They score (0.720 vs 0.940).", doc) == [f"{doc} line 1: 0.720", f"{doc} line 1: 0.940"]
    text = ("It scores [0.720][nb] against [0.940](x.ipynb); √(0.8 × 0.2 / 200) ≈ 0.028, p = 0.125 per row, "
            "t(0.975, 1) ≈ 12.7 and ~0.035 s a step.")
    assert loose_scores(text, doc) == []


def test_the_counts_read_the_notebooks_exercise_headings(made_up):
    assert exercise_counts(made_up / "notebooks") == {"exercises": 2, "experiments": 1}
    counts = exercise_counts()
    assert counts["exercises"] >= counts["experiments"] > 0


# -------------------------------------------------------------------------------------------- the one time table
@pytest.fixture(scope="module")
def times_tool():
    return repo_module("tools.course_times")


def test_the_time_table_is_generated_from_the_summary_cells_and_check_notices_an_edit(times_tool, tmp_path,
                                                                                       monkeypatch):
    assert times_tool.main(["--check"]) == 0, "the time table is stale: run python tools/course_times.py"
    block = times_tool.table()
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        seconds = times_tool.notebook_time(path).seconds
        assert f"/{path.stem}.ipynb)" in block and f"{seconds:,} s (" in block
    stale = tmp_path / "course_map.md"
    stale.write_text(times_tool.DOC.read_text(encoding="utf-8").replace(" s (", " s  (", 1), encoding="utf-8")
    monkeypatch.setattr(times_tool, "DOC", stale)
    assert times_tool.main(["--check"]) == 1
    assert times_tool.main([]) == 0 and times_tool.main(["--check"]) == 0


def test_the_kit_has_one_time_table(times_tool):
    duration = re.compile(r"\|[^|\n]*\b\d[\d,.\-–]*\s?(?:s|min|minutes|h)\b[^|\n]*\|")
    for doc in KIT:
        text = doc.read_text(encoding="utf-8")
        if doc == times_tool.DOC:
            start, stop = text.index(times_tool.BEGIN), text.index(times_tool.END)
            text = text[:start] + text[stop:]
        rows = [line for line in text.splitlines() if line.startswith("|") and duration.search(line)]
        assert not rows, f"{doc.relative_to(ROOT)} has a table of times besides docs/course_map.md#times: {rows}"


def test_course_times_refuses_a_notebook_without_its_summary_in_one_line(times_tool, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 07 · Extra: more"), nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "07_extra.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match=re.escape("has no outputs; run it with tools/run_notebooks.sh")) as err:
        times_tool.notebook_time(path)
    assert "\n" not in str(err.value)
    nb.cells[1].outputs = [nbformat.v4.new_output(
        "stream", name="stdout", text="profile=smoke sizing=course backbone=tiny-llama device=cpu threads=1\n")]
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match=re.escape("printed no 'notebook wall time: N s'")) as err:
        times_tool.notebook_time(path)
    assert "\n" not in str(err.value)
    nb.cells.append(nbformat.v4.new_code_cell("summary", outputs=[nbformat.v4.new_output(
        "stream", name="stdout", text="notebook wall time: 1,234 s (20.6 min)\n")]))
    nbformat.write(nb, path)
    found = times_tool.notebook_time(path)
    assert (found.profile, found.sizing, found.threads, found.seconds) == ("smoke", "course", 1, 1234)
    assert "| **all 1** | `smoke` | `course` | CPU, 1 thread | **1,234 s (20.6 min)** |" in times_tool.table([path])
