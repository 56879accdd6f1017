"""Device safety without a GPU: a batch built on the CPU must reach a model that lives elsewhere on the model's device.

The backbone is moved to PyTorch's ``meta`` device (shapes only, no data); forward pre-hooks record the device of
the tensors that reach the embedding table and the prompt, then stop the pass (meta tensors cannot be read). A
public entry point that forgets to move its batch hands the hooks CPU tensors.

The notebooks' own, hand-written cells (a loss computed by hand, a prompt composed from fresh tensors) are checked
in tests/test_colab.py, which runs them with the model on a simulated accelerator that refuses to mix devices.
"""

from __future__ import annotations

import pytest
import torch

from mpt_nb.backbones import tiny_llama, tiny_t5
from mpt_nb.data import PromptCollator
from mpt_nb.distill import TeacherCache
from mpt_nb.evaluate import predict_label_logits, predict_text
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import MultitaskPrompt, SoftPrompt


class _Reached(Exception):
    """Raised by the recording hook: the inputs got as far as the prompt."""


def _meta_model(make, prompt_kind: str):
    backbone = make()
    backbone.model.to("meta")
    if prompt_kind == "soft":
        prompt = SoftPrompt(2, backbone.dim, num_tasks=2)
    else:
        prompt = MultitaskPrompt(2, backbone.dim, num_tasks=2, rank=1)
    model = PromptedModel(backbone, prompt)
    seen: dict[str, torch.device] = {}

    def embed_hook(_module, args):
        seen["input_ids"] = args[0].device

    def prompt_hook(_module, args):
        seen["task_ids"] = args[0].device
        raise _Reached

    backbone.model.get_input_embeddings().register_forward_pre_hook(embed_hook)
    model.prompt.register_forward_pre_hook(prompt_hook)
    return backbone, model, seen


def _cpu_batch(backbone, *, targets: bool = False) -> dict[str, torch.Tensor]:
    collator = PromptCollator(backbone.tokenizer.pad_token_id, [[5, 6], [7, 8, 9]])
    rows = [
        {"input_ids": [10, 11, 12], "label": 0, "task_id": 0, "example_id": 0},
        {"input_ids": [13, 14], "label": 1, "task_id": 1, "example_id": 1},
    ]
    if targets:
        for r in rows:
            r["target_ids"] = [20, 21]
    return collator(rows)


def _assert_reached_on_meta(seen):
    assert seen, "the pass never reached the embeddings"
    assert seen["input_ids"].type == "meta", f"input_ids reached the model on {seen['input_ids']}, not its device"
    assert seen["task_ids"].type == "meta", f"task_ids reached the prompt on {seen['task_ids']}, not its device"


ARCHS = [pytest.param(tiny_llama, id="llama"), pytest.param(tiny_t5, id="t5")]


@pytest.mark.parametrize("make", ARCHS)
@pytest.mark.parametrize("prompt_kind", ["soft", "mpt"])
@pytest.mark.parametrize("entry", ["forward", "lm", "answer_hidden", "generate"])
def test_prompted_model_moves_a_cpu_batch_to_its_device(make, prompt_kind, entry):
    backbone, model, seen = _meta_model(make, prompt_kind)
    batch = _cpu_batch(backbone, targets=entry == "lm")
    with pytest.raises(_Reached):
        if entry == "forward":
            model(**batch)
        elif entry == "lm":
            model(**batch, objective="lm")
        elif entry == "answer_hidden":
            model.answer_hidden(batch["input_ids"], batch["attention_mask"], batch["task_ids"])
        else:
            model.generate(batch["input_ids"], batch["attention_mask"], batch["task_ids"], max_new_tokens=1)
    _assert_reached_on_meta(seen)


@pytest.mark.parametrize("make", ARCHS)
@pytest.mark.parametrize("prompt_kind", ["soft", "mpt"])
def test_a_prompt_follows_a_backbone_moved_after_it_was_built(make, prompt_kind):
    """A teacher built on the CPU, then training a student moves the shared backbone (accelerate's prepare): the
    teacher's prompt must not stay on the CPU."""
    backbone = make()
    prompt = SoftPrompt(2, backbone.dim, num_tasks=2) if prompt_kind == "soft" else MultitaskPrompt(
        2, backbone.dim, num_tasks=2, rank=1)
    teacher = PromptedModel(backbone, prompt)
    backbone.model.to("meta")  # what training the student did to the shared backbone
    seen = {}

    def prompt_hook(module, args):
        seen["prompt"] = {p.device.type for p in module.parameters()}
        seen["task_ids"] = args[0].device.type
        raise _Reached

    teacher.prompt.register_forward_pre_hook(prompt_hook)
    with pytest.raises(_Reached):
        teacher(**_cpu_batch(backbone))
    assert seen == {"prompt": {"meta"}, "task_ids": "meta"}, seen


def test_label_logits_reads_cpu_candidates_on_the_models_device():
    backbone = tiny_llama()
    model = PromptedModel(backbone, SoftPrompt(2, backbone.dim))
    backbone.model.to("meta")
    hidden = torch.zeros(2, backbone.dim, device="meta")
    logits = model.label_logits(hidden, torch.tensor([[5, 6], [7, 8]]), torch.ones(2, 2, dtype=torch.bool))
    assert logits.device.type == "meta" and logits.shape == (2, 2)


@pytest.mark.parametrize("make", ARCHS)
def test_evaluation_and_teacher_cache_hand_the_model_batches_it_can_use(make):
    import datasets

    backbone, model, seen = _meta_model(make, "soft")
    data = datasets.Dataset.from_list(
        [{"input_ids": [10, 11, 12], "label": 0, "task_id": 0, "example_id": 0}]
    )
    collator = PromptCollator(backbone.tokenizer.pad_token_id, [[5, 6], [7, 8]])
    for call in (
        lambda: predict_label_logits(model, data, collator),
        lambda: predict_text(model, data, collator, backbone.tokenizer, max_new_tokens=1),
        lambda: TeacherCache(model, data, collator).fill(),
    ):
        seen.clear()
        with pytest.raises(_Reached):
            call()
        _assert_reached_on_meta(seen)
