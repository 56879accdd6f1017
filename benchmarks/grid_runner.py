"""Running the grid's plan: the ``Runner`` that loads the backbone once and runs each ``RunSpec`` through
``mpt_nb.pipeline.adapt_target``, the true few-shot twins that share one training, the time estimates that size a
chunk, and the rehearsal that runs every cell once before a long grid. ``benchmarks/quality.py`` is the command.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from mpt_nb.methods import SourceStage, get_method
from mpt_nb.results import GridConfig, RunSpec, append_record, config_hash

ROOT = Path(__file__).resolve().parent.parent


def artefacts_dir(cfg: GridConfig) -> Path:
    """Where the grid keeps its source stages (``SourceStore`` names each file by its settings identity)."""
    path = Path(cfg.artefacts)
    return path if path.is_absolute() else ROOT / path


def source_keys(cfg: GridConfig, profile) -> tuple[Any, Path | None]:
    """The profile that keys the grid's source stages and the shipped folder searched first: with
    ``shipped_sources``, the shipped stages' profile (``mpt_nb.sources.shipped_profile``) and ``sources/<profile>/``;
    else the run's own profile and no shipped folder."""
    from mpt_nb.sources import shipped_dir, shipped_profile

    return (shipped_profile(profile), shipped_dir(profile.name)) if cfg.shipped_sources else (profile, None)


def stage_saved(cfg: GridConfig, profile, stage: SourceStage, seed: int) -> bool:
    """Whether a source stage the grid would use is on disk (shipped or saved), read from its file name alone: no
    model is loaded (what ``SourceStore.is_saved`` says once a ``Runner`` exists)."""
    from mpt_nb.sources import stage_file_name

    keyed, shipped = source_keys(cfg, profile)
    name = stage_file_name(keyed, stage, seed)
    return any((folder / name).exists() for folder in (shipped, artefacts_dir(cfg)) if folder is not None)


def stages_of(spec: RunSpec, seed: int) -> list[tuple[SourceStage, int]]:
    """The source stages a run's method starts from, trained with ``seed``: the teachers first where its stage reads
    them, then its own stage (none for PT)."""
    from mpt_nb.methods import TEACHERS

    stage = get_method(spec.method, spec.ablation).source
    if stage is None:
        return []
    return [(TEACHERS, seed), (stage, seed)] if stage.needs_teachers else [(stage, seed)]


# ----------------------------------------------------------------------------------------------- rehearsal

def rehearsal_config(cfg: GridConfig) -> GridConfig:
    """The grid's config for a rehearsal: one training step per run, the first source seed, and records files of its
    own (``<results>_rehearsal.jsonl``, its search's beside it), so no record of it can enter the grid's. It resumes
    like the grid: delete its records file to rehearse every cell again."""
    results = Path(cfg.results)
    beside = lambda suffix: str(results.with_name(f"{results.stem}_rehearsal{suffix}"))  # noqa: E731
    return replace(cfg, overrides={**cfg.overrides, "few_shot_steps": 1, "target_steps": 1},
                   source_seeds=None if cfg.source_seeds is None else list(cfg.source_seeds)[:1],
                   results=beside(".jsonl"), table=beside(".md"), figure=beside(".png"), lr_search_results=None)


def rehearse(cfg: GridConfig, profile, accelerator, todo: Sequence[RunSpec], results: Path,
             search: Sequence[RunSpec] = (), search_results: Path | None = None) -> int:
    """Run every cell of ``todo`` once (a true few-shot cell with its twin, in one training, as the grid does), and
    each run of ``search`` (the target-lr search's path; its records go to ``search_results``, as the grid's search
    records go to their own file), then report each failure in one line. A rehearsal never
    trains a source stage: a cell whose stage is not shipped or saved is listed as not rehearsed. 0 when every cell
    ran, else 1."""
    runner = Runner(cfg, profile, accelerator)
    twins = true_few_shot_twins(todo)
    cells = [*search, *todo]
    failed: list[str] = []
    waiting: list[str] = []
    ran_with_twin: set[tuple] = set()
    for i, spec in enumerate(cells, 1):
        if spec.key in ran_with_twin:
            continue
        stage = get_method(spec.method, spec.ablation).source
        if stage is not None and not runner.sources.is_saved(stage, runner.source(spec)):
            waiting.append(spec.describe())
            continue
        twin = None if spec.lr is not None else twins.get(spec.key)
        try:
            records = runner.run(spec, lr=spec.lr, twin=twin)
        except Exception as err:  # a rehearsal lists every failing cell rather than stop at the first
            failed.append(f"{spec.describe()}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            print(f"[{i}/{len(cells)}] FAILED {failed[-1]}", flush=True)
            continue
        for record in records:
            append_record(results if spec.lr is None else search_results, record)
        if twin is not None:
            ran_with_twin.add(twin.key)
        print(f"[{i}/{len(cells)}] ok {spec.describe()}" + (" and its twin" if twin else "")
              + f" ({records[0]['run_wall_time_s']:.0f}s)", flush=True)
    print(f"rehearsal: {len(cells) - len(failed) - len(waiting)} cells ran, {len(failed)} failed, {len(waiting)} not "
          f"rehearsed (their source stages are not shipped or saved); records in {results}")
    for line in failed:
        print(f"  failed: {line}")
    for line in waiting:
        print(f"  not rehearsed: {line}")
    return 1 if failed or waiting else 0


# ----------------------------------------------------------------------------------------------- running


class Runner:
    """Loads the backbone once and runs RunSpecs; each method fetches its own source stage from the store."""

    def __init__(self, cfg: GridConfig, profile, accelerator, backbone=None) -> None:
        """``backbone``: one loaded already (another runner's, at another prompt length), else the profile's is loaded."""
        from mpt_nb.pipeline import Workspace
        from mpt_nb.sources import SourceStore

        self.cfg, self.profile, self.acc = cfg, profile, accelerator
        self.ws = Workspace.from_profile(profile, backbone)
        self.ws.backbone.model.to(accelerator.device)
        keyed, shipped = source_keys(cfg, profile)
        self.sources = SourceStore(self.ws, artefacts_dir(cfg), profile=keyed, shipped=shipped)

    def source(self, spec: RunSpec) -> int:
        return source_seed_of(spec)

    def stages_needed(self, spec: RunSpec) -> list[tuple[SourceStage, int]]:
        """Source stages the run needs that are not loaded yet, teachers first (for time estimates)."""
        return [(s, sd) for s, sd in stages_of(spec, self.source(spec)) if not self.sources.is_loaded(s, sd)]

    def run(self, spec: RunSpec, lr: float | None = None, twin: RunSpec | None = None,
            rank: int | None = None) -> list[dict[str, Any]]:
        """The run's record; with ``twin`` (the same run selected on ``twin.validation_k`` rows per class, see
        ``true_few_shot_twins``) one training gives both records, the spec's first. ``rank``: the target's own rank
        r of u, v (None: the profile's)."""
        from mpt_nb.pipeline import adapt_target, adapt_target_both_selections

        k = k_of(spec)
        start = time.perf_counter()
        options = dict(sources=self.sources, k=k, seed=spec.seed, source_seed=self.source(spec), rank=rank,
                       ablation=spec.ablation, lr=lr, always_validate=spec.lr is not None)  # a search reads it
        if twin is None:
            records = [adapt_target(self.ws, spec.task, spec.method, validation_k=spec.validation_k, **options)]
        else:
            both = adapt_target_both_selections(self.ws, spec.task, spec.method, validation_k=twin.validation_k, **options)
            records = [both["all"], both["k"]]
        stamp = {
            "run_wall_time_s": round(time.perf_counter() - start, 2),
            "config": asdict(self.profile),
            "config_hash": config_hash(self.profile),
            "backbone_params": self.ws.backbone.num_parameters(),
            "threads": _threads(),
            "processes": self.acc.num_processes,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **({} if twin is None else {"selected_with_twin": True}),  # one training served both selections
        }
        return [{**record, **stamp} for record in records]


def source_seed_of(spec: RunSpec) -> int:
    """The seed a run's source stage is trained with: its source seed, else its target seed."""
    return spec.seed if spec.source_seed is None else spec.source_seed


def k_of(spec: RunSpec) -> int | None:
    """The run's k as ``adapt_target`` takes it (None: full data)."""
    return None if spec.k == "full" else int(spec.k)


def run_identity_of(cfg: GridConfig, profile, spec: RunSpec, *, lr: float | None = None,
                    rank: int | None = None) -> str:
    """The ``run_identity`` that the record of ``Runner(cfg, profile, ...).run(spec, lr=lr, rank=rank)`` carries,
    from settings alone (no model or data is loaded): two runs with equal identities are the same computation."""
    from mpt_nb.sources import stage_identity, stage_settings
    from mpt_nb.targets import run_identity

    method = get_method(spec.method, spec.ablation)
    seed = source_seed_of(spec)
    keyed, _ = source_keys(cfg, profile)  # the store's profile names the stage, as SourceStore.identity does
    source = None if method.source is None else stage_identity(stage_settings(keyed, method.source, seed))
    return run_identity(profile, spec.task, method, k=k_of(spec), seed=spec.seed, source_seed=seed,
                        ablation=spec.ablation, validation_k=spec.validation_k, rank=rank, lr=lr,
                        source_identity=source)


def true_few_shot_twins(plan: Sequence[RunSpec]) -> dict[tuple, RunSpec]:
    """For each run of the plan that has one, its true few-shot twin (by the run's key): the plan's run that differs
    only in choosing its checkpoint on ``validation_k`` rows per class, so one training can serve both
    (``adapt_target_both_selections``). SPoT's source choice depends on the selection rows: its two runs stay apart."""
    selected_on_k = {replace(s, validation_k=None, priority=0): s for s in plan if s.validation_k is not None}
    return {
        spec.key: twin
        for spec in plan
        if spec.validation_k is None and spec.lr is None
        and get_method(spec.method, spec.ablation).target_init != "best_teacher"
        and (twin := selected_on_k.get(replace(spec, priority=0))) is not None
    }


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def estimate_s(kind: tuple[SourceStage, int] | RunSpec, records: list[dict[str, Any]], profile) -> float:
    """Rough duration of a unit of work, for --time-budget (measured from earlier runs where possible)."""
    if isinstance(kind, RunSpec):
        same = [r["run_wall_time_s"] for r in records if "run_wall_time_s" in r and (str(r["k"]) == "full") == (kind.k == "full")]
        if same:
            return sorted(same)[len(same) // 2]
        steps = profile.target_steps if kind.k == "full" else profile.few_shot_steps
        return 2.0 * steps + 30
    stage, _ = kind
    if stage.kind == "teachers":
        return (2.0 * profile.teacher_steps + 20) * len(profile.source_tasks)
    return 2.0 * profile.distill_steps + 60
