"""A resume continues the run's own config: its saved overrides, with the new ones on top.

`genzoo-train run_name=r1 resume=true trainer.max_steps=4000` means "run r1, as it was started,
for longer", whatever the defaults say today. Before Hydra composes anything, `resume_argv`
rebuilds the command line from the run's `.hydra/overrides.yaml` (the first start) and
`.hydra/resumes.yaml` (each resume since), then this command's overrides. An override that
changes what the checkpoint holds (the family, the networks, the data) is refused in one line;
those that may change (steps, trainer, loggers, callbacks, workers) are recorded as a resume in
`resumes.yaml`, and the first start's files are left as they were.
"""

from __future__ import annotations

import datetime
import logging
import sys
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from genzoo.errors import ConfigError

log = logging.getLogger("genzoo")

FIRST_START = "overrides.yaml"
RESUMES = "resumes.yaml"
# Keys a resume may change: where and how long it trains, what it logs and where, not what
# the checkpoint holds. Anything else that differs from the run's config is refused.
MAY_CHANGE = (
    "trainer",
    "logger",
    "callbacks",
    "paths",
    "hydra",
    "debug",
    "run_name",
    "run_group",
    "resume",
    "ckpt_path",
    "tags",
    "optimized_metric",
    "data.num_workers",
    "data.pin_memory",
    "data.root",
    "data.download",
    "data.in_memory",
    "data.memory_limit_mb",
    "data.augment_on",
    "model.compile",
    # How many samples a validation scores: its estimates, not the weights or the monitor.
    "model.eval_samples",
    "model.iw_samples",
)


def _key(override: str) -> str:
    """The key (or group) an override sets: 'model.lr=1e-3' -> 'model.lr', '+x=1' -> 'x'."""
    return override.split("=", 1)[0].lstrip("+~")


def merge_overrides(*lists: list[str]) -> list[str]:
    """Later lists win: one override per key, in the order the keys first appeared."""
    merged: dict[str, str] = {}
    for overrides in lists:
        for override in overrides:
            merged[_key(override)] = override
    return list(merged.values())


def may_change(key: str) -> bool:
    return any(key == k or key.startswith(f"{k}.") for k in MAY_CHANGE)


def run_history(run_dir: Path) -> list[str] | None:
    """The run's effective overrides so far (first start, then each resume), or None if the
    run directory has no record of its start."""
    first = run_dir / ".hydra" / FIRST_START
    if not first.is_file():
        return None
    lists = [list(yaml.safe_load(first.read_text()) or [])]
    resumes = run_dir / ".hydra" / RESUMES
    if resumes.is_file():
        lists += [
            list(entry.get("overrides") or [])
            for entry in yaml.safe_load(resumes.read_text()) or []
        ]
    return merge_overrides(*lists)


def record_resume(run_dir: Path, overrides: list[str], from_batch: int) -> None:
    """Append this resume's new overrides to `.hydra/resumes.yaml` (not where the run lives,
    nor resume=true itself)."""
    overrides = [o for o in overrides if _key(o) not in ("run_group", "run_name", "resume")]
    path = run_dir / ".hydra" / RESUMES
    entries = (yaml.safe_load(path.read_text()) or []) if path.is_file() else []
    entries.append(
        {
            "time": datetime.datetime.now().isoformat(timespec="seconds"),
            "from_batch": from_batch,
            "overrides": overrides,
        }
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(entries, sort_keys=False))
    tmp.replace(path)


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): node}


def _compose(overrides: list[str]) -> DictConfig:
    from genzoo.config.compose import compose_config

    return compose_config("train", overrides, hydra_config=True)


def changed_keys(before: list[str], after: list[str]) -> dict[str, tuple[Any, Any]]:
    """Keys whose (unresolved) value differs between two compositions, and how, that a
    resume may not change."""
    old, new = (_compose(o) for o in (before, after))
    choices = ("hydra.runtime.choices.",)
    flat_old, flat_new = (_flat(OmegaConf.to_container(c, resolve=False)) for c in (old, new))
    changed = {}
    for key in sorted(set(flat_old) | set(flat_new)):
        a, b = flat_old.get(key, "<absent>"), flat_new.get(key, "<absent>")
        if a == b:
            continue
        if key.startswith(choices):  # a group choice: model=..., data=..., experiment=...
            group = key.removeprefix(choices[0])
            if not may_change(group):
                changed[group] = (a, b)
        elif not may_change(key):
            changed[key] = (a, b)
    return changed


def _run_dir_of(overrides: list[str]) -> Path | None:
    """Where this command line's run lives (hydra.run.dir), or None if it cannot say."""
    from hydra.core.hydra_config import HydraConfig

    try:
        cfg = _compose(overrides)
        HydraConfig.instance().set_config(cfg)
        return Path(str(cfg.hydra.run.dir))
    except Exception:  # Hydra's own run reports a config it cannot compose
        return None


def _find_run(run_dir: Path) -> Path | None:
    """The run to resume: `run_dir`, else the one run of that name under the runs root."""
    if (run_dir / ".hydra" / FIRST_START).is_file():
        return run_dir
    root = run_dir.parent.parent
    found = sorted(p.parent.parent for p in root.glob(f"*/{run_dir.name}/.hydra/{FIRST_START}"))
    if len(found) == 1:
        log.info("resuming %s (run_group=%s)", found[0], found[0].parent.name)
        return found[0]
    if len(found) > 1:
        groups = ", ".join(f"run_group={p.parent.name}" for p in found)
        raise ConfigError(
            f"resume=true: runs named {run_dir.name} exist in several groups; add one of {groups}"
        )
    return None  # resume_checkpoint says that there is nothing to resume


def resume_argv(argv: list[str], overrides: list[str]) -> list[str]:
    """The command line to run: unchanged unless it resumes a run that recorded its start."""
    if "resume=true" not in [o.lower() for o in overrides] or any(
        a in ("-m", "--multirun") for a in argv
    ):
        return argv
    run_dir = _run_dir_of(overrides)
    run = _find_run(run_dir) if run_dir is not None else None
    history = run_history(run) if run is not None else None
    if run is None or history is None:
        return argv
    # Where the run lives is fixed by the run itself, not by today's group defaults.
    located = [f"run_group={run.parent.name}", f"run_name={run.name}"]
    before = merge_overrides(history, located)
    after = merge_overrides(before, overrides)
    changed = changed_keys(before, after)
    groups = {k: v for k, v in changed.items() if "." not in k}
    changed = groups or changed  # model=dcgan: the family, not each of its keys
    if changed:
        listing = ", ".join(f"{k}: {a} -> {b}" for k, a, b in ((k, *v) for k, v in changed.items()))
        raise ConfigError(
            f"resume=true continues {run} as it was started, and these overrides change what "
            f"its checkpoint holds: {listing}. Drop them to continue the run, or start a new "
            "run (another run_name) with them"
        )
    flags = [a for a in argv if a not in overrides]
    return flags + after


def rewrite_resume_command_line(argv: list[str]) -> None:
    """genzoo-train's main(): replace sys.argv by the resume's full command line."""
    from genzoo.config.command_line import overrides_of

    overrides = overrides_of(argv)
    if overrides:
        sys.argv[1:] = resume_argv(argv, overrides)
