"""The method table: what each method trains on the source tasks (its ``SourceStage``), and how its target prompt
starts. The lowest floor of the method: stages, trainers, the store and target adaptation all read it.

A source stage is a value: the teachers (``TEACHERS``), or a shared prompt P* ∘ (u v) with its settings (distilled
or not, decomposed or not, P* started at the teachers' mean or at vocabulary, the distillation terms, r). One entry
per method; the pipeline, the demo, the benchmarks, the tables' labels and the notebooks read it. A method names its
own source stage, so ``adapt_target(ws, target, "mpt", sources=...)`` fetches the distilled decomposition itself:
the wrong shared prompt cannot be passed. Adding a baseline is one entry here (plus its test).

Ablations are variants of a method that change its source stage (e.g. decomposition off); they are listed in
``ABLATIONS`` and resolved by ``get_method(name, ablation)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "ABLATIONS",
    "DISTILL_TERMS",
    "METHODS",
    "SHARED_INITS",
    "TARGET_INITS",
    "TEACHERS",
    "Ablation",
    "Method",
    "SourceStage",
    "get_method",
    "method_label",
    "method_order",
    "source_stages",
]

SHARED_INITS = ("teacher_mean", "vocab")
DISTILL_TERMS = ("both", "logits", "hidden")  # which of L_logits, L_hidden the student loss keeps


@dataclass(frozen=True)
class SourceStage:
    """What is trained on the source tasks: ``teachers``, or a ``shared`` prompt P* ∘ (u v) and how.

    ``distill``: the student loss L_PLM + λ(L_logits + L_hidden) against the teachers (else the task loss alone);
    ``distill_terms``: which distillation terms it keeps ("both", "logits": KL only, "hidden": MSE only);
    ``decompose``: u, v are trained (else frozen at ones: one shared prompt); ``shared_init``: P* starts at the
    teachers' mean or at sampled vocabulary; ``rank``: r (None: the profile's).
    """

    kind: str
    distill: bool = False
    decompose: bool = True
    shared_init: str = "teacher_mean"
    rank: int | None = None
    distill_terms: str = "both"

    def __post_init__(self) -> None:
        if self.kind not in ("teachers", "shared"):
            raise ValueError(f"a source stage is 'teachers' or 'shared', got {self.kind!r}")
        if self.shared_init not in SHARED_INITS:
            raise ValueError(f"shared_init {self.shared_init!r} is not one of {list(SHARED_INITS)}")
        if self.distill_terms not in DISTILL_TERMS:
            raise ValueError(f"distill_terms {self.distill_terms!r} is not one of {list(DISTILL_TERMS)}")
        if not self.distill and self.distill_terms != "both":
            raise ValueError("distill_terms chooses distillation terms; it needs distill=True")
        if self.kind == "teachers" and (self.distill, self.decompose, self.shared_init, self.rank) != (
            False, True, "teacher_mean", None
        ):
            raise ValueError("the teachers stage takes no settings; use mpt_nb.methods.TEACHERS")

    @property
    def needs_teachers(self) -> bool:
        """Whether training this stage reads the teachers (distillation or a teacher-mean P*)."""
        return self.kind == "shared" and (self.distill or self.shared_init == "teacher_mean")

    def describe(self, default_rank: int | None = None) -> str:
        """A one-line label: "teachers", or "distillation ✓, decomposition ✓, P* from teacher mean, r=1"."""
        if self.kind == "teachers":
            return "teachers"
        rank = self.rank or default_rank
        terms = {"both": "", "logits": " (KL only)", "hidden": " (hidden MSE only)"}[self.distill_terms]
        return (
            f"distillation {'✓' if self.distill else '✗'}{terms}, decomposition {'✓' if self.decompose else '✗'}, "
            f"P* from {self.shared_init.replace('_', ' ')}" + (f", r={rank}" if rank else "")
        )

    def slug(self, default_rank: int) -> str:
        """A readable file-name part: "teachers" or "shared-distill-decomp-teacher_mean-r1"."""
        if self.kind == "teachers":
            return "teachers"
        distill = "joint" if not self.distill else "distill" if self.distill_terms == "both" else f"distill_{self.distill_terms}"
        return (
            f"shared-{distill}-{'decomp' if self.decompose else 'nodecomp'}-"
            f"{self.shared_init}-r{self.rank or default_rank}"
        )


TEACHERS = SourceStage("teachers")


# How a target prompt starts: sampled vocabulary embeddings; a copy of the source teacher that scores best on the
# target's validation split; the source stage's P* with fresh u, v; or a single prompt trained on the source mixture,
# used as a vanilla prompt (generic SPoT).
TARGET_INITS = ("vocab", "best_teacher", "shared_prompt", "shared_as_prompt")


@dataclass(frozen=True)
class Method:
    """A target-adaptation method: its source stage (None: needs none) and how the target prompt starts."""

    name: str
    label: str  # in tables and legends
    short_label: str  # where space is tight (figure annotations)
    description: str
    source: SourceStage | None
    target_init: str
    # A shared-prompt target's fresh u, v: "ones" (it starts exactly at P*), "source_mean" (the source tasks' mean
    # u, v), or None: the profile's ``target_low_rank_init``.
    target_low_rank_init: str | None = None

    def __post_init__(self) -> None:
        if self.target_init not in TARGET_INITS:
            raise ValueError(f"target_init {self.target_init!r} is not one of {list(TARGET_INITS)}")
        if self.target_low_rank_init is not None and self.target_init != "shared_prompt":
            raise ValueError(f"method {self.name!r}: only a shared-prompt target has u, v to initialise")
        if (self.source is None) != (self.target_init == "vocab"):
            raise ValueError(f"method {self.name!r}: only a method that starts from vocabulary needs no source stage")
        if self.target_init == "best_teacher" and self.source != TEACHERS:
            raise ValueError(f"method {self.name!r} starts from a teacher, so its source stage must be the teachers")
        if self.target_init in ("shared_prompt", "shared_as_prompt") and (
            self.source is None or self.source.kind != "shared"
        ):
            raise ValueError(f"method {self.name!r} starts from a shared prompt, so its source stage must train one")
        if self.target_init == "shared_as_prompt" and self.source.decompose:
            raise ValueError(f"method {self.name!r} uses one prompt for every source task: its stage needs decompose=False")

    def record_fields(self) -> dict[str, Any]:
        """What a results record says about the method's source stage (None where it has none)."""
        shared = self.source if self.source is not None and self.source.kind == "shared" else None
        return {
            "source_distill": shared.distill if shared else None,
            "source_decompose": shared.decompose if shared else None,
            "source_shared_init": shared.shared_init if shared else None,
            "source_distill_terms": shared.distill_terms if shared and shared.distill else None,
        }


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "pt", "PT", "PT", "vanilla prompt tuning from sampled vocabulary embeddings",
            source=None, target_init="vocab",
        ),
        Method(
            "spot", "SPoT", "SPoT", "SPoT: start from the source teacher prompt that transfers best (validation)",
            source=TEACHERS, target_init="best_teacher",
        ),
        Method(
            "spot_generic", "SPoT (generic)", "SPoT gen.",
            "generic SPoT: one prompt trained on the mixture of all source tasks, used as the target's starting prompt",
            source=SourceStage("shared", distill=False, decompose=False, shared_init="vocab"),
            target_init="shared_as_prompt",
        ),
        Method(
            "decomp", "Decomposition (no distillation)", "Decomp.",
            "P* ∘ (u v) trained jointly on the source tasks' loss, P* from sampled vocabulary (what PEFT's "
            "MultitaskPromptTuning trains); the target gets P* and fresh u, v",
            source=SourceStage("shared", distill=False, decompose=True, shared_init="vocab"),
            target_init="shared_prompt",
        ),
        Method(
            "mpt", "MPT", "MPT",
            "MPT: P* ∘ (u v) distilled from the teachers (P* from their mean); the target gets P* and fresh u, v",
            source=SourceStage("shared", distill=True, decompose=True, shared_init="teacher_mean"),
            target_init="shared_prompt",
        ),
    )
}


@dataclass(frozen=True)
class Ablation:
    """A method with some of its source stage's settings (and perhaps its own) changed, and what it isolates."""

    name: str
    method: str
    source_changes: dict[str, Any]
    question: str = ""
    method_changes: dict[str, Any] = field(default_factory=dict)


# Each isolates one cause of MPT's result; MPT itself is (teacher-mean P*, λ > 0, both terms, decomposition, r = 1).
ABLATIONS: dict[str, Ablation] = {
    a.name: a
    for a in (
        Ablation("no_distill", "mpt", {"distill": False}, "λ = 0 with P* from the teachers' mean: what distillation adds"),
        Ablation("vocab_init", "mpt", {"shared_init": "vocab"}, "λ > 0 with P* from vocabulary: what the teacher-mean start adds"),
        Ablation("kl_only", "mpt", {"distill_terms": "logits"}, "distillation by L_logits (KL) alone"),
        Ablation("hidden_only", "mpt", {"distill_terms": "hidden"}, "distillation by L_hidden (MSE) alone"),
        Ablation("no_decomp", "mpt", {"decompose": False}, "u, v frozen at ones: one shared prompt, distilled"),
        Ablation("no_decomp_no_distill", "decomp", {"decompose": False}, "one shared prompt, trained jointly"),
        Ablation("rank4", "mpt", {"rank": 4}, "r = 4 instead of 1"),
        Ablation("target_source_mean", "mpt", {}, "the target's u, v start at the source tasks' mean, not at ones",
                 {"target_low_rank_init": "source_mean"}),
    )
}


def get_method(name: str, ablation: str | None = None) -> Method:
    """The method of that name, with an ablation's source-stage changes applied (``None``/"none": as is)."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {sorted(METHODS)}")
    method = METHODS[name]
    if ablation in (None, "none"):
        return method
    if ablation not in ABLATIONS:
        raise ValueError(f"unknown ablation {ablation!r}; choose one of {sorted(ABLATIONS)} or 'none'")
    variant = ABLATIONS[ablation]
    if variant.method != name:
        raise ValueError(f"ablation {ablation!r} changes method {variant.method!r}, not {name!r}")
    return replace(method, source=replace(method.source, **variant.source_changes), **variant.method_changes)


def method_label(name: str, *, short: bool = False) -> str:
    """The table label of a method name; names outside the table (e.g. "zero_shot") are returned as they are."""
    if name == "zero_shot":
        return "Zero-shot (hand-written prompt)"
    method = METHODS.get(name)
    if method is None:
        return name
    return method.short_label if short else method.label


def method_order(name: str) -> int:
    """Where a method sorts in tables: the table's order, names outside it (e.g. "zero_shot") last."""
    return list(METHODS).index(name) if name in METHODS else len(METHODS)


def source_stages(methods: Iterable[str] | None = None, *, ablations: bool = False) -> list[SourceStage]:
    """Every source stage that ``methods`` (default: all of them) start from, and with ``ablations`` their ablations'
    too, each once: the teachers first whenever any stage needs them (what ``train-sources`` trains, in order)."""
    names = list(METHODS) if methods is None else list(methods)
    variants = [(m, None) for m in names]
    if ablations:
        variants += [(a.method, a.name) for a in ABLATIONS.values() if a.method in names]
    stages: list[SourceStage] = []
    for method, ablation in variants:
        source = get_method(method, ablation).source
        if source is not None and source not in stages:
            stages.append(source)
    if any(s.needs_teachers for s in stages) and TEACHERS not in stages:
        stages.insert(0, TEACHERS)
    elif TEACHERS in stages:
        stages.insert(0, stages.pop(stages.index(TEACHERS)))
    return stages
