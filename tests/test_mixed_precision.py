"""The profile's mixed-precision switch reaches the training loop: under bf16 the backbone's matmuls run in bfloat16.

accelerate fixes the precision once per process, so each setting runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, sys, torch
from mpt_nb.pipeline import Workspace, train_teachers
from mpt_nb.profiles import get_profile

ws = Workspace.from_profile(get_profile("smoke", mixed_precision=sys.argv[1], source_tasks=("movie_sentiment",)))
seen = set()
layer = ws.backbone.model.model.layers[0].mlp.down_proj
layer.register_forward_hook(lambda module, args, out: seen.add(str(out.dtype)) if torch.is_grad_enabled() else None)
prompts, runs = train_teachers(ws, seed=0)
print(json.dumps({"dtypes": sorted(seen), "steps": runs[0].steps,
                  "finite": bool(torch.isfinite(prompts.weight).all()), "prompt": str(prompts.weight.dtype)}))
"""


@pytest.mark.parametrize(("setting", "dtype"), [("no", "torch.float32"), ("bf16", "torch.bfloat16")])
def test_mixed_precision_setting_reaches_the_training_matmuls(setting, dtype):
    env = {**os.environ, "MPT_NB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, setting], capture_output=True, text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dtypes"] == [dtype], result
    # The prompt itself stays float32 (autocast changes the compute, not the stored weights) and trains normally.
    assert result["prompt"] == "torch.float32" and result["finite"] and result["steps"] == 4
