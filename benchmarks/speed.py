"""Speed benchmarks: the eight ratios, each measured side by side in one run (median of repeats, warm-up excluded).

Subcommands (``all`` runs every one)::

    step     [1] mpt_nb MPT train step  ÷  the limit: the frozen body alone (no LM head), prompt concatenated by
                 hand, label-word rows of the head at the scored position only
    peft     [2] mpt_nb MPT train step  ÷  PEFT MultitaskPromptTuning's standard step (full logits + LM loss via
                 labels); and peak memory of each, every variant in its own subprocess
    epoch    [3] an epoch over the offline source tasks' real training texts: mpt_nb's dynamic padding  ÷  padding
                 every row to 256 tokens (PEFT-example style); same sampler, same batches, same train step
    distill  [4] distillation step reading a filled TeacherCache (DistillationLoss)  ÷  plain multitask step
    eval     [5] rank classification (evaluate_task)  ÷  generate-based evaluation (evaluate_by_generation) with a
                 trained teacher prompt, accuracy of both (on the random-weight T5: a random prompt, timings only)
    groups   [6] mixed batches of long (fact verification) and short source rows: a causal LM run as two
                 length groups (PromptedModel.group_lengths, the default)  ÷  one padded pass; same batches, same step
    prefix   [7] a causal LM's prompt keys and values computed once per task in the batch and shared by its rows
                 (PromptedModel.cache_prompt, the default)  ÷  the prompt concatenated in front of every row; a
                 train step on mixed source batches and scoring (batch 32), same rows, same step
    workers  [8] throughput of independent runs: N processes of 1 thread each, started together, each training
                 the same mixed source batches  ÷  one process with N threads training them N times in a row
                 (N = --threads, default all cores); each variant in processes of its own

Backbones: the offline default SmolLM2-135M (``smollm2``) and a T5 with T5-Small's shape and vocabulary size
(``t5``: random weights, byte tokenizer, since the hub is out of reach); ``--smoke`` swaps in the package's tiny
random models and few repeats, so the whole script runs in seconds (the tests use it).

    flock /tmp/mpt_heavy.lock .venv/bin/python benchmarks/speed.py step --backbone smollm2
    .venv/bin/python benchmarks/speed.py all --smoke
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
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


def limit_loss(backbone, prompt, batch) -> Callable[[], Any]:
    """The limit: frozen body with the prompt concatenated by hand, label-word rows of the head, cross-entropy."""
    import torch
    import torch.nn.functional as F

    model = backbone.model
    emb = model.get_input_embeddings()
    head = model.get_output_embeddings().weight
    ids, mask, tids = batch["input_ids"], batch["attention_mask"], batch["task_ids"]
    cand, cmask, labels = batch["candidate_ids"], batch["candidate_mask"], batch["labels"]
    full_mask = torch.cat([mask.new_ones(ids.shape[0], prompt.num_tokens), mask], 1)
    rows = head[cand]  # (batch, C, d): only the label words' rows
    seq2seq = backbone.is_seq2seq
    if seq2seq:
        encoder, decoder = model.get_encoder(), model.get_decoder()
        start = torch.full((ids.shape[0], 1), model.config.decoder_start_token_id)
        scale = model.config.d_model**-0.5
    else:
        body = model.get_decoder()
        last = full_mask.sum(1) - 1
        arange = torch.arange(ids.shape[0])

    def loss() -> torch.Tensor:
        p = prompt.shared * torch.bmm(prompt.u[tids], prompt.v[tids])
        x = torch.cat([p, emb(ids)], 1)
        if seq2seq:
            enc = encoder(inputs_embeds=x, attention_mask=full_mask).last_hidden_state
            h = decoder(input_ids=start, encoder_hidden_states=enc, encoder_attention_mask=full_mask).last_hidden_state[:, 0] * scale
        else:
            h = body(inputs_embeds=x, attention_mask=full_mask).last_hidden_state[arange, last]
        logits = torch.einsum("bd,bcd->bc", h, rows).masked_fill(~cmask, -1e9)
        return F.cross_entropy(logits, labels)

    return loss


def peft_batch(backbone, rows, collator_batch, tasks) -> dict:
    """PEFT's standard causal/seq2seq LM batch for the same rows: text (+ answer for causal LMs), labels = answer."""

    from mpt_nb.data import right_pad
    from mpt_nb.tasks import get_task

    tok = backbone.tokenizer
    causal = not backbone.is_seq2seq
    eos = tok.eos_token_id
    answers = []
    for r in rows:
        word = get_task(tasks[r["task_id"]]).label_words[r["label"]]
        answers.append([*tok.encode((" " + word) if causal else word, add_special_tokens=False), eos])
    if causal:
        seqs = [r["input_ids"] + a for r, a in zip(rows, answers, strict=True)]
        labs = [[-100] * len(r["input_ids"]) + a for r, a in zip(rows, answers, strict=True)]
    else:
        seqs = [r["input_ids"] for r in rows]
        labs = answers
    input_ids, mask = right_pad(seqs, tok.pad_token_id)
    labels, _ = right_pad(labs, -100)
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels, "task_ids": collator_batch["task_ids"]}


def build_variant(variant: str, backbone, args) -> Callable[[], float | None]:
    """One step of a variant (returns its own time or None): mpt (train_prompt), limit, or peft."""
    import copy

    from mpt_nb.data import PromptCollator
    from mpt_nb.peft_interop import peft_model_for
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.tasks import get_task

    rows = synthetic_rows(backbone, args.batch, args.tokens)
    collator = PromptCollator.for_tasks(backbone, [get_task(t) for t in TASKS])
    batch = collator(rows)
    prompt = make_prompt(backbone, args.prompt_tokens, args.rank)
    if variant == "mpt":
        model = PromptedModel(backbone, prompt)
        return lambda: train_steps(model, batch)
    if variant == "limit":
        p = copy.deepcopy(prompt)
        return manual_step(p.parameters(), limit_loss(backbone, p, batch))
    if variant == "peft":
        pm = peft_model_for(backbone, copy.deepcopy(prompt))
        pm.eval()  # the frozen backbone stays in eval mode (no dropout), as in mpt_nb; the prompt has no dropout
        pb = peft_batch(backbone, rows, batch, TASKS)
        params = [p for p in pm.parameters() if p.requires_grad]
        return manual_step(params, lambda: pm(**pb).loss)
    raise ValueError(variant)


# ----------------------------------------------------------------------------------------------- memory


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def memory_child(args) -> None:
    """In its own process: peak RSS increase over the loaded model during two train steps of one variant."""
    import resource

    import torch

    torch.set_num_threads(args.threads)
    backbone = load(args.backbone, args.smoke)
    step = build_variant(args.variant, backbone, args)
    # Touch every weight once (mmapped safetensors pages count when first read), then hand freed heap back.
    with torch.no_grad():
        n = 4
        if backbone.is_seq2seq:
            backbone.model(input_ids=torch.full((1, n), 5), decoder_input_ids=torch.zeros((1, 1), dtype=torch.long))
        else:
            backbone.model(input_ids=torch.full((1, n), 5))
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    method = "VmHWM reset via /proc/self/clear_refs"
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak-RSS watermark (Linux >= 4.0)
        base = _rss_kib("VmRSS")
    except OSError:
        method = "ru_maxrss (peak since process start; a load-time peak can hide the step's)"
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(2):
        step()
    peak = _rss_kib("VmHWM") if method.startswith("VmHWM") else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("MEMORY " + json.dumps({"variant": args.variant, "base_mib": base / 1024, "peak_mib": peak / 1024,
                                   "delta_mib": (peak - base) / 1024, "method": method}), flush=True)


def measure_memory(variant: str, backbone: str, args) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "_memory", "--variant", variant, "--backbone", backbone, "--batch", str(args.batch),
           "--tokens", str(args.tokens), "--prompt-tokens", str(args.prompt_tokens), "--rank", str(args.rank),
           "--threads", str(args.threads)] + (["--smoke"] if args.smoke else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("MEMORY "):
            return json.loads(line[len("MEMORY "):])
    raise RuntimeError(f"memory subprocess for {variant} failed:\n{out.stderr[-3000:]}")


# ----------------------------------------------------------------------------------------------- benchmarks


def header(title: str, backbone, args, extra: str = "", *, shape: str | None = None) -> None:
    shape = shape or (f"batch {args.batch}, {args.tokens} input tokens, l={args.prompt_tokens}, r={args.rank}; median "
                      f"of {args.reps}, {args.warmup} warm-up excluded")
    print(f"\n[{title}] backbone {backbone.name} ({backbone.num_parameters() / 1e6:.1f}M params, frozen), {shape}{extra}",
          flush=True)


def bench_step(backbone, args, results: dict) -> None:
    header("1 step vs limit", backbone, args)
    times = timed(args.reps, args.warmup, {v: build_variant(v, backbone, args) for v in ("limit", "mpt")})
    report_ratio(results, f"step/{backbone.name}", TARGETS["step"], times, "mpt", "limit",
                 (("limit: body + prompt by hand + label rows   ", "limit"),
                  ("mpt_nb train_prompt step (MPT, 2 tasks)      ", "mpt")), "ratio mpt_nb / limit")


def bench_peft(backbone, args, results: dict, name: str) -> None:
    header("2 mpt_nb vs PEFT MultitaskPromptTuning", backbone, args)
    times = timed(args.reps, args.warmup, {v: build_variant(v, backbone, args) for v in ("peft", "mpt")})
    report_ratio(results, f"peft/{backbone.name}", TARGETS["peft"], times, "mpt", "peft",
                 (("PEFT MPT step (full logits + LM loss)        ", "peft"),
                  ("mpt_nb train_prompt step                     ", "mpt")), "time ratio mpt_nb / PEFT")
    if args.no_memory:
        return
    mem = {v: measure_memory(v, name, args) for v in ("mpt", "peft", "limit")}
    for v, label in (("limit", "limit"), ("mpt", "mpt_nb"), ("peft", "PEFT")):
        m = mem[v]
        print(f"    peak memory {label:7s}: +{m['delta_mib']:7.1f} MiB over the loaded model ({m['base_mib']:.0f} MiB)")
    mratio = mem["mpt"]["delta_mib"] / max(mem["peft"]["delta_mib"], 1e-9)
    print(f"    memory ratio mpt_nb / PEFT = {mratio:.3f}   {verdict(mratio, TARGETS['peft_memory'])}")
    print(f"    (method: each variant in its own process; {mem['mpt']['method']}; delta = peak RSS during 2 steps - "
          "RSS after loading the model, touching every weight and malloc_trim)", flush=True)
    results[f"peft_memory/{backbone.name}"] = mratio


def bench_epoch(backbone, args, results: dict) -> None:
    import numpy as np
    import torch
    from torch.utils.data import DataLoader

    from mpt_nb.data import MultitaskBatchSampler, PromptCollator, build_multitask_dataset, tokenize_task
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.prompts import MultitaskPrompt
    from mpt_nb.tasks import OFFLINE_SOURCE_TASKS, get_task, load_task_splits
    from mpt_nb.train import TrainConfig, train_prompt

    tasks = OFFLINE_SOURCE_TASKS
    lengths_from, note = backbone, "the backbone's tokenizer"
    if len(backbone.tokenizer) < 1000 and not args.smoke and not args.byte_lengths:
        # A byte tokenizer makes every text ~4x longer than T5's SentencePiece would: take the lengths (and ids,
        # folded into the vocabulary) of a real subword tokenizer, SmolLM2's, so the distribution is realistic.
        from transformers import AutoTokenizer

        from mpt_nb.backbones import OFFLINE_DEFAULT, _cache_root

        tok = AutoTokenizer.from_pretrained(_cache_root() / OFFLINE_DEFAULT)
        lengths_from = types.SimpleNamespace(tokenizer=tok, is_seq2seq=backbone.is_seq2seq)
        note = "SmolLM2's subword tokenizer (ids folded into the T5 vocabulary; --byte-lengths for bytes)"
    parts = []
    for i, t in enumerate(tasks):
        split = load_task_splits(t, max_train=200 if args.smoke else 2000, max_eval=8)["train"]
        parts.append(tokenize_task(split, get_task(t), lengths_from, task_id=i, max_input_tokens=args.pad_to))
    data = build_multitask_dataset(parts)
    if lengths_from is not backbone:
        vocab = backbone.model.config.vocab_size
        data = data.map(lambda r: {"input_ids": [3 + i % (vocab - 3) for i in r["input_ids"]]})
    rng = np.random.default_rng(0)
    data = data.select(rng.choice(len(data), size=args.epoch_rows, replace=False).tolist())
    lengths = np.array([len(x) for x in data["input_ids"]])
    n_batches = args.epoch_rows // args.batch
    sampler = MultitaskBatchSampler(data["task_id"], args.batch, max_tasks_per_batch=2, num_batches=n_batches, seed=0)
    batches = list(sampler)
    dynamic = PromptCollator.for_tasks(backbone, [get_task(t) for t in tasks])

    def padded(rows):  # PEFT-example style: every row padded (right) to max_length
        out = dynamic(rows)
        extra = args.pad_to - out["input_ids"].shape[1]
        out["input_ids"] = torch.nn.functional.pad(out["input_ids"], (0, extra), value=dynamic.pad_token_id)
        out["attention_mask"] = torch.nn.functional.pad(out["attention_mask"], (0, extra), value=0)
        return out

    widths = [max(lengths[b]) for b in batches]
    header("3 epoch: dynamic padding vs pad-to-256", backbone, args,
           shape=f"batch {args.batch}, l={args.prompt_tokens}, r={args.rank}; median of {args.epoch_reps} epochs, "
           f"{args.warmup} warm-up batch of each kind excluded",
           extra=f"; {args.epoch_rows} rows of the 4 offline source tasks' training texts ({n_batches} batches); tokens per "
           f"row ({note}): mean {lengths.mean():.1f}, median {np.median(lengths):.0f}, max {lengths.max()}; dynamic batch width "
           f"mean {np.mean(widths):.1f} (+{args.prompt_tokens} prompt) vs {args.pad_to}")
    prompt = MultitaskPrompt(args.prompt_tokens, backbone.dim, len(tasks), args.rank)
    model = PromptedModel(backbone, prompt)
    config = TrainConfig(max_steps=n_batches, warmup_ratio=0.0, progress=False, lr=1e-3)

    def epoch(collate):
        def run() -> float:
            loader = DataLoader(data, batch_sampler=batches, collate_fn=collate)
            return train_prompt(model, loader, config).wall_time_s
        return run

    def warm(collate):  # warm-up: one batch of each kind, not an epoch
        def run() -> None:
            loader = DataLoader(data, batch_sampler=batches[:1], collate_fn=collate)
            train_prompt(model, loader, TrainConfig(max_steps=1, progress=False))
        return run

    for _ in range(args.warmup):
        warm(dynamic)()
        warm(padded)()
    times = timed(args.epoch_reps, 0, {"padded": epoch(padded), "dynamic": epoch(dynamic)})
    report_ratio(results, f"epoch/{backbone.name}", TARGETS["epoch"], times, "dynamic", "padded",
                 ((f"epoch, every row padded to {args.pad_to}           ", "padded"),
                  ("epoch, mpt_nb dynamic padding (mpt_nb.data)  ", "dynamic")), "ratio dynamic / padded",
                 f"  (median of {args.epoch_reps} epochs; same sampler, batches and train_prompt step in both)")


def bench_distill(backbone, args, results: dict) -> None:
    import datasets

    from mpt_nb.data import PromptCollator
    from mpt_nb.distill import TeacherCache
    from mpt_nb.losses import DistillationLoss
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.prompts import SoftPrompt
    from mpt_nb.tasks import get_task

    rows = synthetic_rows(backbone, args.batch, args.tokens)
    collator = PromptCollator.for_tasks(backbone, [get_task(t) for t in TASKS])
    batch = collator(rows)
    teacher = PromptedModel(backbone, SoftPrompt.from_vocab(backbone.embeddings, args.prompt_tokens, 2, seed=1))
    cache = TeacherCache(teacher, datasets.Dataset.from_list(rows), collator).fill()
    passes = cache.teacher_passes
    distill_objective = DistillationLoss(cache).objective

    plain_model = PromptedModel(backbone, make_prompt(backbone, args.prompt_tokens, args.rank))
    distill_model = PromptedModel(backbone, make_prompt(backbone, args.prompt_tokens, args.rank))
    header("4 distillation step vs plain multitask step", backbone, args, "; teacher outputs cached beforehand")
    times = timed(args.reps, args.warmup, {
        "plain": lambda: train_steps(plain_model, batch),
        "distill": lambda: train_steps(distill_model, batch, objective=distill_objective),
    })
    assert cache.teacher_passes == passes, "the teacher ran during student steps"
    report_ratio(results, f"distill/{backbone.name}", TARGETS["distill"], times, "distill", "plain",
                 (("plain multitask step (L_PLM)                 ", "plain"),
                  ("distillation step (L_PLM + KL + MSE, cached) ", "distill")), "ratio distill / plain",
                 f"  (teacher passes during student steps: {cache.teacher_passes - passes})")


def bench_eval(backbone, args, results: dict) -> None:
    from mpt_nb.backbones import task_label_token_ids
    from mpt_nb.evaluate import evaluate_by_generation, evaluate_task, predict_text
    from mpt_nb.pipeline import Workspace
    from mpt_nb.profiles import get_profile
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.prompts import SoftPrompt
    from mpt_nb.tasks import get_task

    profile = get_profile("smoke" if args.smoke else "offline")
    ws = Workspace.from_profile(profile, backbone)
    task_name = args.eval_task
    if args.smoke or backbone.is_seq2seq:  # random weights: a random prompt, timings only (accuracies are chance)
        why = "smoke" if args.smoke else "random-weight T5: timings only, accuracies are chance"
        prompt, origin = SoftPrompt.from_vocab(backbone.embeddings, profile.prompt_tokens, seed=0), f"random ({why})"
    else:
        from mpt_nb.sources import SourceStore

        folder = ARTEFACTS
        teachers = SourceStore(ws, folder).teachers(0)
        index = list(profile.source_tasks).index(task_name)
        prompt = SoftPrompt.from_prompts(teachers.task_prompts()[index])
        origin = f"trained teacher for {task_name} (seed 0, {profile.teacher_steps} steps, {folder.relative_to(ROOT)})"
    model = PromptedModel(backbone, prompt)
    if backbone.is_seq2seq:  # (always random here: see above)
        # Random weights may emit end-of-sequence at once and end generation early: time every new token instead.
        backbone.model.generation_config.eos_token_id = None
        origin += "; end-of-sequence disabled, so generation makes every new token"
    task = get_task(task_name)
    data = ws.tokenised(task_name, "test")
    if args.eval_rows:
        data = data.select(range(min(args.eval_rows, len(data))))
        data = data.remove_columns("example_id").add_column("example_id", list(range(len(data))))
    collator = ws.collator([task_name])
    causal = not backbone.is_seq2seq
    new_tokens = max(len(backbone.tokenizer.encode((" " + w) if causal else w, add_special_tokens=False))
                     for w in task.label_words)
    task_label_token_ids(backbone.tokenizer, task, causal=causal)
    acc: dict[str, float] = {}

    def rank() -> None:
        acc["rank"] = evaluate_task(model, task, data, collator, batch_size=args.eval_batch)[task.metric]

    def gen(tokens: int, key: str):
        def run() -> None:
            acc[key] = evaluate_by_generation(model, task, data, collator, backbone.tokenizer,
                                              batch_size=args.eval_batch, max_new_tokens=tokens)[task.metric]
        return run

    header("5 rank classification vs generation", backbone, args,
           shape=f"l={prompt.num_tokens}; median of {args.eval_reps} full evaluations, 8-row warm-up excluded",
           extra=f"; {task_name} test split, {len(data)} rows, eval batch {args.eval_batch} for all; prompt: {origin}; "
           f"generation with evaluate_by_generation's default max_new_tokens={GEN_DEFAULT_TOKENS} and with "
           f"{new_tokens} (the longest label word: the least generation can do)")
    warm = data.select(range(min(8, len(data))))
    evaluate_task(model, task, warm, collator)
    evaluate_by_generation(model, task, warm, collator, backbone.tokenizer, max_new_tokens=new_tokens)
    times = timed(args.eval_reps, 0, {"gen": gen(GEN_DEFAULT_TOKENS, "gen"), "gen_min": gen(new_tokens, "gen_min"),
                                      "rank": rank})
    ratio = med(times["rank"]) / med(times["gen"])
    ratio_min = med(times["rank"]) / med(times["gen_min"])
    print(f"    generate, max_new_tokens={GEN_DEFAULT_TOKENS} (default)          {spread(times['gen'])}   "
          f"{task.metric} {acc['gen']:.3f}")
    print(f"    generate, max_new_tokens={new_tokens} (label word)       {spread(times['gen_min'])}   "
          f"{task.metric} {acc['gen_min']:.3f}")
    print(f"    rank classification (evaluate_task)          {spread(times['rank'])}   {task.metric} {acc['rank']:.3f}")
    print(f"    ratio rank / generate = {ratio:.3f}   {verdict(ratio, TARGETS['eval'])}  "
          f"{min_ratio(times['rank'], times['gen'])}; accuracy rank {acc['rank']:.3f} vs generate {acc['gen']:.3f}")
    print(f"    ratio rank / generate(max_new_tokens={new_tokens}) = {ratio_min:.3f}   {verdict(ratio_min, TARGETS['eval'])}",
          flush=True)
    results[f"eval_min_tokens/{backbone.name}"] = ratio_min
    sample = data.select(range(min(6, len(data))))
    texts = predict_text(model, sample, collator, backbone.tokenizer, max_new_tokens=GEN_DEFAULT_TOKENS)
    gold = [task.label_words[i] for i in sample["label"]]
    print("    what generation produces (gold -> generated): "
          + "; ".join(f"{g} -> {t!r}" for g, t in zip(gold, texts, strict=True)), flush=True)
    if args.profile:
        profile_eval(args, {
            "rank classification": lambda rows: evaluate_task(model, task, rows, collator, batch_size=args.eval_batch),
            f"generate, max_new_tokens={new_tokens}": lambda rows: evaluate_by_generation(
                model, task, rows, collator, backbone.tokenizer, batch_size=args.eval_batch, max_new_tokens=new_tokens),
        }, data, model)
    results[f"eval/{backbone.name}"] = ratio
    results[f"eval_acc/{backbone.name}"] = {"rank": acc["rank"], "generate": acc["gen"], "generate_min": acc["gen_min"]}


MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_scaled_dot_product_flash_attention_for_cpu")


def profile_eval(args, evaluations: dict[str, Callable[[Any], Any]], data, model) -> None:
    """[5] Where the time of one evaluation batch goes (torch.profiler, CPU): backbone forward passes and their share
    of the matrix products, so the ratio's floor — one prefill either way — is measured, not argued."""
    from torch.profiler import ProfilerActivity, profile

    rows = data.select(range(min(args.eval_batch, len(data))))
    forwards = [0]
    hook = model.model.base_model.register_forward_pre_hook(lambda *_: forwards.__setitem__(0, forwards[0] + 1))
    try:
        for name, evaluate in evaluations.items():
            evaluate(rows)  # warm-up outside the profile
            forwards[0] = 0
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                evaluate(rows)
            events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
            total = sum(e.self_cpu_time_total for e in events)
            matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS)
            top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:5]
            print(f"    profile, {name}, one batch of {len(rows)} rows: {forwards[0]} backbone forward pass(es), "
                  f"self CPU {total / 1e3:.0f} ms, matrix products {100 * matmul / total:.0f}%; top ops: "
                  + ", ".join(f"{e.key} {100 * e.self_cpu_time_total / total:.0f}%" for e in top), flush=True)
    finally:
        hook.remove()


def mixed_batches(args) -> int:
    """How many sampled batches (train steps) [6]-[8] time per repeat."""
    return 2 if args.smoke else 6


def missing_task_data(tasks: tuple[str, ...]) -> str | None:
    """Why some of ``tasks`` cannot be read on this machine (retired, or pinned files not fetched), else None."""
    from mpt_nb.tasks import unfetched_tasks
    from mpt_nb.tasks.pinned import FETCH_COMMAND

    lacking = unfetched_tasks(tasks)
    return f"{', '.join(lacking)} cannot be read here ({FETCH_COMMAND})" if lacking else None


def mixed_source_setup(backbone, args, tasks: tuple[str, ...], kappa: int):
    """What [6] and [7] time a switch of: each task's real training rows (tokenised with its task id), the merged
    dataset, sampled batches mixing m ∈ [2, κ] tasks, their collator, an MPT prompt over the tasks, and a train config
    of one step per batch. Returns (parts, data, batches, collate, model, config)."""
    from mpt_nb.data import MultitaskBatchSampler, PromptCollator, build_multitask_dataset, tokenize_task
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.tasks import get_task, load_task_splits
    from mpt_nb.train import TrainConfig

    parts = [
        tokenize_task(load_task_splits(t, max_train=64 if args.smoke else 400, max_eval=8)["train"], get_task(t),
                      backbone, task_id=i, max_input_tokens=128)
        for i, t in enumerate(tasks)
    ]
    data = build_multitask_dataset(parts)
    n_batches = mixed_batches(args)
    batches = list(MultitaskBatchSampler(data["task_id"], args.batch, max_tasks_per_batch=kappa, num_batches=n_batches))
    collate = PromptCollator.for_tasks(backbone, [get_task(t) for t in tasks])
    model = PromptedModel(backbone, make_prompt(backbone, args.prompt_tokens, args.rank, num_tasks=len(tasks)))
    config = TrainConfig(max_steps=n_batches, warmup_ratio=0.0, progress=False, lr=1e-3)
    return parts, data, batches, collate, model, config


def bench_groups(backbone, args, results: dict) -> None:
    import numpy as np
    from torch.utils.data import DataLoader

    from mpt_nb.train import train_prompt

    if backbone.is_seq2seq:
        print("    [6] groups: seq2seq encoders see the whole padded input; length groups apply to causal LMs only")
        return
    if why := missing_task_data(GROUP_TASKS):
        print(f"    [6] groups: not measured: {why}")
        return
    _, data, batches, collate, model, config = mixed_source_setup(backbone, args, GROUP_TASKS, kappa=3)
    lengths = np.array([len(x) for x in data["input_ids"]])
    header("6 groups: two length groups vs one padded pass", backbone, args,
           shape=f"batch {args.batch}, l={args.prompt_tokens}, r={args.rank}, κ=3; {len(batches)} sampled batches per repeat",
           extra=f"; tokens per row mean {lengths.mean():.1f}, max {lengths.max()}")

    def run(grouped: bool) -> Callable[[], float]:
        def go() -> float:
            model.group_lengths = grouped
            return train_prompt(model, DataLoader(data, batch_sampler=batches, collate_fn=collate), config).wall_time_s
        return go

    times = timed(args.epoch_reps, args.warmup, {"one pass": run(False), "groups": run(True)})
    model.group_lengths = True
    report_ratio(results, f"groups/{backbone.name}", TARGETS["groups"], times, "groups", "one pass",
                 (("one padded pass per batch       ", "one pass"), ("two length groups (default)     ", "groups")),
                 "ratio groups / one pass")


def bench_prefix(backbone, args, results: dict) -> None:
    from torch.utils.data import DataLoader

    from mpt_nb.data import build_multitask_dataset
    from mpt_nb.evaluate import predict_label_logits
    from mpt_nb.train import train_prompt

    if backbone.is_seq2seq:
        print("    [7] prefix: the prompt is the encoder's input; the shared key-value cache applies to causal LMs only")
        return
    parts, data, batches, collate, model, config = mixed_source_setup(backbone, args, TASKS, kappa=2)
    per_task = 8 if args.smoke else 64
    scored = build_multitask_dataset([part.select(range(per_task)) for part in parts])  # both tasks, ids 0..n-1
    header("7 prefix: the prompt's keys and values once per task vs the prompt in every row", backbone, args,
           shape=f"batch {args.batch}, l={args.prompt_tokens}, r={args.rank}, 2 tasks per batch; {len(batches)} "
                 f"batches per repeat; scoring {len(scored)} rows at batch 32")

    def train(cached: bool) -> Callable[[], float]:
        def go() -> float:
            model.cache_prompt = cached
            return train_prompt(model, DataLoader(data, batch_sampler=batches, collate_fn=collate), config).wall_time_s
        return go

    def score(cached: bool) -> Callable[[], float]:
        def go() -> float:
            model.cache_prompt = cached
            start = time.perf_counter()
            predict_label_logits(model, scored, collate, batch_size=32)
            return time.perf_counter() - start
        return go

    for what, make in (("train", train), ("score", score)):
        times = timed(args.epoch_reps, args.warmup, {"every row": make(False), "cached": make(True)})
        report_ratio(results, f"prefix_{what}/{backbone.name}", TARGETS["prefix"], times, "cached", "every row",
                     ((f"{what}: prompt in every row      ", "every row"), (f"{what}: prompt cached (default)  ", "cached")),
                     f"{what}: ratio cached / every row")
    model.cache_prompt = True


def worker_child(args) -> None:
    """In its own process, with ``--threads`` threads: load the backbone and the mixed source batches of [6], say
    READY, then train them once per line read from stdin and print each loop's seconds (``TIME <s>``)."""
    from torch.utils.data import DataLoader

    from mpt_nb.train import train_prompt

    _, data, batches, collate, model, config = mixed_source_setup(load("smollm2", args.smoke), args, GROUP_TASKS, kappa=3)
    print("READY", flush=True)
    for _ in sys.stdin:
        loader = DataLoader(data, batch_sampler=batches, collate_fn=collate)
        print(f"TIME {train_prompt(model, loader, config).wall_time_s:.4f}", flush=True)


def start_workers(count: int, threads: int, args) -> list[subprocess.Popen]:
    cmd = [sys.executable, __file__, "_worker", "--threads", str(threads), "--batch", str(args.batch),
           "--prompt-tokens", str(args.prompt_tokens), "--rank", str(args.rank)] + (["--smoke"] if args.smoke else [])
    workers = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(count)]
    for worker in workers:
        if worker.stdout.readline().strip() != "READY":
            for started in workers:
                started.kill()
            raise RuntimeError(f"a [8] worker failed to start (its command: {' '.join(cmd)}); run it by hand to see why")
    return workers


def ask(workers: list[subprocess.Popen]) -> float:
    """Start one loop in each worker at once; the wall time until the last one answers."""
    start = time.perf_counter()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        line = worker.stdout.readline()
        if not line.startswith("TIME "):
            raise RuntimeError("a [8] worker stopped without an answer (out of memory?)")
    return time.perf_counter() - start


def bench_workers(backbone, args, results: dict) -> None:
    if backbone.is_seq2seq:
        print("    [8] workers: measured on the offline default's workload, the causal LM (--backbone smollm2)")
        return
    count = args.threads
    if count < 2:
        print("    [8] workers: needs --threads >= 2 (one process per thread)")
        return
    if why := missing_task_data(GROUP_TASKS):
        print(f"    [8] workers: not measured: {why}")
        return
    header(f"8 workers: {count} processes of 1 thread vs 1 process of {count} threads, the same work", backbone, args,
           shape=f"batch {args.batch}, l={args.prompt_tokens}, r={args.rank}, κ=3, the four v2 sources; each unit of "
                 f"work is {mixed_batches(args)} train steps, {count} units per repeat")
    together: list[subprocess.Popen] = []
    alone: list[subprocess.Popen] = []
    try:  # every worker started is stopped, even when a later one fails to start
        together = start_workers(count, 1, args)
        alone = start_workers(1, count, args)
        times = timed(args.epoch_reps, args.warmup, {
            "one process": lambda: sum(ask(alone) for _ in range(count)),
            "workers": lambda: ask(together),
        })
    finally:
        for worker in together + alone:
            worker.stdin.close()
            worker.wait()
    report_ratio(results, f"workers/{backbone.name}", TARGETS["workers"], times, "workers", "one process",
                 ((f"1 process, {count} threads, {count} units in a row ", "one process"),
                  (f"{count} processes, 1 thread each, at once  ", "workers")),
                 f"ratio {count} workers / 1 process", note="  (throughput gain = 1 / ratio)")


BENCHES = ("step", "peft", "epoch", "distill", "eval", "groups", "prefix", "workers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", choices=[*BENCHES, "all", "_memory", "_worker"])
    parser.add_argument("--backbone", default=None,
                        help="comma list of smollm2,t5 (default: both)")
    parser.add_argument("--smoke", action="store_true", help="tiny random models and few repeats: seconds, for tests")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=48, help="input tokens per row (steps 1, 2, 4)")
    parser.add_argument("--prompt-tokens", type=int, default=20, help="l")
    parser.add_argument("--rank", type=int, default=1, help="r")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--reps", type=int, default=None, help="timed repeats per variant (default 9; smoke 2)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--pad-to", type=int, default=256, help="[3] fixed padding length (and truncation)")
    parser.add_argument("--epoch-rows", type=int, default=None, help="[3] rows per epoch (default 128; smoke 16)")
    parser.add_argument("--byte-lengths", action="store_true",
                        help="[3] byte-tokenizer T5: keep byte lengths instead of a subword tokenizer's")
    parser.add_argument("--epoch-reps", type=int, default=None, help="[3] timed epochs per variant (default 3)")
    parser.add_argument("--eval-task", default="movie_sentiment", help="[5] a source task (its teacher is the prompt)")
    parser.add_argument("--eval-rows", type=int, default=None, help="[5] rows of its test split (default all; smoke 16)")
    parser.add_argument("--eval-batch", type=int, default=32)
    parser.add_argument("--eval-reps", type=int, default=None, help="[5] timed evaluations per method (default 3)")
    parser.add_argument("--profile", action="store_true",
                        help="[5] also profile one batch of each evaluation (torch.profiler): where the time goes")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    import torch

    args.threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    transformers.utils.logging.disable_progress_bar()
    from mpt_nb.progress import set_progress

    set_progress(False)
    if args.bench == "_memory":
        memory_child(args)
        return 0
    if args.bench == "_worker":
        worker_child(args)
        return 0
    return _run(args)


def _run(args) -> int:
    if args.smoke:
        args.batch = min(args.batch, 8)
        args.tokens = min(args.tokens, 24)
        args.prompt_tokens = min(args.prompt_tokens, 4)
    args.reps = args.reps or (2 if args.smoke else 9)
    args.epoch_rows = args.epoch_rows or (16 if args.smoke else 128)
    args.epoch_reps = args.epoch_reps or (1 if args.smoke else 3)
    args.eval_rows = args.eval_rows or (16 if args.smoke else None)
    args.eval_reps = args.eval_reps or (1 if args.smoke else 3)
    if args.smoke:
        args.pad_to = min(args.pad_to, 64)
    print(machine_info(), flush=True)
    benches = BENCHES if args.bench == "all" else (args.bench,)
    results: dict[str, Any] = {}
    cache: dict[str, Any] = {}
    for bench in benches:
        for name in (args.backbone or "smollm2,t5").split(","):
            if name not in cache:
                cache[name] = load(name, args.smoke)
            backbone = cache[name]
            start = time.perf_counter()
            if bench == "peft":
                bench_peft(backbone, args, results, name)
            else:
                {"step": bench_step, "epoch": bench_epoch, "distill": bench_distill, "eval": bench_eval,
                 "groups": bench_groups, "prefix": bench_prefix, "workers": bench_workers}[bench](
                    backbone, args, results
                )
            print(f"    ({bench} on {name} took {time.perf_counter() - start:.0f} s)", flush=True)
    print("\nsummary: " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
