"""The exercise checks that read a run (not only a function): a run that did what was asked passes, and the typical
slip is caught with a message."""

from __future__ import annotations

import pytest

from mpt_nb.checks import nb01
from mpt_nb.data import train_loader
from mpt_nb.profiles import get_profile
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import SoftPrompt, text_init_embeddings
from mpt_nb.tasks import get_task
from mpt_nb.train import train_prompt
from mpt_nb.workspace import Workspace


@pytest.fixture(scope="module")
def lesson_01():
    """What notebook 01's lesson leaves in its namespace before exercise 3, on the smoke profile (2 steps)."""
    profile = get_profile("smoke")
    ws = Workspace.from_profile(profile)
    task_name = profile.source_tasks[0]
    ns = {"profile": profile, "ws": ws, "task_name": task_name, "task": get_task(task_name), "steps": 2,
          "tokenizer": ws.backbone.tokenizer, "model": ws.backbone.model, "l": profile.prompt_tokens,
          "d": ws.backbone.dim, "collate": ws.collator([task_name])}
    ns["package_score"] = _run(ns, SoftPrompt.from_vocab(ws.backbone.embeddings, ns["l"], seed=0))[2]
    return ns


def _run(ns, prompt):
    ws = ns["ws"]
    model = PromptedModel(ws.backbone, prompt)
    loader = train_loader(ws.tokenised(ns["task_name"], "train"), ns["collate"], batch_size=ns["profile"].batch_size,
                          num_batches=ns["steps"], seed=0)
    run = train_prompt(model, loader, ws.train_config(ns["steps"]))
    return model, run, ws.headline(model, ns["task_name"], "test")


def _exercise_3(ns, *, start_from_text: bool):
    text = "Which label fits this text: " + " or ".join(ns["task"].label_words)
    init = text_init_embeddings(ns["tokenizer"], ns["model"].get_input_embeddings(), text, ns["l"])
    start = init if start_from_text else SoftPrompt.from_vocab(ns["ws"].backbone.embeddings, ns["l"], seed=0).weight[0]
    model, run, score = _run(ns, SoftPrompt(ns["l"], ns["d"], init=start.detach().clone()))
    answer = {"vocab": ns["package_score"], "text": score, "text_better": score > ns["package_score"]}
    return {**ns, "text_ex3": text, "init_ex3": init, "model_ex3": model, "run_ex3": run, "answer_ex3": answer}


def test_exercise_3_passes_a_run_from_the_text_and_rejects_one_from_the_vocabulary(lesson_01, capsys):
    nb01.exercise_3(_exercise_3(lesson_01, start_from_text=True))
    assert "exercise 3: ok" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"first loss .* is not the seed-0 loader's first batch at init_ex3"):
        nb01.exercise_3(_exercise_3(lesson_01, start_from_text=False))
