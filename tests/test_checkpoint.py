"""Prompt checkpoints and training state: round trips, refusals, damaged files, atomic writes."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from transformers import get_linear_schedule_with_warmup

from mpt_nb import checkpoint
from mpt_nb.checkpoint import (
    CheckpointError,
    CheckpointMismatchError,
    load_prompt,
    load_training_state,
    save_prompt,
    save_training_state,
)
from mpt_nb.files import atomic_write_text
from mpt_nb.prompts import MultitaskPrompt, SoftPrompt


def _mpt(seed=0, num_tasks=3, rank=2):
    g = torch.Generator().manual_seed(seed)
    prompt = MultitaskPrompt(4, 8, num_tasks, rank)
    with torch.no_grad():
        for p in prompt.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return prompt


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_soft_prompt_round_trip_with_metadata(tmp_path):
    prompt = SoftPrompt(5, 8, num_tasks=2)
    path = save_prompt(
        tmp_path / "soft.safetensors",
        prompt,
        model_name="tiny-llama",
        task_names=["a", "b"],
        extra={"lr": 0.3},
    )
    loaded, info = load_prompt(path, model_name="tiny-llama", dim=8)
    assert type(loaded) is SoftPrompt
    assert torch.equal(loaded.weight, prompt.weight)
    assert info == {
        "model_name": "tiny-llama",
        "task_names": ["a", "b"],
        "kind": "soft",
        "extra": {"lr": 0.3},
    }


def test_multitask_prompt_round_trip_with_metadata(tmp_path):
    prompt = _mpt()
    path = tmp_path / "sub" / "mpt.safetensors"  # the folder is created
    save_prompt(path, prompt, model_name="tiny-t5", task_names=("x", "y", "z"))
    loaded, info = load_prompt(path)
    assert type(loaded) is MultitaskPrompt
    assert (loaded.num_tokens, loaded.dim, loaded.num_tasks, loaded.rank) == (4, 8, 3, 2)
    for name in ("shared", "u", "v"):
        assert torch.equal(getattr(loaded, name), getattr(prompt, name)), name
    torch.testing.assert_close(loaded.task_prompts(), prompt.task_prompts())
    assert info["task_names"] == ["x", "y", "z"] and info["kind"] == "mpt" and info["extra"] == {}


def test_task_names_must_match_prompt(tmp_path):
    with pytest.raises(ValueError, match="2 task names"):
        save_prompt(tmp_path / "p.safetensors", _mpt(), model_name="m", task_names=["a", "b"])


def test_mismatched_model_name_names_both(tmp_path):
    path = save_prompt(
        tmp_path / "p.safetensors", _mpt(), model_name="tiny-llama", task_names=["a", "b", "c"]
    )
    with pytest.raises(CheckpointMismatchError) as info:
        load_prompt(path, model_name="google-t5/t5-base")
    assert "tiny-llama" in str(info.value) and "google-t5/t5-base" in str(info.value)


def test_wrong_dim_is_refused(tmp_path):
    path = save_prompt(tmp_path / "p.safetensors", _mpt(), model_name="m", task_names=["a", "b", "c"])
    with pytest.raises(CheckpointMismatchError) as info:
        load_prompt(path, dim=576)
    assert "d=8" in str(info.value) and "d=576" in str(info.value)


def test_truncated_file_is_corrupt(tmp_path):
    path = save_prompt(tmp_path / "p.safetensors", _mpt(), model_name="m", task_names=["a", "b", "c"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_prompt(path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", bytes(range(256)) * 4])
def test_garbage_file_is_corrupt(tmp_path, content):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_prompt(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_prompt(tmp_path / "nope.safetensors")


def test_foreign_safetensors_file_is_refused(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(CheckpointError, match="not an mpt_nb checkpoint"):
        load_prompt(path)


def test_metadata_disagreeing_with_tensors_is_damage(tmp_path):
    path = save_prompt(tmp_path / "p.safetensors", SoftPrompt(4, 8), model_name="m", task_names=["a"])
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    save_file(tensors, str(path), metadata={**meta, "num_tokens": "5"})
    with pytest.raises(CheckpointError, match="does not match its own metadata"):
        load_prompt(path)


def test_atomic_save_leaves_no_temporary_files(tmp_path):
    for i in range(3):
        save_prompt(tmp_path / "p.safetensors", _mpt(seed=i), model_name="m", task_names=["a", "b", "c"])
    atomic_write_text(tmp_path / "notes.txt", "hello\n")
    assert _files(tmp_path) == ["notes.txt", "p.safetensors"]
    assert (tmp_path / "notes.txt").read_text() == "hello\n"
    loaded, _ = load_prompt(tmp_path / "p.safetensors")
    assert torch.equal(loaded.u, _mpt(seed=2).u), "the last save wins"


def test_failing_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = save_prompt(tmp_path / "p.safetensors", _mpt(seed=0), model_name="m", task_names=["a", "b", "c"])
    before = path.read_bytes()

    def half_write_then_fail(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_file", half_write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_prompt(path, _mpt(seed=1), model_name="m", task_names=["a", "b", "c"])
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["p.safetensors"], "the temporary file must be removed"
    loaded, _ = load_prompt(path)
    assert torch.equal(loaded.v, _mpt(seed=0).v)


# --------------------------------------------------------------------------------------------- training state


def _optimised(prompt, steps):
    optimizer = torch.optim.AdamW(
        [{"params": [prompt.shared], "lr": 0.1}, {"params": [prompt.u, prompt.v], "lr": 0.01}],
        weight_decay=0.01,
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, 2, 10)
    for _ in range(steps):
        prompt(torch.tensor([0, 1, 2])).pow(2).sum().backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return optimizer, scheduler


def test_training_state_round_trip_restores_adamw_moments(tmp_path):
    prompt = _mpt(seed=0)
    optimizer, scheduler = _optimised(prompt, 3)
    best = {k: v.clone() * 2 for k, v in prompt.state_dict().items()}
    extra = {"best_metric": 0.5, "history": [{"step": 1, "loss": 0.3}]}
    path = save_training_state(
        tmp_path / "state.safetensors",
        prompt=prompt,
        optimizer=optimizer,
        scheduler=scheduler,
        step=3,
        extra=extra,
        best_state=best,
    )

    fresh = _mpt(seed=9)
    fresh_opt, fresh_sched = _optimised(fresh, 0)
    step, loaded_extra, best_state = load_training_state(
        path, prompt=fresh, optimizer=fresh_opt, scheduler=fresh_sched
    )
    assert step == 3 and loaded_extra == extra
    assert best_state.keys() == best.keys() and all(torch.equal(best_state[k], best[k]) for k in best)
    for name in ("shared", "u", "v"):
        assert torch.equal(getattr(fresh, name), getattr(prompt, name))
    old, new = optimizer.state_dict(), fresh_opt.state_dict()
    assert old["state"].keys() == new["state"].keys() and len(old["state"]) == 3
    for index, state in old["state"].items():
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(torch.as_tensor(new["state"][index][key]), torch.as_tensor(state[key])), (
                index,
                key,
            )
        assert state["exp_avg"].abs().sum() > 0
    assert [g["lr"] for g in new["param_groups"]] == [g["lr"] for g in old["param_groups"]]
    assert fresh_sched.last_epoch == scheduler.last_epoch == 3

    # The next step is the same for the original and the restored optimiser.
    for p, opt, sched in ((prompt, optimizer, scheduler), (fresh, fresh_opt, fresh_sched)):
        p(torch.tensor([0, 1, 2])).pow(2).sum().backward()
        opt.step()
        sched.step()
    for name in ("shared", "u", "v"):
        assert torch.equal(getattr(fresh, name), getattr(prompt, name)), name


def test_damaged_training_state_is_reported(tmp_path):
    prompt = _mpt()
    optimizer, scheduler = _optimised(prompt, 1)
    path = save_training_state(
        tmp_path / "s.safetensors", prompt=prompt, optimizer=optimizer, scheduler=scheduler, step=1, extra={}
    )
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_training_state(path, prompt=prompt, optimizer=optimizer, scheduler=scheduler)
