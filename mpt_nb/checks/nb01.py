"""The self-checks of notebook 01 (prompt tuning): ``exercise_N(globals())`` checks exercise N."""

from __future__ import annotations

from typing import Any

import torch

from mpt_nb.checks import check_answer, check_defined, from_lesson
from mpt_nb.data import train_loader
from mpt_nb.losses import classification_objective
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import SoftPrompt, text_init_embeddings

__all__ = ["exercise_1", "exercise_2", "exercise_3"]


def exercise_1(ns: dict[str, Any]) -> None:
    """Checks ``prepend_prompts`` on a hand-made mixed batch: the shapes, each row's own task's prompt in front of its
    unchanged tokens, the mask (ones for the prompt, the tokens' own mask after it, its dtype kept) and the gradient
    each task's prompt receives from the rows that use it."""
    prepend_prompts = check_defined("prepend_prompts", namespace=ns)
    # task 0: 1s, task 1: 2s
    prompts = torch.stack([torch.full((4, 2), 1.0), torch.full((4, 2), 2.0)]).requires_grad_(True)
    tokens = torch.arange(30.0).view(3, 5, 2) + 10  # every token of every row distinct (and no 1s or 2s)
    tokens_mask = torch.tensor([[1, 1, 1, 0, 0], [1] * 5, [1, 1, 0, 0, 0]])
    try:
        e, m = prepend_prompts(tokens, tokens_mask, prompts, torch.tensor([1, 1, 0]))
    except RuntimeError as err:  # e.g. shapes that do not concatenate: say which input made it fail
        raise AssertionError(
            f"prepend_prompts failed on 3 rows of 5 tokens, S = 2 prompts of l = 4, d = 2: {err}"
        ) from err
    assert e.shape == (3, 9, 2), f"embeds should be (batch, l + n, d) = (3, 9, 2), got {tuple(e.shape)}"
    assert m.shape == (3, 9), f"the mask should be (batch, l + n) = (3, 9), got {tuple(m.shape)}"
    assert torch.equal(e[:, 4:], tokens), "each row's own tokens must come after its prompt, in order and unchanged"
    assert e[:, :4].eq(torch.tensor([2.0, 2.0, 1.0]).view(3, 1, 1)).all(), (
        "row i must start with prompts[task_ids[i]] (rows 0 and 1 are task 1, row 2 is task 0): index the prompts by "
        "task_ids"
    )
    assert m[:, :4].eq(1).all(), "the l prompt positions need mask 1: the prompt is always attended to"
    assert torch.equal(m[:, 4:], tokens_mask), "the tokens' own mask must follow unchanged (padding stays 0)"
    assert m.dtype == torch.long, f"keep the mask's dtype (torch.long), got {m.dtype}"
    assert e.requires_grad, "the output lost the prompts' gradient: do not detach or copy them"
    e.sum().backward()
    assert torch.equal(prompts.grad, torch.stack([torch.ones(4, 2), torch.full((4, 2), 2.0)])), (
        "each task's prompt must receive the gradient of every row that uses it (task 1: two rows, task 0: one)"
    )
    print("exercise 1: ok")


class _WordTokenizer:
    """A stand-in tokenizer: one id per word ("a" is 1, "b" 2, ...), and a special token 9 unless told not to."""

    def __call__(self, text, add_special_tokens=True):
        ids = [ord(word[0]) - ord("a") + 1 for word in text.split()]
        return {"input_ids": ([9] if add_special_tokens else []) + ids}


def exercise_2(ns: dict[str, Any]) -> None:
    """Checks ``text_init`` on a stand-in tokenizer (no special tokens, the text's tokens in order, repeated rather
    than zero-padded, cut to l, a detached float32 copy), then against ``mpt_nb.prompts.text_init_embeddings`` on the
    lesson's tokenizer and model."""
    text_init = check_defined("text_init", namespace=ns)
    table = torch.arange(10.0).repeat_interleave(2).reshape(10, 2).requires_grad_(True)  # row i is (i, i)
    out = text_init(_WordTokenizer(), table, "a b c", 5)
    assert isinstance(out, torch.Tensor) and out.shape == (5, 2), f"expected an (l, d) = (5, 2) tensor, got {out!r}"
    ids = out[:, 0].tolist()
    assert 9.0 not in ids, "row 9 is the tokenizer's special token: tokenise with add_special_tokens=False"
    assert ids[:3] == [1.0, 2.0, 3.0], f"the first rows must be the text's tokens in order (1, 2, 3), got {ids[:3]}"
    assert ids == [1.0, 2.0, 3.0, 1.0, 2.0], f"a text shorter than l is repeated (1 2 3 1 2), got {ids}; no zero padding"
    assert text_init(_WordTokenizer(), table, "a b c d e f g", 4)[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0], (
        "a text longer than l is cut to its first l tokens"
    )
    assert not out.requires_grad, "return a detached copy: the prompt must not stay tied to the embedding table"
    assert out.dtype == torch.float32, f"return float32, got {out.dtype}"

    tokenizer, model, l, d = from_lesson(ns, "tokenizer", "model", "l", "d")  # noqa: E741
    text = "Classify the sentiment of this review"
    mine = text_init(tokenizer, model.get_input_embeddings().weight, text, l)
    assert mine.shape == (l, d), f"expected ({l}, {d}), got {tuple(mine.shape)}"
    assert torch.equal(mine.cpu(), text_init_embeddings(tokenizer, model.get_input_embeddings(), text, l).cpu()), (
        "differs from mpt_nb.prompts.text_init_embeddings on the real tokenizer"
    )
    print("exercise 2: ok (matches mpt_nb.prompts.text_init_embeddings)")


def exercise_3(ns: dict[str, Any]) -> None:
    """Checks the experiment on the prompt's init: ``init_ex3`` is the embeddings of ``text_ex3``, ``model_ex3``'s
    SoftPrompt trained away from it for section 6's steps (the run's first logged loss is the first batch's loss at
    ``init_ex3``, not at section 6's vocabulary start), ``answer_ex3``'s two scores (section 6's, and ``model_ex3``'s
    recomputed on the test split) and ``text_better`` following from them."""
    text_ex3, init_ex3, model_ex3, run_ex3 = check_defined("text_ex3", "init_ex3", "model_ex3", "run_ex3", namespace=ns)
    answer = check_answer("answer_ex3", values=("vocab", "text"), flags=("text_better",), namespace=ns)
    tokenizer, model, l = from_lesson(ns, "tokenizer", "model", "l")  # noqa: E741
    start = text_init_embeddings(tokenizer, model.get_input_embeddings(), text_ex3, l).cpu()
    assert torch.equal(init_ex3.detach().float().cpu(), start), "init_ex3 is not the embeddings of text_ex3 (text_init)"
    assert isinstance(model_ex3, PromptedModel) and isinstance(model_ex3.prompt, SoftPrompt), (
        "model_ex3 should be a PromptedModel around a SoftPrompt that starts at init_ex3"
    )
    assert not torch.equal(model_ex3.prompt.weight.detach()[0].float().cpu(), start), (
        "model_ex3's prompt is still init_ex3: train it with train_prompt"
    )
    steps, package_score, ws, task_name, task = from_lesson(ns, "steps", "package_score", "ws", "task_name", "task")
    assert run_ex3.steps == steps, f"train {steps} steps as section 6 did (you trained {run_ex3.steps}): only the init differs"
    collate, profile = from_lesson(ns, "collate", "profile")
    first_batch = next(iter(train_loader(ws.tokenised(task_name, "train"), collate, batch_size=profile.batch_size,
                                         num_batches=1, seed=0)))
    logged = run_ex3.history[0]["loss"]
    from_text = _first_loss(ws, first_batch, start)
    from_vocab = _first_loss(ws, first_batch, SoftPrompt.from_vocab(ws.backbone.embeddings, l, seed=0).weight[0])
    assert abs(logged - from_text) < min(0.05, abs(logged - from_vocab)), (
        f"run_ex3's first loss {logged:.4f} is not the seed-0 loader's first batch at init_ex3 ({from_text:.4f}): "
        "train model_ex3, built on SoftPrompt(l, d, init=init_ex3), on section 6's loader"
    )
    assert abs(answer["vocab"] - package_score) < 1e-9, f"answer_ex3['vocab'] is section 6's test score, {package_score:.3f}"
    text_score = ws.headline(model_ex3, task_name, "test")
    assert abs(answer["text"] - text_score) < 1e-9, (
        f"answer_ex3['text'] is {answer['text']:.3f}, but model_ex3 scores {text_score:.3f} on the test split"
    )
    assert bool(answer["text_better"]) == (answer["text"] > answer["vocab"]), (
        f"text_better does not follow from your numbers (text {answer['text']:.3f}, vocab {answer['vocab']:.3f})"
    )
    print(f"exercise 3: ok; test {task.metric}: vocabulary init {answer['vocab']:.3f}, text init "
          f"{answer['text']:.3f} ({text_ex3!r})")


def _first_loss(ws: Any, batch: dict[str, torch.Tensor], start: torch.Tensor) -> float:
    """The task loss of ``batch`` with a prompt at ``start`` (what a run's first logged loss is)."""
    device = next(ws.backbone.model.parameters()).device
    model = PromptedModel(ws.backbone, SoftPrompt(start.shape[0], start.shape[1], init=start.detach().clone()))
    model.prompt.to(device)
    with torch.no_grad():
        loss, _ = classification_objective(model, {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()})
    return float(loss)
