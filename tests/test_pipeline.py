"""The method end to end on a shrunk smoke profile, and the demo command line."""

from __future__ import annotations

import json

import pytest
import torch

from mpt_nb import profiles
from mpt_nb.__main__ import main
from mpt_nb.methods import METHODS, TEACHERS, SourceStage, get_method
from mpt_nb.pipeline import (
    Workspace,
    adapt_target,
    adapt_target_both_selections,
    distill_shared_prompt,
    train_teachers,
    zero_shot,
)
from mpt_nb.prompted import PromptedModel
from mpt_nb.prompts import MultitaskPrompt, NoPrompt, SoftPrompt, expected_trainable
from mpt_nb.sources import SourceStore
from mpt_nb.targets import run_identity
from mpt_nb.tasks import get_task

SHRUNK = {
    "source_tasks": ("movie_sentiment", "question_type"),
    "target_tasks": ("amazon_sentiment",),
    "max_train": 16,
    "max_eval": 8,
    "max_validation": 8,
    "max_input_tokens": 32,
    "batch_size": 4,
    "eval_batch_size": 16,
    "teacher_steps": 2,
    "distill_steps": 2,
    "target_steps": 2,
    "few_shot_steps": 2,
    "eval_every": 0,
    "few_shot_k": (2,),
}
RECORD_KEYS = {
    "profile", "sizing", "backbone", "task", "method", "ablation", "k", "seed", "source_seed", "metric", "test",
    "test_rows", "validation", "trainable_params", "prompt_tokens", "rank", "steps", "best_step", "checkpoint_steps",
    "wall_time_s", "test_predictions", "run_identity",
}  # fmt: skip
TARGET = "amazon_sentiment"


@pytest.fixture(scope="module")
def profile():
    return profiles.get_profile("smoke", **SHRUNK)


@pytest.fixture(scope="module")
def ws(profile):
    return Workspace.from_profile(profile)


@pytest.fixture(scope="module")
def teachers(ws):
    return train_teachers(ws, seed=0)


@pytest.fixture(scope="module")
def distilled(ws, teachers):
    return distill_shared_prompt(ws, teachers[0], get_method("mpt").source, seed=0)


@pytest.fixture(scope="module")
def joint(ws):
    return distill_shared_prompt(ws, None, get_method("decomp").source, seed=0)


@pytest.fixture(scope="module")
def sources(ws, teachers, distilled, joint):
    """A store holding the stages trained above, so adapt_target does not train them again."""
    store = SourceStore(ws)
    store.put(TEACHERS, 0, teachers[0])
    store.put(get_method("mpt").source, 0, distilled[0])
    store.put(get_method("decomp").source, 0, joint[0])
    return store


def test_workspace_uses_the_profile(ws, profile):
    assert ws.backbone.name == "tiny-llama" and ws.profile is profile
    splits = ws.splits(TARGET)
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == (16, 8, 8)
    assert ws.tokenised("question_type", "train", task_id=1)["task_id"] == [1] * 16


def test_train_teachers_one_prompt_per_source_task(teachers, profile, ws):
    prompts, runs = teachers
    assert isinstance(prompts, SoftPrompt)
    assert prompts.weight.shape == (2, profile.prompt_tokens, ws.backbone.dim)
    assert len(runs) == 2
    for run in runs:
        assert run.steps == 2 and 0.0 <= run.best_metric <= 1.0
    assert not torch.equal(prompts.weight[0], prompts.weight[1])


@pytest.mark.parametrize("stage", ["distilled", "joint"])
def test_distill_shared_prompt_gives_a_multitask_prompt(stage, request, teachers, profile):
    prompt, result = request.getfixturevalue(stage)
    assert isinstance(prompt, MultitaskPrompt)
    assert (prompt.num_tasks, prompt.num_tokens, prompt.rank) == (2, profile.prompt_tokens, profile.rank)
    assert result.steps == 2 and 0.0 <= result.best_metric <= 1.0
    assert torch.isfinite(prompt.task_prompts()).all()
    if stage == "distilled":
        # Initialised at the teachers' mean, then trained away from it.
        mean = teachers[0].task_prompts().mean(0)
        assert prompt.shared[0].shape == mean.shape and not torch.equal(prompt.shared[0], mean)
        assert set(result.history[0]) >= {"loss", "loss_plm", "loss_logits", "loss_hidden"}
    else:
        assert "loss_logits" not in result.history[0]


def test_distillation_needs_teachers(ws):
    with pytest.raises(ValueError, match="teacher"):
        distill_shared_prompt(ws, None, get_method("mpt").source)


def test_no_decomposition_keeps_u_v_at_ones(ws, teachers):
    prompt, _ = distill_shared_prompt(ws, teachers[0], get_method("spot_generic").source, seed=0)
    assert torch.equal(prompt.u, torch.ones_like(prompt.u)) and torch.equal(
        prompt.v, torch.ones_like(prompt.v)
    )


@pytest.mark.parametrize("method", ["pt", "spot", "decomp", "mpt"])
def test_adapt_target_records(method, ws, profile, sources, distilled, joint):
    record = adapt_target(ws, TARGET, method, sources=sources, seed=0)
    assert set(record) >= RECORD_KEYS | ({"spot_source"} if method == "spot" else set())
    assert record.get("lr", profile.lr) == profile.lr
    tokens, d, r = profile.prompt_tokens, ws.backbone.dim, profile.rank
    if method in ("pt", "spot"):
        assert record["trainable_params"] == expected_trainable("pt", tokens, d) == tokens * d
    else:
        assert (
            record["trainable_params"]
            == expected_trainable("mpt", tokens, d, rank=r)
            == tokens * d + (tokens + d) * r
        )
    assert record["method"] == method and record["task"] == TARGET and record["k"] == "full"
    assert record["steps"] == profile.target_steps and record["metric"] == "accuracy"
    assert 0.0 <= record["test"] <= 1.0
    # eval_every 0 and no step-0 evaluation: one candidate, so no validation pass and nothing compared
    assert record["validation"] is None and record["checkpoint_steps"] == [] and record["best_step"] == profile.target_steps
    assert record["rank"] == (0 if method in ("pt", "spot") else r)
    if method == "spot":
        assert record["spot_source"] in profile.source_tasks
    predictions = record["test_predictions"]
    assert predictions["row"] == list(range(record["test_rows"])) == list(range(len(ws.splits(TARGET)["test"])))
    assert predictions["gold"] == ws.splits(TARGET)["test"]["label"]
    accuracy = sum(p == g for p, g in zip(predictions["pred"], predictions["gold"], strict=True)) / record["test_rows"]
    assert accuracy == pytest.approx(record["test"])
    assert (record["source_seed"] is None) == (method == "pt")
    assert record["run_identity"] == run_identity(profile, TARGET, method, k=None, seed=0)
    json.dumps(record)  # records are written as JSON Lines


def test_zero_shot_record_scores_the_template_alone(ws):
    record = zero_shot(ws, TARGET)
    assert set(record) >= RECORD_KEYS - {"validation", "rank", "best_step", "checkpoint_steps", "run_identity"}
    assert record["method"] == "zero_shot" and record["trainable_params"] == 0 and record["steps"] == 0
    # The record's predictions are the bare model's: the same as a prompted model whose prompt is empty.
    model = PromptedModel(ws.backbone, NoPrompt(ws.backbone.dim))
    assert ws.predict(model, TARGET, "test").as_record() == record["test_predictions"]
    predictions = record["test_predictions"]
    accuracy = sum(p == g for p, g in zip(predictions["pred"], predictions["gold"], strict=True)) / record["test_rows"]
    assert accuracy == pytest.approx(record["test"])
    json.dumps(record)


def test_each_method_starts_from_its_own_source_stage(ws, sources, teachers, distilled, joint):
    """The method table decides which shared prompt a target starts from: MPT's is the distilled one."""
    starts = {}
    for method in ("decomp", "mpt"):
        # 0 steps of training would still pick the best checkpoint; read the starting prompt instead.
        from mpt_nb.targets import _target_prompt

        prompt, extra = _target_prompt(ws, TARGET, get_method(method), sources, seed=0, source_seed=0, rank=None)
        starts[method] = prompt.shared.detach()[0]
        assert extra["source_distill"] == (method == "mpt")
        assert extra["source_identity"] == sources.identity(get_method(method).source, 0)
    assert torch.equal(starts["mpt"], distilled[0].shared.detach()[0])
    assert torch.equal(starts["decomp"], joint[0].shared.detach()[0])


def test_adapt_target_k_shot(ws, profile, sources):
    record = adapt_target(ws, TARGET, "mpt", sources=sources, k=2, seed=1, source_seed=0)
    assert record["k"] == 2 and record["seed"] == 1 and record["steps"] == profile.few_shot_steps
    assert record["source_seed"] == 0
    assert record["trainable_params"] == expected_trainable("mpt", profile.prompt_tokens, ws.backbone.dim)
    assert record["run_identity"] == run_identity(profile, TARGET, "mpt", k=2, seed=1, source_seed=0)
    assert record["run_identity"] != run_identity(profile, TARGET, "mpt", k=2, seed=1, source_seed=1)


def test_adapt_target_argument_errors(ws):
    with pytest.raises(ValueError, match="unknown method"):
        adapt_target(ws, TARGET, "lora")
    with pytest.raises(ValueError, match=r"teachers.*sources="):
        adapt_target(ws, TARGET, "spot")
    with pytest.raises(ValueError, match=r"distillation ✓.*sources="):
        adapt_target(ws, TARGET, "mpt")
    assert {"pt", "spot", "spot_generic", "decomp", "mpt"} <= set(METHODS)  # the paper's comparison, at least


def test_generic_spot_starts_from_the_single_mixture_prompt(ws, sources):
    record = adapt_target(ws, TARGET, "spot_generic", sources=sources, k=2, seed=0)
    stage = sources.get(METHODS["spot_generic"].source, 0)
    assert not stage.u.requires_grad  # the source stage trained one prompt for every task
    width, length = ws.backbone.dim, ws.profile.prompt_tokens
    assert record["trainable_params"] == length * width and record["source_decompose"] is False


def test_a_run_with_checkpoints_to_compare_records_its_validation_score(ws):
    ws_evals = Workspace(ws.profile.with_overrides(eval_every=1), ws.backbone)
    record = adapt_target(ws_evals, TARGET, "pt", k=2, seed=0)
    assert 0.0 <= record["validation"] <= 1.0 and record["checkpoint_steps"] == [1, 2]
    at_start = adapt_target(Workspace(ws.profile.with_overrides(target_eval_at_start=True), ws.backbone), TARGET, "pt",
                            k=2, seed=0)
    assert 0.0 <= at_start["validation"] <= 1.0 and at_start["checkpoint_steps"] == [0, 2]
    # A run with one candidate records a score only when asked (a learning-rate search compares runs by it).
    asked = adapt_target(ws, TARGET, "pt", k=2, seed=0, always_validate=True)
    assert 0.0 <= asked["validation"] <= 1.0 and asked["checkpoint_steps"] == [2] and asked["best_step"] == 2
    assert adapt_target(ws, TARGET, "pt", k=2, seed=0)["validation"] is None


def test_true_few_shot_selects_on_k_validation_rows_per_class(ws, sources):
    record = adapt_target(ws, TARGET, "pt", k=2, seed=0, validation_k=2)
    classes = get_task(TARGET).num_classes
    assert record["validation_rows"] == 2 * classes and record["validation_k"] == 2
    full = adapt_target(ws, TARGET, "pt", k=2, seed=0)
    assert full["validation_rows"] == len(ws.splits(TARGET)["validation"]) > record["validation_rows"]


def test_true_few_shot_spot_chooses_its_source_on_the_same_few_rows(ws, sources, monkeypatch):
    """SPoT's choice of teacher is a selection on validation too: with validation_k it sees only those rows."""
    import mpt_nb.targets as targets

    seen = []
    choose = targets.select_spot_source

    def spy(ws_, teachers, target, *, rows=None):
        seen.append(None if rows is None else len(rows))
        return choose(ws_, teachers, target, rows=rows)

    monkeypatch.setattr(targets, "select_spot_source", spy)
    ws._spot_choices.clear()
    first = adapt_target(ws, TARGET, "spot", sources=sources, k=2, seed=0, validation_k=2)
    adapt_target(ws, TARGET, "spot", sources=sources, k=2, seed=0)
    assert seen == [2 * get_task(TARGET).num_classes, None]
    # Made once per (teachers, target, selection rows): other seeds and k reuse it, with the same choice recorded.
    again = adapt_target(ws, TARGET, "spot", sources=sources, k=4, seed=1, source_seed=0)
    assert seen == [2 * get_task(TARGET).num_classes, None] and again["spot_source"] in ws.profile.source_tasks
    assert adapt_target(ws, TARGET, "spot", sources=sources, k=2, seed=0, validation_k=2)["spot_source"] == first["spot_source"]
    assert len(seen) == 2


def test_one_run_selected_both_ways_equals_two_runs(ws, sources, monkeypatch):
    """adapt_target_both_selections gives the records the two separate runs give, even when the selections disagree."""
    profile = ws.profile.with_overrides(eval_every=1, target_eval_at_start=True)
    ws_evals = Workspace(profile, ws.backbone)
    k_rows = 2 * get_task(TARGET).num_classes
    calls = {"k": 0, "all": 0}
    score = ws_evals.headline

    def disagreeing(model, task, split="validation", *, task_id=0, rows=None):
        score(model, task, split, task_id=task_id, rows=rows)  # still a real evaluation
        which = "k" if rows is not None and len(rows) == k_rows else "all"
        calls[which] += 1
        return -calls[which] if which == "k" else calls[which]  # k rows prefer step 0, all rows the last step

    tested = []  # the prompt each test pass scored
    predict = ws_evals.predict

    def predict_and_keep(model, task, split="validation", **options):
        if split == "test":
            tested.append({name: t.detach().clone() for name, t in model.prompt.state_dict().items()})
        return predict(model, task, split, **options)

    monkeypatch.setattr(ws_evals, "headline", disagreeing)
    monkeypatch.setattr(ws_evals, "predict", predict_and_keep)
    run = {"sources": sources, "k": 2, "seed": 0, "source_seed": 0}
    both = adapt_target_both_selections(ws_evals, TARGET, "mpt", validation_k=2, **run)
    assert calls == {"k": 3, "all": 3}  # one evaluation of each kind at steps 0, 1, 2
    assert (both["all"]["best_step"], both["k"]["best_step"]) == (2, 0)
    apart = {"all": adapt_target(ws_evals, TARGET, "mpt", **run),
             "k": adapt_target(ws_evals, TARGET, "mpt", validation_k=2, **run)}
    for which in ("all", "k"):
        for key in ("validation_rows", "validation_k", "best_step", "checkpoint_steps", "test", "test_predictions"):
            assert both[which][key] == apart[which][key], (which, key)
        assert set(both[which]) == set(apart[which])
    # The test passes scored the prompts the separate runs scored: trained two steps ("all"), the start ("k").
    same = [all(torch.equal(x[name], y[name]) for name in x) for x, y in zip(tested[:2], tested[2:], strict=True)]
    assert same == [True, True] and not all(torch.equal(tested[0][n], tested[1][n]) for n in tested[0])


def test_both_selections_share_the_test_pass_when_they_choose_the_same_step(ws, sources, monkeypatch):
    """Selections that agree (or a profile with nothing to compare) cost one test pass, and give what two runs give."""
    tested = []
    predict = ws.predict

    def counting(model, task, split="validation", **options):
        tested.append(split == "test")
        return predict(model, task, split, **options)

    run = {"sources": sources, "k": 2, "seed": 0, "source_seed": 0}
    for overrides in ({"eval_every": 1}, {"eval_every": 0, "target_eval_at_start": False}):
        ws_ = Workspace(ws.profile.with_overrides(**overrides), ws.backbone)
        monkeypatch.setattr(ws_, "headline", lambda model, task, split="validation", **_: 0.5)  # ties: first wins
        monkeypatch.setattr(ws_, "predict", counting)
        tested.clear()
        both = adapt_target_both_selections(ws_, TARGET, "mpt", validation_k=2, **run)
        assert sum(tested) == 1, overrides
        apart = {"all": adapt_target(ws_, TARGET, "mpt", **run), "k": adapt_target(ws_, TARGET, "mpt", validation_k=2, **run)}
        for which in ("all", "k"):
            for key in ("validation", "validation_rows", "best_step", "checkpoint_steps", "test", "test_predictions"):
                assert both[which][key] == apart[which][key], (overrides, which, key)
        assert both["all"]["test_predictions"] is not both["k"]["test_predictions"]  # records do not share lists
    assert both["all"]["validation"] is None and both["k"]["checkpoint_steps"] == []  # nothing compared


def test_both_selections_keep_the_ablation_they_were_given(ws, sources):
    both = adapt_target_both_selections(ws, TARGET, "mpt", sources=sources, k=2, validation_k=2,
                                        ablation="target_source_mean")
    assert {r["ablation"] for r in both.values()} == {"target_source_mean"}
    assert {r["target_low_rank_init"] for r in both.values()} == {"source_mean"}


def test_both_selections_refuses_what_two_runs_would_do_differently(ws, sources):
    with pytest.raises(ValueError, match=r"spot.*call adapt_target twice"):
        adapt_target_both_selections(ws, TARGET, "spot", sources=sources, k=2, validation_k=2)
    for wrong in (0, True, 2.0):
        with pytest.raises(ValueError, match="validation_k"):
            adapt_target_both_selections(ws, TARGET, "pt", k=2, validation_k=wrong)


@pytest.mark.parametrize("ablation", ["kl_only", "hidden_only", "target_source_mean"])
def test_ablations_change_what_they_say(ws, sources, ablation):
    record = adapt_target(ws, TARGET, "mpt", sources=sources, k=2, seed=0, ablation=ablation)
    assert record["ablation"] == ablation
    if ablation == "target_source_mean":
        assert record["target_low_rank_init"] == "source_mean"
        assert record["source_identity"] == sources.identity(METHODS["mpt"].source, 0)
    else:
        assert record["source_distill_terms"] == {"kl_only": "logits", "hidden_only": "hidden"}[ablation]
        assert record["source_identity"] != sources.identity(METHODS["mpt"].source, 0)


def test_target_u_v_can_start_from_the_source_average(ws, distilled):
    prompt, _ = distilled
    fresh = prompt.for_new_tasks(1, low_rank_init="source_mean")
    assert torch.allclose(fresh.u[0], prompt.u.detach().mean(0)) and torch.allclose(fresh.v[0], prompt.v.detach().mean(0))
    assert torch.equal(fresh.shared, prompt.shared.detach())


def test_shared_prompt_init_is_selectable_for_every_recipe(ws, teachers):
    mean = teachers[0].task_prompts().detach().mean(0)
    for distill in (True, False):
        for init in ("teacher_mean", "vocab"):
            ws_profile = ws.profile.with_overrides(distill_steps=1, eval_every=0)
            ws_small = Workspace(ws_profile, ws.backbone)
            prompt, result = distill_shared_prompt(
                ws_small, teachers[0], SourceStage("shared", distill=distill, shared_init=init), seed=0
            )
            assert result.steps == 1
            # One small step from the start: still far closer to its own start than to the other one.
            vocab = SoftPrompt.from_vocab(ws.backbone.embeddings, ws_profile.prompt_tokens, seed=0).weight[0]
            start, other = (mean, vocab) if init == "teacher_mean" else (vocab, mean)
            assert (prompt.shared[0] - start).norm() < (prompt.shared[0] - other).norm()


def test_demo_command_writes_results_table_and_plot(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(profiles.PROFILES, "smoke", profiles.PROFILES["smoke"].with_overrides(**SHRUNK))
    out = tmp_path / "demo"
    assert main(["demo", "--profile", "smoke", "--out", str(out)]) == 0
    saved = sorted(p.name for p in (out / "sources").iterdir())
    assert len(saved) == 2 and saved[0].startswith("shared-distill-decomp-teacher_mean-r1-seed0-")
    assert saved[1].startswith("teachers-seed0-")
    assert "(training)" in capsys.readouterr().out
    # A second demo with the same settings loads the source stages instead of training them.
    assert main(["demo", "--profile", "smoke", "--out", str(out)]) == 0
    second = capsys.readouterr().out
    assert "(loading)" in second and "(training)" not in second
    assert {"results.jsonl", "results.md", "params_vs_accuracy.png"} <= {p.name for p in out.iterdir()}
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["method"], r["k"]) for r in records] == [
        ("pt", "full"),
        ("mpt", "full"),
        ("pt", 2),
        ("mpt", 2),
    ]
    assert all(r["profile"] == "smoke" and r["task"] == TARGET for r in records)
    table = (out / "results.md").read_text()
    assert table.startswith("| task |") and "MPT" in table and "PT" in table
    assert (out / "params_vs_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wall time" in second


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["demo", "--profile", "laptop"], "invalid choice: 'laptop'"),
        (["demo", "--sizing", "huge"], "invalid choice: 'huge'"),
    ],
)
def test_demo_bad_arguments_print_one_line_and_no_traceback(argv, expected, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_demo_errors_inside_the_run_print_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(
        profiles.PROFILES, "smoke", profiles.PROFILES["smoke"].with_overrides(target_tasks=("no_such_task",))
    )
    assert main(["demo", "--profile", "smoke", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m mpt_nb demo: error:") and "no_such_task" in err
    assert "\n" not in err and "Traceback" not in err


def test_stages_are_shipped_only_from_committed_code(tmp_path, monkeypatch):
    from mpt_nb import sources as sources_module
    from mpt_nb.__main__ import train_sources

    monkeypatch.setitem(profiles.PROFILES, "smoke", profiles.PROFILES["smoke"].with_overrides(**SHRUNK))
    monkeypatch.setattr(sources_module, "shipped_dir", lambda name: tmp_path / "shipped" / name)
    monkeypatch.setattr(sources_module, "git_commit", lambda: "abc123+dirty")
    with pytest.raises(RuntimeError, match=r"uncommitted code \(abc123\+dirty\).*--out"):
        train_sources("smoke", [0], ablations=False)
    assert not list((tmp_path / "shipped").rglob("*.safetensors"))
    assert train_sources("smoke", [0], out=tmp_path / "elsewhere", ablations=False)  # not shipped: allowed
    # Code that changes while a stage trains: the stage's file records it, and it is removed, not shipped.
    calls = iter(["abc123", "abc123+dirty"])
    monkeypatch.setattr(sources_module, "git_commit", lambda: next(calls, "abc123+dirty"))
    with pytest.raises(RuntimeError, match=r"removed teachers.*changed while it trained"):
        train_sources("smoke", [0], ablations=False)
    assert not list((tmp_path / "shipped").rglob("*.safetensors"))
    # A stage already in the shipped folder that records uncommitted code is not counted as shipped.
    (tmp_path / "shipped" / "smoke").mkdir(parents=True, exist_ok=True)
    for made in (tmp_path / "elsewhere").glob("teachers-*.safetensors"):
        made.rename(tmp_path / "shipped" / "smoke" / made.name)
    with pytest.raises(RuntimeError, match=r"teachers-.* is shipped but was trained from uncommitted code.*delete it"):
        train_sources("smoke", [0], ablations=False)


def test_demo_starts_from_shipped_source_stages(tmp_path, monkeypatch, capsys):
    from mpt_nb import sources as sources_module
    from mpt_nb.__main__ import train_sources

    monkeypatch.setitem(profiles.PROFILES, "smoke", profiles.PROFILES["smoke"].with_overrides(**SHRUNK))
    shipped = tmp_path / "shipped"
    written = train_sources("smoke", [0], out=shipped / "smoke", ablations=False)
    # Each stage's line gives this process's time and the time its file records (all sessions of a resumed stage).
    assert capsys.readouterr().out.count(" s recorded in all) -> ") == len(written)
    assert len(written) == 1 + len({m.source for m in METHODS.values() if m.source is not None} - {TEACHERS})
    assert train_sources("smoke", [0], out=shipped / "smoke", ablations=False) == []  # resumable: nothing left
    # A shared stage records each source task's validation score at its kept checkpoint, beside their mean.
    from safetensors import safe_open

    (mpt_file,) = [p for p in written if p.name.startswith(METHODS["mpt"].source.slug(profiles.PROFILES["smoke"].rank))]
    with safe_open(str(mpt_file), "pt") as f:
        validation = json.loads(f.metadata()["extra"])["validation"]
    tasks = profiles.PROFILES["smoke"].source_tasks
    assert set(validation) == {*tasks, "mean"}
    assert validation["mean"] == pytest.approx(sum(validation[t] for t in tasks) / len(tasks))
    monkeypatch.setattr(sources_module, "shipped_dir", lambda name: shipped / name)
    capsys.readouterr()
    assert main(["demo", "--profile", "smoke", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "source stages: the converged ones shipped in smoke" in out and "(training)" not in out
    assert "--retrain-sources trains them instead" in out
    assert not (tmp_path / "demo" / "sources").exists()
    assert main(["demo", "--profile", "smoke", "--out", str(tmp_path / "demo"), "--retrain-sources"]) == 0
    out = capsys.readouterr().out
    assert "training them in the demo sizing (retrain requested)" in out and "(training)" in out


@pytest.mark.parametrize("at_start", [True, False])
def test_target_runs_score_step_0_by_their_own_switch(ws, sources, monkeypatch, at_start):
    import mpt_nb.targets as targets
    from mpt_nb.sources import stage_settings

    seen, real_train = [], targets.train_prompt

    def recording_train(model, loader, config, **kwargs):
        seen.append(config.eval_at_start)
        return real_train(model, loader, config, **kwargs)

    monkeypatch.setattr(targets, "train_prompt", recording_train)
    # The source stages' switch says the opposite: a target run must not read it.
    profile = ws.profile.with_overrides(eval_at_start=not at_start, target_eval_at_start=at_start)
    target_ws = Workspace(profile, backbone=ws.backbone)
    record = adapt_target(target_ws, TARGET, "mpt", sources=sources, seed=0, source_seed=0)
    assert seen == [at_start]
    steps = profile.target_steps
    assert record["checkpoint_steps"] == ([0, steps] if at_start else []) and record["best_step"] in (0, steps)
    # ... and a source stage's identity ignores the targets' switch (shipped stages stay valid in every sizing).
    stage = get_method("mpt").source
    assert stage_settings(profile, stage, 0) == stage_settings(profile.with_overrides(target_eval_at_start=not at_start), stage, 0)


def test_distilled_students_from_vocabulary_start_where_decomposition_only_starts(ws, teachers, monkeypatch):
    """MPT as the paper describes it (random students, then distillation) differs from decomposition-only by the loss
    alone: the same P*, u, v at step 0 and the same batches."""
    from mpt_nb import stages

    seen = []

    def capture(model, loader, config, **kwargs):
        seen.append(({k: v.detach().clone() for k, v in model.prompt.state_dict().items()},
                     [batch["example_ids"].tolist() for batch in loader]))
        raise StopIteration

    monkeypatch.setattr(stages, "train_prompt", capture)
    for stage in (get_method("mpt", "vocab_init").source, get_method("decomp").source):
        with pytest.raises(StopIteration):
            distill_shared_prompt(ws, teachers[0], stage, seed=3)
    (mpt_start, mpt_batches), (decomp_start, decomp_batches) = seen
    assert mpt_start.keys() == decomp_start.keys()
    assert all(torch.equal(mpt_start[k], decomp_start[k]) for k in mpt_start)
    assert mpt_batches == decomp_batches
