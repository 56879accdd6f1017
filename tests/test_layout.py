"""The repository's shape: no module of the package or the benchmarks grows past 500 lines, no Python file edits the
import path, the package's import graph has no cycle, and ``mpt_nb.results`` reads records without loading the
figures, the pipeline or the method table."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mpt_nb"
MAX_LINES = 500
# Files over the limit that another change splits (their owners are editing them); an entry goes once its file fits.
OVER_THE_LIMIT_FOR_NOW: set[str] = set()
# An import-path edit: the path list of the interpreter changed in code, or a site directory added.
PATH_EDIT = re.compile(r"\bsys\.path\b|\bsite\.addsitedir\b|\baddsitedir\(")


def tracked(*patterns: str) -> list[str]:
    """The checkout's tracked files matching git pathspecs (``git ls-files``)."""
    try:
        done = subprocess.run(["git", "ls-files", "-z", "--", *patterns], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"not a git checkout, or no git here: {err}")
    return [name for name in done.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def test_no_file_of_the_package_or_the_benchmarks_is_over_500_lines():
    lengths = {name: len((ROOT / name).read_bytes().splitlines()) for name in tracked("mpt_nb", "benchmarks")}
    assert lengths, "git ls-files found nothing under mpt_nb/ and benchmarks/"
    long = {name: n for name, n in lengths.items() if n > MAX_LINES and name not in OVER_THE_LIMIT_FOR_NOW}
    assert not long, f"over {MAX_LINES} lines: {long}; split them by concept (one module per idea)"
    fitting = sorted(name for name in OVER_THE_LIMIT_FOR_NOW if lengths.get(name, 0) <= MAX_LINES)
    assert not fitting, f"{fitting} fit(s) the limit now: remove from OVER_THE_LIMIT_FOR_NOW"


def test_no_python_file_edits_the_import_path():
    """Scripts run as modules of the checkout (``python -m benchmarks.quality``) and import the installed package;
    the tests import the script packages through ``conftest.repo_module``."""
    edits = [
        f"{name}:{number}: {line.strip()}"
        for name in tracked("*.py")
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1)
        if PATH_EDIT.search(line)
    ]
    assert not edits, "import-path edits:\n" + "\n".join(edits)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_statements(tree: ast.Module):
    """Every import statement of a module, at its top or inside a function (a cycle dodged by importing inside a
    function is still a cycle), except those under ``if TYPE_CHECKING`` (annotations only)."""
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in skipped]


def package_imports() -> dict[str, set[str]]:
    """{module: the mpt_nb modules it imports, anywhere in its source}, read from the source (``__main__``, the
    command line's entry point, is left out: nothing imports it)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _import_statements(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names if alias.name in modules}
                continue
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(part for part in (base, node.module) if part)
            named = {f"{target}.{alias.name}" for alias in node.names} & modules.keys()
            edges |= named or ({target} & modules.keys())
        graph[name] = edges - {name}
    return graph


def test_the_package_import_graph_has_no_cycle():
    graph = package_imports()
    assert "mpt_nb.results.stats" in graph["mpt_nb.results"] and "mpt_nb.results" in graph["mpt_nb.viz.scores"]
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            cycle = " -> ".join((*path[path.index(module):], module))
            raise AssertionError(f"import cycle {cycle}; move the shared piece down a floor")
        if module in done:
            return
        for nxt in sorted(graph[module]):
            visit(nxt, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_tasks_import_nothing_above_them():
    # The task registry is a low floor: it may read the metrics and the atomic writes, nothing that builds on tasks.
    allowed = {"mpt_nb.metrics", "mpt_nb.files", "mpt_nb"}
    upward = {(m, t) for m, targets in package_imports().items() if m.startswith("mpt_nb.tasks")
              for t in targets if not t.startswith("mpt_nb.tasks") and t not in allowed}
    assert not upward, f"tasks import modules above them: {sorted(upward)}"


def test_results_import_neither_figures_nor_pipeline_nor_the_method_table():
    code = "import sys, mpt_nb.results; print(' '.join(sorted(m for m in sys.modules if m.startswith('mpt_nb'))))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=ROOT).stdout.split())
    assert "mpt_nb.results.stats" in loaded
    unwanted = loaded & {"mpt_nb.viz", "mpt_nb.pipeline", "mpt_nb.sources", "mpt_nb.methods"}
    assert not unwanted, f"importing mpt_nb.results loads {sorted(unwanted)}"
