"""Source training: the stages a method learns on the source tasks, each from a ``SourceStage`` value.

``train_stage(ws, stage, seed)`` trains what the method table declares: the teachers (one vanilla prompt per source
task, ``train_teachers``) or a shared prompt P* ∘ (u v) (``distill_shared_prompt``): distilled from the teachers or
trained jointly on the task loss, decomposed or not, P* started at the teachers' mean or at sampled vocabulary.
The store (``mpt_nb.sources``) keys, saves and loads what these functions train; it imports them, never the reverse.
"""

from __future__ import annotations

import functools
from pathlib import Path

import datasets

from .data import PromptCollator, build_multitask_dataset, multitask_loader, train_loader
from .distill import TeacherCache
from .losses import DistillationLoss, classification_objective, objective_for
from .methods import SourceStage
from .prompted import PromptedModel
from .prompts import MultitaskPrompt, SoftPrompt
from .tasks import get_task
from .train import TrainResult, train_prompt
from .workspace import Workspace

__all__ = ["distill_shared_prompt", "source_scores", "train_teachers"]


def train_teachers(
    ws: Workspace, *, seed: int = 0, state_prefix: str | Path | None = None
) -> tuple[SoftPrompt, list[TrainResult]]:
    """Stage 1a: one vanilla prompt per source task, each trained alone; returned stacked as (tasks, l, d).

    ``state_prefix`` makes it resumable: each teacher's training state is kept at ``<prefix>-<task>.state.safetensors``
    (rewritten at every evaluation), so a run stopped mid-way continues from its last evaluation.
    """
    profile, prompts, results = ws.profile, [], []
    for i, task in enumerate(profile.source_tasks):
        prompt = SoftPrompt.from_vocab(ws.backbone.embeddings, profile.prompt_tokens, seed=seed + i)
        model = PromptedModel(ws.backbone, prompt)
        loader = train_loader(
            ws.tokenised(task, "train"), ws.collator([task]), batch_size=profile.batch_size,
            num_batches=profile.teacher_steps, seed=seed + i,
        )
        config = ws.train_config(profile.teacher_steps, seed=seed, desc=f"teacher {task}",
                                 patience=profile.source_patience)
        state = None if state_prefix is None else f"{state_prefix}-{task.replace('/', '_')}.state.safetensors"
        results.append(
            train_prompt(
                model, loader, config, objective=objective_for(get_task(task)),
                eval_fn=functools.partial(ws.headline, task=task), state_path=state,
            )
        )
        prompts.append(prompt.weight.detach()[0])
    return SoftPrompt.from_prompts(prompts), results


def _source_training_data(ws: Workspace) -> tuple[datasets.Dataset, PromptCollator]:
    tasks = ws.profile.source_tasks
    data = build_multitask_dataset([ws.tokenised(t, "train", task_id=i) for i, t in enumerate(tasks)])
    return data, ws.collator(tasks)


def source_scores(ws: Workspace, model: PromptedModel) -> dict[str, float]:
    """Each source task's validation score with the model's prompt for that task (its task id)."""
    return {t: ws.headline(model, t, task_id=i) for i, t in enumerate(ws.profile.source_tasks)}


def _mean_source_score(ws: Workspace, model: PromptedModel) -> float:
    return sum(source_scores(ws, model).values()) / len(ws.profile.source_tasks)


def distill_shared_prompt(
    ws: Workspace,
    teachers: SoftPrompt | None,
    stage: SourceStage,
    *,
    seed: int = 0,
    state_path: str | Path | None = None,
) -> tuple[MultitaskPrompt, TrainResult]:
    """Stage 1b: learn P* and per-task u, v on mixed source batches, as the shared ``stage`` declares.

    ``stage.distill``: MPT's student loss L_PLM + λ(L_logits + L_hidden) against cached teacher outputs (keeping both
    terms, or only ``distill_terms`` "logits" (KL) or "hidden" (MSE)); else the decomposition alone, trained jointly on
    the task loss (what PEFT's MPT does). ``stage.decompose=False`` freezes u, v at ones, leaving one shared prompt.
    ``stage.shared_init`` starts P* at the teachers' mean or at sampled vocabulary; ``stage.rank`` is r (None: the
    profile's). ``teachers`` are needed when the stage distils or starts from their mean. ``state_path`` makes the
    run resumable from its last evaluation.
    """
    if stage.kind != "shared":
        raise ValueError(f"distill_shared_prompt trains a shared stage, got {stage.kind!r}; use train_teachers")
    distill, decompose, rank = stage.distill, stage.decompose, stage.rank
    shared_init, distill_terms = stage.shared_init, stage.distill_terms
    profile = ws.profile
    generation = [t for t in profile.source_tasks if get_task(t).kind == "generation"]
    if generation:
        raise ValueError(
            f"source tasks {generation} are generation tasks; mixed multitask batches and label-word distillation "
            "need classification tasks: train generation tasks' prompts with train_teachers/adapt_target instead"
        )
    if teachers is None and stage.needs_teachers:
        raise ValueError(
            f"this stage ({stage.describe()}) needs teacher prompts: run train_teachers first, or train a stage "
            "with distill=False and shared_init='vocab'"
        )
    data, collator = _source_training_data(ws)
    if shared_init == "teacher_mean":
        student = MultitaskPrompt.from_teachers(teachers.task_prompts(), rank or profile.rank, seed=seed)
    else:
        init = SoftPrompt.from_vocab(ws.backbone.embeddings, profile.prompt_tokens, seed=seed).weight[0]
        student = MultitaskPrompt(
            profile.prompt_tokens, ws.backbone.dim, len(profile.source_tasks), rank or profile.rank,
            shared_init=init, seed=seed,
        )
    if not decompose:
        student.u.requires_grad_(False)
        student.v.requires_grad_(False)
    objective = classification_objective
    if distill:
        teacher_model = PromptedModel(ws.backbone, teachers)
        cache = TeacherCache(teacher_model, data, collator, batch_size=profile.eval_batch_size)
        objective = DistillationLoss(
            cache, weight=profile.distill_weight, temperature=profile.temperature,
            use_logits=distill_terms in ("both", "logits"), use_hidden=distill_terms in ("both", "hidden"),
        ).objective
    loader = multitask_loader(
        data, collator, batch_size=profile.batch_size, num_batches=profile.distill_steps,
        max_tasks_per_batch=profile.max_tasks_per_batch, seed=seed,
    )
    model = PromptedModel(ws.backbone, student)
    # Each evaluation reads every source task's validation split: by default check twice (half-way, end), not every
    # eval_every; a profile that trains shared stages to a plateau sets distill_eval_every.
    every = profile.distill_eval_every
    if every is None:
        every = max(profile.eval_every, profile.distill_steps // 2) if profile.eval_every else 0
    config = ws.train_config(
        profile.distill_steps,
        seed=seed,
        desc="distilling" if distill else "joint multitask",
        eval_every=every,
        patience=profile.distill_patience,
    )
    result = train_prompt(
        model, loader, config, objective=objective, eval_fn=functools.partial(_mean_source_score, ws),
        state_path=state_path,
    )
    return student, result
