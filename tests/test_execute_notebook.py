"""tools/execute_notebook.py: nbclient with the shell-channel wait cut into short polls (nbclient issue #312)."""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import nbformat
import pytest
from conftest import repo_module

execute_notebook = repo_module("tools.execute_notebook")


def test_a_reply_missed_by_one_poll_is_found_by_the_next():
    calls = []

    async def misses_twice(timeout=None):  # a poll that does not see the queued reply until asked again
        calls.append(timeout)
        if len(calls) < 3:
            await asyncio.sleep(timeout)
            raise Empty
        return {"msg": "reply"}

    get_msg = execute_notebook.sliced(misses_twice, poll_s=0.01)
    assert asyncio.run(get_msg(timeout=60)) == {"msg": "reply"}
    assert len(calls) == 3 and max(calls) <= 0.01  # short polls, not one 60-s wait


def test_the_overall_timeout_still_raises_empty():
    async def never(timeout=None):
        await asyncio.sleep(timeout)
        raise Empty

    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(execute_notebook.sliced(never, poll_s=0.02)(timeout=0.1))
    assert 0.09 <= time.monotonic() - start < 2


def test_it_executes_a_notebook_and_writes_the_outputs(tmp_path, capsys):
    path = tmp_path / "tiny.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    assert execute_notebook.main([str(path)]) == 0
    (cell,) = nbformat.read(path, as_version=4).cells
    assert cell.outputs[0]["text"] == "42\n"
    assert execute_notebook.main([str(tmp_path / "missing.ipynb")]) == 2
    assert "no notebook at" in capsys.readouterr().err
