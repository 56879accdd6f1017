"""The prompted wrapper on both architectures: logits against the model's own forward, frozen backbone, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mpt_nb import backbones
from mpt_nb.backbones import (
    OFFLINE_DEFAULT,
    HubModelUnavailableError,
    label_token_ids,
    load_backbone,
)
from mpt_nb.prompted import MASKED_LOGIT, PromptedModel, PromptOutput, length_groups
from mpt_nb.prompts import MultitaskPrompt, NoPrompt, SoftPrompt

TEXTS = ["Review: a fine film.\nSentiment:", "Hi\nA:", "Question: what is the capital of France?\nAnswer:"]


def _mpt_prompt(backbone, num_tasks=2, num_tokens=3, rank=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    prompt = MultitaskPrompt(num_tokens, backbone.dim, num_tasks, rank)
    with torch.no_grad():
        prompt.shared.copy_(torch.randn(prompt.shared.shape, generator=g))
        prompt.u.copy_(torch.randn(prompt.u.shape, generator=g))
        prompt.v.copy_(torch.randn(prompt.v.shape, generator=g))
    return prompt


def _inputs(backbone, texts=TEXTS):
    """Right-padded ids and mask; causal inputs carry no EOS (as ``tokenize_task`` makes them)."""
    tok = backbone.tokenizer
    ids = [tok(t, add_special_tokens=backbone.is_seq2seq)["input_ids"] for t in texts]
    width = max(map(len, ids))
    input_ids = torch.full((len(ids), width), tok.pad_token_id)
    mask = torch.zeros(len(ids), width, dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    assert len(set(map(len, ids))) == len(ids), "rows must have different lengths to test right padding"
    return input_ids, mask, [len(r) for r in ids]


def _full_model_logits(backbone, prompt, input_ids, mask, task_ids):
    """The backbone's own forward on [prompt | input] embeddings: logits (batch, vocab) where the answer is read."""
    model = backbone.model
    embeds = torch.cat([prompt(task_ids), model.get_input_embeddings()(input_ids)], dim=1)
    full_mask = torch.cat([torch.ones(len(task_ids), prompt.num_tokens, dtype=torch.long), mask], dim=1)
    with torch.no_grad():
        if backbone.is_seq2seq:
            start = torch.full((len(task_ids), 1), model.config.decoder_start_token_id)
            return model(inputs_embeds=embeds, attention_mask=full_mask, decoder_input_ids=start).logits[:, 0]
        logits = model(inputs_embeds=embeds, attention_mask=full_mask).logits
    last = prompt.num_tokens + mask.sum(1) - 1
    return logits[torch.arange(len(task_ids)), last]


def test_label_logits_equal_full_model_logits_at_answer_position(lively):
    backbone = lively
    prompt = _mpt_prompt(backbone)
    model = PromptedModel(backbone, prompt)
    input_ids, mask, _ = _inputs(backbone)
    task_ids = torch.tensor([1, 0, 1])
    causal = not backbone.is_seq2seq
    # Task 0 has three label words, task 1 only two: its third slot must be masked.
    cands = [label_token_ids(backbone.tokenizer, ["bad", "okay", "good"], causal=causal)]
    cands.append(label_token_ids(backbone.tokenizer, ["no", "yes"], causal=causal))
    candidate_ids = torch.zeros(3, 3, dtype=torch.long)
    candidate_mask = torch.zeros(3, 3, dtype=torch.bool)
    for i, t in enumerate(task_ids.tolist()):
        candidate_ids[i, : len(cands[t])] = torch.tensor(cands[t])
        candidate_mask[i, : len(cands[t])] = True

    with torch.no_grad():
        out = model(input_ids, mask, task_ids, candidate_ids=candidate_ids, candidate_mask=candidate_mask)
    assert isinstance(out, PromptOutput)
    assert out.label_logits.shape == (3, 3) and out.hidden.shape == (3, backbone.dim)

    full = _full_model_logits(backbone, prompt, input_ids, mask, task_ids)
    # Rows really differ (a model that ignored its input would make the position checks vacuous).
    assert not torch.allclose(full[0], full[1], atol=1e-3)
    expected = full.gather(1, candidate_ids).masked_fill(~candidate_mask, MASKED_LOGIT)
    torch.testing.assert_close(out.label_logits, expected, rtol=1e-4, atol=1e-5)
    assert (out.label_logits[~candidate_mask] == MASKED_LOGIT).all()
    # The logits must depend on the prompt (a wrapper that ignored it would still pass the checks above
    # only if prompt and no-prompt logits coincided).
    other = _full_model_logits(backbone, _mpt_prompt(backbone, seed=1), input_ids, mask, task_ids)
    assert not torch.allclose(full, other, atol=1e-4)


@pytest.mark.parametrize("cache_prompt", [True, False])
def test_no_prompt_is_the_backbone_on_the_bare_input(lively, cache_prompt):
    # The zero-shot baseline: label logits of the model's own forward on the template-formatted input alone.
    backbone = lively
    model = PromptedModel(backbone, NoPrompt(backbone.dim, num_tasks=2))
    model.cache_prompt = cache_prompt
    input_ids, mask, lengths = _inputs(backbone)
    task_ids = torch.tensor([1, 0, 1])
    vocab = backbone.model.config.vocab_size
    candidate_ids = torch.tensor([[3, 7], [5, 11], [2, vocab - 1]])
    candidate_mask = torch.ones(3, 2, dtype=torch.bool)
    with torch.no_grad():
        out = model(input_ids, mask, task_ids, candidate_ids=candidate_ids, candidate_mask=candidate_mask)
        if backbone.is_seq2seq:
            start = torch.full((3, 1), backbone.model.config.decoder_start_token_id)
            own = backbone.model(input_ids=input_ids, attention_mask=mask, decoder_input_ids=start).logits[:, 0]
        else:
            own = backbone.model(input_ids=input_ids, attention_mask=mask).logits[torch.arange(3), torch.tensor(lengths) - 1]
    torch.testing.assert_close(out.label_logits, own.gather(1, candidate_ids), rtol=1e-4, atol=1e-5)
    assert sum(p.numel() for p in model.prompt.parameters()) == 0


def test_causal_answer_position_is_last_real_token_not_padding(lively_llama):
    llama = lively_llama
    prompt = SoftPrompt(2, llama.dim, 1)
    model = PromptedModel(llama, prompt)
    input_ids, mask, lengths = _inputs(llama)
    task_ids = torch.zeros(3, dtype=torch.long)
    with torch.no_grad():
        batched = model.answer_hidden(input_ids, mask, task_ids)
        # Each row alone, unpadded, must give the same hidden state as inside the padded batch.
        for i, n in enumerate(lengths):
            alone = model.answer_hidden(input_ids[i : i + 1, :n], mask[i : i + 1, :n], task_ids[:1])
            torch.testing.assert_close(batched[i], alone[0], rtol=1e-4, atol=1e-5)
        # ...and differs from the hidden state one token earlier, so the check above can tell positions apart.
        shorter = model.answer_hidden(
            input_ids[:1, : lengths[0] - 1], mask[:1, : lengths[0] - 1], task_ids[:1]
        )
        assert not torch.allclose(batched[0], shorter[0], atol=1e-3)


@pytest.mark.parametrize("cache_prompt", [True, False])
@pytest.mark.parametrize("group_lengths", [False, True])
def test_causal_answer_states_and_gradients_equal_one_pass(make_lively, group_lengths, cache_prompt):
    """The causal path (by default computing the prompt's keys and values once per task in the batch and sharing
    them with its rows; optionally in two length groups) must give the hidden states and prompt gradients of one
    [prompt | input] pass per row. In float64: the lively model's prompt gradients are ~1e-6, below float32's
    rounding of the sums that make them."""
    llama = make_lively("llama")
    llama.model.double()
    texts = [TEXTS[1], "Hi there\nA:", TEXTS[0], TEXTS[2] * 3]  # very unequal rows, so length groups form
    input_ids, mask, lengths = _inputs(llama, texts)
    task_ids = torch.tensor([1, 0, 1, 0])
    cached = PromptedModel(llama, _mpt_prompt(llama).double())
    cached.group_lengths, cached.cache_prompt = group_lengths, cache_prompt
    if group_lengths:
        assert length_groups(mask.sum(1)) is not None, "the batch should split into two length groups"
    hidden = cached.answer_hidden(input_ids, mask, task_ids)
    hidden.pow(2).sum().backward()

    reference = _mpt_prompt(llama).double()
    embeds = torch.cat([reference(task_ids), llama.model.get_input_embeddings()(input_ids)], dim=1)
    full_mask = torch.cat([torch.ones(4, reference.num_tokens, dtype=torch.long), mask], dim=1)
    states = llama.model.get_decoder()(inputs_embeds=embeds, attention_mask=full_mask).last_hidden_state
    expected = states[torch.arange(4), reference.num_tokens + torch.tensor(lengths) - 1]
    expected.pow(2).sum().backward()

    torch.testing.assert_close(hidden, expected, rtol=1e-9, atol=1e-9)
    for name, p in reference.named_parameters():
        got = dict(cached.prompt.named_parameters())[name].grad
        torch.testing.assert_close(got, p.grad, rtol=1e-6, atol=1e-6 * float(p.grad.abs().max()), msg=name)
    # Both tasks' rows are in the batch: each task's u, v gets its own, non-zero gradient.
    assert (cached.prompt.u.grad.flatten(1).abs().sum(1) > 0).all()


def test_gradients_reach_only_the_prompt(backbone):
    prompt = _mpt_prompt(backbone)
    model = PromptedModel(backbone, prompt)
    input_ids, mask, _ = _inputs(backbone)
    cands = label_token_ids(backbone.tokenizer, ["no", "yes"], causal=not backbone.is_seq2seq)
    candidate_ids = torch.tensor([cands] * 3)
    out = model(
        input_ids,
        mask,
        torch.tensor([0, 1, 0]),
        candidate_ids=candidate_ids,
        candidate_mask=torch.ones(3, 2, dtype=torch.bool),
    )
    (F.cross_entropy(out.label_logits, torch.tensor([0, 1, 1])) + out.hidden.pow(2).mean()).backward()
    for name, p in backbone.model.named_parameters():
        assert not p.requires_grad, name
        assert p.grad is None, f"backbone parameter {name} received a gradient"
    for name, p in prompt.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"prompt parameter {name} has no gradient"


def test_train_mode_switches_only_the_prompt(llama):
    model = PromptedModel(llama, SoftPrompt(2, llama.dim))
    model.train()
    assert model.training and model.prompt.training
    assert not model.model.training, "the frozen backbone must stay in eval mode (no dropout)"
    model.eval()
    assert not model.prompt.training


def test_wrong_prompt_width_names_both_dims(llama):
    with pytest.raises(ValueError) as info:
        PromptedModel(llama, SoftPrompt(2, llama.dim + 16))
    message = str(info.value)
    assert f"d={llama.dim + 16}" in message and f"d={llama.dim}" in message


def test_label_token_ids_rejects_shared_first_token(llama):
    with pytest.raises(ValueError, match="share a first token"):
        label_token_ids(llama.tokenizer, ["good", "great"], causal=True)


@pytest.mark.parametrize("causal", [True, False])
def test_label_token_ids_are_first_letter_bytes(llama, causal):
    tok = llama.tokenizer
    ids = label_token_ids(tok, ["negative", "positive"], causal=causal)
    # The leading space of the causal form decodes to whitespace and is skipped.
    assert [tok.decode([i]) for i in ids] == ["n", "p"]


def test_forward_argument_errors(llama):
    model = PromptedModel(llama, SoftPrompt(2, llama.dim))
    input_ids, mask, _ = _inputs(llama)
    with pytest.raises(ValueError, match="target_ids"):
        model(input_ids, mask, torch.zeros(3, dtype=torch.long), objective="lm")
    with pytest.raises(ValueError, match="candidate_ids"):
        model(input_ids, mask, torch.zeros(3, dtype=torch.long))


def _targets(backbone, texts):
    tok = backbone.tokenizer
    causal = not backbone.is_seq2seq
    rows = [
        tok((" " + t) if causal else t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        for t in texts
    ]
    width = max(map(len, rows))
    target = torch.full((len(rows), width), -100)
    for i, r in enumerate(rows):
        target[i, : len(r)] = torch.tensor(r)
    return target


def test_lm_loss_finite_and_differentiable(backbone):
    prompt = _mpt_prompt(backbone)
    model = PromptedModel(backbone, prompt)
    input_ids, mask, _ = _inputs(backbone)
    target_ids = _targets(backbone, ["yes", "no idea", "Paris"])
    loss = model(input_ids, mask, torch.tensor([0, 1, 0]), target_ids=target_ids, objective="lm")
    assert loss.dim() == 0 and torch.isfinite(loss) and loss > 0
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in prompt.parameters())
    assert all(p.grad is None for p in backbone.model.parameters())


def test_causal_lm_loss_matches_row_by_row_computation(lively_llama):
    llama = lively_llama
    prompt = _mpt_prompt(llama)
    model = PromptedModel(llama, prompt)
    input_ids, mask, lengths = _inputs(llama)
    task_ids = torch.tensor([0, 1, 0])
    target_ids = _targets(llama, ["yes", "no idea", "Paris"])
    with torch.no_grad():
        loss = model.lm_loss(input_ids, mask, task_ids, target_ids)
        total, count = 0.0, 0
        emb = llama.model.get_input_embeddings()
        for i, n in enumerate(lengths):
            tgt = target_ids[i][target_ids[i] != -100]
            seq = torch.cat([prompt(task_ids[i : i + 1])[0], emb(input_ids[i, :n]), emb(tgt)])
            logits = llama.model(inputs_embeds=seq[None]).logits[0]
            start = prompt.num_tokens + n - 1  # the position predicting the first target token
            pred = logits[start : start + len(tgt)]
            total += F.cross_entropy(pred, tgt, reduction="sum").item()
            count += len(tgt)
    assert loss.item() == pytest.approx(total / count, rel=1e-4)


def _greedy_by_hand(backbone, prompt, ids, task_id, steps):
    model, emb = backbone.model, backbone.model.get_input_embeddings()
    embeds = torch.cat([prompt(torch.tensor([task_id]))[0], emb(ids)])[None]
    out = []
    with torch.no_grad():
        if backbone.is_seq2seq:
            dec = torch.tensor([[model.config.decoder_start_token_id]])
            for _ in range(steps):
                nxt = model(inputs_embeds=embeds, decoder_input_ids=dec).logits[0, -1].argmax().item()
                out.append(nxt)
                if nxt == backbone.tokenizer.eos_token_id:
                    break
                dec = torch.cat([dec, torch.tensor([[nxt]])], dim=1)
        else:
            for _ in range(steps):
                nxt = model(inputs_embeds=embeds).logits[0, -1].argmax().item()
                out.append(nxt)
                if nxt == backbone.tokenizer.eos_token_id:
                    break
                embeds = torch.cat([embeds, emb(torch.tensor([[nxt]]))], dim=1)
    return out


def test_generate_returns_only_the_new_tokens(lively):
    backbone = lively
    prompt = _mpt_prompt(backbone)
    model = PromptedModel(backbone, prompt)
    input_ids, mask, lengths = _inputs(backbone)
    task_ids = torch.tensor([0, 1, 1])
    steps = 4
    new = model.generate(
        input_ids, mask, task_ids, max_new_tokens=steps, pad_token_id=backbone.tokenizer.pad_token_id
    )
    assert new.shape[0] == 3 and 1 <= new.shape[1] <= steps
    for i, n in enumerate(lengths):
        expected = _greedy_by_hand(backbone, prompt, input_ids[i, :n], int(task_ids[i]), steps)
        assert new[i, : len(expected)].tolist() == expected, f"row {i}"
    assert len({tuple(r) for r in new.tolist()}) > 1, "rows should continue differently"


def test_load_backbone_offline_refuses_hub_name():
    with pytest.raises(HubModelUnavailableError, match="offline"):
        load_backbone("some-org/model", offline=True)


def test_load_backbone_unreachable_hub_points_to_offline_profile(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(backbones.AutoConfig, "from_pretrained", unreachable)
    with pytest.raises(HubModelUnavailableError) as info:
        load_backbone("some-org/model")
    message = str(info.value)
    assert "some-org/model" in message
    assert "offline profile" in message and OFFLINE_DEFAULT in message
    assert isinstance(info.value.__cause__, OSError)


@pytest.mark.parametrize(("name", "seq2seq"), [("tiny-t5", True), ("tiny-llama", False)])
def test_load_backbone_tiny_names(name, seq2seq):
    bb = load_backbone(name, offline=True)
    assert bb.name == name and bb.is_seq2seq is seq2seq
    assert all(not p.requires_grad for p in bb.model.parameters())
    assert not bb.model.training
