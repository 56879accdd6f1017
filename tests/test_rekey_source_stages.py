"""tools/rekey_source_stages.py: a shared stage saved before ``distill_patience`` joined its identity is re-keyed only
when its curve ran the whole budget (so the new rule trains the same stage); one that stopped early is left to
retrain, and the re-keyed file loads under the current settings without training."""

from __future__ import annotations

import torch
from conftest import repo_module

from mpt_nb.checkpoint import save_prompt
from mpt_nb.methods import get_method
from mpt_nb.pipeline import Workspace
from mpt_nb.profiles import get_profile
from mpt_nb.prompts import MultitaskPrompt
from mpt_nb.sources import SourceStore, stage_identity, stage_metadata, stage_settings

rekey_tool = repo_module("tools.rekey_source_stages")
MPT, DECOMP = get_method("mpt").source, get_method("decomp").source


def _saved_before_amendment_6(folder, ws, stage, *, steps, stopped_early):
    """A stage file as the code before amendment 6 wrote it: no distill_patience in its settings or identity."""
    profile = ws.profile
    old = {k: v for k, v in stage_settings(profile, stage, 0).items() if k != "distill_patience"}
    prompt = MultitaskPrompt(profile.prompt_tokens, ws.backbone.dim, len(profile.source_tasks), profile.rank,
                             low_rank_init="normal", seed=3)
    path = folder / f"{stage.slug(profile.rank)}-seed0-{stage_identity(old)}.safetensors"
    extra = {"source_stage": old, "identity": stage_identity(old),
             "curves": {"steps": steps, "stopped_early": stopped_early, "evals": []}}
    save_prompt(path, prompt, model_name=ws.backbone.name, task_names=profile.source_tasks, extra=extra)
    return path, prompt


def test_a_stage_that_ran_its_budget_is_rekeyed_and_one_that_stopped_early_is_not(tmp_path, monkeypatch, capsys):
    ws = Workspace.from_profile(get_profile("smoke"))
    profile = ws.profile
    ran, prompt = _saved_before_amendment_6(tmp_path, ws, MPT, steps=profile.distill_steps, stopped_early=False)
    stopped, _ = _saved_before_amendment_6(tmp_path, ws, DECOMP, steps=2, stopped_early=True)
    verdicts = {path.name: verdict for path, verdict, _ in rekey_tool.plan(tmp_path, profile)}
    assert verdicts == {ran.name: "rekey", stopped.name: f"retrain: it stopped early, at step 2 of {profile.distill_steps}"}

    assert rekey_tool.main([str(tmp_path), "--profile", "smoke", "--dry-run"]) == 0
    assert ran.exists(), "a dry run changes nothing"
    assert rekey_tool.main([str(tmp_path), "--profile", "smoke"]) == 0
    store = SourceStore(ws, tmp_path)
    new = store.path(MPT, 0)
    assert not ran.exists() and new.exists() and stopped.exists()
    assert f"{ran.name}: rekey -> {new.name}" in capsys.readouterr().out
    extra = stage_metadata(new)
    assert extra["rekeyed"]["from_identity"] in ran.name and extra["identity"] == store.identity(MPT, 0)

    def refuse(*args, **kwargs):
        raise AssertionError("the store retrained a re-keyed stage")

    monkeypatch.setattr("mpt_nb.pipeline.distill_shared_prompt", refuse)
    loaded = store.get(MPT, 0)  # checked against the current settings: accepted
    assert torch.equal(loaded.shared, prompt.shared) and torch.equal(loaded.u, prompt.u)
    assert not store.is_saved(DECOMP, 0), "the stage that stopped early must be retrained under the new rule"
    assert {p.name: v for p, v, _ in rekey_tool.plan(tmp_path, profile)}[new.name] == "current"


def test_a_missing_folder_is_one_line(tmp_path, capsys):
    assert rekey_tool.main([str(tmp_path / "nope")]) == 2
    assert "is not a folder of saved source stages" in capsys.readouterr().err
