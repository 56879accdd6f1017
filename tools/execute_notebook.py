"""Execute one notebook top to bottom in a fresh kernel (working directory: the notebook's folder) and write its
outputs back into the file: what `jupytext --execute` or `jupyter nbconvert --execute` would do, with nbclient.

    .venv/bin/python tools/execute_notebook.py notebooks/06_parameter_efficiency_explorer.ipynb

One change to nbclient's waiting: it waits for a cell's reply on the kernel's shell channel with one poll as long as
the cell timeout, and that poll can miss a reply that has already arrived (nbclient issue #312, open; seen here in
notebook 06's widget cells: the kernel idle, the runner waiting until the timeout). Here the wait is cut into 1-s
polls, each of which finds a message already queued, so such a cell ends within a second of its reply; the cell
timeout is still counted from the start of the wait.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from queue import Empty

import nbformat
from nbclient import NotebookClient

POLL_S = 1.0


def sliced(wait_once, poll_s: float = POLL_S):
    """``wait_once(timeout=...)`` (a channel's ``get_msg``) as a series of polls of at most ``poll_s`` seconds: the
    same overall timeout (None: wait forever), raising ``queue.Empty`` only once it has passed."""

    async def get_msg(timeout: float | None = None, **kwargs):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = poll_s if deadline is None else min(poll_s, max(0.0, deadline - time.monotonic()))
            try:
                return await wait_once(timeout=left, **kwargs)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg


class PatientNotebookClient(NotebookClient):
    """nbclient's client, whose shell-channel waits are a series of short polls (see the module docstring)."""

    async def async_start_new_kernel_client(self):  # type: ignore[override]
        client = await super().async_start_new_kernel_client()
        client.shell_channel.get_msg = sliced(client.shell_channel.get_msg)
        return client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", help="the .ipynb file to execute (its outputs are replaced)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a single cell may take (default 1800)")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.notebook):
        print(f"error: no notebook at {args.notebook!r}", file=sys.stderr)
        return 2
    nb = nbformat.read(args.notebook, as_version=4)
    nb.metadata.pop("widgets", None)  # widget state of an earlier run
    folder = os.path.dirname(os.path.abspath(args.notebook))
    PatientNotebookClient(nb, timeout=args.timeout, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
    nbformat.write(nb, args.notebook)
    return 0


if __name__ == "__main__":
    sys.exit(main())
