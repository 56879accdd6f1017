"""The data supply for pinned GitHub files, and the tasks that read them (on the real mirrored files)."""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path

import pytest

from mpt_nb.metrics import compute_metric
from mpt_nb.tasks import (
    DataFileError,
    PinnedFile,
    fetch_file,
    fetch_task_files,
    get_task,
    list_tasks,
    load_task_splits,
    mirror_dir,
    unfetched_tasks,
)
from mpt_nb.tasks import pinned as task_pinned
from mpt_nb.tasks.inference import negation_rule, read_fever_symmetric

PINNED_TASKS = list_tasks("pinned")
ALL_FILES = list(dict.fromkeys(f for name in PINNED_TASKS for f in get_task(name).files))
MANIFEST = Path(task_pinned._DEFAULT_MIRROR).parent / "MANIFEST.tsv"


def _fake(tmp_path: Path, data: bytes = b"hello\n") -> PinnedFile:
    return PinnedFile("owner/repo", "a" * 40, "dir/file.txt", hashlib.sha256(data).hexdigest(), "MIT", "Someone 2024")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MPT_NB_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_every_pinned_file_matches_its_sha256_in_the_mirror():
    assert mirror_dir() is not None, "no mirror: the tests read ../shared/data/github (or $MPT_NB_MIRROR)"
    assert ALL_FILES
    for f in ALL_FILES:
        data = (mirror_dir() / f.relative).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256, f.relative


def test_the_pins_agree_with_the_mirrors_manifest():
    if not MANIFEST.is_file():
        pytest.skip("no MANIFEST.tsv beside the mirror")
    rows = [line.split("\t") for line in MANIFEST.read_text(encoding="utf-8").splitlines()[1:]]
    manifest = {f"{repo}/{commit}/{path}": sha for repo, commit, path, _, sha, *_ in rows}
    for f in ALL_FILES:
        assert manifest.get(f.relative) == f.sha256, f.relative


def test_fetch_through_a_mirror_keeps_a_verified_copy(tmp_path, cache):
    f = _fake(tmp_path)
    mirror = tmp_path / "mirror"
    (mirror / f.relative).parent.mkdir(parents=True)
    (mirror / f.relative).write_bytes(b"hello\n")
    path = fetch_file(f, mirror=mirror, download=lambda url: pytest.fail("the mirror should be used"))
    assert path == cache / "github" / f.relative and path.read_bytes() == b"hello\n"
    (mirror / f.relative).unlink()  # once cached, neither the mirror nor GitHub is asked
    assert fetch_file(f, mirror=mirror, download=lambda url: pytest.fail("cached")) == path


def test_fetch_from_github_uses_the_pinned_commit(tmp_path, cache):
    f = _fake(tmp_path)
    asked = []
    path = fetch_file(f, mirror=None, download=lambda url: asked.append(url) or b"hello\n")
    assert asked == ["https://raw.githubusercontent.com/owner/repo/" + "a" * 40 + "/dir/file.txt"]
    assert path.read_bytes() == b"hello\n"


def test_a_file_that_differs_is_refused_in_one_line_and_nothing_is_written(tmp_path, cache):
    f = _fake(tmp_path)
    with pytest.raises(DataFileError) as err:
        fetch_file(f, mirror=None, download=lambda url: b"tampered\n")
    message = str(err.value)
    assert "\n" not in message and f.sha256 in message and hashlib.sha256(b"tampered\n").hexdigest() in message
    assert not cache.exists()  # no folder, no half-written file


def test_a_corrupted_cached_copy_is_fetched_again(tmp_path, cache):
    f = _fake(tmp_path)
    (cache / "github" / f.relative).parent.mkdir(parents=True)
    (cache / "github" / f.relative).write_bytes(b"truncated")
    assert fetch_file(f, mirror=None, download=lambda url: b"hello\n").read_bytes() == b"hello\n"


def test_offline_without_a_mirror_names_the_file_and_both_fixes(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(task_pinned.MIRROR_ENV, "")  # set but empty: no mirror

    def offline(url: str) -> bytes:
        raise urllib.error.URLError("Name or service not known")

    f = _fake(tmp_path)
    assert mirror_dir() is None
    with pytest.raises(DataFileError) as err:
        fetch_file(f, download=offline)
    message = str(err.value)
    assert "\n" not in message and f.relative in message
    assert "connect to the internet" in message and task_pinned.MIRROR_ENV in message
    assert not cache.exists()


def test_the_default_supply_really_goes_to_github_without_a_mirror(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(task_pinned.MIRROR_ENV, "")
    monkeypatch.setattr(task_pinned.urllib.request, "urlopen",
                        lambda url, timeout: (_ for _ in ()).throw(urllib.error.URLError("no network")))
    with pytest.raises(DataFileError, match="GitHub cannot be reached"):
        load_task_splits("sick_nli")


def test_unfetched_tasks_and_fetch_task_files(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(task_pinned.MIRROR_ENV, "")
    assert unfetched_tasks(["sick_nli", "movie_sentiment", "intent_recognition"]) == ["sick_nli", "intent_recognition"]
    monkeypatch.delenv(task_pinned.MIRROR_ENV)
    assert unfetched_tasks(["sick_nli", "movie_sentiment"]) == []  # in the mirror
    paths = fetch_task_files(["sick_nli", "fever_symmetric"])
    assert [p.name for p in paths] == ["SICK.txt", "fever_symmetric_dev.jsonl", "fever_symmetric_test.jsonl"]
    monkeypatch.setenv(task_pinned.MIRROR_ENV, "")
    assert unfetched_tasks(["sick_nli"]) == []  # now cached


def test_retired_tasks_keep_their_template_but_refuse_to_load():
    assert "Claim: {claim}" in get_task("fact_verification").template
    with pytest.raises(DataFileError, match="retired offline suite v2"):
        load_task_splits("intent_recognition")


@pytest.mark.parametrize("name", [*PINNED_TASKS, "bbc_headlines"])
def test_each_task_loads_real_rows_with_no_text_across_splits(name):
    task = get_task(name)
    splits = load_task_splits(name)
    sizes = {s: len(d) for s, d in splits.items()}
    assert min(sizes.values()) > 0, sizes
    seen = {s: set(d["input_text"]) for s, d in splits.items()}
    assert not seen["train"] & seen["test"] and not seen["validation"] & seen["test"]
    assert set(splits["train"]["label"]) == set(range(task.num_classes))
    assert task.licence and task.source


def test_fever_symmetric_splits_by_claim():
    splits = load_task_splits("fever_symmetric")
    claims = {s: {t.split("\nClaim: ")[1].split("\n")[0] for t in d["input_text"]} for s, d in splits.items()}
    assert not claims["train"] & claims["test"] and not claims["train"] & claims["validation"]
    assert len(read_fever_symmetric()) == sum(len(d) for d in splits.values())


def test_presupposition_nli_reads_the_rows_the_v2_grid_scored():
    # sha256 of the comma-joined test labels that the v2 target-lr search recorded from BIG-bench 1.0.0's file
    labels = load_task_splits("presupposition_nli")["test"]["label"]
    assert hashlib.sha256(",".join(map(str, labels)).encode()).hexdigest() == (
        "6b12dea0d6a166e31425c96156a119a5041a28cbcff2322383af43a4ef68a0b0"
    )


def test_the_negation_rule_reads_negation_words_only():
    assert negation_rule(["It is not true.", "They won't.", "A knot is tied.", "Yes."]) == [0, 0, 1, 1]
    validation = load_task_splits("creak_explained")["validation"]
    rule = negation_rule(validation["explanation"])
    # The explanations leak the label: the rule alone beats the majority share.
    majority = max(validation["label"].count(c) for c in (0, 1)) / len(validation)
    assert compute_metric("accuracy", rule, validation["label"])["accuracy"] > majority + 0.05
