"""The reader's house: a short README whose notebook table is generated, and no run dates or commit hashes in
what readers read (the run log, results/RUNLOG.md, is where those live)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _readme_table():
    spec = importlib.util.spec_from_file_location("readme_table", ROOT / "tools" / "readme_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_notebook_table_is_generated_and_current():
    tool = _readme_table()
    assert tool.main(["--check"]) == 0, "the README's notebook table is stale: run python tools/readme_table.py"
    stale = README.read_text(encoding="utf-8").replace("| teach a frozen model a new task |", "| something else |")
    assert tool.render(stale) != stale, "--check must notice a hand-edited row"
    rows = [line for line in tool.table().splitlines() if line.startswith("| [")]
    assert len(rows) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.py")))


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
