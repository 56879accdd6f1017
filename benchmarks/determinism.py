"""Are repeated training steps bit-identical on this CPU, and which setting makes them so at what cost?

One prompt-tuning gradient (the prompt's gradient of the label-word loss, on one batch of a real source task) is
computed several times in one process, from the same prompt and the same batch; the calls are compared with the
first, bit for bit. Each setting runs in processes of its own (two by default), because the math libraries read
their settings at start, and because a rerun is a new process: the processes' first gradients are compared too.

    default         the machine's settings (torch's threads = the cores)
    MKL_CBWR        MKL_CBWR=COMPATIBLE: MKL's conditional numerical reproducibility (the same code path and
                    reduction order whatever the memory alignment)
    MKL_DYNAMIC     MKL_DYNAMIC=FALSE: MKL may not choose fewer threads than asked for
    OMP_DYNAMIC     OMP_DYNAMIC=FALSE: likewise for OpenMP
    deterministic   torch.use_deterministic_algorithms(True)
    1 thread        torch.set_num_threads(1)

It prints, per setting, how many calls differ from the first within a process, the largest absolute difference
within and between processes, and the median time of a call (the ratio to the default is the cost of the setting; the host is shared, so read ratios, not seconds).

    flock /tmp/mpt_heavy.lock .venv/bin/python -m benchmarks.determinism   # SmolLM2: 12 processes, ~10 min on a quiet host
    .venv/bin/python -m benchmarks.determinism --smoke                      # the tiny random model: a process start each
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def measure(*, smoke: bool, calls: int, batch_size: int, save: str | None = None) -> dict[str, float | int]:
    """In this process: ``calls`` gradients of one batch; how many differ from the first, by how much, how fast
    (and the first gradient saved to ``save``, a safetensors file, for comparing processes)."""
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
    if save:
        from safetensors.torch import save_file

        save_file({"grad": first}, save)
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
    parser.add_argument("--processes", type=int, default=2, help="processes per setting, whose gradients are compared")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.calls < 2:
        parser.error(f"--calls {args.calls}: compare at least 2 calls with the first")
    if args.processes < 1:
        parser.error(f"--processes {args.processes}: at least 1")
    if args.child:
        print(json.dumps(measure(smoke=args.smoke, calls=args.calls, batch_size=args.batch_size, save=args.save)))
        return 0
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; backbone: {'tiny-llama' if args.smoke else 'smollm2'}; "
          f"one prompt-tuning gradient on {args.batch_size} rows of {TASK}, {args.calls} calls per setting vs the first")
    from safetensors.torch import load_file

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.settings:
            env = {**os.environ, "MPT_NB_PROGRESS": "0", **SETTINGS[name]}
            runs, grads = [], []
            for i in range(args.processes):
                save = os.path.join(tmp, f"{len(results)}-{i}.safetensors")
                child = [sys.executable, __file__, "--child", "--calls", str(args.calls), "--batch-size",
                         str(args.batch_size), "--save", save] + ["--smoke"] * args.smoke
                done = subprocess.run(child, env=env, capture_output=True, text=True, cwd=ROOT)
                if done.returncode != 0:
                    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
                    print(f"setting {name!r} failed: {last}")
                    return 1
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                grads.append(load_file(save)["grad"])
            between = max((float((g - grads[0]).abs().max()) for g in grads[1:]), default=0.0)
            results[name] = {
                **runs[0],
                "differ": sum(r["differ"] for r in runs),
                "compared": sum(r["calls"] - 1 for r in runs),
                "max_abs_diff": max(r["max_abs_diff"] for r in runs),
                "between_processes": between,
                "processes_differ": sum(not bool((g == grads[0]).all()) for g in grads[1:]),
                "median_s": statistics.median(r["median_s"] for r in runs),
            }
    base = results.get("default", next(iter(results.values())))["median_s"]
    print(f"{'setting':<14} {'threads':>7} {'calls differ':>13} {'max |diff|':>11} {'processes differ':>17} "
          f"{'max |diff|':>11} {'|grad| max':>11} {'median s':>9} {'÷ default':>9}")
    for name, r in results.items():
        print(f"{name:<14} {r['threads']:>7} {r['differ']:>6} of {r['compared']:<4} {r['max_abs_diff']:>11.2e} "
              f"{r['processes_differ']:>10} of {args.processes - 1:<4} {r['between_processes']:>11.2e} "
              f"{r['grad_scale']:>11.2e} {r['median_s']:>9.3f} {r['median_s'] / base:>9.2f}")
    print("summary:", json.dumps({name: {"differ": r["differ"], "processes_differ": r["processes_differ"],
                                         "ratio": round(r["median_s"] / base, 3)} for name, r in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
