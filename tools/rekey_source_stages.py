"""Re-key saved shared source stages that a stopping-rule change cannot have changed (preregistration amendment 6).

Amendment 6 makes every shared stage train its whole budget: ``distill_patience`` (0) joined the settings a shared
stage's identity hashes. A stage saved before it, whose recorded curve ran the whole budget without stopping early,
is exactly what the new rule trains (the rule only decides when to stop). Such a stage keeps its tensors and takes the
current settings, identity and file name; its metadata records the re-keying. Every other difference, and every
stage that stopped early, is left alone and reported: those stages must be retrained.

    .venv/bin/python tools/rekey_source_stages.py sources/offline            # re-key, then list what to retrain
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

# Settings that only decide when a run stops: their introduction cannot change a run that never stopped early.
STOPPING_SETTINGS = {"distill_patience": 0}


def _stage_of(path: Path, saved: dict[str, Any], profile: Any) -> SourceStage | None:
    stages = [TEACHERS, *source_stages(ablations=True)]
    prefix = [s for s in stages if path.name.startswith(f"{s.slug(profile.rank)}-seed{saved['seed']}-")]
    return prefix[0] if prefix else None


def plan(folder: Path, profile: Any) -> list[tuple[Path, str, Path | None]]:
    """(file, verdict, new path) for every saved stage in ``folder``: "current", "rekey" (with its new path) or
    "retrain: <why>"."""
    out: list[tuple[Path, str, Path | None]] = []
    for path in sorted(folder.glob("*.safetensors")):
        extra = stage_metadata(path)
        saved = extra.get("source_stage")
        stage = None if saved is None else _stage_of(path, saved, profile)
        if stage is None:
            out.append((path, "retrain: not a stage of the methods table", None))
            continue
        wanted = stage_settings(profile, stage, saved["seed"])
        diff = settings_diff(saved, wanted)
        if not diff:
            out.append((path, "current", None))
            continue
        if diff != {k: ("<absent>", v) for k, v in STOPPING_SETTINGS.items()}:
            out.append((path, f"retrain: settings differ ({', '.join(sorted(diff))})", None))
            continue
        curve = extra.get("curves") or {}
        if curve.get("stopped_early") is not False or curve.get("steps") != saved["distill_steps"]:
            out.append((path, f"retrain: it stopped early, at step {curve.get('steps')} of {saved['distill_steps']}",
                        None))
            continue
        out.append((path, "rekey", folder / stage_file_name(profile, stage, saved["seed"])))
    return out


def rekey(path: Path, new_path: Path) -> None:
    """Rewrite ``path`` as ``new_path`` under the current settings (same tensors), then delete ``path``."""
    prompt, info = load_prompt(path)
    extra = dict(info["extra"])
    old_identity = extra["identity"]
    settings = {**extra["source_stage"], **STOPPING_SETTINGS}
    extra.update(
        source_stage=settings,
        identity=stage_identity(settings),
        rekeyed={"from_identity": old_identity, "added_settings": STOPPING_SETTINGS,
                 "why": "results/preregistration.md, amendment 6: the stage ran its whole budget without stopping "
                        "early, so a rule that never stops early trains the same stage"},
    )
    if not new_path.name.endswith(f"-{extra['identity']}.safetensors"):  # the merged settings are not the current ones
        raise RuntimeError(f"{path.name}: re-keyed settings hash to {extra['identity']}, not to {new_path.name}'s")
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
            rekey(path, new_path)
        print(f"{path.name}: {verdict}" + (f" -> {new_path.name}" if new_path else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
