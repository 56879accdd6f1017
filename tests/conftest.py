"""Shared fixtures: tiny random backbones (byte tokenizer, no files, no network) built once per session."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
import torch

# One intra-op thread by default: the tiny test models gain nothing from parallel kernels, and on a busy 2-core
# machine two OpenMP threads made a 32-wide linear layer ~300x slower (8 ms vs 0.03 ms; whole suite 76 s vs 22 s).
# MPT_NB_TEST_THREADS=2 uses both cores (never more than 2).
torch.set_num_threads(max(1, min(2, int(os.environ.get("MPT_NB_TEST_THREADS", "1")))))
# Never reach for the network from a test, whatever the machine allows.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


ROOT = Path(__file__).resolve().parent.parent


def repo_module(name: str):
    """A module of this checkout's script packages, ``benchmarks`` and ``tools`` (e.g. ``"benchmarks.quality"``,
    ``"benchmarks.speed"``, ``"tools.make_exercises"``), imported from this checkout whatever the working directory:
    the package is loaded from its folder once, and its modules are found through its ``__path__``."""
    top = name.partition(".")[0]
    folder = ROOT / top
    package = sys.modules.get(top)
    if package is None:
        spec = importlib.util.spec_from_file_location(top, folder / "__init__.py", submodule_search_locations=[str(folder)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[top] = package
        spec.loader.exec_module(package)
    elif [Path(p).resolve() for p in package.__path__] != [folder]:
        raise ImportError(f"{top!r} is already imported from {list(package.__path__)}, not from this checkout ({folder})")
    return importlib.import_module(name)


def other_value(value):
    """Another valid value of a profile field, whatever its type (what the identity tests change a field to)."""
    if isinstance(value, bool):
        return not value
    if value is None or isinstance(value, int):
        return (value or 0) + 1
    if isinstance(value, float):
        return value * 2 if value else 0.1
    if isinstance(value, tuple):
        return (*value, 64)
    return {"no": "bf16", "bf16": "no", "ones": "source_mean", "source_mean": "ones"}[value]


@pytest.fixture(scope="session")
def t5():
    from mpt_nb.backbones import tiny_t5

    return tiny_t5(seed=0)


@pytest.fixture(scope="session")
def llama():
    from mpt_nb.backbones import tiny_llama

    return tiny_llama(seed=0)


def spread_weights(backbone, std: float = 0.5, seed: int = 0):
    """Redraw every weight matrix with a larger std.

    The default tiny init (std 0.02, tied embeddings) makes every position predict nearly the same token, so a wrong
    answer position, a wrong generation or a training loop that learns nothing could pass unnoticed. These copies
    are sensitive to position and input, and a soft prompt can fit a small task on them in a few steps.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in backbone.model.parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) * std)
    return backbone


@pytest.fixture(scope="session")
def lively_t5():
    from mpt_nb.backbones import tiny_t5

    return spread_weights(tiny_t5(seed=1))


@pytest.fixture(scope="session")
def lively_llama():
    from mpt_nb.backbones import tiny_llama

    return spread_weights(tiny_llama(seed=1))


@pytest.fixture(scope="session")
def make_lively():
    """A factory of fresh lively backbones, identical for the same arguments: ``make_lively("llama")``."""

    def make(arch: str, seed: int = 1):
        from mpt_nb.backbones import tiny_llama, tiny_t5

        return spread_weights({"t5": tiny_t5, "llama": tiny_llama}[arch](seed=seed))

    return make


@pytest.fixture(params=["lively_t5", "lively_llama"])
def lively(request):
    """Both architectures with lively (large random) weights; their own copies, not the shared tiny fixtures."""
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["t5", "llama"])
def backbone(request):
    """Both architectures: the seq2seq (encoder-prompted) and the causal (front-prompted) path."""
    return request.getfixturevalue(request.param)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def make_rows():
    """A function building tokenised rows as ``tokenize_task`` makes them (no EOS on causal inputs)."""
    return _make_rows


def _make_rows(tokenizer, texts, *, task_id=0, labels=None, causal=True):
    rows = []
    for i, text in enumerate(texts):
        ids = tokenizer(text, add_special_tokens=not causal)["input_ids"]
        rows.append(
            {
                "input_ids": ids,
                "label": 0 if labels is None else labels[i],
                "task_id": task_id if isinstance(task_id, int) else task_id[i],
                "example_id": i,
            }
        )
    return rows
