"""Results, in one home: run records on disk, scores aggregated over seeds, intervals, tables, the grid's and the sweep's
plans.

=============  ==================================================================================================
``records``    one tolerant JSON Lines reader, an atomic writer, an appender that survives a killed run, run keys
``aggregate``  means over seeds, seed-paired differences (``source_seed_differences`` per source seed over cells,
               with ``run_variance_of_mean`` for PT's runs), each method's score per k, rank r or (l, r) setting
               (``MeasuredScore``), the learning curve's validation gain per step budget (``budget_gains``)
``stats``      intervals and tests: ``t_interval`` (and ``t_interval_with_rows``, the test rows' variance added: its
               mean, standard error and df in ``seed_mean_with_rows``, with the one-sided test), ``holm``,
               ``bootstrap_interval`` (``scipy.stats.bootstrap``), the hierarchical bootstrap over source seeds,
               target seeds and test rows, a test set's own standard error
``tables``     Markdown tables: per target, averaged over targets, the ablation, the lr search, the grid's report
``grid``       the quality grid's plan: ``GridConfig``, ``RunSpec``, ``plan_runs``, the target-lr search, ``config_hash``
``sweep``      the l × r sweep's plan (``SweepConfig``, ``plan_sweep``): PT and MPT at several prompt lengths and ranks
=============  ==================================================================================================

Every name is importable from ``mpt_nb.results``. Figures live in ``mpt_nb.viz``, which reads these; nothing here
imports ``viz``, ``pipeline`` or ``sources``, and the method table is read only inside the functions that need it.
"""

from .aggregate import (
    Arm,
    MeasuredScore,
    accuracy_by_k,
    accuracy_by_rank,
    accuracy_by_setting,
    arm_key,
    budget_gains,
    is_main,
    k_sort_key,
    measured_points,
    measured_settings,
    paired_differences,
    run_variance_of_mean,
    source_seed_differences,
    summarise,
)
from .grid import (
    GridConfig,
    RunSpec,
    chosen_lrs,
    config_hash,
    current,
    normalise_k,
    off_rate,
    plan_runs,
    search_key,
    search_runs,
)
from .records import append_record, load_records, record_key, save_records
from .stats import (
    BootstrapResult,
    RunPredictions,
    SeedMean,
    bootstrap_interval,
    hierarchical_bootstrap,
    holm,
    runs_from_records,
    seed_mean_with_rows,
    standard_error,
    t_interval,
    t_interval_with_rows,
    weighted_metric,
)
from .sweep import SweepConfig, SweepRun, current_sweep, plan_sweep, sweep_key
from .tables import ablation_cells, ablation_table, average_table, grid_report, lr_search_table, results_table

__all__ = [
    "Arm",
    "BootstrapResult",
    "GridConfig",
    "MeasuredScore",
    "RunPredictions",
    "RunSpec",
    "SeedMean",
    "SweepConfig",
    "SweepRun",
    "ablation_cells",
    "ablation_table",
    "accuracy_by_k",
    "accuracy_by_rank",
    "accuracy_by_setting",
    "append_record",
    "arm_key",
    "average_table",
    "bootstrap_interval",
    "budget_gains",
    "chosen_lrs",
    "config_hash",
    "current",
    "current_sweep",
    "grid_report",
    "hierarchical_bootstrap",
    "holm",
    "is_main",
    "k_sort_key",
    "load_records",
    "lr_search_table",
    "measured_points",
    "measured_settings",
    "normalise_k",
    "off_rate",
    "paired_differences",
    "plan_runs",
    "plan_sweep",
    "record_key",
    "results_table",
    "run_variance_of_mean",
    "runs_from_records",
    "save_records",
    "search_key",
    "search_runs",
    "seed_mean_with_rows",
    "source_seed_differences",
    "standard_error",
    "summarise",
    "sweep_key",
    "t_interval",
    "t_interval_with_rows",
    "weighted_metric",
]
