"""Are repeated training steps bit-identical on this CPU, and which setting makes them so at what cost?

One prompt-tuning gradient (the prompt's gradient of the label-word loss, on one batch of a real source task) is
computed several times in one process, from the same prompt and the same batch; the calls are compared with the
first, bit for bit. Each setting runs in its own process, because the math libraries read their settings at start:

    default         the machine's settings (torch's threads = the cores)
    MKL_CBWR        MKL_CBWR=COMPATIBLE: MKL's conditional numerical reproducibility (the same code path and
                    reduction order whatever the memory alignment)
    MKL_DYNAMIC     MKL_DYNAMIC=FALSE: MKL may not choose fewer threads than asked for
    OMP_DYNAMIC     OMP_DYNAMIC=FALSE: likewise for OpenMP
    deterministic   torch.use_deterministic_algorithms(True)
    1 thread        torch.set_num_threads(1)

It prints, per setting, how many calls differ from the first, the largest absolute difference, and the median time
of a call (the ratio to the default is the cost of the setting; the host is shared, so read ratios, not seconds).

    flock /tmp/mpt_heavy.lock .venv/bin/python benchmarks/determinism.py            # SmolLM2, ~3 min
    .venv/bin/python benchmarks/determinism.py --smoke                               # the tiny random model, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASK = "movie_sentiment"
SETTINGS: dict[str, dict[str, str]] = {  # name: environment variables (and the child's own switches, MPT_DET_*)
    "default": {},
    "MKL_CBWR": {"MKL_CBWR": "COMPATIBLE"},
    "MKL_DYNAMIC": {"MKL_DYNAMIC": "FALSE"},
    "OMP_DYNAMIC": {"OMP_DYNAMIC": "FALSE"},
    "deterministic": {"MPT_DET_DETERMINISTIC": "1"},
    "1 thread": {"MPT_DET_THREADS": "1"},
}


def measure(*, smoke: bool, calls: int, batch_size: int) -> dict[str, float | int]:
    """In this process: ``calls`` gradients of one batch; how many differ from the first, by how much, how fast."""
    import torch

    if os.environ.get("MPT_DET_DETERMINISTIC"):
        torch.use_deterministic_algorithms(True)
    if os.environ.get("MPT_DET_THREADS"):
        torch.set_num_threads(int(os.environ["MPT_DET_THREADS"]))
    from mpt_nb.losses import classification_objective
    from mpt_nb.pipeline import Workspace
    from mpt_nb.profiles import get_profile
    from mpt_nb.prompted import PromptedModel
    from mpt_nb.prompts import SoftPrompt

    ws = Workspace.from_profile(get_profile("smoke" if smoke else "offline"))
    rows = ws.tokenised(TASK, "train").select(range(batch_size))
    batch = ws.collator([TASK])([rows[i] for i in range(len(rows))])
    model = PromptedModel(ws.backbone, SoftPrompt.from_vocab(ws.backbone.embeddings, ws.profile.prompt_tokens, seed=0))
    model.train()
    grads, times = [], []
    for _ in range(calls + 1):  # the first call warms up (allocations, lazy initialisation) and is not timed
        model.prompt.zero_grad(set_to_none=True)
        start = time.perf_counter()
        loss, _terms = classification_objective(model, batch)
        loss.backward()
        times.append(time.perf_counter() - start)
        grads.append(model.prompt.weight.grad.detach().clone())
    first, rest = grads[1], grads[2:]
    return {
        "threads": torch.get_num_threads(),
        "calls": calls,
        "differ": sum(not torch.equal(first, g) for g in rest),
        "max_abs_diff": max((float((g - first).abs().max()) for g in rest), default=0.0),
        "grad_scale": float(first.abs().max()),
        "median_s": statistics.median(times[1:]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the tiny random model (seconds; for the tests)")
    parser.add_argument("--calls", type=int, default=6, help="gradients per setting, compared with the first")
    parser.add_argument("--batch-size", type=int, default=8, help="rows in the batch (the profiles train on 8)")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.calls < 2:
        parser.error(f"--calls {args.calls}: compare at least 2 calls with the first")
    if args.child:
        print(json.dumps(measure(smoke=args.smoke, calls=args.calls, batch_size=args.batch_size)))
        return 0
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; backbone: {'tiny-llama' if args.smoke else 'smollm2'}; "
          f"one prompt-tuning gradient on {args.batch_size} rows of {TASK}, {args.calls} calls per setting vs the first")
    results = {}
    for name in args.settings:
        env = {**os.environ, "MPT_NB_PROGRESS": "0", **SETTINGS[name]}
        child = [sys.executable, __file__, "--child", "--calls", str(args.calls), "--batch-size", str(args.batch_size)]
        done = subprocess.run(child + ["--smoke"] * args.smoke, env=env, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            print(f"setting {name!r} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
            return 1
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    base = results.get("default", next(iter(results.values())))["median_s"]
    print(f"{'setting':<14} {'threads':>7} {'differ':>8} {'max |diff|':>11} {'|grad| max':>11} {'median s':>9} {'÷ default':>9}")
    for name, r in results.items():
        print(f"{name:<14} {r['threads']:>7} {r['differ']:>4} of {r['calls'] - 1:<2} {r['max_abs_diff']:>11.2e} "
              f"{r['grad_scale']:>11.2e} {r['median_s']:>9.3f} {r['median_s'] / base:>9.2f}")
    print("summary:", json.dumps({name: {"differ": r["differ"], "ratio": round(r["median_s"] / base, 3)}
                                  for name, r in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
