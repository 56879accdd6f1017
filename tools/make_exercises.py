"""Generate the exercise copies of the notebooks: every cell tagged ``solution`` becomes a stub.

    python tools/make_exercises.py           # write exercises/NN_topic.ipynb for every notebooks/NN_topic.ipynb
    python tools/make_exercises.py --check   # exit 1 if any exercise copy is missing, stale or orphaned

A stub keeps a solution cell's leading comment lines and, for each top-level function, its decorators, signature
and docstring; the body becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError``. Top-level code that is not a
function is replaced the same way. The self-check cells that follow each solution are left as they are, so they
work in both copies. Outputs are cleared, the Colab badge points at the exercise copy, and a note on top says the
file is generated. Never edit exercises/ by hand: edit the notebook (its .py pair) and re-run this script.

The student's run prints its own numbers, so the copy quotes none of the committed run's in its prose:

- A markdown cell tagged ``reading`` (it reads numbers of the committed run) keeps its tag and id, and its text
  becomes a prompt to read one's own output. The rule: the cell's bold lead-in (``**How to read this**`` at its
  start) and then its first sentence are kept when each carries no digit and does not name the committed run;
  everything else goes, and the fixed ``READING_PROMPT`` follows. A first sentence without a number is where a
  reading says what to look at ("How to read this: look at the bars, then the heatmap."); a later sentence may
  state what the committed numbers showed, which a student's numbers need not show, so none is kept (nor a first
  sentence that names the committed run). The copy's reading therefore holds no digit at all. Put what every run
  shows alike in an untagged cell: the copy keeps it whole.
- Right after the summary cell (the code cell under ``## Summary of this run``) comes one generated markdown cell
  (id ``reference-run``): what that cell printed in the committed run, verbatim in a code block, with the profile,
  sizing, device and threads the set-up cell printed, and a line saying the student's numbers will differ. It is
  read from the notebook's outputs each time, so it cannot drift from them; a notebook whose summary cell has no
  output gets no copy: the script says so in one line and exits 1 (``--check`` included).
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from pathlib import Path

import nbformat

if __package__:
    from .course_times import SETUP, output_text
else:  # run by its path: python tools/make_exercises.py
    from course_times import SETUP, output_text

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXERCISES = ROOT / "exercises"
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError")
NOTE_ID = "exercise-copy-note"
READING_TAG = "reading"
READING_PROMPT = (
    "Read your own output above: which numbers did your run print, and what do they show? Say it in a sentence or "
    "two before you go on. (The solution notebook reads its reference run here; your numbers differ, and what they "
    "show may too.)"
)
SUMMARY_HEADING = "## Summary of this run"
REFERENCE_ID = "reference-run"
LEAD = re.compile(r"\A\s*(\*\*[^*\n]+\*\*[.:]?)")
# A sentence ends at . ! or ? followed by white space or the end, except after a common abbreviation.
SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bcf)(?<!\bal)[.!?](?=\s|\Z)")
RUN_NAMED = re.compile(r"\bcommitted\b|\breference run\b", flags=re.I)


def _keepable(text: str) -> bool:
    """Whether a lead-in or sentence of a reading may stay in the student copy: no digit, no mention of the run."""
    return bool(text) and not re.search(r"\d", text) and not RUN_NAMED.search(text)


def reading_prompt(source: str) -> str:
    """The student copy of a reading: its digit-free lead-in and first sentence, if any, then ``READING_PROMPT``."""
    kept, rest = [], source.strip()
    lead = LEAD.match(rest)
    if lead:
        rest = rest[lead.end():].lstrip()
        heading = lead.group(1)
        if _keepable(heading):  # "**How to read this**" becomes "**How to read this.**"
            kept.append(heading if re.search(r"[.:!?]\**[.:]?$", heading) else heading[:-2] + ".**")
    paragraph = rest.split("\n\n", 1)[0]
    end = SENTENCE_END.search(paragraph)
    first = " ".join(paragraph[: end.end()].split()) if end else ""
    if _keepable(first):
        kept.append(first)
    return " ".join([*kept, READING_PROMPT])


def summary_index(nb: nbformat.NotebookNode, name: str) -> int:
    """The index of the summary cell: the first code cell after the ``## Summary of this run`` heading."""
    heading = next((i for i, c in enumerate(nb.cells)
                    if c.cell_type == "markdown" and c.source.lstrip().startswith(SUMMARY_HEADING)), None)
    code = None if heading is None else next(
        (i for i in range(heading + 1, len(nb.cells)) if nb.cells[i].cell_type == "code"), None)
    if code is None:
        raise ValueError(f"{name} has no code cell under {SUMMARY_HEADING!r}; end the notebook with its summary cell")
    return code


def reference_cell(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The generated markdown cell that quotes the committed run's summary output, verbatim, for the student copy."""
    printed = output_text(nb.cells[summary_index(nb, name)]).strip("\n")
    if not printed.strip():
        raise ValueError(f"notebooks/{name}: its summary cell has no output, so the exercise copy has no reference run "
                         f"to quote; run it first: tools/run_notebooks.sh notebooks/{name}")
    setup = next((m for c in nb.cells if c.cell_type == "code" and (m := SETUP.search(output_text(c)))), None)
    where = ""
    if setup is not None:
        profile, sizing, _backbone, device, threads = setup.groups()
        hardware = f"a CPU with {threads} thread{'s' if threads != '1' else ''}" if device == "cpu" else device
        where = f" (the `{profile}` profile, `{sizing}` sizing, on {hardware})"
    fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", printed)), default=0))
    cell = nbformat.v4.new_markdown_cell(
        f"**A reference run**{where} printed:\n\n{fence}text\n{printed}\n{fence}\n\n"
        "Yours will differ: another machine, another seed or another sizing gives other numbers."
    )
    cell["id"] = REFERENCE_ID
    return cell


def stub_source(source: str) -> str:
    """The exercise version of a solution cell's code: comments and signatures kept, bodies replaced."""
    lines = source.splitlines()
    tree = ast.parse(source)
    if not tree.body:
        raise ValueError("a solution cell needs code to turn into an exercise")
    first = tree.body[0]
    start = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
    comments = [line for line in lines[: start - 1] if line.strip().startswith("#")]
    blocks, other_code = [], False
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            other_code = True
            continue
        body = node.body
        doc = body[0] if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else None
        keep_to = doc.end_lineno if doc is not None and isinstance(doc.value.value, str) else body[0].lineno - 1
        if keep_to < node.lineno:
            raise ValueError(f"write solution function {node.name!r} over several lines so it can be stubbed")
        indent = " " * body[0].col_offset
        head_start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        blocks.append([*lines[head_start - 1 : keep_to], indent + STUB[0], indent + STUB[1]])
    if other_code:
        blocks.append(list(STUB))
    out = comments + [line for i, block in enumerate(blocks) for line in ([""] * 2 * (i > 0) + block)]
    text = "\n".join(out)
    if text.strip() == source.strip():
        raise ValueError("stubbing left the solution unchanged")
    return text


def exercise_notebook(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions stubbed, readings turned into prompts, outputs cleared, the reference run quoted
    after the summary cell, a generated-file note and the badge retargeted."""
    reference = reference_cell(nb, name)
    at = summary_index(nb, name)
    nb = copy.deepcopy(nb)
    nb.cells.insert(at + 1, reference)
    solutions = 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
            if SOLUTION_TAG in tags:
                cell.source = stub_source(cell.source)
                cell.metadata["tags"] = [EXERCISE_TAG if t == SOLUTION_TAG else t for t in tags]
                solutions += 1
        elif cell.cell_type == "markdown":
            if READING_TAG in tags:
                cell.source = reading_prompt(cell.source)
            cell.source = cell.source.replace(f"/notebooks/{name}", f"/exercises/{name}")
    if not solutions:
        raise ValueError(f"{name} has no cell tagged {SOLUTION_TAG!r}; nothing to turn into exercises")
    note = nbformat.v4.new_markdown_cell(
        f"> **Exercise copy** of [`notebooks/{name}`](../notebooks/{name}), generated by `tools/make_exercises.py`: "
        f"the {solutions} solution cell(s) are replaced by `raise NotImplementedError`. Write your code there and run "
        "the self-check cell after each one. Where the notebook reads its run's numbers, this copy asks you to read "
        "yours, and the reference run's summary follows the summary cell. Do not edit this file; edit the notebook "
        "and re-run the script."
    )
    note["id"] = NOTE_ID
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, note)
    nb.metadata.pop("jupytext", None)  # the copy is not paired with a script
    nb.metadata.pop("widgets", None)  # widget state of the run the outputs came from (the copy has no outputs)
    return nb


def exercise_text(nb: nbformat.NotebookNode, name: str) -> str:
    """The exercise copy of notebook ``nb`` (file name ``name``), as the exact text written to disk."""
    return nbformat.writes(exercise_notebook(nb, name)) + "\n"


def render(path: Path) -> str:
    """The exercise copy of the notebook at ``path``, as the exact text written to disk."""
    return exercise_text(nbformat.read(path, as_version=4), path.name)


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if exercises/ is out of date")
    args = parser.parse_args(argv)
    sources = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    expected, failed = {}, {}
    for source in sources:
        try:
            expected[EXERCISES / source.name] = render(source)
        except ValueError as err:  # no copy for this notebook: say why in one line
            failed[EXERCISES / source.name] = str(err)
    problems = list(failed.values())
    for path, text in expected.items():
        if not path.exists():
            problems.append(f"{_show(path)} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{_show(path)} is stale")
    for path in sorted(EXERCISES.glob("*.ipynb")):
        if path not in expected and path not in failed:
            problems.append(f"{_show(path)} has no notebook in notebooks/ (delete it)")
    if args.check:
        for p in problems:
            print(p, file=sys.stderr)
        print(f"exercises: {len(sources)} checked, {len(problems)} problem(s)"
              + ("; fix with: python tools/make_exercises.py" if problems and not failed else ""))
        return 1 if problems else 0
    EXERCISES.mkdir(exist_ok=True)
    for path, text in expected.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {_show(path)}")
    for path in sorted(EXERCISES.glob("*.ipynb")):
        if path not in expected and path not in failed:
            path.unlink()
            print(f"removed {_show(path)} (no notebook)")
    for err in failed.values():
        print(err, file=sys.stderr)
    if failed:
        print(f"exercises: {len(expected)} up to date, {len(failed)} not written")
        return 1
    print(f"exercises: {len(expected)} up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
