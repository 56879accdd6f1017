"""Two CPU processes under plain torchrun (gloo) train the same teachers as one: a step is one global batch, split by
rows. Nothing tells accelerate to use the CPU (no ``ACCELERATE_USE_CPU``, no set-up in the script): mpt_nb must count
the processes torchrun launched by itself."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import mpt_nb
from mpt_nb.profiles import get_profile

SCRIPT = Path(__file__).with_name("multiprocess_train.py")
PACKAGE_ROOT = Path(mpt_nb.__file__).parents[1]  # the children import the mpt_nb this test imports
PROCESSES = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_torchrun(out: Path) -> None:
    """The script under ``torchrun`` with two CPU processes (gloo); fails the test with the children's output."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "ACCELERATE_USE_CPU"},
        "CUDA_VISIBLE_DEVICES": "",  # the CPU case, even on a machine with a GPU
        # The script's folder, not the cwd, heads the children's path: without this they would import an installed mpt_nb.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])),
        "MPT_NB_PROFILE": "smoke",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "MPT_NB_PROGRESS": "0",  # no progress bars: a failure's traceback stays within the stderr shown
        "TQDM_DISABLE": "1",
    }
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(PROCESSES),
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), str(SCRIPT), str(out),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"torchrun did not finish in {err.timeout} s\nstderr:\n{err.stderr}")
    if done.returncode != 0:
        pytest.fail(
            f"torchrun exited with {done.returncode}\nstdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-8000:]}"
        )
    print(done.stderr[-8000:], file=sys.stderr)  # shown by pytest if a later assertion fails


def _run_here(out: Path) -> None:
    """The same script in this (single, non-distributed) process."""
    spec = importlib.util.spec_from_file_location("multiprocess_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(str(out))


def test_two_processes_train_the_same_teachers_as_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    _run_torchrun(two)
    _run_here(one)

    single = json.loads((one / "rank0.json").read_text())
    ranks = [json.loads((two / f"rank{i}.json").read_text()) for i in range(PROCESSES)]
    assert single["num_processes"] == single["world_size"] == 1
    # accelerate counts the processes torch.distributed joined (not one process each, training alone).
    assert [(r["num_processes"], r["world_size"]) for r in ranks] == [(PROCESSES, PROCESSES)] * PROCESSES
    # Validation is scored once per checkpoint, by the main process alone; the others get the score broadcast.
    assert ranks[0]["evaluations"] == single["evaluations"] > 0 and ranks[1]["evaluations"] == 0
    for rank in ranks:
        for got, want in zip(rank["results"], single["results"], strict=True):
            # Every process ran every step, on the same global batches (so the same losses), and picked the same step.
            assert got["steps"] == want["steps"] == len(got["history"]) == get_profile("smoke").teacher_steps
            assert [h["step"] for h in got["history"]] == list(range(1, want["steps"] + 1))
            assert [h["loss"] for h in got["history"]] == pytest.approx(
                [h["loss"] for h in want["history"]], abs=1e-5
            )
            assert got["best_step"] == want["best_step"]
            assert [e["step"] for e in got["evals"]] == [e["step"] for e in want["evals"]]
            assert [e["metric"] for e in got["evals"]] == pytest.approx([e["metric"] for e in want["evals"]])
    alone = load_file(one / "teachers0.safetensors")["weight"]
    first, second = (load_file(two / f"teachers{i}.safetensors")["weight"] for i in range(PROCESSES))
    # DDP hands every process the same averaged gradients, so the ranks hold the same prompt; one process on the same
    # global batches differs only by the order its sums were rounded in.
    torch.testing.assert_close(second, first, rtol=0, atol=0)
    torch.testing.assert_close(first, alone, rtol=1e-5, atol=1e-5)
