"""Fail if a notebook and its jupytext py:percent pair disagree, or if either lacks its pair.

Regenerates the .py text from each .ipynb in memory (as `jupytext --sync` would) and compares, so CI catches an
edit made to one side only. Fix with: jupytext --sync notebooks/*.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def main() -> int:
    problems = []
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    scripts = sorted(p for p in NOTEBOOKS.glob("*.py"))
    for nb_path in notebooks:
        py_path = nb_path.with_suffix(".py")
        if not py_path.exists():
            problems.append(f"{nb_path.name} has no py:percent pair; run: jupytext --sync {nb_path}")
            continue
        expected = jupytext.writes(jupytext.read(nb_path), fmt="py:percent")
        if expected != py_path.read_text(encoding="utf-8"):
            problems.append(f"{nb_path.name} and {py_path.name} differ; run: jupytext --sync {nb_path}")
    for py_path in scripts:
        if not py_path.with_suffix(".ipynb").exists():
            problems.append(f"{py_path.name} has no .ipynb pair; run: jupytext --sync {py_path}")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"notebook pairs: {len(notebooks)} checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
