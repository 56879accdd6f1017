"""Heatmaps of a prompt, (l, d): the prompt itself and how a task's prompt differs from the shared one."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .style import integer_ticks

__all__ = ["delta_heatmap", "prompt_heatmap"]

def _as_matrix(matrix: Any, name: str) -> np.ndarray:
    """A 2-D float array from a tensor (any device, with or without grad) or an array-like."""
    if hasattr(matrix, "detach"):
        matrix = matrix.detach().float().cpu().numpy()
    array = np.asarray(matrix, dtype=float)
    if array.ndim != 2:
        hint = "; pass one task's prompt, e.g. prompt[0]" if array.ndim == 3 else ""
        raise ValueError(f"{name} must be one (l, d) matrix, got shape {tuple(array.shape)}{hint}")
    return array


def _reduce_columns(array: np.ndarray, max_columns: int, reduce: str) -> tuple[np.ndarray, str]:
    """At most max_columns columns: the first ones ("first") or means over equal bins ("bin"), and what is shown."""
    d = array.shape[1]
    if d <= max_columns:
        return array, f"embedding dimension (all {d})"
    if reduce == "first":
        return array[:, :max_columns], f"embedding dimension (the first {max_columns} of {d})"
    if reduce == "bin":
        bins = np.array_split(np.arange(d), max_columns)
        shown = np.stack([array[:, b].mean(axis=1) for b in bins], axis=1)
        per = f"{d // max_columns}" if d % max_columns == 0 else f"{d // max_columns}-{d // max_columns + 1}"
        return shown, f"embedding dimension, {d} binned into {max_columns} groups of {per} (mean)"
    raise ValueError(f"reduce must be 'first' or 'bin', got {reduce!r}")


def prompt_heatmap(
    matrix: Any,
    ax: Axes | None = None,
    max_columns: int = 64,
    *,
    reduce: str = "first",
    title: str | None = None,
    label: str = "value",
    cmap: str = "RdBu_r",
) -> Axes:
    """Heatmap of an (l, d) prompt: rows are prompt tokens, at most ``max_columns`` columns, a colour bar.

    With d = 576 every column would be a sliver: ``reduce="first"`` shows the first ``max_columns`` dimensions,
    ``reduce="bin"`` averages equal groups of dimensions. The colour scale is symmetric around 0.
    """
    if max_columns < 1:
        raise ValueError(f"max_columns must be >= 1, got {max_columns}")
    array = _as_matrix(matrix, "matrix")
    shown, xlabel = _reduce_columns(array, max_columns, reduce)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.2))
    limit = float(np.abs(shown).max()) or 1.0
    image = ax.imshow(shown, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"prompt token (l = {array.shape[0]})")
    integer_ticks(ax, "x")
    integer_ticks(ax, "y")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label=label)
    ax.set_title(title or f"prompt, {array.shape[0]} × {array.shape[1]}", fontsize=10)
    return ax


def delta_heatmap(
    shared: Any,
    task_prompt: Any,
    ax: Axes | None = None,
    max_columns: int = 64,
    *,
    reduce: str = "first",
    title: str | None = None,
) -> Axes:
    """Heatmap of P̂ᵢ − P*, (l, d): where a task's prompt differs from the shared prompt, with the relative change."""
    p_star, p_hat = _as_matrix(shared, "shared"), _as_matrix(task_prompt, "task_prompt")
    if p_star.shape != p_hat.shape:
        raise ValueError(f"shared is {p_star.shape} but task_prompt is {p_hat.shape}; compare prompts of one size "
                         "(the same l and d)")
    delta = p_hat - p_star
    relative = float(np.linalg.norm(delta) / (np.linalg.norm(p_star) or 1.0))
    return prompt_heatmap(
        delta, ax, max_columns, reduce=reduce, label="P̂ − P*",
        title=title or f"P̂ − P*: how the task prompt differs from the shared prompt (‖P̂ − P*‖ / ‖P*‖ = {relative:.3f})",
    )
