"""The self-checks of notebook 06 (parameter efficiency explorer): ``exercise_N(globals())`` checks exercise N."""

from __future__ import annotations

from typing import Any

from mpt_nb.checks import check_answer, check_defined, from_lesson
from mpt_nb.results import standard_error
from mpt_nb.viz import explorer_counts

__all__ = ["exercise_1", "exercise_2", "exercise_3", "exercise_4"]


def _brute_budget(budget: int, d: int, r: int, tasks: int) -> int:
    """The largest l < 2000 whose MPT total for ``tasks`` tasks fits in ``budget``, by trying each (0 if none)."""
    return max([l_ for l_ in range(0, 2000) if l_ * d + (l_ + d) * r * tasks <= budget], default=0)


def exercise_1(ns: dict[str, Any]) -> None:
    """Checks ``max_tokens_for_budget`` against a brute-force search on five budgets, with a hint when it rounds up."""
    max_tokens_for_budget = check_defined("max_tokens_for_budget", namespace=ns)
    for case in [(77_668, 768, 1, 1), (100_000, 576, 1, 8), (5_000, 768, 4, 8), (10, 512, 1, 1), (1_000_000, 1024, 16, 50)]:
        mine, want = max_tokens_for_budget(*case), _brute_budget(*case)
        assert mine == want, (
            f"budget {case[0]:,}, d = {case[1]}, r = {case[2]}, S = {case[3]}: you give l = {mine}, the largest l that "
            f"fits is {want}" + (" (round down: l must fit)" if mine == want + 1 else "")
        )
    print("exercise 1: ok; l for 100K parameters, SmolLM2 width, 8 tasks:", max_tokens_for_budget(100_000, 576, 1, 8))


def _first_reaching(target: float, l: int, d: int, r: int, most: int = 1_000_000) -> int | None:  # noqa: E741
    """Smallest S with factor ≥ target by bisection on the exact counts (the factor grows with S), or None."""

    def reaches(tasks: int) -> bool:
        counts = explorer_counts(l, d, r, tasks)
        return counts["pt_total"] >= target * counts["mpt_total"]

    if not reaches(most):
        return None
    low, high = 1, most
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if reaches(mid) else (mid + 1, high)
    return low


def exercise_2(ns: dict[str, Any]) -> None:
    """Checks ``sharing_factor`` (one task; eight tasks against ``explorer_counts``; growth with S), then
    ``answer_ex2``: the tasks needed for 50× at the paper's and this profile's sizes, by bisection on the exact
    counts, and the factor's limit at this profile's sizes."""
    sharing_factor = check_defined("sharing_factor", namespace=ns)
    assert abs(sharing_factor(100, 768, 1, 1) - 76_800 / 77_668) < 1e-12, "one task: PT's l·d over MPT's l·d + (l+d)·r"
    c = explorer_counts(20, 576, 1, 8)
    assert abs(sharing_factor(20, 576, 1, 8) - c["pt_total"] / c["mpt_total"]) < 1e-12, (
        "8 tasks: the PT total over the MPT total with one shared P* (mpt_nb.viz.explorer_counts gives both)"
    )
    assert sharing_factor(20, 576, 1, 16) > sharing_factor(20, 576, 1, 8), "more tasks share P*: the factor must grow"
    answer = check_answer("answer_ex2", values=("limit_here",), namespace=ns)
    assert {"paper", "here"} <= set(answer), "answer_ex2 needs 'paper' and 'here' (a number of tasks, or None)"
    profile, d_here = from_lesson(ns, "profile", "d_here")
    paper, here = _first_reaching(50, 100, 768, 1), _first_reaching(50, profile.prompt_tokens, d_here, profile.rank)
    assert answer["paper"] == paper, f"answer_ex2['paper'] is {answer['paper']}: check it against your sharing_factor"
    assert answer["here"] == here, (
        f"answer_ex2['here'] is {answer['here']}: at l = {profile.prompt_tokens}, d = {d_here}, r = {profile.rank} "
        "check whether any number of tasks reaches 50 (None if not)"
    )
    limit = sharing_factor(profile.prompt_tokens, d_here, profile.rank, 10**12)
    assert abs(answer["limit_here"] - limit) < 1e-3 * limit, (
        f"answer_ex2['limit_here'] is {answer['limit_here']:.2f}, but the factor at S = 10¹² is {limit:.2f}"
    )
    print(f"exercise 2: ok; 50× leaner needs S = {paper} at the paper's sizes, S = {here} here "
          f"(the factor tends to {limit:.1f} here)")


def exercise_3(ns: dict[str, Any]) -> None:
    """Checks the experiment on the prompt length: ``runs_ex3`` holds PT records at l and l / 2 with nothing else
    changed; ``answer_ex3``'s two scores and the standard error of the run at l recomputed, and ``half_lower`` and
    ``beyond_se`` following from them."""
    runs_ex3 = check_defined("runs_ex3", namespace=ns)
    answer = check_answer("answer_ex3", values=("full", "half", "se"), flags=("half_lower", "beyond_se"), namespace=ns)
    profile = from_lesson(ns, "profile")
    l, half = profile.prompt_tokens, profile.prompt_tokens // 2  # noqa: E741
    assert isinstance(runs_ex3, dict) and set(runs_ex3) == {l, half}, (
        f"runs_ex3 maps each prompt length to its record: keys {l} and {half}, got {sorted(runs_ex3) if isinstance(runs_ex3, dict) else runs_ex3!r}"
    )
    for length, rec in runs_ex3.items():
        assert rec["method"] == "pt" and rec["prompt_tokens"] == length, (
            f"the record under {length} is {rec['method']} with l = {rec['prompt_tokens']}: train PT with "
            f"prompt_tokens={length} (a Workspace on profile.with_overrides(prompt_tokens={length}))"
        )
        assert rec["trainable_params"] % length == 0, "PT trains l·d parameters"
    setups = {(r_["task"], str(r_["k"]), r_["seed"], r_["steps"]) for r_ in runs_ex3.values()}
    assert setups == {(profile.target_tasks[0], str(min(profile.few_shot_k)), 0, profile.few_shot_steps)}, (
        f"change only l: the first target, k = {min(profile.few_shot_k)}, seed 0 and the profile's few-shot steps "
        f"for both runs (yours: {sorted(setups)})"
    )
    assert abs(answer["full"] - runs_ex3[l]["test"]) < 1e-12, f"answer_ex3['full'] is the run at l = {l}: {runs_ex3[l]['test']:.3f}"
    assert abs(answer["half"] - runs_ex3[half]["test"]) < 1e-12, (
        f"answer_ex3['half'] is the run at l = {half}: {runs_ex3[half]['test']:.3f}"
    )
    preds = runs_ex3[l]["test_predictions"]
    se = standard_error(runs_ex3[l]["metric"], preds["pred"], preds["gold"])
    assert abs(answer["se"] - se) < 0.25 * se + 1e-9, (
        f"answer_ex3['se'] is {answer['se']:.4f}, but the run at l = {l} has a standard error near {se:.4f} "
        "(a bootstrap, so a little noise is fine): pass its metric, pred and gold"
    )
    assert bool(answer["half_lower"]) == (answer["half"] < answer["full"]), "half_lower does not follow from your two scores"
    assert bool(answer["beyond_se"]) == (answer["full"] - answer["half"] > answer["se"]), (
        "beyond_se does not follow from your numbers: is full − half larger than se?"
    )
    print(f"exercise 3: ok; {profile.target_tasks[0]} at k = {min(profile.few_shot_k)}: l = {l} {answer['full']:.3f}, "
          f"l = {half} {answer['half']:.3f} (standard error {answer['se']:.3f}), with {l - half} fewer tokens")


def exercise_4(ns: dict[str, Any]) -> None:
    """Checks the experiment on the rank with few examples: ``runs_ex4`` holds MPT records at the profile's r and
    r = 4 with nothing else changed; ``answer_ex4``'s extra parameters, two scores and the standard error of the run
    at the profile's r recomputed, and ``beyond_se`` following from them."""
    runs_ex4 = check_defined("runs_ex4", namespace=ns)
    answer = check_answer("answer_ex4", values=("r_profile", "r4", "se", "extra_params"), flags=("beyond_se",),
                          namespace=ns)
    profile = from_lesson(ns, "profile")
    assert isinstance(runs_ex4, dict) and set(runs_ex4) == {profile.rank, 4}, (
        f"runs_ex4 maps each rank to its record: keys {profile.rank} and 4"
    )
    for rank, rec in runs_ex4.items():
        assert rec["method"] == "mpt" and rec["rank"] == rank, (
            f"the record under {rank} is {rec['method']} with r = {rec['rank']}: adapt MPT with rank={rank}"
        )
    setups = {(r_["task"], str(r_["k"]), r_["seed"], r_["steps"], r_["prompt_tokens"]) for r_ in runs_ex4.values()}
    assert setups == {(profile.target_tasks[0], str(min(profile.few_shot_k)), 0, profile.few_shot_steps,
                       profile.prompt_tokens)}, (
        f"change only r: the first target, k = {min(profile.few_shot_k)}, seed 0, the profile's few-shot steps and l "
        f"(yours: {sorted(setups)})"
    )
    ws_ex = from_lesson(ns, "ws_ex")
    extra = (profile.prompt_tokens + ws_ex.backbone.dim) * (4 - profile.rank)
    assert answer["extra_params"] == extra, f"answer_ex4['extra_params'] is (l + d)·(4 − r) = {extra:,}"
    assert abs(answer["r_profile"] - runs_ex4[profile.rank]["test"]) < 1e-12 and abs(answer["r4"] - runs_ex4[4]["test"]) < 1e-12, (
        "answer_ex4's r_profile and r4 are the two records' test scores"
    )
    preds = runs_ex4[profile.rank]["test_predictions"]
    se = standard_error(runs_ex4[profile.rank]["metric"], preds["pred"], preds["gold"])
    assert abs(answer["se"] - se) < 0.25 * se + 1e-9, (
        f"answer_ex4['se'] is {answer['se']:.4f}, but the run at r = {profile.rank} has a standard error near {se:.4f}"
    )
    assert bool(answer["beyond_se"]) == (answer["r4"] - answer["r_profile"] > answer["se"]), (
        "beyond_se does not follow from your numbers: is r4 − r_profile larger than se?"
    )
    print(f"exercise 4: ok; MPT on {profile.target_tasks[0]} at k = {min(profile.few_shot_k)}: r = {profile.rank} "
          f"{answer['r_profile']:.3f}, r = 4 {answer['r4']:.3f} (standard error {se:.3f}) for "
          f"{answer['extra_params']:,} more parameters")
