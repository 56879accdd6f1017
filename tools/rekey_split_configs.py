"""Re-key saved source stages from the whole SourceConfig to their kind's config (TeacherConfig or SharedConfig).

A stage whose saved settings are exactly what the previous scheme gives under the current profile is re-keyed: it
keeps its tensors and takes the new settings, identity and file name; its metadata records the re-keying. Others are
left alone and reported.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from mpt_nb.checkpoint import load_prompt, save_prompt
from mpt_nb.methods import TEACHERS, SourceStage, source_stages
from mpt_nb.profiles import SharedConfig, TeacherConfig, get_profile
from mpt_nb.sources import settings_diff, stage_file_name, stage_identity, stage_metadata, stage_settings

OLD_FIELDS = sorted({f.name for c in (TeacherConfig, SharedConfig) for f in fields(c)})


def previous_settings(profile: Any, stage: SourceStage, seed: int) -> dict[str, Any]:
    settings = stage_settings(profile, stage, seed)
    settings["config"] = {f: getattr(profile, f) for f in OLD_FIELDS}
    if "teachers" in settings:
        settings["teachers"] = previous_settings(profile, TEACHERS, seed)
    return settings


def _stage_of(path: Path, saved: dict[str, Any]) -> SourceStage | None:
    for stage in [TEACHERS, *source_stages(ablations=True)]:
        if saved.get("stage") == asdict(stage):
            return stage
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    profile = get_profile(args.profile)
    for path in sorted(args.folder.glob("*.safetensors")):
        saved = stage_metadata(path).get("source_stage")
        stage = None if saved is None else _stage_of(path, saved)
        if stage is None:
            print(f"{path.name}: left (no stage of the table)")
            continue
        seed = saved["seed"]
        if not settings_diff(saved, stage_settings(profile, stage, seed)):
            print(f"{path.name}: current")
            continue
        diff = settings_diff(saved, previous_settings(profile, stage, seed))
        if diff:
            print(f"{path.name}: left, trained under other settings: {sorted(diff)}")
            continue
        new_path = args.folder / stage_file_name(profile, stage, seed)
        print(f"{path.name} -> {new_path.name}")
        if args.dry_run:
            continue
        prompt, info = load_prompt(path)
        extra = dict(info["extra"])
        settings = stage_settings(profile, stage, seed)
        extra.update(source_stage=settings, identity=stage_identity(settings),
                     rekeyed={"from_identity": extra["identity"],
                              "why": "the settings matched the current profile; the identity now hashes the config "
                                     "of the stage's kind (teachers or shared) instead of the whole source config"})
        assert new_path.name.endswith(f"-{extra['identity']}.safetensors")
        save_prompt(new_path, prompt, model_name=info["model_name"], task_names=info["task_names"], extra=extra)
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
