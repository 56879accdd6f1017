"""Run records on disk: one tolerant reader, an atomic writer and an appender that survives a killed run.

A record is one target-adaptation run as ``mpt_nb.pipeline.adapt_target`` returns it (task, method, k, seed, test
score, per-row test predictions, ...). Files are JSON Lines, one run per line; the benchmark appends to them run by
run, so the reader skips a torn last line that a killed run left behind.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..files import atomic_write_text

__all__ = ["append_record", "load_records", "record_key", "save_records"]


def load_records(path: str | os.PathLike, *, missing_ok: bool = False) -> list[dict[str, Any]]:
    """The complete records of a JSON Lines file; a malformed (torn) line is skipped with a warning."""
    path = Path(path)
    if not path.exists():
        if missing_ok:
            return []
        raise FileNotFoundError(f"no results at {path}; run `python -m mpt_nb demo` or the benchmark that writes it")
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            warnings.warn(f"{path}:{number} is not a complete JSON line (a run killed mid-write?); skipped", stacklevel=2)
    return records


def save_records(records: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Write result records as JSON Lines, atomically (the whole file at once)."""
    return atomic_write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def append_record(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one whole line and fsync, starting a new line if a killed run left a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                line = "\n" + line
        f.write(line.encode())
        f.flush()
        os.fsync(f.fileno())


def record_key(record: dict[str, Any]) -> tuple[str, str, str, int, str, int | None, int | None]:
    """What identifies a run within one grid: (task, method, k, seed, ablation, source seed, validation k)."""
    return (
        record["task"], record["method"], str(record["k"]), int(record["seed"]), record.get("ablation", "none"),
        record.get("source_seed"), record.get("validation_k"),
    )
