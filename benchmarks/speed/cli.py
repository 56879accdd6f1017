"""Speed benchmarks: the nine ratios, each measured side by side in one run (median of repeats, warm-up excluded).

Subcommands (``all`` runs every one)::

    step     [1] mpt_nb MPT train step  ÷  the limit: the frozen body alone (no LM head, no wrapper), label-word
                 rows of the head at the scored position only; on a causal LM the prompt's keys and values computed
                 once per task in the batch and read by its rows as past keys and values (as mpt_nb does), on a
                 seq2seq model the prompt concatenated in front of every row's encoder input
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
    run      [9] a whole few-shot target run (PT, k = 16, the profile's steps, its validation passes and its test
                 pass)  ÷  its training steps alone, with the time split; the offline profile (smoke: the smoke one)

Backbones: the offline default SmolLM2-135M (``smollm2``) and a T5 with T5-Small's shape and vocabulary size
(``t5``: random weights, byte tokenizer, since the hub is out of reach); ``--smoke`` swaps in the package's tiny
random models and few repeats, so the whole script runs in seconds (the tests use it).

    flock /tmp/mpt_heavy.lock .venv/bin/python -m benchmarks.speed step --backbone smollm2
    .venv/bin/python -m benchmarks.speed all --smoke
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from .common import load, machine_info
from .evaluation import bench_eval
from .mixed import bench_groups, bench_prefix, bench_workers, worker_child
from .run import bench_run
from .steps import bench_peft, bench_step, memory_child
from .training import bench_distill, bench_epoch

BENCHES = ("step", "peft", "epoch", "distill", "eval", "groups", "prefix", "workers", "run")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
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
                 "groups": bench_groups, "prefix": bench_prefix, "workers": bench_workers, "run": bench_run}[bench](
                    backbone, args, results
                )
            print(f"    ({bench} on {name} took {time.perf_counter() - start:.0f} s)", flush=True)
    print("\nsummary: " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in results.items()}))
    return 0
