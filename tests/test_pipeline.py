"""The method end to end on a shrunk smoke profile, and the demo command line."""

from __future__ import annotations

import json

import pytest
import torch

from mpt_nb import profiles
from mpt_nb.__main__ import main
from mpt_nb.pipeline import METHODS, Workspace, adapt_target, distill_shared_prompt, train_teachers
from mpt_nb.prompts import MultitaskPrompt, SoftPrompt, expected_trainable

SHRUNK = {
    "source_tasks": ("movie_sentiment", "question_type"),
    "target_tasks": ("amazon_sentiment",),
    "max_train": 16,
    "max_eval": 8,
    "max_validation": 8,
    "max_input_tokens": 32,
    "batch_size": 4,
    "eval_batch_size": 16,
    "teacher_steps": 2,
    "distill_steps": 2,
    "target_steps": 2,
    "few_shot_steps": 2,
    "eval_every": 0,
    "few_shot_k": (2,),
}
RECORD_KEYS = {
    "profile", "backbone", "task", "method", "k", "seed", "metric", "test", "validation", "trainable_params",
    "prompt_tokens", "rank", "steps", "best_step", "wall_time_s",
}  # fmt: skip
TARGET = "amazon_sentiment"


@pytest.fixture(scope="module")
def profile():
    return profiles.get_profile("smoke", **SHRUNK)


@pytest.fixture(scope="module")
def ws(profile):
    return Workspace.from_profile(profile)


@pytest.fixture(scope="module")
def teachers(ws):
    return train_teachers(ws, seed=0)


@pytest.fixture(scope="module")
def distilled(ws, teachers):
    return distill_shared_prompt(ws, teachers[0], distill=True, seed=0)


@pytest.fixture(scope="module")
def joint(ws):
    return distill_shared_prompt(ws, None, distill=False, seed=0)


def test_workspace_uses_the_profile(ws, profile):
    assert ws.backbone.name == "tiny-llama" and ws.profile is profile
    splits = ws.splits(TARGET)
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == (16, 8, 8)
    assert ws.tokenised("question_type", "train", task_id=1)["task_id"] == [1] * 16


def test_train_teachers_one_prompt_per_source_task(teachers, profile, ws):
    prompts, runs = teachers
    assert isinstance(prompts, SoftPrompt)
    assert prompts.weight.shape == (2, profile.prompt_tokens, ws.backbone.dim)
    assert len(runs) == 2
    for run in runs:
        assert run.steps == 2 and 0.0 <= run.best_metric <= 1.0
    assert not torch.equal(prompts.weight[0], prompts.weight[1])


@pytest.mark.parametrize("stage", ["distilled", "joint"])
def test_distill_shared_prompt_gives_a_multitask_prompt(stage, request, teachers, profile):
    prompt, result = request.getfixturevalue(stage)
    assert isinstance(prompt, MultitaskPrompt)
    assert (prompt.num_tasks, prompt.num_tokens, prompt.rank) == (2, profile.prompt_tokens, profile.rank)
    assert result.steps == 2 and 0.0 <= result.best_metric <= 1.0
    assert torch.isfinite(prompt.task_prompts()).all()
    if stage == "distilled":
        # Initialised at the teachers' mean, then trained away from it.
        mean = teachers[0].task_prompts().mean(0)
        assert prompt.shared[0].shape == mean.shape and not torch.equal(prompt.shared[0], mean)
        assert set(result.history[0]) >= {"loss", "loss_plm", "loss_logits", "loss_hidden"}
    else:
        assert "loss_logits" not in result.history[0]


def test_distillation_needs_teachers(ws):
    with pytest.raises(ValueError, match="teacher"):
        distill_shared_prompt(ws, None, distill=True)


def test_no_decomposition_keeps_u_v_at_ones(ws, teachers):
    prompt, _ = distill_shared_prompt(ws, teachers[0], distill=False, decompose=False, seed=0)
    assert torch.equal(prompt.u, torch.ones_like(prompt.u)) and torch.equal(
        prompt.v, torch.ones_like(prompt.v)
    )


@pytest.mark.parametrize("method", ["pt", "spot", "decomp", "mpt"])
def test_adapt_target_records(method, ws, profile, teachers, distilled, joint):
    shared = {"decomp": joint[0], "mpt": distilled[0]}.get(method)
    record = adapt_target(ws, TARGET, method, shared=shared, teachers=teachers[0], seed=0)
    assert set(record) >= RECORD_KEYS | ({"spot_source"} if method == "spot" else set())
    assert record.get("lr", profile.lr) == profile.lr
    tokens, d, r = profile.prompt_tokens, ws.backbone.dim, profile.rank
    if method in ("pt", "spot"):
        assert record["trainable_params"] == expected_trainable("pt", tokens, d) == tokens * d
    else:
        assert (
            record["trainable_params"]
            == expected_trainable("mpt", tokens, d, rank=r)
            == tokens * d + (tokens + d) * r
        )
    assert record["method"] == method and record["task"] == TARGET and record["k"] == "full"
    assert record["steps"] == profile.target_steps and record["metric"] == "accuracy"
    assert 0.0 <= record["test"] <= 1.0 and 0.0 <= record["validation"] <= 1.0
    assert record["rank"] == (0 if method in ("pt", "spot") else r)
    if method == "spot":
        assert record["spot_source"] in profile.source_tasks
    json.dumps(record)  # records are written as JSON Lines


def test_adapt_target_k_shot(ws, profile, distilled):
    record = adapt_target(ws, TARGET, "mpt", shared=distilled[0], k=2, seed=1)
    assert record["k"] == 2 and record["seed"] == 1 and record["steps"] == profile.few_shot_steps
    assert record["trainable_params"] == expected_trainable("mpt", profile.prompt_tokens, ws.backbone.dim)


def test_adapt_target_argument_errors(ws):
    with pytest.raises(ValueError, match="unknown method"):
        adapt_target(ws, TARGET, "lora")
    with pytest.raises(ValueError, match="teachers"):
        adapt_target(ws, TARGET, "spot")
    with pytest.raises(ValueError, match="shared"):
        adapt_target(ws, TARGET, "mpt")
    assert set(METHODS) == {"pt", "spot", "decomp", "mpt"}


def test_demo_command_writes_results_table_and_plot(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(profiles.PROFILES, "smoke", profiles.PROFILES["smoke"].with_overrides(**SHRUNK))
    out = tmp_path / "demo"
    assert main(["demo", "--profile", "smoke", "--out", str(out)]) == 0
    assert {"results.jsonl", "results.md", "params_vs_accuracy.png"} <= {p.name for p in out.iterdir()}
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["method"], r["k"]) for r in records] == [
        ("pt", "full"),
        ("mpt", "full"),
        ("pt", 2),
        ("mpt", 2),
    ]
    assert all(r["profile"] == "smoke" and r["task"] == TARGET for r in records)
    table = (out / "results.md").read_text()
    assert table.startswith("| task |") and "MPT" in table and "PT" in table
    assert (out / "params_vs_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wall time" in capsys.readouterr().out
