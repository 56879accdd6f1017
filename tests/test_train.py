"""The training loop: it learns, touches only the prompt, keeps the best step, stops on NaN, and resumes exactly."""

from __future__ import annotations

import copy
import json
import math
import types

import datasets
import pytest
import torch

from mpt_nb.data import PromptCollator, tokenize_task, train_loader
from mpt_nb.losses import classification_loss, classification_objective
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import MultitaskPrompt, SoftPrompt
from mpt_nb.tasks import load_task_splits, task_from_dataset
from mpt_nb.train import NonFiniteLossError, TrainConfig, train_prompt


@pytest.fixture(scope="module")
def separable(lively_llama):
    """A tiny task whose label is the first word of the text: 'good ...' -> yes, 'bad ...' -> no."""
    texts = [f"{word} {i}" for i in range(12) for word in ("good", "bad")]
    data = datasets.Dataset.from_dict({"text": texts, "label": [int(t.startswith("good")) for t in texts]})
    task = task_from_dataset(
        "separable_toy",
        data,
        text_fields=["text"],
        label_field="label",
        label_words=["no", "yes"],
        register=False,
    )
    train = tokenize_task(load_task_splits(task)["train"], task, lively_llama)
    collator = PromptCollator.for_tasks(lively_llama, [task])
    return train, collator


def _config(steps, **changes):
    settings = {"max_steps": steps, "lr": 0.1, "warmup_ratio": 0.0, "progress": False, "eval_every": 1}
    return TrainConfig(**{**settings, **changes})


def _loader(separable, steps, seed=0):
    train, collator = separable
    return train_loader(train, collator, batch_size=8, num_batches=steps, seed=seed)


def _full_loss(model, separable):
    train, collator = separable
    batch = collator([train[i] for i in range(len(train))])
    with torch.no_grad():
        return classification_loss(model(**batch), batch["labels"]).item()


def _mpt(backbone):
    g = torch.Generator().manual_seed(5)
    return MultitaskPrompt(
        3,
        backbone.dim,
        1,
        rank=2,
        shared_init=torch.randn(3, backbone.dim, generator=g),
        low_rank_init="normal",
    )


def test_a_few_steps_reduce_the_training_loss(lively_llama, separable):
    model = PromptedModel(lively_llama, SoftPrompt.from_vocab(lively_llama.embeddings, 4, seed=0))
    before = _full_loss(model, separable)
    result = train_prompt(model, _loader(separable, 5), _config(5, eval_every=0))
    after = _full_loss(model, separable)
    assert after < 0.7 * before, (before, after)
    assert result.steps == 5 and len(result.history) == 5
    assert all(math.isfinite(h["loss"]) for h in result.history)


def test_only_prompt_parameters_change(lively_llama, separable):
    backbone_before = copy.deepcopy(lively_llama.model.state_dict())
    prompt = _mpt(lively_llama)
    prompt_before = copy.deepcopy(prompt.state_dict())
    train_prompt(PromptedModel(lively_llama, prompt), _loader(separable, 3), _config(3))
    backbone_after = lively_llama.model.state_dict()
    assert backbone_before.keys() == backbone_after.keys()
    for name, tensor in backbone_before.items():
        assert torch.equal(tensor, backbone_after[name]), f"backbone tensor {name} changed"
    for name, tensor in prompt_before.items():
        assert not torch.equal(tensor, prompt.state_dict()[name]), f"prompt tensor {name} did not train"


def test_low_rank_learning_rate_applies_to_u_and_v(lively_llama, separable):
    prompt = _mpt(lively_llama)
    u, v, shared = prompt.u.detach().clone(), prompt.v.detach().clone(), prompt.shared.detach().clone()
    config = _config(3, lr=0.1, lr_low_rank=1e-9, weight_decay=0.0)
    train_prompt(PromptedModel(lively_llama, prompt), _loader(separable, 3), config)
    assert (prompt.u - u).abs().max() < 1e-7 and (prompt.v - v).abs().max() < 1e-7
    assert (prompt.shared - shared).abs().max() > 1e-2


class _ScriptedEval:
    """Returns the given scores in turn and remembers the prompt it was shown at each evaluation."""

    def __init__(self, scores):
        self.scores = list(scores)
        self.snapshots = []

    def __call__(self, model):
        self.snapshots.append(copy.deepcopy(model.prompt.state_dict()))
        return self.scores[len(self.snapshots) - 1]


def test_best_checkpoint_selection_returns_best_eval_steps_weights(lively_llama, separable):
    prompt = _mpt(lively_llama)
    model = PromptedModel(lively_llama, prompt)
    evaluate = _ScriptedEval([0.2, 0.9, 0.4, 0.5])
    result = train_prompt(model, _loader(separable, 4), _config(4), eval_fn=evaluate)
    assert result.best_step == 2 and result.best_metric == 0.9
    assert [e["step"] for e in result.evals] == [1, 2, 3, 4]
    assert [e["metric"] for e in result.evals] == [0.2, 0.9, 0.4, 0.5]
    best, last = evaluate.snapshots[1], evaluate.snapshots[3]
    for name, tensor in prompt.state_dict().items():
        assert torch.equal(tensor, best[name]), name
        assert not torch.equal(tensor, last[name]), "the prompt must be the best step's, not the last step's"


def test_eval_at_start_keeps_an_initial_prompt_that_training_only_worsens(lively_llama, separable):
    prompt = _mpt(lively_llama)
    initial = copy.deepcopy(prompt.state_dict())
    model = PromptedModel(lively_llama, prompt)
    evaluate = _ScriptedEval([0.9, 0.2, 0.4, 0.5])
    result = train_prompt(model, _loader(separable, 3), _config(3, eval_at_start=True), eval_fn=evaluate)
    assert result.best_step == 0 and result.best_metric == 0.9 and result.steps == 3
    assert [e["step"] for e in result.evals] == [0, 1, 2, 3]
    for name, tensor in prompt.state_dict().items():
        assert torch.equal(evaluate.snapshots[0][name], initial[name]), "step 0 must score the initial prompt"
        assert torch.equal(tensor, initial[name]), "the prompt must be back at its initial values"
        assert not torch.equal(evaluate.snapshots[3][name], initial[name]), f"prompt tensor {name} did not train"



def test_patience_stops_once_the_validation_score_plateaus(lively_llama, separable):
    prompt = _mpt(lively_llama)
    model = PromptedModel(lively_llama, prompt)
    evaluate = _ScriptedEval([0.2, 0.6, 0.5, 0.6, 0.9, 0.9, 0.9])  # ties are no new best
    result = train_prompt(model, _loader(separable, 7), _config(7, patience=2), eval_fn=evaluate)
    assert [e["step"] for e in result.evals] == [1, 2, 3, 4]  # steps 3 and 4 bring no new best after step 2
    assert result.stopped_early and result.steps == 4 and result.best_step == 2 and result.best_metric == 0.6
    for name, tensor in prompt.state_dict().items():
        assert torch.equal(tensor, evaluate.snapshots[1][name]), "the prompt must be the best step's"
    # a curve that keeps improving runs every step and does not count as stopped
    rising = train_prompt(PromptedModel(lively_llama, _mpt(lively_llama)), _loader(separable, 4), _config(4, patience=2),
                          eval_fn=_ScriptedEval([0.1, 0.2, 0.3, 0.4]))
    assert not rising.stopped_early and rising.steps == 4



def test_patience_waits_for_the_warm_up(lively_llama, separable):
    # warm-up 4 of 8 steps: steps 1-4 cannot count towards a plateau, however bad they score
    evaluate = _ScriptedEval([0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    result = train_prompt(PromptedModel(lively_llama, _mpt(lively_llama)), _loader(separable, 8),
                          _config(8, patience=2, warmup_ratio=0.5), eval_fn=evaluate)
    assert result.stopped_early and result.steps == 6 and result.best_step == 1  # steps 5 and 6 count

def test_patience_resumes_into_a_run_that_had_stopped(lively_llama, separable, tmp_path):
    state = tmp_path / "run.state.safetensors"
    first = train_prompt(PromptedModel(lively_llama, _mpt(lively_llama)), _loader(separable, 6), _config(6, patience=1),
                         eval_fn=_ScriptedEval([0.5, 0.4, 0.3]), state_path=state)
    assert first.stopped_early and first.steps == 2
    evaluate = _ScriptedEval([])  # a resumed run that already plateaued must not train or score again
    again = train_prompt(PromptedModel(lively_llama, _mpt(lively_llama)), _loader(separable, 6), _config(6, patience=1),
                         eval_fn=evaluate, state_path=state)
    assert again.stopped_early and again.steps == 2 and again.best_step == 1 and not evaluate.snapshots


def test_a_state_resumes_under_a_patience_that_stops_no_sooner(lively_llama, separable, tmp_path):
    # Patience only decides when to stop: a run stopped by patience 1 continues under 0 (never stop early) exactly as
    # a run under 0 from the start would (preregistration amendment 6 resumes shared stages this way).
    scores = [0.5, 0.4, 0.3, 0.35, 0.2, 0.1]
    state = tmp_path / "run.state.safetensors"
    first = train_prompt(PromptedModel(lively_llama, _mpt(lively_llama)), _loader(separable, 6), _config(6, patience=1),
                         eval_fn=_ScriptedEval(scores), state_path=state)
    assert first.stopped_early and first.steps == 2
    resumed = train_prompt(PromptedModel(lively_llama, _mpt(lively_llama)), _loader(separable, 6),
                           _config(6, patience=0), eval_fn=_ScriptedEval(scores[2:]), state_path=state)
    fresh = train_prompt(PromptedModel(lively_llama, _mpt(lively_llama)), _loader(separable, 6), _config(6, patience=0),
                         eval_fn=_ScriptedEval(scores))
    assert not resumed.stopped_early and resumed.steps == 6 and resumed.best_step == fresh.best_step == 1
    assert [h["loss"] for h in resumed.history] == pytest.approx([h["loss"] for h in fresh.history])
    # A patience that could have stopped the saved run sooner than its step is refused.
    for saved, now in ((0, 2), (3, 2)):
        path = tmp_path / f"p{saved}.state.safetensors"
        train_prompt(PromptedModel(lively_llama, _mpt(lively_llama)), _loader(separable, 3), _config(3, patience=saved),
                     eval_fn=_ScriptedEval([0.1, 0.2, 0.3]), state_path=path)
        with pytest.raises(ValueError, match=r"other settings.*patience"):
            train_prompt(PromptedModel(lively_llama, _mpt(lively_llama)), _loader(separable, 3),
                         _config(3, patience=now), eval_fn=_ScriptedEval([]), state_path=path)


def test_patience_needs_evaluations(lively_llama, separable):
    model = PromptedModel(lively_llama, _mpt(lively_llama))
    with pytest.raises(ValueError, match="patience"):
        train_prompt(model, _loader(separable, 2), _config(2, patience=1))
    with pytest.raises(ValueError, match="eval_every > 0"):
        train_prompt(model, _loader(separable, 2), _config(2, patience=1, eval_every=0), eval_fn=_ScriptedEval([0.1]))

def test_batches_that_cannot_be_split_over_the_processes_are_refused(lively_llama, separable):
    # Only the process count and batch-splitting mode are read before the refusal, so a stand-in for a
    # 3-process Accelerator is enough; batch_size 8 (the loader's) cannot give 3 processes equal shares.
    model = PromptedModel(lively_llama, _mpt(lively_llama))
    three = types.SimpleNamespace(num_processes=3, split_batches=True)
    with pytest.raises(ValueError, match="batch_size 8 cannot be split over 3 processes; use a multiple of 3"):
        train_prompt(model, _loader(separable, 2), _config(2), accelerator=three)
    whole_batches = types.SimpleNamespace(num_processes=2, split_batches=False)
    with pytest.raises(ValueError, match=r"split_batches=True"):
        train_prompt(model, _loader(separable, 2), _config(2), accelerator=whole_batches)


def test_without_eval_fn_the_last_step_is_kept(lively_llama, separable):
    model = PromptedModel(lively_llama, _mpt(lively_llama))
    result = train_prompt(model, _loader(separable, 2), _config(2))
    assert result.best_step == 2 and result.best_metric is None


def test_nan_loss_stops_with_message_and_best_prompt(lively_llama, separable):
    prompt = _mpt(lively_llama)
    model = PromptedModel(lively_llama, prompt)
    evaluate = _ScriptedEval([0.8, 0.3, 0.1])
    calls = []

    def objective(m, batch):
        calls.append(1)
        loss, terms = classification_objective(m, batch)
        return (loss * float("nan") if len(calls) == 3 else loss), terms

    with pytest.raises(NonFiniteLossError) as info:
        train_prompt(model, _loader(separable, 5), _config(5), objective=objective, eval_fn=evaluate)
    message = str(info.value).lower()
    assert "lower the learning rate" in message and "step 3" in message
    assert len(evaluate.snapshots) == 2
    for name, tensor in prompt.state_dict().items():
        assert torch.isfinite(tensor).all()
        assert torch.equal(tensor, evaluate.snapshots[0][name]), (
            "the prompt must be reset to the best step (1)"
        )


def test_loader_too_short_is_an_error(lively_llama, separable):
    model = PromptedModel(lively_llama, _mpt(lively_llama))
    with pytest.raises(ValueError, match="num_batches"):
        train_prompt(model, _loader(separable, 3), _config(4))
    with pytest.raises(ValueError, match="accumulation"):
        train_prompt(model, _loader(separable, 4), _config(4, grad_accum=2))


def test_prompt_without_trainable_parameters_is_an_error(lively_llama, separable):
    prompt = _mpt(lively_llama).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        train_prompt(PromptedModel(lively_llama, prompt), _loader(separable, 2), _config(2))


# --------------------------------------------------------------------------------------------- resume


class _Interrupt(Exception):
    pass


def _run(backbone, separable, steps, *, state_path=None, num_batches=None, stop_before_call=None):
    """One training run from the same initial prompt; returns (prompt, result, number of batches it consumed)."""
    prompt = _mpt(backbone)
    calls = []

    def objective(m, batch):
        calls.append(1)
        if stop_before_call is not None and len(calls) == stop_before_call:
            raise _Interrupt
        return classification_objective(m, batch)

    loader = _loader(separable, num_batches or steps)
    try:
        result = train_prompt(
            PromptedModel(backbone, prompt),
            loader,
            _config(steps, warmup_ratio=0.2),
            objective=objective,
            state_path=state_path,
        )
    except _Interrupt:
        result = None
    return prompt, result, len(calls)


def _max_diff(a, b):
    return max((x - y).abs().max().item() for x, y in zip(a.parameters(), b.parameters(), strict=True))


def test_interrupted_run_resumes_to_the_same_prompt_as_an_uninterrupted_run(
    lively_llama, separable, tmp_path
):
    state = tmp_path / "state.safetensors"
    reference, ref_result, _ = _run(lively_llama, separable, 6)
    # Killed while computing step 4: the state saved after step 3 is on disk.
    _, crashed, _ = _run(lively_llama, separable, 6, state_path=state, stop_before_call=4)
    assert crashed is None and state.exists()
    from safetensors import safe_open

    with safe_open(str(state), "pt") as f:
        saved_s = json.loads(f.metadata()["extra"])["wall_time_s"]
    assert saved_s > 0
    resumed, result, consumed = _run(lively_llama, separable, 6, state_path=state)
    assert result.wall_time_s > saved_s  # the whole run's time: the first session's steps count too
    assert consumed == 3, "the resumed run must skip the 3 batches already trained on"
    assert result.steps == 6
    assert [h["step"] for h in result.history] == [1, 2, 3, 4, 5, 6]
    assert _max_diff(resumed, reference) <= 1e-6
    assert [h["lr"] for h in result.history] == pytest.approx([h["lr"] for h in ref_result.history])


def test_resume_under_a_changed_config_is_refused(lively_llama, separable, tmp_path):
    # The schedule decays to zero at max_steps, so extending a finished 3-step run to 6 steps could not match
    # either run; the loop says so instead of training something neither config describes.
    state = tmp_path / "state.safetensors"
    _run(lively_llama, separable, 3, state_path=state)
    with pytest.raises(ValueError, match=r"other settings.*max_steps"):
        _run(lively_llama, separable, 6, state_path=state)
