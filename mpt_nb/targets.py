"""Target adaptation: a method's target prompt starts from its source stage (or from vocabulary) and is trained on
the target task; full data or k examples per class, scored on validation and test.

Each record carries its run's *identity* (``run_identity``): a hash of everything that shapes the run, computed from
values as a source stage's is: the profile's whole ``TargetConfig``, the backbone, the target's data identity (at its
split seed), the method (its source stage by that stage's identity), k, the seeds, the selection and the
run's effective steps, rank and learning rate.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import datasets
import torch

from .data import k_shot, train_loader
from .evaluate import Predictions
from .losses import objective_for
from .methods import Method, get_method
from .prompted import PromptedModel
from .prompts import NoPrompt, SoftPrompt, count_trainable
from .sources import SourceStore, stage_identity, stage_settings
from .tasks import get_task
from .train import train_prompt
from .workspace import Workspace

__all__ = [
    "adapt_target",
    "adapt_target_both_selections",
    "run_identity",
    "run_settings",
    "select_spot_source",
    "zero_shot",
]


def run_settings(
    profile: Any,
    target: str,
    method: str | Method,
    *,
    k: int | None,
    seed: int,
    source_seed: int | None = None,
    ablation: str | None = None,
    validation_k: int | None = None,
    steps: int | None = None,
    rank: int | None = None,
    lr: float | None = None,
    source_identity: str | None = None,
) -> dict[str, Any]:
    """Everything that shapes one target run (what its identity hashes). ``steps`` and ``lr`` are the run's
    overrides (None: the profile's); ``rank`` is the rank of the target's own u, v (None: its source stage's r, that
    stage's own or the profile's), read only by a method whose target has u, v; ``source_identity`` is the identity
    of the stage it starts from, if that stage comes from another profile (a shipped store), else computed from
    ``profile``."""
    method = method if isinstance(method, Method) else get_method(method, ablation)
    source_seed = seed if source_seed is None else source_seed
    if method.source is not None and source_identity is None:
        source_identity = stage_identity(stage_settings(profile, method.source, source_seed))
    return {
        "method": {"name": method.name, "ablation": ablation or "none", "target_init": method.target_init,
                   "target_low_rank_init": method.target_low_rank_init},
        "source": source_identity if method.source is not None else None,
        "config": asdict(profile.target_config()),
        "backbone": profile.backbone,
        "task": get_task(target).data_identity(**profile.split_of(target)),
        "k": k,
        "seed": seed,
        "source_seed": source_seed if method.source is not None else None,
        "validation_k": validation_k,
        "steps": _run_steps(profile, k, steps),
        "rank": _target_rank(profile, method, rank),
        "lr": profile.lr if lr is None else lr,
    }


def _target_rank(profile: Any, method: Method, rank: int | None) -> int:
    """The rank a run's identity holds: for a target with its own u, v, the one it trains (``rank``, else its source
    stage's r, as ``MultitaskPrompt.for_new_tasks`` takes it); for any other, the profile's (a rank it never reads
    makes no other run)."""
    if method.target_init != "shared_prompt":
        return profile.rank
    return rank or method.source.rank or profile.rank


def _run_steps(profile: Any, k: int | None, steps: int | None) -> int:
    """A run's step count: ``steps`` if given, else the profile's few-shot or full-data budget."""
    return steps or (profile.few_shot_steps if k is not None else profile.target_steps)


def run_identity(profile: Any, target: str, method: str | Method, **run: Any) -> str:
    """A short, stable hash of ``run_settings(profile, target, method, **run)``: equal for two runs exactly when
    every setting that shapes them is equal."""
    return stage_identity(run_settings(profile, target, method, **run))


def select_spot_source(
    ws: Workspace, teachers: SoftPrompt, target: str, *, rows: datasets.Dataset | None = None
) -> int:
    """SPoT's source choice: the teacher whose prompt, used as is, scores best on the target's validation split (or
    on ``rows`` of it: a true few-shot run selects on no more rows than it may label)."""
    scores = []
    for i in range(teachers.num_tasks):
        prompt = SoftPrompt.from_prompts(teachers.task_prompts()[i])
        scores.append(ws.headline(PromptedModel(ws.backbone, prompt), target, rows=rows))
    return max(range(len(scores)), key=scores.__getitem__)


def _target_prompt(
    ws: Workspace,
    target: str,
    method: Method,
    sources: SourceStore | None,
    *,
    seed: int,
    source_seed: int,
    rank: int | None,
    selection_rows: datasets.Dataset | None = None,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The method's starting prompt for a target (its own parts drawn with ``seed``), from its source stage (trained
    with ``source_seed``); plus what the record notes about that stage. A choice among source prompts (SPoT's) is made
    on ``selection_rows`` (default: the whole validation split)."""
    profile = ws.profile
    if method.target_init == "vocab":
        return SoftPrompt.from_vocab(ws.backbone.embeddings, profile.prompt_tokens, seed=seed), {}
    if sources is None:
        raise ValueError(
            f"method {method.name!r} starts from its source stage ({method.source.describe(profile.rank)}); pass "
            "sources=SourceStore(ws, cache_dir), which loads the stage or trains it"
        )
    stage = sources.get(method.source, source_seed)
    extra = {"source_identity": sources.identity(method.source, source_seed), **method.record_fields()}
    if method.target_init == "best_teacher":
        rows_key = None if selection_rows is None else hash(tuple(map(tuple, selection_rows["input_ids"])))
        key = (id(stage), extra["source_identity"], target, rows_key)
        if key not in ws._spot_choices:
            ws._spot_choices[key] = select_spot_source(ws, stage, target, rows=selection_rows)
        source = ws._spot_choices[key]
        extra["spot_source"] = sources.profile.source_tasks[source]  # the stage's tasks (a shipped stage may differ)
        return SoftPrompt.from_prompts(stage.task_prompts()[source]), extra
    if method.target_init == "shared_as_prompt":  # u, v frozen at ones in the source stage: P* is the prompt
        return SoftPrompt.from_prompts(stage.shared.detach()[0]), extra
    low_rank_init = method.target_low_rank_init or profile.target_low_rank_init
    extra["target_low_rank_init"] = low_rank_init
    prompt = stage.for_new_tasks(1, rank=rank, low_rank_init=low_rank_init, seed=seed)
    return prompt, extra


def adapt_target(
    ws: Workspace,
    target: str,
    method: str | Method,
    *,
    sources: SourceStore | None = None,
    k: int | None = None,
    seed: int = 0,
    source_seed: int | None = None,
    steps: int | None = None,
    rank: int | None = None,
    ablation: str | None = None,
    validation_k: int | None = None,
    lr: float | None = None,
    always_validate: bool = False,
    score_test: bool = True,
) -> dict[str, Any]:
    """Stage 2: train a prompt for one target task with the ordinary loss; returns one results record.

    The method (a name in ``mpt_nb.methods.METHODS`` or a ``Method``) says which source stage it starts from;
    ``sources`` provides it (trained with ``source_seed``, default ``seed``). ``k`` per class makes it a few-shot run
    (rows drawn with ``seed``); the test split is always the full one. Checkpoints are chosen on the validation split
    (capped by the profile), or with ``validation_k`` on only that many validation rows per class ("true few-shot":
    no more labelled rows for selection than for training); a run that compares no checkpoints (the profile evaluates
    neither at the start nor before the last step) keeps its last step and its record's ``validation`` is None, unless
    ``always_validate`` asks for that step's score (a choice between runs, such as a learning-rate search, reads it).
    ``lr`` replaces the profile's learning rate for this run (a search over target learning rates). The record holds
    every test row's prediction and the validation curve (``validation_curve``); ``score_test=False`` reads no test
    row (a choice made on validation, such as the target budget, records ``test`` None).
    """
    (record,) = _adapt_target(
        ws, target, method, (validation_k,), sources=sources, k=k, seed=seed, source_seed=source_seed, steps=steps,
        rank=rank, ablation=ablation, lr=lr, always_validate=always_validate, score_test=score_test,
    )
    return record


def adapt_target_both_selections(
    ws: Workspace, target: str, method: str | Method, *, validation_k: int, **options: Any
) -> dict[str, dict[str, Any]]:
    """One target run whose checkpoint is chosen two ways: ``{"all": record, "k": record}``.

    ``"all"`` is what ``adapt_target(ws, target, method, **options)`` returns; ``"k"`` is what it returns with
    ``validation_k``. Training does not depend on how the checkpoint is chosen (same seed: same rows, same order), so
    one run serves both and costs one training, the small k-row evaluations and, where the two choose different
    steps, a second test pass. A profile that compares no checkpoints gives both the last step. ``options`` are
    ``adapt_target``'s. SPoT is refused: it chooses its source prompt on the selection rows, so its two selections
    are two different runs (call ``adapt_target`` twice).
    """
    method = method if isinstance(method, Method) else get_method(method, options.get("ablation"))
    if method.target_init == "best_teacher":
        raise ValueError(
            f"{method.name!r} chooses its source prompt on the selection rows, so selecting on all validation rows and "
            f"on validation_k={validation_k} per class are two different runs: call adapt_target twice"
        )
    if isinstance(validation_k, bool) or not isinstance(validation_k, int) or validation_k < 1:
        raise ValueError(f"validation_k is the one selection besides the whole split, a count >= 1 (got {validation_k!r})")
    on_all, on_k = _adapt_target(ws, target, method, (None, validation_k), **options)
    return {"all": on_all, "k": on_k}


def _selection_rows(ws: Workspace, target: str, validation_k: int | None, seed: int) -> datasets.Dataset:
    """The validation rows a checkpoint is chosen on: the whole (capped) split, or ``validation_k`` per class (all of
    a class's rows where it has fewer; the record's ``validation_rows`` counts what was used)."""
    validation = ws.tokenised(target, "validation")
    if validation_k is None:
        return validation
    validation = k_shot(validation, validation_k, seed=seed, at_most=True)
    # Predictions are placed by example_id: number the subset's rows afresh.
    return validation.remove_columns("example_id").add_column("example_id", list(range(len(validation))))


def _adapt_target(
    ws: Workspace,
    target: str,
    method: str | Method,
    selections: Sequence[int | None],
    *,
    sources: SourceStore | None = None,
    k: int | None = None,
    seed: int = 0,
    source_seed: int | None = None,
    steps: int | None = None,
    rank: int | None = None,
    ablation: str | None = None,
    lr: float | None = None,
    always_validate: bool = False,
    score_test: bool = True,
) -> list[dict[str, Any]]:
    """One training run, one record per selection (a ``validation_k``, None for the whole split). The first selection
    is ``train_prompt``'s; the others watch the same evaluations and keep their own best prompt. Under ``accelerate
    launch`` only the main process evaluates, so only its records (the ones written) carry the other selections."""
    method = method if isinstance(method, Method) else get_method(method, ablation)
    profile = ws.profile
    source_seed = seed if source_seed is None else source_seed
    rows = [_selection_rows(ws, target, validation_k, seed) for validation_k in selections]
    prompt, extra = _target_prompt(
        ws, target, method, sources, seed=seed, source_seed=source_seed, rank=rank,
        selection_rows=rows[0] if selections[0] is not None else None,
    )
    train = ws.tokenised(target, "train")
    if k is not None:
        train = k_shot(train, k, seed=seed)
    steps = _run_steps(profile, k, steps)
    model = PromptedModel(ws.backbone, prompt)
    loader = train_loader(train, ws.collator([target]), batch_size=profile.batch_size, num_batches=steps, seed=seed)
    changes = {"eval_at_start": profile.target_eval_at_start, **({} if lr is None else {"lr": lr})}
    config = ws.train_config(steps, seed=seed, desc=f"{method.name} {target}" + (f" k={k}" if k else ""), **changes)
    # The other selections' bests, updated at every evaluation the run makes (the same rule: the first best wins).
    others: list[dict[str, Any]] = [{"metric": None, "step": 0, "state": None} for _ in selections[1:]]
    evaluations = 0

    def score(model_: PromptedModel) -> float:
        nonlocal evaluations
        for best, selection_rows in zip(others, rows[1:], strict=True):
            metric = ws.headline(model_, task=target, rows=selection_rows)
            if best["metric"] is None or metric > best["metric"]:
                best.update(metric=metric, step=evaluations, state=copy.deepcopy(model_.prompt.state_dict()))
        evaluations += 1
        return ws.headline(model_, task=target, rows=rows[0])

    # A run whose only candidate is its last step (no evaluation at the start or between) has nothing to choose: it
    # skips the validation pass (a few seconds per run in the course sizing) and records no validation score, under
    # every selection alike (each then keeps the last step, as its own run would).
    chooses = always_validate or config.eval_at_start or 0 < config.eval_every < steps
    start = time.perf_counter()
    result = train_prompt(
        model, loader, config, objective=objective_for(get_task(target)), eval_fn=score if chooses else None
    )
    checkpoint_steps = [int(e["step"]) for e in result.evals]  # the steps validation compared
    # (metric, step, state to load) per selection; None: train_prompt's best, which the model holds now (also what a
    # process that never evaluated keeps, and a selection that chose the same step).
    chosen: list[tuple[float | None, int, dict[str, Any] | None]] = [(result.best_metric, result.best_step, None)]
    for best in others:
        step = result.best_step if best["state"] is None else checkpoint_steps[best["step"]]
        chosen.append((best["metric"], step, None if step == result.best_step else best["state"]))
    def test_record() -> dict[str, Any]:
        return _test_record(ws, target, ws.predict(model, target, "test") if score_test else None)

    first_test = test_record()  # train_prompt's best state
    records = []
    for validation_k, selection_rows, (metric, best_step, state) in zip(selections, rows, chosen, strict=True):
        if state is not None:
            model.prompt.load_state_dict(state)
        records.append({
            # No state of its own: the same prompt as the first selection's, so the same test predictions.
            **(copy.deepcopy(first_test) if state is None else test_record()),
            "method": method.name,
            "ablation": ablation or "none",
            "k": k if k is not None else "full",
            "seed": seed,
            "source_seed": source_seed if method.source is not None else None,
            "validation": metric,
            "validation_rows": len(selection_rows),
            "validation_k": validation_k,
            "trainable_params": count_trainable(prompt),
            "prompt_tokens": profile.prompt_tokens,
            "rank": getattr(prompt, "rank", 0),
            "steps": steps,
            "lr": config.lr,
            "best_step": best_step,
            "checkpoint_steps": checkpoint_steps,
            "validation_curve": [{"step": int(e["step"]), "metric": e["metric"]} for e in result.evals],
            "wall_time_s": round(time.perf_counter() - start, 2),  # training, evaluations and test passes so far
            **extra,
            # The rank its u, v have: a stage from another profile (a shipped store) may carry another default r.
            "run_identity": run_identity(
                profile, target, method, k=k, seed=seed, source_seed=source_seed, ablation=ablation,
                validation_k=validation_k, steps=steps, rank=getattr(prompt, "rank", rank), lr=lr,
                source_identity=extra.get("source_identity"),
            ),
        })
    return records


def _test_record(ws: Workspace, target: str, predictions: Predictions | None) -> dict[str, Any]:
    """The fields every results record shares: where it ran, the target, and its test score and per-row predictions
    (None where no test row was read)."""
    profile, metric = ws.profile, get_task(target).metric
    return {
        "profile": profile.name,
        "sizing": profile.sizing,
        "backbone": ws.backbone.name,
        "task": target,
        "metric": metric,
        "test": None if predictions is None else predictions.score(metric)[metric],
        "test_rows": 0 if predictions is None else len(predictions.references),
        "test_predictions": None if predictions is None else predictions.as_record(),
    }


def zero_shot(ws: Workspace, target: str) -> dict[str, Any]:
    """The zero-shot baseline on one target: the frozen model and the task's hand-written template, no soft prompt and
    no training; returns a results record (method "zero_shot", 0 trainable parameters) like ``adapt_target``'s."""
    start = time.perf_counter()
    predictions = ws.predict(PromptedModel(ws.backbone, NoPrompt(ws.backbone.dim)), target, "test")
    return {
        **_test_record(ws, target, predictions),
        "method": "zero_shot",
        "ablation": "none",
        "k": "full",
        "seed": None,
        "source_seed": None,
        "trainable_params": 0,
        "prompt_tokens": 0,
        "steps": 0,
        "wall_time_s": round(time.perf_counter() - start, 2),
    }
