"""Export to HF PEFT's MultitaskPromptTuning and back: same logits through PEFT as through our wrapper."""

from __future__ import annotations

import json

import pytest
import torch
from peft import PeftModel, PromptTuningConfig, TaskType, get_peft_model

from mpt_nb.backbones import label_token_ids
from mpt_nb.peft_interop import export_to_peft, import_from_peft
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import MultitaskPrompt, SoftPrompt

TEXTS = ["Review: lovely.\nSentiment:", "Ok\nA:", "Question: where is it?\nAnswer:", "Hm:"]
TASK_IDS = torch.tensor([2, 0, 1, 2])


def _prompt(dim, seed=0):
    """Non-trivial P*, u, v: rank 2, 3 tasks, every entry random."""
    g = torch.Generator().manual_seed(seed)
    prompt = MultitaskPrompt(3, dim, num_tasks=3, rank=2)
    with torch.no_grad():
        prompt.shared.copy_(torch.randn(prompt.shared.shape, generator=g))
        prompt.u.copy_(torch.randn(prompt.u.shape, generator=g))
        prompt.v.copy_(torch.randn(prompt.v.shape, generator=g))
    return prompt


def _batch(backbone):
    tok = backbone.tokenizer
    ids = [tok(t, add_special_tokens=backbone.is_seq2seq)["input_ids"] for t in TEXTS]
    width = max(map(len, ids))
    input_ids = torch.full((len(ids), width), tok.pad_token_id)
    mask = torch.zeros(len(ids), width, dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    cands = label_token_ids(tok, ["bad", "okay", "good"], causal=not backbone.is_seq2seq)
    candidate_ids = torch.tensor([cands] * len(ids))
    return input_ids, mask, candidate_ids


@pytest.fixture(scope="module", params=["llama", "t5"])
def exported(request, make_lively, tmp_path_factory):
    arch = request.param
    prompt = _prompt(make_lively(arch).dim)
    folder = tmp_path_factory.mktemp(f"peft_{arch}") / "adapter"
    export_to_peft(prompt, make_lively(arch), folder)  # a backbone of its own: PEFT wraps the model it gets
    return arch, prompt, folder


def test_export_writes_a_peft_adapter_folder(exported):
    _, _, folder = exported
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in folder.iterdir()}
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["peft_type"] == "MULTITASK_PROMPT_TUNING"
    assert (config["num_virtual_tokens"], config["num_tasks"], config["num_ranks"]) == (3, 3, 2)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")], (
        "no temporary folder left behind"
    )


def test_peft_model_gives_our_logits_for_a_mixed_batch(exported, make_lively):
    arch, prompt, folder = exported
    ours = PromptedModel(make_lively(arch), prompt)
    base = make_lively(arch)  # fresh, same seed: identical weights
    peft_model = PeftModel.from_pretrained(base.model, folder)
    peft_model.eval()
    input_ids, mask, candidate_ids = _batch(base)
    with torch.no_grad():
        expected = ours(
            input_ids,
            mask,
            TASK_IDS,
            candidate_ids=candidate_ids,
            candidate_mask=torch.ones_like(candidate_ids, dtype=torch.bool),
        ).label_logits
        if arch == "t5":
            # PEFT's seq2seq forward with one transformer submodule drops decoder_input_ids; labels of one token make
            # it start the decoder at the start token, the position our wrapper reads.
            labels = torch.zeros(len(TEXTS), 1, dtype=torch.long)
            logits = peft_model(
                input_ids=input_ids, attention_mask=mask, task_ids=TASK_IDS, labels=labels
            ).logits
            at_answer = logits[:, 0]
        else:
            logits = peft_model(input_ids=input_ids, attention_mask=mask, task_ids=TASK_IDS).logits
            assert logits.shape[1] == prompt.num_tokens + input_ids.shape[1]
            position = prompt.num_tokens + mask.sum(1) - 1  # the last real token, after the virtual tokens
            at_answer = logits[torch.arange(len(TEXTS)), position]
    got = at_answer.gather(1, candidate_ids)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    # The same inputs under other task ids give other logits: a PEFT model that ignored task_ids would fail above.
    with torch.no_grad():
        wrong_task = ours(
            input_ids,
            mask,
            torch.tensor([0, 1, 2, 0]),
            candidate_ids=candidate_ids,
            candidate_mask=torch.ones_like(candidate_ids, dtype=torch.bool),
        ).label_logits
    assert not torch.allclose(got, wrong_task, atol=1e-3)


def test_import_gives_identical_tensors(exported):
    _, prompt, folder = exported
    back = import_from_peft(folder, dim=prompt.dim)
    assert isinstance(back, MultitaskPrompt)
    assert (back.num_tokens, back.dim, back.num_tasks, back.rank) == (3, prompt.dim, 3, 2)
    for name in ("shared", "u", "v"):
        assert torch.equal(getattr(back, name), getattr(prompt, name)), name


def test_import_refuses_wrong_dim(exported):
    _, prompt, folder = exported
    with pytest.raises(ValueError, match=f"d={prompt.dim}"):
        import_from_peft(folder, dim=prompt.dim + 1)


def test_missing_files_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"adapter_config\.json"):
        import_from_peft(tmp_path)
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"adapter_model\.safetensors"):
        import_from_peft(tmp_path)


def test_non_mpt_adapter_is_refused(tmp_path, make_lively):
    base = make_lively("llama")
    config = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=2, token_dim=base.dim)
    get_peft_model(base.model, config).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="PROMPT_TUNING adapter, not MULTITASK_PROMPT_TUNING"):
        import_from_peft(tmp_path)


def test_encoder_and_decoder_prompts_are_refused(exported, tmp_path):
    _, _, folder = exported
    target = tmp_path / "two"
    target.mkdir()
    config = json.loads((folder / "adapter_config.json").read_text())
    config["num_transformer_submodules"] = 2
    (target / "adapter_config.json").write_text(json.dumps(config))
    (target / "adapter_model.safetensors").write_bytes((folder / "adapter_model.safetensors").read_bytes())
    with pytest.raises(ValueError, match="encoder only"):
        import_from_peft(target)


def test_only_multitask_prompts_export(tmp_path, llama):
    with pytest.raises(TypeError, match="MultitaskPrompt"):
        export_to_peft(SoftPrompt(2, llama.dim), llama, tmp_path / "x")
    assert not (tmp_path / "x").exists()
