"""[5] rank classification against generate-based evaluation: time and accuracy of both, and with ``--profile``
where one evaluation batch spends its time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import (
    ARTEFACTS,
    GEN_DEFAULT_TOKENS,
    ROOT,
    TARGETS,
    header,
    med,
    min_ratio,
    spread,
    timed,
    verdict,
)


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
