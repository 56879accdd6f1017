"""Generation tasks (SQuAD/ReCoRD-style) go through the same pipeline: LM loss for training, generate() for eval."""

import datasets
import pytest
import torch

from mpt_nb.losses import lm_objective, objective_for
from mpt_nb.methods import get_method
from mpt_nb.pipeline import Workspace, adapt_target, distill_shared_prompt
from mpt_nb.profiles import get_profile
from mpt_nb.tasks import Task, register_task

ROWS = [{"q": f"what is {i} plus one", "answers": {"text": [str(i + 1)]}} for i in range(40)]


def _loader(split_seed: int = 0) -> datasets.DatasetDict:
    data = datasets.Dataset.from_list(ROWS)
    return datasets.DatasetDict(
        train=data.select(range(24)), validation=data.select(range(24, 32)), test=data.select(range(32, 40))
    )


@pytest.fixture
def toy_qa(monkeypatch):
    from mpt_nb.tasks import base

    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))  # registration stays inside this test
    return register_task(
        Task(
            name="toy_qa",
            template="Q: {q}\nA:",
            label_words=(),
            metric="squad",
            task_type="qa",
            kind="generation",
            loader=_loader,
        ),
        overwrite=True,
    )


@pytest.mark.parametrize("backbone", ["tiny-llama", "tiny-t5"])
def test_generation_task_trains_with_lm_loss_and_evaluates_by_generation(toy_qa, backbone):
    assert objective_for("toy_qa") is lm_objective
    ws = Workspace.from_profile(get_profile("smoke", backbone=backbone, target_tasks=("toy_qa",)))
    record = adapt_target(ws, "toy_qa", "pt", steps=3)
    assert record["metric"] == "squad"
    assert 0.0 <= record["test"] <= 1.0
    assert record["trainable_params"] == ws.profile.prompt_tokens * ws.backbone.dim


def test_lm_loss_is_cross_entropy_of_the_target_tokens(toy_qa):
    ws = Workspace.from_profile(get_profile("smoke", target_tasks=("toy_qa",)))
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.prompts import SoftPrompt

    model = PromptedModel(ws.backbone, SoftPrompt.from_vocab(ws.backbone.embeddings, 4, seed=0))
    batch = ws.collator(["toy_qa"])([ws.tokenised("toy_qa", "train")[i] for i in range(3)])
    loss = model(**batch, objective="lm")
    # By hand: run [prompt | input | target] per row and score only the target tokens.
    total, count = 0.0, 0
    for row in range(3):
        n = int(batch["attention_mask"][row].sum())
        target = batch["target_ids"][row][batch["target_ids"][row] != -100]
        ids = torch.cat([batch["input_ids"][row, :n], target]).unsqueeze(0)
        embeds = torch.cat([model.prompt(torch.tensor([0])), ws.backbone.embeddings(ids)], dim=1)
        logits = ws.backbone.model(inputs_embeds=embeds).logits[0]
        start = 4 + n - 1  # the position that predicts the first target token
        logp = torch.log_softmax(logits[start : start + len(target)], -1)
        total += -logp[torch.arange(len(target)), target].sum().item()
        count += len(target)
    assert loss.item() == pytest.approx(total / count, rel=1e-4)


def test_distillation_refuses_generation_sources(toy_qa):
    ws = Workspace.from_profile(get_profile("smoke", source_tasks=("movie_sentiment", "toy_qa")))
    with pytest.raises(ValueError, match="generation"):
        distill_shared_prompt(ws, None, get_method("decomp").source)
