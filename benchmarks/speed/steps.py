"""[1] mpt_nb's MPT train step against the frozen-body limit (on a causal LM with the prompt's keys and values once
per task, as mpt_nb), and [2] against PEFT's MultitaskPromptTuning step, with the peak memory of each variant
measured in a process of its own."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import (
    ROOT,
    TARGETS,
    TASKS,
    header,
    load,
    make_prompt,
    manual_step,
    report_ratio,
    synthetic_rows,
    timed,
    train_steps,
    verdict,
)


def limit_loss(backbone, prompt, batch) -> Callable[[], Any]:
    """The limit: the frozen body, the label-word rows of the head at the scored position, cross-entropy; no LM head
    over the vocabulary and no wrapper.

    Causal LM: the prompt's keys and values come from one body pass over the distinct tasks' prompts
    P̂_t = P* ∘ (u_t v_tᵀ), (T, l, d), and each row reads its task's as past keys and values (positions l … l+n-1,
    the mask covering prompt and input), so every row runs its n input tokens only, as ``PromptedModel.cache_prompt``
    does. Seq2seq: the encoder needs the prompt in front of every row's input (no cache there), then the decoder's
    first position."""
    import torch
    import torch.nn.functional as F
    from transformers import DynamicCache

    model = backbone.model
    emb = model.get_input_embeddings()
    head = model.get_output_embeddings().weight
    ids, mask, tids = batch["input_ids"], batch["attention_mask"], batch["task_ids"]
    cand, cmask, labels = batch["candidate_ids"], batch["candidate_mask"], batch["labels"]
    n, width, plen = ids.shape[0], ids.shape[1], prompt.num_tokens
    full_mask = torch.cat([mask.new_ones(n, plen), mask], 1)  # (batch, l + width)
    rows = head[cand]  # (batch, C, d): only the label words' rows
    if backbone.is_seq2seq:
        encoder, decoder = model.get_encoder(), model.get_decoder()
        start = torch.full((n, 1), model.config.decoder_start_token_id)
        scale = model.config.d_model**-0.5

        def answer() -> torch.Tensor:
            x = torch.cat([prompt.shared * torch.bmm(prompt.u[tids], prompt.v[tids]), emb(ids)], 1)
            enc = encoder(inputs_embeds=x, attention_mask=full_mask).last_hidden_state
            out = decoder(input_ids=start, encoder_hidden_states=enc, encoder_attention_mask=full_mask)
            return out.last_hidden_state[:, 0] * scale
    else:
        body = model.get_decoder()
        tasks, task_row = torch.unique(tids, return_inverse=True)  # the batch's distinct tasks; each row's among them
        positions = torch.arange(plen, plen + width).expand(n, width)  # the input follows the l prompt positions
        last = mask.sum(1) - 1  # each row's last real input token (right padding)

        def answer() -> torch.Tensor:
            p = prompt.shared * torch.bmm(prompt.u[tasks], prompt.v[tasks])  # (T, l, d)
            prefix = body(inputs_embeds=p, use_cache=True).past_key_values
            past = DynamicCache(ddp_cache_data=[(k[task_row], v[task_row]) for k, v, *_ in prefix])
            out = body(inputs_embeds=emb(ids), attention_mask=full_mask, position_ids=positions,
                       past_key_values=past, use_cache=False)
            return out.last_hidden_state[torch.arange(n), last]

    def loss() -> torch.Tensor:
        logits = torch.einsum("bd,bcd->bc", answer(), rows).masked_fill(~cmask, -1e9)
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
    cmd = [sys.executable, "-m", "benchmarks.speed", "_memory", "--variant", variant, "--backbone", backbone,
           "--batch", str(args.batch), "--tokens", str(args.tokens), "--prompt-tokens", str(args.prompt_tokens),
           "--rank", str(args.rank), "--threads", str(args.threads)] + (["--smoke"] if args.smoke else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    for line in out.stdout.splitlines():
        if line.startswith("MEMORY "):
            return json.loads(line[len("MEMORY "):])
    raise RuntimeError(f"memory subprocess for {variant} failed:\n{out.stderr[-3000:]}")


# ----------------------------------------------------------------------------------------------- benchmarks

def bench_step(backbone, args, results: dict) -> None:
    header("1 step vs limit", backbone, args)
    times = timed(args.reps, args.warmup, {v: build_variant(v, backbone, args) for v in ("limit", "mpt")})
    limit = "limit: body + prompt by hand" if backbone.is_seq2seq else "limit: body + prompt K/V once"
    report_ratio(results, f"step/{backbone.name}", TARGETS["step"], times, "mpt", "limit",
                 ((f"{limit} + label rows".ljust(45), "limit"),
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
