"""Text shared between tasks: which input texts occur in two tasks, exactly or once case and spacing are folded.

A task's input texts are the values of the row fields its template reads (``utterance``, ``query``, ``premise`` and
``hypothesis``, ``claim``, ``text``, ...), each field of each row of every split counted as one text, uncapped. Two
tasks that share texts let a prompt trained on one see the other's rows (a SNIPS weather request may also be a CLINC
query), so a suite whose tasks count as separate shares none.

    shared_texts(["snips_intent", "clinc_domain"])   # {("snips_intent", "clinc_domain"): [...]}
    near_duplicate_rate("snips_intent", "clinc_domain")
    overlap_table(["snips_intent", "clinc_domain", "sick_nli"])   # a markdown table of the pairs that share text

``tools/task_overlap.py TASK...`` prints that table.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from .base import SPLITS, Task, _as_text, _template_fields, get_task
from .splits import load_task_splits

__all__ = ["fold", "input_fields", "near_duplicate_rate", "overlap_table", "shared_texts", "task_texts"]


def fold(text: str) -> str:
    """``text`` case-folded, with every run of whitespace one space and none at the ends."""
    return " ".join(text.casefold().split())


def input_fields(task: Task | str) -> list[str]:
    """The row fields a task's template reads, in the template's order, each once."""
    return list(dict.fromkeys(_template_fields(get_task(task).template)))


def task_texts(task: Task | str, *, split_seed: int = 0) -> list[str]:
    """Every distinct input text of a task: each template field of each row of every split (uncapped), stripped,
    empty values left out, in order of first appearance."""
    task = get_task(task)
    fields = input_fields(task)
    splits = load_task_splits(task, split_seed=split_seed)
    texts: dict[str, None] = {}
    for split in SPLITS:
        columns = splits[split].select_columns(fields).to_dict()
        for field in fields:
            for value in columns[field]:
                text = str(_as_text(value)).strip()
                if text:
                    texts[text] = None
    return list(texts)


def _check_names(tasks: Sequence[Task | str]) -> list[str]:
    names = [get_task(t).name for t in tasks]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"tasks {repeated} are named more than once; name each task once")
    return names


def _shared(a: list[str], b: list[str], *, folded: bool) -> list[str]:
    """The texts of ``a`` that occur in ``b`` (one per folded form when ``folded``), sorted."""
    if not folded:
        return sorted(set(a) & set(b))
    in_b = {fold(t) for t in b}
    first: dict[str, str] = {}
    for text in a:
        key = fold(text)
        if key in in_b:
            first.setdefault(key, text)
    return sorted(first.values())


def _rate(a: list[str], b: list[str]) -> float:
    in_a = {fold(t) for t in a}
    folded_b = {fold(t) for t in b}
    return len(folded_b & in_a) / len(folded_b) if folded_b else 0.0


def shared_texts(
    tasks: Sequence[Task | str], *, split_seed: int = 0, folded: bool = True
) -> dict[tuple[str, str], list[str]]:
    """For every pair of ``tasks`` (in the given order), the input texts that occur in both, sorted.

    ``folded`` compares texts case-folded and whitespace-normalised (each shared text then appears once, spelled as
    in the pair's first task); ``folded=False`` compares them exactly. Pairs that share nothing map to ``[]``.
    """
    names = _check_names(tasks)
    texts = {name: task_texts(name, split_seed=split_seed) for name in names}
    return {(a, b): _shared(texts[a], texts[b], folded=folded) for a, b in combinations(names, 2)}


def near_duplicate_rate(a: Task | str, b: Task | str, *, split_seed: int = 0) -> float:
    """The share of ``b``'s distinct input texts whose case-folded, whitespace-normalised form is among ``a``'s."""
    return _rate(task_texts(a, split_seed=split_seed), task_texts(b, split_seed=split_seed))


def _cell(text: str, width: int = 60) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def overlap_table(tasks: Sequence[Task | str], *, split_seed: int = 0, examples: int = 1) -> str:
    """A markdown table of the pairs of ``tasks`` that share input text: exact and case-folded counts, each task's
    share of its texts found in the other, and up to ``examples`` shared texts; a last line counts the clean pairs."""
    names = _check_names(tasks)
    texts = {name: task_texts(name, split_seed=split_seed) for name in names}
    lines = [
        "| task a | task b | texts a / b | shared exactly | shared case-folded | of a's in b | of b's in a | e.g. |",
        "|---|---|---|---|---|---|---|---|",
    ]
    pairs = list(combinations(names, 2))
    clean = 0
    for a, b in pairs:
        folded = _shared(texts[a], texts[b], folded=True)
        if not folded:
            clean += 1
            continue
        exact = _shared(texts[a], texts[b], folded=False)
        shown = "; ".join(f"“{_cell(t)}”" for t in folded[:examples])
        lines.append(
            f"| {a} | {b} | {len(texts[a]):,} / {len(texts[b]):,} | {len(exact):,} | {len(folded):,} | "
            f"{_rate(texts[b], texts[a]):.2%} | {_rate(texts[a], texts[b]):.2%} | {shown} |"
        )
    lines.append("")
    lines.append(f"{clean} of {len(pairs)} pairs of the {len(names)} tasks share no text, exact or case-folded.")
    return "\n".join(lines)
