"""What every speed benchmark shares: the machine's description, the backbones, round-robin timing with its report
against a target, and the synthetic rows, prompts and train steps the benchmarks time."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "outputs" / "artefacts"  # the quality grid's source stages, which this reuses where it can

TASKS = ("movie_sentiment", "question_type")  # a 2-class and a 6-class source task mixed in one batch
GEN_DEFAULT_TOKENS = 4  # evaluate_by_generation's default max_new_tokens
TARGETS = {"step": 1.05, "peft": 0.75, "peft_memory": 1.0, "epoch": 0.5, "distill": 1.15, "eval": 0.2, "groups": 0.9, "prefix": 0.9,
           "workers": 0.8}
GROUP_TASKS = ("movie_sentiment", "question_type", "sms_spam", "fact_verification")  # offline suite v2's sources


# ----------------------------------------------------------------------------------------------- environment

def machine_info() -> str:
    import accelerate
    import peft
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, IndexError, ValueError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    return (
        f"machine: {cpu}, {os.cpu_count()} logical CPU(s){mem}, {platform.system()} {platform.release()}\n"
        f"threads: torch.get_num_threads()={torch.get_num_threads()}, interop={torch.get_num_interop_threads()}\n"
        f"versions: python {platform.python_version()}, torch {torch.__version__}, transformers "
        f"{transformers.__version__}, peft {peft.__version__}, accelerate {accelerate.__version__}\n"
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S')}"
    )


def bench_t5(seed: int = 0, *, smoke: bool = False):
    """A random T5 with T5-Small's shape (d=512, 6+6 layers, 8 heads, d_ff=2048, vocabulary 32128): the paper's
    architecture at a size a CPU can time. Tokenised with the file-free byte tokenizer (ids < 384), so the head's
    full-vocabulary cost is that of a real T5."""
    import torch
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    from mpt_nb.backbones import Backbone, freeze, tiny_t5

    if smoke:
        return tiny_t5(seed)
    torch.manual_seed(seed)
    tokenizer = ByT5Tokenizer()
    config = T5Config(
        vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_decoder_layers=6, num_heads=8,
        decoder_start_token_id=tokenizer.pad_token_id, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return Backbone(freeze(T5ForConditionalGeneration(config)), tokenizer, "t5-small-shape (random)")


def load(name: str, smoke: bool):
    from mpt_nb.backbones import load_offline_default, tiny_llama

    if name == "smollm2":
        return tiny_llama(0) if smoke else load_offline_default()
    if name == "t5":
        return bench_t5(smoke=smoke)
    raise SystemExit(f"unknown backbone {name!r}; use smollm2 or t5")


def timed(reps: int, warmup: int, variants: dict[str, Callable[[], float | None]]) -> dict[str, list[float]]:
    """Run the variants round-robin (so background load hits them alike); a variant may return its own time."""
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(reps):
        for name, fn in variants.items():
            start = time.perf_counter()
            own = fn()
            times[name].append(own if own is not None else time.perf_counter() - start)
    return times


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    return f"median {med(values):8.3f} s  (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def min_ratio(num: list[float], den: list[float]) -> str:
    """The ratio of the fastest repeats: less sensitive to other processes on a shared machine."""
    return f"(ratio of the minima {min(num) / min(den):.3f})"


def report_ratio(results: dict, key: str, target: float, times: dict[str, list[float]], new: str, old: str,
                 rows: tuple[tuple[str, str], ...], name: str, note: str = "") -> float:
    """Print each variant's times (``rows``: label, variant), then ``new`` ÷ ``old`` with its verdict against
    ``target`` and the ratio of the fastest repeats; record the ratio in ``results[key]``."""
    ratio = med(times[new]) / med(times[old])
    for label, variant in rows:
        print(f"    {label}{spread(times[variant])}")
    print(f"    {name} = {ratio:.3f}   {verdict(ratio, target)}  {min_ratio(times[new], times[old])}{note}", flush=True)
    results[key] = ratio
    return ratio


def verdict(ratio: float, target: float) -> str:
    if ratio <= target:
        return f"target <= {target:g}: MET"
    return f"target <= {target:g}: MISSED by {ratio - target:.3f} ({100 * (ratio / target - 1):.0f}% over)"


# ----------------------------------------------------------------------------------------------- shared pieces

def synthetic_rows(backbone, n: int, tokens: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """n rows of exactly ``tokens`` random ids (timing does not depend on content), alternating the two tasks."""
    import torch

    g = torch.Generator().manual_seed(seed)
    vocab = len(backbone.tokenizer)
    low, high = (35, 130) if vocab < 1000 else (100, min(vocab, 30000))  # printable bytes / ordinary BPE tokens
    rows = []
    for i in range(n):
        task = i % 2
        ids = torch.randint(low, high, (tokens,), generator=g).tolist()
        rows.append({"input_ids": ids, "label": int(torch.randint(0, 2 if task == 0 else 6, (1,), generator=g)),
                     "task_id": task, "example_id": i})
    return rows


def make_prompt(backbone, num_tokens: int, rank: int, num_tasks: int = 2, seed: int = 0):
    import torch

    from mpt_nb.prompts import MultitaskPrompt, sample_vocab_embeddings

    init = sample_vocab_embeddings(backbone.embeddings, num_tokens, generator=torch.Generator().manual_seed(seed))
    return MultitaskPrompt(num_tokens, backbone.dim, num_tasks, rank, shared_init=init, seed=seed)


class OneBatch:
    """A loader for ``train_prompt`` that yields the same prepared batch ``n`` times (the data path is not timed)."""

    def __init__(self, batch: dict, n: int) -> None:
        from torch.utils.data import DataLoader

        self.loader = DataLoader(list(range(n)), batch_size=None, collate_fn=lambda _: batch)


def train_steps(model, batch, steps: int = 1, objective=None) -> float:
    """Loop time of ``mpt_nb.train.train_prompt`` for ``steps`` steps on one batch (its own clock, no setup)."""
    from mpt_nb.train import TrainConfig, train_prompt

    config = TrainConfig(max_steps=steps, warmup_ratio=0.0, progress=False, lr=1e-3)
    kwargs = {"objective": objective} if objective is not None else {}
    return train_prompt(model, OneBatch(batch, steps).loader, config, **kwargs).wall_time_s


def manual_step(params, loss_fn) -> Callable[[], None]:
    """Forward + loss + backward + gradient clipping + AdamW update: the same optimisation as train_prompt's loop."""
    import torch

    params = list(params)
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-5)

    def step() -> None:
        loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def header(title: str, backbone, args, extra: str = "", *, shape: str | None = None) -> None:
    shape = shape or (f"batch {args.batch}, {args.tokens} input tokens, l={args.prompt_tokens}, r={args.rank}; median "
                      f"of {args.reps}, {args.warmup} warm-up excluded")
    print(f"\n[{title}] backbone {backbone.name} ({backbone.num_parameters() / 1e6:.1f}M params, frozen), {shape}{extra}",
          flush=True)
