"""[3] an epoch with dynamic padding against padding every row to a fixed length, and [4] a distillation step reading
the teachers' cache against a plain multitask step."""

from __future__ import annotations

import types

from .common import TARGETS, TASKS, header, make_prompt, report_ratio, synthetic_rows, timed, train_steps


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
