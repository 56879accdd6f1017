"""[9] a whole few-shot target run (``adapt_target``: its training steps, the validation passes that choose its
checkpoint, the test pass) against its training steps alone: what everything but training costs a run."""

from __future__ import annotations

from .common import header, med, report_ratio, timed


def bench_run(backbone, args, results: dict) -> None:
    from mpt_nb.data import k_shot, train_loader
    from mpt_nb.profiles import get_profile
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.prompts import SoftPrompt
    from mpt_nb.targets import adapt_target
    from mpt_nb.train import train_prompt
    from mpt_nb.workspace import Workspace

    profile = get_profile("smoke" if args.smoke else "offline")
    ws = Workspace(profile, backbone)
    target, k, steps = profile.target_tasks[0], (2 if args.smoke else 16), profile.few_shot_steps
    for split in ("train", "validation", "test"):  # tokenised once, outside the clock (the workspace caches them)
        ws.tokenised(target, split)
    model = PromptedModel(ws.backbone, SoftPrompt.from_vocab(ws.backbone.embeddings, profile.prompt_tokens, seed=0))
    checkpoints: list[int] = []

    def whole() -> None:
        checkpoints[:] = adapt_target(ws, target, "pt", k=k, seed=0)["checkpoint_steps"]  # the validation passes

    def training() -> None:
        rows = k_shot(ws.tokenised(target, "train"), k, seed=0)
        loader = train_loader(rows, ws.collator([target]), batch_size=profile.batch_size, num_batches=steps, seed=0)
        fresh = PromptedModel(ws.backbone, SoftPrompt.from_vocab(ws.backbone.embeddings, profile.prompt_tokens, seed=0))
        train_prompt(fresh, loader, ws.train_config(steps, eval_every=0, eval_at_start=False))

    def validation() -> None:
        ws.headline(model, target)

    def test() -> None:
        ws.predict(model, target, "test")

    reps = min(args.reps, 3)
    header("9 run: a whole target run vs its training steps", backbone, args,
           shape=f"{profile.name} profile, PT on {target}, k = {k}, {steps} steps, median of {reps}, "
                 f"{args.warmup} warm-up excluded")
    times = timed(reps, args.warmup, {"whole": whole, "training": training, "validation": validation, "test": test})
    name = backbone.name
    report_ratio(results, f"run/{name}", 1.3, times, "whole", "training",
                 (("whole run      ", "whole"), ("training steps ", "training"), ("one validation ", "validation"),
                  ("test pass      ", "test")),
                 "ratio whole run / training steps")
    passes = len(checkpoints) * med(times["validation"])
    other = med(times["whole"]) - med(times["training"]) - passes - med(times["test"])
    print(f"    split: training {med(times['training']):.1f} s, {len(checkpoints)} validation pass(es) {passes:.1f} s, "
          f"test pass {med(times['test']):.1f} s, other {other:.1f} s", flush=True)
