"""tools/rekey_source_stages.py: a stage saved under the flat settings is re-keyed to the identity of whole values only
when its settings are the current profile's; the re-keyed file loads without training; another is left alone."""

from __future__ import annotations

import torch
from conftest import repo_module

from mpt_nb.checkpoint import save_prompt
from mpt_nb.methods import get_method
from mpt_nb.pipeline import Workspace
from mpt_nb.profiles import get_profile
from mpt_nb.prompts import MultitaskPrompt
from mpt_nb.sources import SourceStore, stage_identity, stage_metadata

rekey_tool = repo_module("tools.rekey_source_stages")
MPT, DECOMP = get_method("mpt").source, get_method("decomp").source


def _saved_flat(folder, ws, stage, profile):
    """A stage file as the flat scheme wrote it, trained under ``profile``."""
    old = rekey_tool.flat_settings(profile, stage, 0)
    prompt = MultitaskPrompt(profile.prompt_tokens, ws.backbone.dim, len(profile.source_tasks), profile.rank,
                             low_rank_init="normal", seed=3)
    path = folder / f"{stage.slug(profile.rank)}-seed0-{stage_identity(old)}.safetensors"
    save_prompt(path, prompt, model_name=ws.backbone.name, task_names=profile.source_tasks,
                extra={"source_stage": old, "identity": stage_identity(old), "curves": {}})
    return path, prompt


def test_a_current_stage_is_rekeyed_and_loads_and_another_is_left(tmp_path, monkeypatch, capsys):
    ws = Workspace.from_profile(get_profile("smoke"))
    profile = ws.profile
    current, prompt = _saved_flat(tmp_path, ws, MPT, profile)
    other, _ = _saved_flat(tmp_path, ws, DECOMP, profile.with_overrides(distill_steps=profile.distill_steps + 1))
    verdicts = {path.name: verdict for path, verdict, _ in rekey_tool.plan(tmp_path, profile)}
    assert verdicts == {current.name: "rekey", other.name: "left: trained under other settings (distill_steps)"}

    assert rekey_tool.main([str(tmp_path), "--profile", "smoke", "--dry-run"]) == 0
    assert current.exists(), "a dry run changes nothing"
    assert rekey_tool.main([str(tmp_path), "--profile", "smoke"]) == 0
    store = SourceStore(ws, tmp_path)
    new = store.path(MPT, 0)
    assert not current.exists() and new.exists() and other.exists()
    assert f"{current.name}: rekey -> {new.name}" in capsys.readouterr().out
    extra = stage_metadata(new)
    assert extra["rekeyed"]["from_identity"] in current.name and extra["identity"] == store.identity(MPT, 0)

    def refuse(*args, **kwargs):
        raise AssertionError("the store retrained a re-keyed stage")

    monkeypatch.setattr("mpt_nb.sources.distill_shared_prompt", refuse)
    loaded = store.get(MPT, 0)  # checked against the current settings: accepted
    assert torch.equal(loaded.shared, prompt.shared) and torch.equal(loaded.u, prompt.u)
    assert {p.name: v for p, v, _ in rekey_tool.plan(tmp_path, profile)}[new.name] == "current"


def test_a_missing_folder_is_one_line(tmp_path, capsys):
    assert rekey_tool.main([str(tmp_path / "nope")]) == 2
    assert "is not a folder of saved source stages" in capsys.readouterr().err
