"""Source stages as named records: what a method trains on the source tasks, keyed by every setting that shapes it.

A source stage (``mpt_nb.methods.SourceStage``) is either the teachers (one vanilla prompt per source task) or a
shared prompt (P* and per-task u, v, trained jointly or distilled from the teachers). Its *identity* is a hash of
everything that shapes it, computed from values, so no setting can be left out: the stage value, the profile's whole
config for that kind of stage (``TeacherConfig`` or ``SharedConfig``), the backbone, each source task's data identity
(name, template, label words, the sha256 of the files it reads or its pinned package, the split seed) and the seed;
for a stage that reads the teachers, the teachers' identity too. The file name carries the identity, so a run under
other settings never finds a stale file; a file loaded under other settings is refused with the settings that differ.

``SourceStore`` is what notebooks, the demo and the benchmarks use: ``store.get(stage, seed)`` returns the stage
from memory, else from the shipped folder (the converged stages committed under ``sources/<profile>/``, read only),
else from its own folder (checked), else trains and saves it. ``shipped_store(ws)`` is the store that starts from the
shipped stages; ``python -m mpt_nb train-sources`` produces them.

Each saved stage records its settings, identity, code hash, validation score(s), its training curve, and a *check*:
its headline score on the first ``CHECK_ROWS`` validation rows of every source task, which a test recomputes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from safetensors import safe_open

from . import __version__
from .checkpoint import load_prompt, save_prompt
from .methods import TEACHERS, SourceStage
from .paths import display_path
from .profiles import SOURCE_SPLIT_SEED, get_profile
from .prompted import PromptedModel
from .prompts import MultitaskPrompt, SoftPrompt
from .stages import distill_shared_prompt, source_scores, train_teachers
from .tasks import get_task
from .train import process_state
from .workspace import Workspace

__all__ = [
    "SourceStore",
    "StaleArtefactError",
    "code_hash",
    "git_commit",
    "load_stage",
    "preferred_store",
    "recorded_wall_time",
    "shipped_dir",
    "shipped_profile",
    "shipped_store",
    "stage_file_name",
    "stage_identity",
    "stage_metadata",
    "stage_settings",
]

CHECK_ROWS = 16  # validation rows per source task that a saved stage's check score covers


class StaleArtefactError(ValueError):
    """A saved source stage was made under other settings than the run asks for."""




@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """A short hash of the package's source files: recorded with every artefact, to say which code made it."""
    digest = hashlib.sha1()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def git_commit() -> str | None:
    """The commit of the checkout this package runs from (with "+dirty" if its files differ), or None outside one."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "mpt_nb"], capture_output=True,
                               text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def stage_settings(profile: Any, stage: SourceStage, seed: int) -> dict[str, Any]:
    """Everything that shapes ``stage`` trained under ``profile`` with ``seed`` (what its identity hashes): the stage
    value, the whole config of its kind (teachers or shared), the backbone, each source task's data identity and the seed; for a stage that
    reads the teachers, the teachers' own settings too."""
    settings = {
        "stage": asdict(stage),
        "config": asdict(profile.teacher_config() if stage.kind == "teachers" else profile.shared_config()),
        "backbone": profile.backbone,
        "source_tasks": [get_task(t).data_identity(SOURCE_SPLIT_SEED) for t in profile.source_tasks],
        "seed": seed,
    }
    if stage.needs_teachers:
        settings["teachers"] = stage_settings(profile, TEACHERS, seed)
    return settings


def stage_file_name(profile: Any, stage: SourceStage, seed: int) -> str:
    """``<slug>-seed<seed>-<identity>.safetensors``: where ``stage`` trained under ``profile`` with ``seed`` is saved."""
    return f"{stage.slug(profile.rank)}-seed{seed}-{stage_identity(stage_settings(profile, stage, seed))}.safetensors"


def stage_identity(settings: dict[str, Any]) -> str:
    """A short, stable hash of a stage's settings."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def settings_diff(saved: dict[str, Any], wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{setting: (saved value, wanted value)} for every setting that differs (nested ones as "teachers.lr")."""
    a, b = _flatten(saved), _flatten(wanted)
    return {k: (a.get(k, "<absent>"), b.get(k, "<absent>")) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def load_stage(
    path: str | Path, settings: dict[str, Any], *, model_name: str | None = None, dim: int | None = None
) -> tuple[SoftPrompt | MultitaskPrompt, dict[str, Any]]:
    """Load a saved source stage, refusing one made under other settings (the message names each difference)."""

    prompt, info = load_prompt(path, model_name=model_name, dim=dim)
    saved = info["extra"].get("source_stage")
    if saved is None:
        raise StaleArtefactError(
            f"{path} records no source-stage settings (an older mpt_nb made it); delete it to retrain the stage"
        )
    diff = settings_diff(saved, settings)
    if diff:
        shown = "; ".join(f"{k}: saved {a!r}, wanted {b!r}" for k, (a, b) in list(diff.items())[:8])
        raise StaleArtefactError(
            f"{path} was trained under other settings ({shown}); delete it, or retrain the stage "
            "(SourceStore(..., retrain=True))"
        )
    # Which code made it is provenance (code_hash, package_version, git_commit), not identity: a release or an edit
    # elsewhere must not make the shipped stages stale. Whether this code still computes the same with them is what
    # tests/test_shipped_sources.py checks, on the recorded predictions.
    return prompt, info


@dataclass
class SourceStore:
    """Source stages of one workspace: in memory, on disk under ``cache_dir`` (None: memory only), trained on demand.

    ``profile`` (default: the workspace's) is the profile whose settings shape, key and train the stages: a notebook
    in the small ``course`` sizing passes the default-sizing profile so it finds the converged stages shipped in
    ``shipped`` (a read-only folder searched before ``cache_dir``). ``retrain=True`` trains every stage asked for once
    in this store, overwriting what is in ``cache_dir``.
    """

    ws: Workspace
    cache_dir: Path | None = None
    retrain: bool = False
    profile: Any = None
    shipped: Path | None = None

    def __post_init__(self) -> None:

        self.cache_dir = Path(self.cache_dir) if self.cache_dir is not None else None
        self.shipped = Path(self.shipped) if self.shipped is not None else None
        self.profile = self.profile or self.ws.profile
        # Stages train in a workspace of their own profile (its data caps and schedule), sharing the backbone.
        self.source_ws = self.ws if self.profile == self.ws.profile else Workspace(self.profile, self.ws.backbone)
        self._memory: dict[str, Any] = {}
        self.validation: dict[str, Any] = {}  # identity -> the validation score(s) of the training run
        self.info: dict[str, dict[str, Any]] = {}  # identity -> the saved metadata (curves, check), once loaded or saved

    def settings(self, stage: SourceStage, seed: int) -> dict[str, Any]:
        """Every setting that shapes the stage under this store's profile."""
        return stage_settings(self.profile, stage, seed)

    def identity(self, stage: SourceStage, seed: int) -> str:
        return stage_identity(self.settings(stage, seed))

    def file_name(self, stage: SourceStage, seed: int) -> str:
        return stage_file_name(self.profile, stage, seed)

    def path(self, stage: SourceStage, seed: int) -> Path | None:
        """Where the stage is saved in ``cache_dir`` (None: memory only)."""
        return None if self.cache_dir is None else self.cache_dir / self.file_name(stage, seed)

    def _found(self, stage: SourceStage, seed: int) -> Path | None:
        if self.retrain:
            return None
        for folder in (self.shipped, self.cache_dir):
            if folder is not None and (folder / self.file_name(stage, seed)).exists():
                return folder / self.file_name(stage, seed)
        return None

    def is_saved(self, stage: SourceStage, seed: int) -> bool:
        """Whether the stage is on disk already, shipped or saved (so getting it takes a second, not minutes)."""
        return self._found(stage, seed) is not None

    def is_shipped(self, stage: SourceStage, seed: int) -> bool:
        """Whether the stage comes from the shipped folder."""
        found = self._found(stage, seed)
        return found is not None and self.shipped is not None and found.parent == self.shipped

    def is_loaded(self, stage: SourceStage, seed: int) -> bool:
        """Whether the stage is in this store's memory already."""
        return self.identity(stage, seed) in self._memory

    def teachers(self, seed: int = 0, *, tasks: Sequence[str] | None = None) -> SoftPrompt:
        """The teachers (one prompt per source task), stacked (tasks, l, d); with ``tasks``, only those tasks'
        teachers, in that order (e.g. a notebook's three course sources from the four shipped ones)."""

        teachers = self.get(TEACHERS, seed)
        if tasks is None:
            return teachers
        trained = list(self.profile.source_tasks)
        missing = [t for t in tasks if t not in trained]
        if missing:
            raise KeyError(f"no teachers for {missing} in this store: its teachers are for {trained}")
        return SoftPrompt.from_prompts(teachers.weight.detach()[[trained.index(t) for t in tasks]].clone())

    def get(self, stage: SourceStage, seed: int = 0) -> SoftPrompt | MultitaskPrompt:
        """The stage from memory, else from disk (refused if stale), else trained now and saved."""

        identity = self.identity(stage, seed)
        if identity in self._memory:
            return self._memory[identity]
        process_state().wait_for_everyone()  # several processes: all see the same files before choosing load or train
        found = self._found(stage, seed)
        if found is not None:
            backbone = self.ws.backbone
            prompt, info = load_stage(found, self.settings(stage, seed), model_name=backbone.name, dim=backbone.dim)
            self.validation[identity] = info["extra"].get("validation")
            self.info[identity] = info["extra"]
            if stage.kind == "shared" and not stage.decompose:  # saved tensors do not say that u, v stay frozen
                prompt.u.requires_grad_(False)
                prompt.v.requires_grad_(False)
        else:
            prompt, validation, curves = self._train(stage, seed)
            self.put(stage, seed, prompt, validation=validation, curves=curves)
            if process_state().is_main_process:  # the stage is saved: its training states are done with
                self._drop_states(stage, seed)
        self._memory[identity] = prompt
        return prompt

    def check(
        self, prompt: SoftPrompt | MultitaskPrompt, *, rows: int = CHECK_ROWS, tasks: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The stage's check: its predictions and headline score on the first ``rows`` (``CHECK_ROWS`` when saved)
        validation rows of each source task, or of ``tasks`` among them (recorded when saved; a test recomputes a
        prefix of them)."""

        ws, model = self.source_ws, PromptedModel(self.ws.backbone, prompt)
        scores, predictions = {}, {}
        unknown = sorted(set(tasks or ()) - set(self.profile.source_tasks))
        if unknown:
            raise ValueError(f"tasks {unknown} are not this stage's sources {list(self.profile.source_tasks)}")
        for i, task in enumerate(self.profile.source_tasks):
            if tasks is not None and task not in tasks:
                continue
            split = ws.tokenised(task, "validation", task_id=i)
            result = ws.predict(model, task, task_id=i, rows=split.select(range(min(rows, len(split)))))
            metric = get_task(task).metric
            scores[task], predictions[task] = result.score(metric)[metric], result.predictions
        return {"rows": rows, "scores": scores, "predictions": predictions}

    def put(
        self, stage: SourceStage, seed: int, prompt: SoftPrompt | MultitaskPrompt, *, validation: Any = None,
        curves: Any = None,
    ) -> Path | None:
        """Keep a stage trained elsewhere (a notebook that shows its losses) where ``get`` will find it."""

        identity = self.identity(stage, seed)
        self._memory[identity] = prompt
        self.validation[identity] = validation
        path = self.path(stage, seed)
        if path is None:
            return None
        state = process_state()
        if state.is_main_process:  # several processes train the same stage; one writes it
            extra = {
                "source_stage": self.settings(stage, seed),
                "identity": identity,
                "code_hash": code_hash(),
                "package_version": __version__,
                "git_commit": git_commit(),
                "validation": validation,
                "curves": curves,
                "check": self.check(prompt),
            }
            self.info[identity] = extra
            save_prompt(
                path, prompt, model_name=self.ws.backbone.name, task_names=self.profile.source_tasks, extra=extra
            )
        state.wait_for_everyone()
        return path

    def _drop_states(self, stage: SourceStage, seed: int) -> None:
        """Delete the stage's training states under ``<cache_dir>/partial/`` (and the folder once empty)."""
        if self.cache_dir is None:
            return
        partial = self.cache_dir / "partial"
        stem = self.file_name(stage, seed).removesuffix(".safetensors")
        for state in partial.glob(f"{stem}*.state.safetensors"):
            state.unlink()
        if partial.is_dir() and not any(partial.iterdir()):
            partial.rmdir()

    def _train(self, stage: SourceStage, seed: int) -> tuple[SoftPrompt | MultitaskPrompt, Any, Any]:

        ws = self.source_ws
        # Training states under <cache_dir>/partial/ make a stopped stage resume from its last evaluation.
        partial = None
        if self.cache_dir is not None:
            if self.retrain:  # start over, not from a stopped run's state
                self._drop_states(stage, seed)
            partial = self.cache_dir / "partial" / self.file_name(stage, seed).removesuffix(".safetensors")
            partial.parent.mkdir(parents=True, exist_ok=True)
        if stage.kind == "teachers":
            prompt, runs = train_teachers(ws, seed=seed, state_prefix=partial)
            tasks = self.profile.source_tasks
            return (
                prompt,
                {t: r.best_metric for t, r in zip(tasks, runs, strict=True)},
                {t: _curve(r) for t, r in zip(tasks, runs, strict=True)},
            )
        teachers = self.teachers(seed) if stage.needs_teachers else None
        prompt, run = distill_shared_prompt(
            ws, teachers, stage, seed=seed, state_path=None if partial is None else f"{partial}.state.safetensors"
        )
        # Per task, at the kept checkpoint (training tracked only their mean): students beside their teachers.
        scores = source_scores(ws, PromptedModel(ws.backbone, prompt))
        return prompt, {**scores, "mean": run.best_metric}, _curve(run)


def _curve(run: Any, points: int = 50) -> dict[str, Any]:
    """A training run's validation scores and (at most ``points``) logged losses, small enough for metadata."""
    every = max(1, len(run.history) // points)
    return {
        "evals": run.evals,
        "best_step": run.best_step,
        "steps": run.steps,  # taken: fewer than the budget when the curve plateaued (source_/distill_patience)
        "stopped_early": run.stopped_early,
        "wall_time_s": round(run.wall_time_s),  # training and validation, summed over resumed sessions
        "history": [{k: round(v, 5) for k, v in h.items()} for h in run.history[every - 1 :: every]],
    }


def stage_metadata(path: str | Path) -> dict[str, Any]:
    """The ``extra`` metadata a saved source stage carries (settings, validation, curves), read without its tensors."""

    with safe_open(str(path), "pt") as f:
        metadata = f.metadata() or {}
    if "extra" not in metadata:
        raise ValueError(f"{Path(path).name} carries no source-stage metadata; is it a stage written by train-sources?")
    return json.loads(metadata["extra"])


def recorded_wall_time(curves: dict[str, Any]) -> float | None:
    """Seconds of training and validation a stage's curves record, summed over resumed sessions and, for the
    teachers, over their tasks; None when they record none (stages trained before ``wall_time_s`` was recorded)."""
    if "evals" in curves:  # a shared stage: one curve
        return curves.get("wall_time_s")
    times = [c.get("wall_time_s") for c in curves.values()]
    return None if any(t is None for t in times) else float(sum(times))


def shipped_dir(profile_name: str) -> Path:
    """The repository folder that holds the shipped (converged, committed) source stages of a profile: ``sources/``
    beside the package (a clone, or an editable install of one)."""
    return Path(__file__).resolve().parent.parent / "sources" / profile_name


def shipped_profile(profile: Any) -> Any:
    """The profile that keys the shipped stages for ``profile``: its named profile in the default sizing (whose budgets
    trained them), at ``profile``'s prompt length l (a stage's prompts are l tokens long: another l, other stages)."""
    return get_profile(profile.name, prompt_tokens=profile.prompt_tokens)


def shipped_store(ws: Workspace, cache_dir: str | Path | None = None, *, retrain: bool = False) -> SourceStore:
    """A store that starts from the stages shipped for the workspace's profile (``shipped_profile``), and trains into
    ``cache_dir`` what is not shipped (or everything, with ``retrain``)."""

    return SourceStore(
        ws, cache_dir, retrain=retrain, profile=shipped_profile(ws.profile), shipped=shipped_dir(ws.profile.name)
    )


def preferred_store(
    ws: Workspace, stages: list[SourceStage], cache_dir: str | Path | None = None, *, seeds: tuple[int, ...] = (0,),
    retrain: bool = False,
) -> tuple[SourceStore, str]:
    """The store a demo or a notebook should read ``stages`` from, and one line saying which and why.

    The converged stages shipped for the workspace's profile when every one of ``stages`` is there for every seed
    (read only; trained in the profile's default sizing by ``python -m mpt_nb train-sources``); else, or with
    ``retrain``, a store that loads them from ``cache_dir`` or trains them there in the workspace's own sizing.
    """

    shipped = shipped_store(ws, cache_dir)
    if not retrain and all(shipped.is_shipped(stage, seed) for stage in stages for seed in seeds):
        return shipped, (
            f"source stages: the converged ones shipped in {display_path(shipped.shipped)} (trained on "
            f"{len(shipped.profile.source_tasks)} source tasks by `python -m mpt_nb train-sources`)"
        )
    why = "retrain requested" if retrain else f"no shipped stages in {display_path(shipped.shipped)} match"
    store = SourceStore(ws, cache_dir, retrain=retrain)
    how = "loading or training" if cache_dir is not None else "training"
    return store, f"source stages: {how} them in the {ws.profile.sizing} sizing ({why})"
