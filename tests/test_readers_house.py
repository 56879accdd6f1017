"""The reader's house: a short README whose notebook table is generated, and no run dates or commit hashes in
what readers read (the run log, results/RUNLOG.md, is where those live)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from conftest import repo_module

from mpt_nb.course import course_notebooks

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_readme_notebook_table_is_generated_and_current():
    tool = repo_module("tools.release")
    url, ref = tool.read_pointer(ROOT)
    notebooks = course_notebooks(ROOT / "notebooks")
    block = tool.table(notebooks, url, ref)
    current = README.read_text(encoding="utf-8")
    assert tool.readme_text(current, block) == current, "the README's notebook table is stale: run python tools/release.py"
    stale = current.replace("| teach a frozen model a new task |", "| something else |")
    assert tool.readme_text(stale, block) != stale, "the script must notice a hand-edited row"
    rows = [line for line in block.splitlines() if line.startswith("| [")]
    assert len(rows) == len(notebooks) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))) >= 6


def test_readme_is_short_and_has_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 120, "the README is a front door: keep it to 120 lines, link the rest"
    commands = re.findall(r"^make (\w+)", text, flags=re.M)
    assert commands == ["demo", "test"], f"the README's set-up commands are `make demo` and `make test`, not {commands}"


@pytest.mark.parametrize("name", sorted(set(re.findall(r"`(mpt_nb(?:\.\w+)+)", README.read_text(encoding="utf-8")))))
def test_readme_names_only_what_the_package_has(name):
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            assert hasattr(obj, attr), f"README names {name}, but {'.'.join(parts[:cut])} has no {attr}"
            obj = getattr(obj, attr)
        return
    raise AssertionError(f"README names {name}, which does not import")


# ---------------------------------------------------------------------------------------------- no builders' diary
# Dates, commit hashes and the story of how a number came about live in one run log; everything a reader reads says
# what is. The scan covers the README, results/README.md, benchmarks/README.md, docs/, the notebooks' and exercise
# copies' markdown cells, and the docstrings and comments of mpt_nb/, tools/ and benchmarks/.
RUN_LOG = ROOT / "results" / "RUNLOG.md"
DATE = re.compile(r"\b20\d\d-[01]\d-[0-3]\d\b")
HEX_WORD = re.compile(r"\b[0-9a-f]{7,40}\b")  # a sha256 (64 hex digits) never matches: no word boundary at 40
NAMED_COMMIT = re.compile(r"\bcommit(?:s|ted in| at)?\s+`?([0-9a-f]{7,40})\b", flags=re.I)


def _markdown_files() -> list[Path]:
    files = [README, ROOT / "results" / "README.md", ROOT / "benchmarks" / "README.md"]
    return files + sorted((ROOT / "docs").rglob("*.md"))


def _code_files() -> list[Path]:
    return sorted(p for folder in ("mpt_nb", "tools", "benchmarks") for p in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in p.parts) + sorted((ROOT / "tools").glob("*.sh")) + sorted(
        (ROOT / "benchmarks").glob("*.sh"))


def prose(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of what a reader reads in ``path``: all of a markdown file; the markdown cells of a
    notebook (numbered by cell); the docstrings and comments of a Python file; the comments of a shell script."""
    import ast
    import io
    import tokenize

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        return list(enumerate(text.splitlines(), 1))
    if path.suffix == ".ipynb":
        import nbformat

        cells = nbformat.reads(text, as_version=4).cells
        return [(i, cell.source) for i, cell in enumerate(cells, 1) if cell.cell_type == "markdown"]
    if path.suffix == ".sh":
        return [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith("#")]
    found = [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(text).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found += [(body[0].lineno + i, line) for i, line in enumerate(body[0].value.value.splitlines())]
    return sorted(found)


def _commits(words: set[str]) -> set[str]:
    """Which of ``words`` name a commit of this repository (abbreviations included); empty without git."""
    import subprocess

    if not words:
        return set()
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "cat-file", "--batch-check"], input="".join(
            f"{w}^{{commit}}\n" for w in sorted(words)), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return set()
    if done.returncode != 0:
        return set()
    answers = done.stdout.splitlines()
    if len(answers) != len(words):
        return set()
    return {w for w, line in zip(sorted(words), answers, strict=True) if not line.endswith(("missing", "ambiguous"))}


def history_marks(lines: list[tuple[int, str]]) -> list[str]:
    """Each run date or commit hash in ``lines``, as 'line N: what'. A hex word counts as a commit when it names
    one of this repository's commits or follows the word 'commit' (so a settings or data hash is not flagged)."""
    marks = [f"line {n}: date {m.group()}" for n, text in lines for m in DATE.finditer(text)]
    words = {m.group() for _, text in lines for m in HEX_WORD.finditer(text) if not m.group().isdigit()}
    commits = _commits(words)
    for n, text in lines:
        named = {m.group(1).lower() for m in NAMED_COMMIT.finditer(text)}
        marks += [f"line {n}: commit {m.group()}" for m in HEX_WORD.finditer(text)
                  if m.group() in commits or m.group() in named]
    return marks


def _scanned() -> list[Path]:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb"))
    return [p for p in _markdown_files() + notebooks + _code_files() if p != RUN_LOG]


@pytest.mark.parametrize("path", _scanned(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_run_dates_or_commits_outside_the_run_log(path):
    name = path.relative_to(ROOT).as_posix()
    marks = history_marks(prose(path))
    assert not marks, f"{name}: move these to results/RUNLOG.md and say what is, in the present tense: {marks}"


def test_the_scan_catches_a_dated_commit_line_and_spares_data_hashes():
    import subprocess

    try:  # a commit of this checkout, named without the word 'commit'
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=9", "HEAD"], capture_output=True,
                              text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head = ""
    diary = [(1, "Measured on 2026-12-03, 11:37-12:28 UTC, at commit 24a85cb: 768 s."),
             (2, f"The cache came in {head or 'commit 46d2e9b'}."),
             (3, "sha256 " + "0123456789abcdef" * 4 + ", settings hash a4aabbfde9, 1,558 s, 16-bit")]
    marks = history_marks(diary)
    assert "line 1: date 2026-12-03" in marks and "line 1: commit 24a85cb" in marks
    assert any(m.startswith("line 2: commit") for m in marks), marks
    assert not [m for m in marks if m.startswith("line 3")], marks
    assert DATE.search(README.read_text(encoding="utf-8")) is None


def test_the_run_log_is_where_the_history_went():
    text = RUN_LOG.read_text(encoding="utf-8")
    dates = re.findall(r"^## (20\d\d-[01]\d-[0-3]\d)$", text, flags=re.M)
    assert dates and dates == sorted(dates, reverse=True), "the run log groups its entries by date, newest first"


# ------------------------------------------------------------------------------------------ summary and takeaways
# Every notebook ends like a d2l section or a rasbt chapter: "What you learned" (what the student can now do or
# explain, no measured numbers, which change with every run), then "Further reading" as the last cell.
NOTEBOOK_FILES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MEASURED = re.compile(r"\d\.\d|\d\s?%|\b20\d\d\b")  # a decimal, a percentage or a year


def _cells(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4).cells


def _heading(cell, title: str) -> bool:
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith(f"## {title}")


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_every_notebook_ends_with_what_you_learned_then_further_reading(path):
    cells = _cells(path)
    learned = [i for i, cell in enumerate(cells) if _heading(cell, "What you learned")]
    assert len(learned) == 1, f"{path.name}: needs one '## What you learned' cell, has {len(learned)}"
    i = learned[0]
    bullets = [line for line in cells[i].source.splitlines() if line.startswith("- ")]
    assert 4 <= len(bullets) <= 6, f"{path.name}: 'What you learned' has {len(bullets)} bullets; write 4 to 6"
    numbers = MEASURED.findall(cells[i].source)
    assert not numbers, f"{path.name}: 'What you learned' quotes {numbers}; say what is learned, not what a run gave"
    assert i + 1 == len(cells) - 1 and _heading(cells[i + 1], "Further reading"), (
        f"{path.name}: 'What you learned' must come just before '## Further reading', the notebook's last cell")
    references = [line for line in cells[i + 1].source.splitlines() if line.startswith("- ")]
    assert len(references) >= 2, f"{path.name}: 'Further reading' lists {len(references)} reference(s)"


def test_notebook_03_writes_both_distillation_losses_beside_their_code():
    """d2l's rule: each loss term as an equation next to the code that computes it (L_logits, L_hidden and L)."""
    cells = _cells(ROOT / "notebooks" / "03_prompt_distillation.ipynb")

    def equation(cell, name: str) -> str:
        lines = [line for line in cell.source.splitlines() if line.startswith(f"$$\\mathcal{{L}}_{{\\text{{{name}}}}} =")]
        return lines[0] if lines else ""

    at = [i for i, cell in enumerate(cells) if cell.cell_type == "markdown" and equation(cell, "logits")
          and equation(cell, "hidden")]
    assert at, "notebook 03 must write L_logits and L_hidden as $$ equations in one markdown cell"
    cell = cells[at[0]]
    logits, hidden = equation(cell, "logits"), equation(cell, "hidden")
    for part in ("T^2", "\\mathrm{KL}", "z^{\\text{teacher}}_b / T", "z^{\\text{student}}_b / T", "\\frac{1}{B}"):
        assert part in logits, f"the L_logits equation lost {part!r}: {logits}"
    for part in ("h^{\\text{student}}_b", "h^{\\text{teacher}}_b", "\\frac{1}{B\\,d}"):
        assert part in hidden, f"the L_hidden equation lost {part!r}: {hidden}"
    total = "$$\\mathcal{L} = \\mathcal{L}_{\\text{PLM}} + \\lambda"
    assert any(line.startswith(total) for line in cell.source.splitlines()), "the total loss L is not written out"
    code = cells[at[0] + 1]
    assert code.cell_type == "code" and all(name in code.source for name in ("l_logits", "l_hidden", "total")), (
        "the equations must sit just above the cell that computes l_logits, l_hidden and total")
