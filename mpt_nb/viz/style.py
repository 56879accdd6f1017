"""What every figure shares: one colour and marker per method, readable ticks on log and count axes, and the
trailing moving average that loss curves are drawn with."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, NullLocator

__all__ = ["METHOD_COLOURS", "METHOD_MARKERS", "integer_ticks", "log_ticks", "method_colour", "smooth", "tidy_axis"]

# One colour (and marker) per method in every figure; the paper's rows take their method's colour.
METHOD_COLOURS: dict[str, str] = {
    "pt": "#7f7f7f",  # grey: the baseline
    "spot": "#1f77b4",
    "spot_generic": "#17becf",
    "decomp": "#9467bd",
    "mpt": "#d62728",
    "zero_shot": "#bcbd22",
    "attempt": "#8c564b",  # the paper's rows only
    "ft": "#000000",
}
METHOD_MARKERS: dict[str, str] = {"pt": "o", "spot": "D", "spot_generic": "d", "decomp": "s", "mpt": "*", "zero_shot": "v"}
_OTHER_COLOUR = "#2ca02c"


def method_colour(name: str) -> str:
    """A method's colour in every figure, for this package's names ("mpt") and the paper's ("MPT", "SPoT")."""
    if name in METHOD_COLOURS:
        return METHOD_COLOURS[name]
    return METHOD_COLOURS.get(name.lower().split(" ")[0], _OTHER_COLOUR)  # "MPT (transfer + multitask)" -> "mpt"


def figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes, bool]:
    """(figure, axes, whether the figure is new): ``ax``'s own figure, or a new one of ``figsize``."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax, True
    return ax.figure, ax, False


def smooth(values: Sequence[float], window: int = 5) -> list[float]:
    """Trailing moving average over ``window`` values (shorter at the start), as long as ``values``."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"smooth takes one sequence of numbers, got shape {x.shape}")
    sums = np.concatenate([[0.0], np.cumsum(x)])
    ends = np.arange(1, len(x) + 1)
    starts = np.maximum(0, ends - window)
    return ((sums[ends] - sums[starts]) / (ends - starts)).tolist()


def _axis(ax: Axes, axis: str):
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    return ax.xaxis if axis == "x" else ax.yaxis


def integer_ticks(ax: Axes, axis: str = "x") -> None:
    """Ticks at whole numbers only (steps, epochs, counts): no 2.5-step ticks on a short loss curve."""
    _axis(ax, axis).set_major_locator(MaxNLocator(integer=True))


def compact(value: float) -> str:
    """2048 → 2,048, 76800 → 76.8K, 2e6 → 2M, 0.05 → 0.05: short labels for a log axis."""
    if 1 <= abs(value) < 10_000 and float(value).is_integer():
        return f"{value:,.0f}"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def log_ticks(ax: Axes, axis: str = "y", ticks: Sequence[float] | None = None) -> None:
    """Readable ticks on a log axis: decades (or 1-2-5 steps on short ranges) as 1K / 10K / 1M, unlabelled minors.

    Call it after plotting (it reads the axis limits), or pass ``ticks`` (e.g. the model widths) to label exactly those.
    """
    which = _axis(ax, axis)
    if which.get_scale() != "log":
        raise ValueError(f"the {axis} axis is {which.get_scale()!r}; call ax.set_{axis}scale('log') before log_ticks")
    if ticks is None:
        low, high = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
        decades = math.log10(high / low)
        if decades < 1:
            steps: tuple[float, ...] = (1, 1.5, 2, 3, 5, 7)
        elif decades < 2:
            steps = (1, 2, 3, 5)
        else:
            steps = (1, 2, 5) if decades <= 3 else (1,)
        every = max(1, math.ceil(decades / 7))  # at most about 8 labels on a very long range
        exponents = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        ticks = [s * 10.0**e for e in exponents if e % every == 0 for s in steps if low <= s * 10.0**e <= high]
    which.set_major_locator(FixedLocator(list(ticks)))
    which.set_major_formatter(FuncFormatter(lambda value, _: compact(value)))
    which.set_minor_formatter(NullFormatter())


def tidy_axis(fig) -> None:
    """Readable x axis for points that span less than a decade: ticks at the points' own parameter counts."""
    ax = fig.axes[0]
    xs = sorted({float(x) for c in ax.collections for x, _ in c.get_offsets()})
    if not xs:
        return
    ticks = [xs[0]]
    for x in xs[1:]:
        if x > ticks[-1] * 1.08:  # labels closer than that would overlap
            ticks.append(x)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.set_xlim(xs[0] / 1.3, xs[-1] * 1.3)
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_fontsize(8)
    fig.tight_layout()
