"""tools/release.py: the repository's address and release are set once (mpt_nb/course.py) and written everywhere the
course names them: the notebooks' Colab badges and install cells (script and notebook, outputs kept), the README's
table and the exercise copies. A badge opened on one release while the install cell clones another would run one
version's notebook on another's package; --check, which CI runs, fails on any file that disagrees."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from conftest import repo_module

from mpt_nb import course

ROOT = Path(__file__).resolve().parent.parent
NAME = "01_prompt_tuning"
FORK = "https://github.com/someone/mpt-fork"

release = repo_module("tools.release")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _set_version(root: Path, version: str) -> None:
    init = root / "mpt_nb" / "__init__.py"
    init.write_text(re.sub(r'__version__ = "[^"]*"', f'__version__ = "{version}"', init.read_text()))


@pytest.fixture
def checkout(tmp_path):
    """A temporary copy of what the script reads and writes, for one notebook, made consistent by one run."""
    (tmp_path / "mpt_nb").mkdir()
    for rel in ["mpt_nb/__init__.py", "mpt_nb/course.py", "README.md", f"notebooks/{NAME}.py",
                f"notebooks/{NAME}.ipynb", f"exercises/{NAME}.ipynb"]:
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    assert release.main([], root=tmp_path) == 0  # the README's table now has this notebook's row only
    assert release.main(["--check"], root=tmp_path) == 0
    return tmp_path


def _would_change(capsys) -> set[str]:
    lines = capsys.readouterr().err.splitlines()
    assert all(line.endswith(" would change") for line in lines), lines
    return {line.removesuffix(" would change") for line in lines}


def test_the_committed_tree_passes_check():
    """What CI runs (the Makefile's test target), by the script's path."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "release.py"), "--check"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_script_reads_what_the_package_says():
    assert release.read_pointer(ROOT) == (course.REPO_URL, course.REPO_REF)


def test_a_new_version_fails_the_check_naming_each_file_and_changes_nothing(checkout, capsys):
    _set_version(checkout, "0.2.0")
    before = _files(checkout)
    capsys.readouterr()
    assert release.main(["--check"], root=checkout) == 1
    assert _would_change(capsys) == {f"notebooks/{NAME}.py", f"notebooks/{NAME}.ipynb", f"exercises/{NAME}.ipynb",
                                     "README.md"}  # course.py says "v" + __version__: it follows by itself
    assert _files(checkout) == before


def test_running_it_points_every_file_at_the_new_release_and_keeps_the_outputs(checkout):
    old_nb = nbformat.read(checkout / f"notebooks/{NAME}.ipynb", as_version=4)
    _set_version(checkout, "0.2.0")
    assert release.main([], root=checkout) == 0
    assert release.main(["--check"], root=checkout) == 0
    url = f"https://colab.research.google.com/github/mpt-notebooks/mpt-notebooks/blob/v0.2.0/exercises/{NAME}.ipynb"
    script = (checkout / f"notebooks/{NAME}.py").read_text()
    assert url in script and '\nREPO_REF = "v0.2.0"  #' in script and "v0.1.0" not in script
    new_nb = nbformat.read(checkout / f"notebooks/{NAME}.ipynb", as_version=4)
    assert [c.get("outputs") for c in new_nb.cells] == [c.get("outputs") for c in old_nb.cells]
    assert any(c.get("outputs") for c in new_nb.cells), "the committed notebook has outputs to keep"
    assert jupytext.writes(jupytext.read(checkout / f"notebooks/{NAME}.ipynb"), fmt="py:percent") == script
    exercise = (checkout / f"exercises/{NAME}.ipynb").read_text()
    assert url in exercise and 'REPO_REF = \\"v0.2.0\\"' in exercise and "v0.1.0" not in exercise
    assert url in (checkout / "README.md").read_text()
    assert not list(checkout.rglob("*.tmp")), "an atomic write left its temporary file behind"


def test_running_it_twice_changes_nothing(checkout, capsys):
    _set_version(checkout, "0.2.0")
    release.main([], root=checkout)
    after_first = _files(checkout)
    capsys.readouterr()
    assert release.main([], root=checkout) == 0
    assert _files(checkout) == after_first
    assert "wrote" not in capsys.readouterr().out


def test_a_fork_points_the_course_at_its_own_repository_and_branch(checkout, capsys):
    assert release.main(["--check", "--repo-url", FORK, "--ref", "spring"], root=checkout) == 1
    assert "mpt_nb/course.py" in _would_change(capsys)
    assert release.main(["--repo-url", FORK, "--ref", "spring"], root=checkout) == 0
    assert release.read_pointer(checkout) == (FORK, "spring")
    assert release.main(["--check"], root=checkout) == 0, "the fork's own CI check must pass"
    assert "someone/mpt-fork/blob/spring/exercises/" in (checkout / "README.md").read_text()
    assert f'REPO_URL = "{FORK}"' in (checkout / f"notebooks/{NAME}.py").read_text()
    assert release.main(["--ref", "v0.1.0"], root=checkout) == 0  # back to the release tag
    assert 'REPO_REF = "v" + __version__' in (checkout / "mpt_nb/course.py").read_text()


@pytest.mark.parametrize(("argv", "says"), [
    (["--ref", "v0.9.0"], "set __version__ to 0.9.0"),
    (["--repo-url", "https://gitlab.com/someone/fork"], "https://github.com/OWNER/NAME"),
    (["--repo-url", FORK + ".git"], "https://github.com/OWNER/NAME"),
    (["--ref", "a branch"], "git clone --branch"),
])
def test_a_pointer_the_install_cell_cannot_clone_is_refused_and_nothing_written(checkout, capsys, argv, says):
    before = _files(checkout)
    assert release.main(argv, root=checkout) == 1
    assert says in capsys.readouterr().err
    assert _files(checkout) == before


def test_a_notebook_that_lost_its_badge_is_named_and_nothing_written(checkout, capsys):
    script = checkout / f"notebooks/{NAME}.py"
    script.write_text(re.sub(r"^# \[!\[Open In Colab\].*$", "#", script.read_text(), count=1, flags=re.M))
    _set_version(checkout, "0.2.0")
    before = _files(checkout)
    assert release.main([], root=checkout) == 1
    err = capsys.readouterr().err
    assert f"notebooks/{NAME}.py has 0 of: Colab badge" in err
    assert _files(checkout) == before
