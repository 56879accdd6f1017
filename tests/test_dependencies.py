"""pyproject.toml's bounds and requirements.txt's pins say the same: every dependency is pinned, within its bound."""

from __future__ import annotations

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def pins(text: str) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by canonical name (comments, options and ``-r`` skipped)."""
    found = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        version = next((s.version for s in req.specifier if s.operator == "=="), None)
        if version is None:
            raise ValueError(f"requirements.txt: {line!r} is not pinned; write {req.name}==<version>")
        found[canonicalize_name(req.name)] = version
    return found


def unmet(dependencies: list[str], pinned: dict[str, str]) -> list[str]:
    """Each dependency of ``dependencies`` that ``pinned`` lacks or pins outside its bound, as one line."""
    problems = []
    for dep in map(Requirement, dependencies):
        version = pinned.get(canonicalize_name(dep.name))
        if version is None:
            problems.append(f"{dep.name} is not pinned in requirements.txt")
        elif not dep.specifier.contains(version, prereleases=True):
            problems.append(f"{dep.name}=={version} is outside pyproject.toml's {dep.specifier}")
    return problems


def test_every_dependency_is_pinned_within_its_bound():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = pins((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    assert not unmet(project["dependencies"], pinned)
    assert set(pinned) == {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}, (
        "requirements.txt pins exactly pyproject.toml's dependencies")


def test_a_pin_below_its_bound_or_missing_is_named():
    pinned = pins("torch==2.13.0\ntransformers==4.46.0  # old\n-r other.txt\n")
    assert unmet(["torch>=2.13", "transformers>=5.18", "numpy>=2"], pinned) == [
        "transformers==4.46.0 is outside pyproject.toml's >=5.18",
        "numpy is not pinned in requirements.txt",
    ]
