"""The benchmarks, run from the checkout as modules: ``python -m benchmarks.speed all``, ``python -m benchmarks.quality``,
``python -m benchmarks.analysis``, ``python -m benchmarks.source_stages``, ``python -m benchmarks.determinism``.

They import the installed package (``mpt_nb``), write only under ``results/`` and ``outputs/``, and the quality grid's
plan lives in ``mpt_nb.results.grid``. See ``benchmarks/README.md``.
"""
