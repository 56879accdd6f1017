"""Train the smoke profile's teachers and write what came out: run by ``test_multiprocess.py`` under torchrun.

``python multiprocess_train.py OUT_DIR`` (one process, or several under ``torchrun``). Every process writes
``rank{i}.json`` (its steps, losses, evaluations, best steps, and how many validation scorings it ran) so the test
can check that each one finished; the main process also writes ``teachers.safetensors``, the stacked teacher prompts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from accelerate import PartialState
from accelerate.utils import parse_flag_from_env
from safetensors.torch import save_file

from mpt_nb.pipeline import Workspace, train_teachers
from mpt_nb.profiles import get_profile


def main(out_dir: str) -> None:
    """Train the teachers in this process (one of the launched ones) and write its report under ``out_dir``."""
    # One intra-op thread: the tiny model gains nothing from more, and two processes share two cores.
    torch.set_num_threads(1)
    # Joins the process group torchrun describes. A bare PartialState ignores ACCELERATE_USE_CPU: on a machine
    # without a GPU each process would then run alone.
    state = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"))
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
    out = Path(out_dir)
    report = {
        "num_processes": state.num_processes,
        "evaluations": len(evaluations),
        "results": [
            {"best_step": r.best_step, "best_metric": r.best_metric, "steps": r.steps, "evals": r.evals,
             "history": r.history}
            for r in results
        ],
    }  # fmt: skip
    (out / f"rank{state.process_index}.json").write_text(json.dumps(report))
    if state.is_main_process:
        save_file({"weight": teachers.weight.detach().contiguous()}, out / "teachers.safetensors")
    state.wait_for_everyone()
    if torch.distributed.is_initialized():
        # A clean shutdown: no process leaves while its peer still holds a gloo connection to it.
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
