"""Speed benchmarks: the nine ratios, each measured side by side in one run (``python -m benchmarks.speed --help``).

``common`` holds the timing, the backbones and the pieces every benchmark shares; ``steps`` measures [1] and [2]
(and peak memory), ``training`` [3] and [4], ``evaluation`` [5], ``mixed`` [6]-[8]; ``cli`` parses the flags and runs
them.
"""

from .cli import BENCHES, main
from .steps import measure_memory

__all__ = ["BENCHES", "main", "measure_memory"]
