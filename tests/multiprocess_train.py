"""Train the smoke profile's teachers and write what came out: run by ``test_multiprocess.py`` under torchrun.

``python multiprocess_train.py OUT_DIR`` (one process, or several under plain ``torchrun``). The script sets nothing
up for accelerate: ``mpt_nb`` itself must join the processes torchrun launched. Every process writes
``rank{i}.json`` (how many processes accelerate and torch.distributed count, its steps, losses, evaluations, best
steps, and how many validation scorings it ran) and ``teachers{i}.safetensors`` (its stacked teacher prompts).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from accelerate import PartialState
from safetensors.torch import save_file

from mpt_nb.pipeline import Workspace, train_teachers
from mpt_nb.profiles import get_profile


def main(out_dir: str) -> None:
    """Train the teachers in this process (one of the launched ones) and write its report under ``out_dir``."""
    # One intra-op thread: the tiny model gains nothing from more, and two processes share two cores.
    torch.set_num_threads(1)
    # Count the validation scorings this process runs: only the main process should score (once per checkpoint).
    evaluations: list[int] = []
    headline = Workspace.headline

    def counted(self: Workspace, *args: object, **kwargs: object) -> float:
        evaluations.append(1)
        return headline(self, *args, **kwargs)

    Workspace.headline = counted
    try:
        teachers, results = train_teachers(Workspace.from_profile(get_profile("smoke")), seed=0)
    finally:
        Workspace.headline = headline
    distributed = torch.distributed.is_initialized()
    rank = torch.distributed.get_rank() if distributed else 0
    report = {
        # Read after training: the state mpt_nb set up, not one this script chose.
        "num_processes": PartialState().num_processes,
        "world_size": torch.distributed.get_world_size() if distributed else 1,
        "evaluations": len(evaluations),
        "results": [
            {"best_step": r.best_step, "best_metric": r.best_metric, "steps": r.steps, "evals": r.evals,
             "history": r.history}
            for r in results
        ],
    }  # fmt: skip
    out = Path(out_dir)
    (out / f"rank{rank}.json").write_text(json.dumps(report))
    save_file({"weight": teachers.weight.detach().contiguous()}, out / f"teachers{rank}.safetensors")
    if distributed:
        # A clean shutdown: no process leaves while its peer still holds a gloo connection to it.
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
