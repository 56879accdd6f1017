"""The quality grid's plan: what to run (``GridConfig``, from a YAML file and flags), every run of it in priority order
(``RunSpec``, ``plan_runs``), the target learning-rate search that comes first, and which records belong to the
profile's current settings (``config_hash``, ``current``).

``benchmarks/quality.py`` runs the plan; ``benchmarks/analysis.py`` judges completeness against it and
``benchmarks/source_stages.py`` reads its source seeds. The method table (``mpt_nb.methods``) and the profiles are
read inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .records import record_key

__all__ = [
    "GridConfig",
    "RunSpec",
    "chosen_lrs",
    "config_hash",
    "current",
    "normalise_k",
    "off_rate",
    "plan_runs",
    "search_key",
    "search_runs",
]


def _method_names() -> list[str]:
    from ..methods import METHODS

    return list(METHODS)


@dataclass
class GridConfig:
    """What to run and where to write it; built from defaults, an optional YAML file, then command-line flags."""

    profile: str = "offline"
    overrides: dict[str, Any] = field(default_factory=dict)
    targets: list[str] | None = None  # default: the profile's target tasks
    methods: list[str] = field(default_factory=_method_names)
    k: list[Any] | None = None  # default: the profile's few-shot k and "full" (k=16 and full data run first)
    seeds: list[int] | None = None  # target seeds; default: the profile's seeds
    # Source seeds crossed with every target seed (PT, which has no source stage, runs once per target seed). None:
    # each target seed uses the source stage of the same seed (the v1 grid's pairing).
    source_seeds: list[int] | None = None
    # Also run k=16 with a "true few-shot" validation set: k rows per class, as small as the training set.
    true_few_shot: bool = False
    ablations: bool = True
    ablation_target: str | None = None  # one target for the ablations; None: every target
    ablation_k: Any = "full"  # one k, or a list of k
    shipped_sources: bool = False  # start from the shipped stages (sources/<profile>/), training only what is missing
    # False: a run whose source stage is neither shipped nor saved waits (is skipped this time) instead of training the
    # stage inline, so the grid can run on the seeds shipped so far while `train-sources` works on the rest.
    train_missing_sources: bool = True
    # Target learning rates to search (results/preregistration.md, "Search"): every method on every target at k=16,
    # the first target seed and source seed, once per rate; each method then runs the whole grid at the rate with the
    # best mean validation score over the targets. None: every run uses the profile's lr.
    lr_search: list[float] | None = None
    lr_search_k: int = 16
    lr_search_results: str | None = None  # default: beside the results file, "<results stem>_lr_search.jsonl"
    results: str = "results/quality_offline.jsonl"
    table: str = "results/quality_offline.md"
    figure: str = "results/params_vs_accuracy.png"
    artefacts: str = "outputs/artefacts"  # source stages, each named by the hash of every setting that shaped it
    paper_points: bool = False
    threads: int | None = None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> GridConfig:
        import yaml

        raw = yaml.safe_load(Path(path).read_text()) or {}
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> GridConfig:
        """Map a config file's sections (profile/overrides/grid/output) onto the flat settings."""
        flat: dict[str, Any] = {}
        for key in ("profile", "overrides"):
            if key in raw:
                flat[key] = raw[key]
        for section in ("grid", "output", "runtime"):
            flat.update(raw.get(section) or {})
        unknown = set(flat) - set(cls.__dataclass_fields__)
        extra_top = set(raw) - {"profile", "overrides", "grid", "output", "runtime", "notes", "launch"}
        if unknown or extra_top:
            raise ValueError(
                f"unknown config key(s) {sorted(unknown | extra_top)}; known: profile, overrides, grid.*, output.* "
                f"({sorted(cls.__dataclass_fields__)})"
            )
        cfg = cls(**flat)
        cfg.k = None if cfg.k is None else [normalise_k(k) for k in cfg.k]
        cfg.ablation_k = (
            [normalise_k(k) for k in cfg.ablation_k] if isinstance(cfg.ablation_k, list) else normalise_k(cfg.ablation_k)
        )
        return cfg

    def ablation_plan(self, targets: Sequence[str]) -> tuple[list[str], list[Any]]:
        """The targets and k the ablations run on: the configured target, else every target in a crossed grid (v2)
        and the first one otherwise (v1)."""
        crossed = self.source_seeds is not None
        ab_targets = [self.ablation_target] if self.ablation_target else (list(targets) if crossed else list(targets)[:1])
        return ab_targets, self.ablation_k if isinstance(self.ablation_k, list) else [self.ablation_k]

    def lr_search_file(self) -> Path:
        """The target-lr search's own results file as configured (its records never enter the grid's tables or
        analysis): ``lr_search_results``, else "<results stem>_lr_search.jsonl" beside the results file."""
        if self.lr_search_results:
            return Path(self.lr_search_results)
        results = Path(self.results)
        return results.with_name(f"{results.stem}_lr_search.jsonl")

    def build_profile(self):
        """The mpt_nb profile this config runs: the named base profile with the overrides applied."""
        from mpt_nb.profiles import get_profile

        overrides = dict(self.overrides)
        for key in ("source_tasks", "target_tasks", "few_shot_k", "seeds"):
            if key in overrides:
                overrides[key] = tuple(overrides[key])
        return get_profile(self.profile, **overrides)


def normalise_k(k: Any) -> int | str:
    """A k as the grid keeps it: an int, or "full" for the whole training split."""
    if k in (None, "full", "None"):
        return "full"
    return int(k)


@dataclass(frozen=True)
class RunSpec:
    """One target-adaptation run."""

    task: str
    method: str
    k: int | str  # int or "full"
    seed: int
    ablation: str = "none"
    priority: int = 0
    source_seed: int | None = None  # None: the method has no source stage
    validation_k: int | None = None  # select checkpoints on k validation rows per class ("true few-shot")
    lr: float | None = None  # a run of the target-lr search (None: the grid's rate for the method)

    @property
    def key(self) -> tuple:
        key = (self.task, self.method, str(self.k), int(self.seed), self.ablation, self.source_seed, self.validation_k)
        return key if self.lr is None else (*key, self.lr)

    def describe(self) -> str:
        extra = "" if self.ablation == "none" else f" [{self.ablation}]"
        source = "" if self.source_seed is None else f" source_seed={self.source_seed}"
        val = "" if self.validation_k is None else f" validation_k={self.validation_k}"
        lr = "" if self.lr is None else f" lr={self.lr:g} (search)"
        return f"{self.method} {self.task} k={self.k} seed={self.seed}{source}{val}{lr}{extra}"


def plan_runs(cfg: GridConfig, profile) -> list[RunSpec]:
    """Every run of the grid, in priority order.

    With ``source_seeds`` (the v2 grid): k=16 and 32, then k=4 and full data, then true few-shot at k=16, then the
    ablations. Without (v1): k=16 and full data, ablations, then the other k.
    """
    from ..methods import ABLATIONS, METHODS, get_method

    targets = list(cfg.targets or profile.target_tasks)
    seeds = list(cfg.seeds if cfg.seeds is not None else profile.seeds)
    unknown = [m for m in cfg.methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown} in the grid; the method table has {list(METHODS)}")
    methods = [m for m in METHODS if m in cfg.methods]
    main_ks = list(cfg.k) if cfg.k is not None else [*profile.few_shot_k, "full"]
    crossed = cfg.source_seeds is not None
    primary = (16, 32) if crossed else (16, "full")
    first = [k for k in main_ks if k in primary]
    rest = [k for k in main_ks if k not in first]
    specs: list[RunSpec] = []

    def add(task: str, method: str, k: Any, seed: int, ablation: str, priority: int, validation_k=None) -> None:
        if get_method(method, ablation).source is None:
            source_seeds: list[int | None] = [None]
        else:
            source_seeds = list(cfg.source_seeds) if crossed else [seed]
        for source_seed in source_seeds:
            specs.append(RunSpec(task, method, k, seed, ablation, priority, source_seed, validation_k))

    def grid(ks: Iterable[Any], priority: int, validation_k: int | None = None) -> None:
        for k in ks:
            for seed in seeds:
                for task in targets:
                    for method in methods:
                        add(task, method, k, seed, "none", priority, validation_k)

    def ablation_runs(priority: int) -> None:
        if not (cfg.ablations and targets):
            return
        ab_targets, ab_ks = cfg.ablation_plan(targets)
        for k in ab_ks:
            for seed in seeds:
                for task in ab_targets:
                    for name, ablation in ABLATIONS.items():
                        if ablation.method in methods:  # an ablation is read against its method's own runs
                            add(task, ablation.method, k, seed, name, priority)

    grid(first, 1)
    if crossed:
        grid(rest, 2)
        if cfg.true_few_shot and 16 in main_ks:
            grid([16], 3, validation_k=16)
        ablation_runs(4)
    else:
        ablation_runs(3)
        grid(rest, 4)
    return specs


# ----------------------------------------------------------------------------------------------- target-lr search


def search_runs(cfg: GridConfig, profile) -> list[RunSpec]:
    """The search: every method on every target at ``lr_search_k``, the first target seed and source seed, per rate."""
    from ..methods import METHODS

    if not cfg.lr_search:
        return []
    targets = list(cfg.targets or profile.target_tasks)
    seed = (cfg.seeds if cfg.seeds is not None else profile.seeds)[0]
    source_seed = cfg.source_seeds[0] if cfg.source_seeds else seed
    methods = [m for m in METHODS if m in cfg.methods]
    return [
        RunSpec(task, method, cfg.lr_search_k, seed, source_seed=source_seed if METHODS[method].source else None, lr=lr)
        for lr in cfg.lr_search for method in methods for task in targets
    ]


def search_key(record: dict[str, Any]) -> tuple:
    """What identifies a run of the target-lr search: the run's key and its rate."""
    return (*record_key(record), record["lr"])


def chosen_lrs(cfg: GridConfig, profile, search_records: list[dict[str, Any]]) -> dict[str, float] | None:
    """Per method, the searched rate with the best mean validation score over the targets (ties: the lower rate);
    None while any search run is missing. Only validation scores are read, never test."""
    if not cfg.lr_search:
        return None
    runs = search_runs(cfg, profile)
    found = {search_key(r): r for r in search_records}
    if any(s.key not in found for s in runs):
        return None
    chosen = {}
    for method in dict.fromkeys(s.method for s in runs):
        def mean_validation(lr: float, method: str = method) -> float:
            scores = [found[s.key]["validation"] for s in runs if s.method == method and s.lr == lr]
            if None in scores:
                raise ValueError(
                    f"a target-lr search record of {method} at lr={lr:g} has no validation score; delete "
                    f"{cfg.lr_search_file()} and rerun the search"
                )
            return sum(scores) / len(scores)

        chosen[method] = max(sorted(cfg.lr_search), key=mean_validation)  # max keeps the first (lowest) of equals
    return chosen


def off_rate(results: str | Path, records: list[dict[str, Any]], lrs: dict[str, float]) -> str | None:
    """What is wrong when records (read from the file ``results``) ran at another target lr than the search chose (a
    resumed file must not mix rates); None when every record agrees."""
    wrong = [r for r in records if r["method"] in lrs and r.get("lr") != lrs[r["method"]]]
    if not wrong:
        return None
    first = wrong[0]
    return (f"{len(wrong)} record(s) in {results} ran at another target lr than the search chose (first: "
            f"{first['method']} {first['task']} k={first['k']} at lr {first.get('lr')}, chosen "
            f"{lrs[first['method']]:g}); move them out of the file and rerun")


# ----------------------------------------------------------------------------------------------- settings hash


def config_hash(profile) -> str:
    """Short hash of every profile setting: records and source stages made under other settings are not reused."""
    return hashlib.sha1(json.dumps(asdict(profile), sort_keys=True, default=str).encode()).hexdigest()[:10]


def current(records: list[dict[str, Any]], profile, *, quiet: bool = False) -> list[dict[str, Any]]:
    """Records made under the profile's current settings (others are kept in the file but not used)."""
    h = config_hash(profile)
    keep = [r for r in records if r.get("config_hash") == h]
    if len(keep) < len(records) and not quiet:
        print(f"note: {len(records) - len(keep)} record(s) were made under other profile settings; ignored", file=sys.stderr)
    return keep
