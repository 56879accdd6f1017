"""Re-key saved source stages from the flat settings list to the identity of whole values (one-off migration).

A stage saved under the flat settings (``source_stage`` listing each setting by name) is re-keyed when those settings
are exactly what that scheme gives for the current profile: the stage was trained under the current values of every
setting that shaped it, and the new identity (the stage value, the whole ``SourceConfig``, the backbone, each source
task's data identity, the seed) names the same training. The new fields of the identity (a task's files or package,
the split seed, settings that shape no stage of that kind) were fixed at the time. It keeps its tensors and takes the
new settings, identity and file name; its metadata records the re-keying. Every other stage is left alone and
reported.

    .venv/bin/python tools/rekey_source_stages.py sources/offline            # re-key, then list what is left
    .venv/bin/python tools/rekey_source_stages.py sources/offline --dry-run  # only say what it would do
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mpt_nb.checkpoint import load_prompt, save_prompt
from mpt_nb.methods import TEACHERS, SourceStage, source_stages
from mpt_nb.profiles import get_profile
from mpt_nb.sources import settings_diff, stage_file_name, stage_identity, stage_metadata, stage_settings
from mpt_nb.tasks import get_task


def flat_settings(profile: Any, stage: SourceStage, seed: int) -> dict[str, Any]:
    """The settings the flat scheme recorded for ``stage`` under ``profile`` with ``seed``."""
    settings = {
        "stage": stage.kind,
        "backbone": profile.backbone,
        "source_tasks": [
            {"name": t, "template": get_task(t).template, "label_words": list(get_task(t).label_words)}
            for t in profile.source_tasks
        ],
        **{k: getattr(profile, k) for k in (
            "prompt_tokens", "max_input_tokens", "max_train", "max_eval", "max_validation", "batch_size", "eval_every",
            "eval_at_start", "source_patience", "lr", "weight_decay", "warmup_ratio", "max_grad_norm",
            "mixed_precision")},
        "seed": seed,
    }
    if stage.kind == "teachers":
        settings["teacher_steps"] = profile.teacher_steps
        return settings
    settings.update({
        "distill": stage.distill, "decompose": stage.decompose, "shared_init": stage.shared_init,
        "rank": stage.rank or profile.rank, "distill_steps": profile.distill_steps,
        "distill_eval_every": profile.distill_eval_every, "distill_patience": profile.distill_patience,
        "lr_low_rank": profile.lr_low_rank, "max_tasks_per_batch": profile.max_tasks_per_batch,
    })
    if stage.distill:
        settings.update({"distill_weight": profile.distill_weight, "temperature": profile.temperature,
                         "distill_terms": stage.distill_terms})
    if stage.needs_teachers:
        settings["teachers"] = flat_settings(profile, TEACHERS, seed)
    return settings


def _stage_of(path: Path, saved: dict[str, Any], profile: Any) -> SourceStage | None:
    stages = [TEACHERS, *source_stages(ablations=True)]
    found = [s for s in stages if path.name.startswith(f"{s.slug(profile.rank)}-seed{saved['seed']}-")
             and flat_settings(profile, s, saved["seed"]).keys() == saved.keys()]
    matching = [s for s in found if not settings_diff(saved, flat_settings(profile, s, saved["seed"]))]
    return (matching or found or [None])[0]


def plan(folder: Path, profile: Any) -> list[tuple[Path, str, Path | None]]:
    """(file, verdict, new path) for every saved stage in ``folder``: "current", "rekey" (with its new path) or
    "left: <why>"."""
    out: list[tuple[Path, str, Path | None]] = []
    for path in sorted(folder.glob("*.safetensors")):
        saved = stage_metadata(path).get("source_stage")
        if saved is None:
            out.append((path, "left: it records no settings", None))
            continue
        if "config" in saved:  # already keyed by whole values
            out.append((path, "current", None))
            continue
        stage = _stage_of(path, saved, profile)
        if stage is None:
            out.append((path, "left: not a stage of the methods table", None))
            continue
        diff = settings_diff(saved, flat_settings(profile, stage, saved["seed"]))
        if diff:
            out.append((path, f"left: trained under other settings ({', '.join(sorted(diff))})", None))
            continue
        out.append((path, "rekey", folder / stage_file_name(profile, stage, saved["seed"])))
    return out


def rekey(path: Path, new_path: Path, profile: Any) -> None:
    """Rewrite ``path`` as ``new_path`` under the new identity (same tensors), then delete ``path``."""
    prompt, info = load_prompt(path)
    extra = dict(info["extra"])
    old_identity, seed = extra["identity"], extra["source_stage"]["seed"]
    stage = _stage_of(path, extra["source_stage"], profile)
    settings = stage_settings(profile, stage, seed)
    extra.update(source_stage=settings, identity=stage_identity(settings),
                 rekeyed={"from_identity": old_identity,
                          "why": "the flat settings matched the current profile; the identity now hashes whole values"})
    if not new_path.name.endswith(f"-{extra['identity']}.safetensors"):
        raise RuntimeError(f"{path.name}: the new settings hash to {extra['identity']}, not to {new_path.name}'s")
    save_prompt(new_path, prompt, model_name=info["model_name"], task_names=info["task_names"], extra=extra)
    path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder of saved source stages, e.g. sources/offline")
    parser.add_argument("--profile", default="offline", help="the profile whose current settings key the stages")
    parser.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder of saved source stages", file=sys.stderr)
        return 2
    profile = get_profile(args.profile)
    for path, verdict, new_path in plan(args.folder, profile):
        if verdict == "rekey" and not args.dry_run:
            rekey(path, new_path, profile)
        print(f"{path.name}: {verdict}" + (f" -> {new_path.name}" if new_path else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
