"""The exercises' self-checks: one module per notebook (``nb01`` ... ``nb06``), one function per exercise.

A notebook's check cell is one call, ``nb01.exercise_3(globals())``: the check reads the student's names from the
notebook's namespace and says what is missing or wrong, so a student knows what to fix. The helpers here read that
namespace: ``check_defined`` and ``check_answer`` the student's answers (an undefined name fails with "not defined
yet"), ``from_lesson`` what the lesson's cells computed, which a check reads only after the student's answer passed
the checks that need no lesson state. Called without ``namespace``, ``check_defined`` and ``check_answer`` read the
namespace of the cell that calls them.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["check_answer", "check_defined", "from_lesson", "is_flag"]


def check_defined(*names: str, namespace: dict[str, Any] | None = None) -> Any:
    """The values of these names (one value for one name); fails naming those not defined yet (the solution cell
    has not run, or did not set them)."""
    namespace = sys._getframe(1).f_globals if namespace is None else namespace
    missing = [name for name in names if name not in namespace]
    assert not missing, f"not defined yet: {', '.join(missing)}; write your solution in the cell above and run it"
    values = tuple(namespace[name] for name in names)
    return values[0] if len(values) == 1 else values


def check_answer(
    name: str, values: Sequence[str] = (), flags: Sequence[str] = (), *, namespace: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The dict called ``name``, with a number under each key of ``values`` and True/False under each of ``flags``."""
    namespace = sys._getframe(1).f_globals if namespace is None else namespace
    answer = check_defined(name, namespace=namespace)
    assert isinstance(answer, dict), f"{name} should be a dict, got a {type(answer).__name__}"
    missing = [key for key in (*values, *flags) if key not in answer]
    assert not missing, f"{name} lacks the key(s) {missing}: store your numbers and your answer there"
    for key in values:
        value = answer[key]
        assert isinstance(value, numbers.Real) and not is_flag(value), f"{name}[{key!r}] should be a number, got {value!r}"
    for key in flags:
        assert is_flag(answer[key]), f"{name}[{key!r}] is your answer to the question: True or False, got {answer[key]!r}"
    return answer


def from_lesson(namespace: dict[str, Any], *names: str) -> Any:
    """The values of names the lesson's cells define (one value for one name), which a check compares with; a
    NameError names those not defined (the cells above the exercise have not run)."""
    missing = [name for name in names if name not in namespace]
    if missing:
        raise NameError(
            f"{', '.join(missing)} not defined: run the notebook's cells above the exercises first (the check compares "
            "your answer with what they computed)"
        )
    values = tuple(namespace[name] for name in names)
    return values[0] if len(values) == 1 else values


def is_flag(value: Any) -> bool:
    """Whether ``value`` is True or False (a Python or a numpy bool)."""
    return isinstance(value, bool) or str(getattr(value, "dtype", "")) == "bool"
