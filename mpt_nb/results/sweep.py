"""The l × r sweep's plan: PT at every prompt length l, MPT at every l and every target rank r, at k = 16 and full
data, over target seeds, on one or two targets, every MPT run starting from one source stage per l (source seed 0).

The sweep gives the explorer (``mpt_nb.viz.param_count_explorer``) measured accuracy at many trainable-parameter
counts: l·d for PT, l·d + (l + d)·r for MPT. A prompt length is a profile setting (``prompt_tokens``), so each l runs
under its own profile (the grid's, with ``prompt_tokens = l``) and its own source stages; the rank r is the target's
own u, v (``adapt_target(rank=r)``), while the source stage keeps the profile's rank. ``benchmarks/sweep.py`` runs the
plan; a record's ``prompt_tokens`` and ``rank`` place it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .grid import RunSpec, config_hash, normalise_k

__all__ = ["SweepConfig", "SweepRun", "current_sweep", "plan_sweep", "sweep_key"]

SWEEP_METHODS = ("pt", "mpt")  # PT has no rank; MPT runs at every r


@dataclass
class SweepConfig:
    """The sweep's axes and files; the profile, targets, source stages and learning rates are the grid config's."""

    lengths: list[int] = field(default_factory=lambda: [5, 10, 20, 40])  # prompt lengths l
    ranks: list[int] = field(default_factory=lambda: [1, 2, 4])  # MPT's target rank r
    k: list[Any] = field(default_factory=lambda: [16, "full"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # target seeds: the interval is over these
    source_seed: int = 0  # one source stage per l
    targets: list[str] | None = None  # default: the grid's first two targets
    results: str = "results/sweep_v3.jsonl"
    figure: str = "results/sweep_v3.png"

    def __post_init__(self) -> None:
        self.k = [normalise_k(k) for k in self.k]
        for name in ("lengths", "ranks", "k", "seeds"):
            values = getattr(self, name)
            if not values or len(set(map(str, values))) < len(values):
                raise ValueError(f"the sweep's {name} must be distinct values, at least one; got {values}")
        if min(self.lengths) < 1 or min(self.ranks) < 1:
            raise ValueError(f"prompt lengths and ranks are >= 1; got l {self.lengths}, r {self.ranks}")

    def chosen_targets(self, grid_targets: Sequence[str]) -> list[str]:
        """The sweep's targets: its own, else the grid's first two."""
        targets = list(self.targets or grid_targets[:2])
        if not targets:
            raise ValueError("the sweep has no targets; pass --targets or a grid config that names its targets")
        return targets


@dataclass(frozen=True)
class SweepRun:
    """One run of the sweep: a grid run (``spec``) at prompt length ``prompt_tokens`` and target rank ``rank``
    (0 for a method without u, v)."""

    spec: RunSpec
    prompt_tokens: int
    rank: int

    @property
    def key(self) -> tuple:
        s = self.spec
        return (s.task, s.method, str(s.k), int(s.seed), s.source_seed, self.prompt_tokens, self.rank)

    def describe(self) -> str:
        return f"l={self.prompt_tokens}" + (f" r={self.rank}" if self.rank else "") + f" {self.spec.describe()}"


def sweep_key(record: dict[str, Any]) -> tuple:
    """What identifies a run within the sweep: (task, method, k, seed, source seed, l, r)."""
    return (record["task"], record["method"], str(record["k"]), int(record["seed"]), record.get("source_seed"),
            int(record["prompt_tokens"]), int(record.get("rank") or 0))


def plan_sweep(cfg: SweepConfig, targets: Sequence[str], *, first_length: int | None = None) -> list[SweepRun]:
    """Every run of the sweep, grouped by l (so each l's source stage is trained or loaded once); ``first_length``
    (the grid's own l, whose stages exist already) goes first, then the others in increasing order. Within an l:
    k = 16 before full data, then target seed, target, PT, and MPT at each r."""
    lengths = sorted(cfg.lengths, key=lambda l: (l != first_length, l))  # noqa: E741
    runs = []
    for length in lengths:
        for k in cfg.k:
            for seed in cfg.seeds:
                for task in targets:
                    for method in SWEEP_METHODS:
                        ranks = cfg.ranks if method == "mpt" else [0]
                        source_seed = cfg.source_seed if method == "mpt" else None
                        runs.extend(SweepRun(RunSpec(task, method, k, seed, source_seed=source_seed), length, rank)
                                    for rank in ranks)
    return runs


def current_sweep(records: Sequence[dict[str, Any]], profile: Any) -> list[dict[str, Any]]:
    """The records made under ``profile``'s settings at their own l (``config_hash`` of the profile with that
    ``prompt_tokens``); others (another profile, changed settings) are left out."""
    hashes: dict[int, str] = {}

    def at(length: int) -> str:
        if length not in hashes:
            hashes[length] = config_hash(profile.with_overrides(prompt_tokens=length))
        return hashes[length]

    return [r for r in records if r.get("prompt_tokens") and r.get("config_hash") == at(int(r["prompt_tokens"]))]
