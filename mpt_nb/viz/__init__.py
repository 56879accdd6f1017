"""Figures and the explorer widget. Builders return the figure (or widget) so tests can make them headless.

=============  ==================================================================================================
``style``      one colour and marker per method, readable ticks, the moving average of loss curves
``scores``     parameters vs accuracy, the few-shot curve (score vs k) and score vs rank r, with t-intervals
``explorer``   the parameter-efficiency explorer: the widget and its static figure
``gains``      where MPT helps: MPT − each baseline per target against k (the analysis's intervals) and against
               the target step budget (the learning curve, validation), and each method's own learning curve
``heatmaps``   a prompt, (l, d), and how a task's prompt differs from the shared one
=============  ==================================================================================================

Every name is importable from ``mpt_nb.viz``. The numbers the figures draw (records, scores over seeds, intervals)
come from ``mpt_nb.results``, the pre-registered contrasts from ``benchmarks.analysis``'s summary and the paper's from
``mpt_nb.paper``.
"""

from .explorer import BACKBONE_PRESETS, explorer_counts, param_count_explorer, static_explorer_figure
from .gains import gain_by_budget_figure, gain_by_k_figure, learning_curve_figure
from .heatmaps import delta_heatmap, prompt_heatmap
from .scores import accuracy_vs_k_figure, accuracy_vs_rank_figure, params_vs_accuracy_figure
from .style import METHOD_COLOURS, METHOD_MARKERS, integer_ticks, log_ticks, method_colour, smooth, tidy_axis

__all__ = [
    "BACKBONE_PRESETS",
    "METHOD_COLOURS",
    "METHOD_MARKERS",
    "accuracy_vs_k_figure",
    "accuracy_vs_rank_figure",
    "delta_heatmap",
    "explorer_counts",
    "gain_by_budget_figure",
    "gain_by_k_figure",
    "integer_ticks",
    "learning_curve_figure",
    "log_ticks",
    "method_colour",
    "param_count_explorer",
    "params_vs_accuracy_figure",
    "prompt_heatmap",
    "smooth",
    "static_explorer_figure",
    "tidy_axis",
]
