"""[6] length groups, [7] the prompt's keys and values once per task, and [8] independent runs side by side: the
switches of a causal LM trained on mixed batches of the offline suite's source tasks."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

from .common import GROUP_TASKS, ROOT, TARGETS, TASKS, header, load, make_prompt, report_ratio, timed


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
    cmd = [sys.executable, "-m", "benchmarks.speed", "_worker", "--threads", str(threads), "--batch",
           str(args.batch), "--prompt-tokens", str(args.prompt_tokens), "--rank", str(args.rank)] + (
        ["--smoke"] if args.smoke else [])
    workers = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
               for _ in range(count)]
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
