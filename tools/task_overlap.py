"""Print which pairs of tasks share input text, exact and case-folded (``mpt_nb.tasks.overlap``).

    python tools/task_overlap.py snips_intent clinc_domain sick_nli   # the pairs of these tasks
    python tools/task_overlap.py                                      # every offline task with data
    python tools/task_overlap.py --examples 3 TASK...                 # up to 3 shared texts per pair

Every row of every split is read, uncapped; a task counts as one text per template field per row.
"""

from __future__ import annotations

import argparse
import sys

from mpt_nb.tasks import list_tasks, overlap_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tasks", nargs="*", help="task names (default: every offline task with data)")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=1, help="shared texts shown per pair")
    args = parser.parse_args(argv)
    names = args.tasks or list_tasks("offline")
    try:
        print(overlap_table(names, split_seed=args.split_seed, examples=args.examples))
    except (KeyError, ValueError, OSError, RuntimeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"task_overlap: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
