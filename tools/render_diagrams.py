"""Render the teaching diagrams of ``mpt_nb.diagrams`` to ``docs/figures/*.png``: ``python -m tools.render_diagrams``
from the checkout, or the script by its path from anywhere (it needs only the installed package)."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from mpt_nb.course import course_notebooks
from mpt_nb.diagrams import (
    distillation_diagram,
    mixed_batch_diagram,
    mpt_pipeline_diagram,
    roadmap_diagram,
    soft_prompt_diagram,
)

ROOT = Path(__file__).resolve().parent.parent

DIAGRAMS: dict[str, Callable[[], Figure]] = {
    "soft_prompt": soft_prompt_diagram,
    "mpt_pipeline": mpt_pipeline_diagram,
    "distillation": distillation_diagram,
    "mixed_batch": mixed_batch_diagram,
    # The roadmap that opens each notebook, with that notebook lit: roadmap_01 ... roadmap_06.
    **{f"roadmap_{nb.number:02d}": partial(roadmap_diagram, nb.number) for nb in course_notebooks()},
}


def render(out_dir: Path, names: list[str] | None = None, dpi: int = 110) -> list[Path]:
    """Write each named diagram to out_dir/<name>.png (via a temporary file, then a rename); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(DIAGRAMS):
        if name not in DIAGRAMS:
            raise SystemExit(f"unknown diagram {name!r}; choose from {', '.join(DIAGRAMS)}")
        fig = DIAGRAMS[name]()
        target = out_dir / f"{name}.png"
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".png", dir=out_dir)
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=dpi)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a figure is for everyone
            os.replace(tmp, target)
        finally:
            plt.close(fig)
            if os.path.exists(tmp):
                os.unlink(tmp)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m tools.render_diagrams [name ...] [--out DIR] [--dpi N]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"diagrams to render (default: all of {', '.join(DIAGRAMS)})")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures", help="output folder")
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args(argv)
    for path in render(args.out, args.names, args.dpi):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
