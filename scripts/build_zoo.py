"""Rebuild the trained checkpoints genzoo ships (src/genzoo/zoo/) from the recipes.

    python scripts/build_zoo.py train   # trains every shipped recipe, seed 0 (about 45 CPU minutes)
    python scripts/build_zoo.py pack    # slims each run to its inference weights, evaluates
                                        # the slimmed model with genzoo-eval, writes its card
    python scripts/build_zoo.py all     # both

Runs go to runs/zoo-build/<experiment>/zoo (`--runs` to change). `train` skips a recipe whose
run already finished (`--retrain` to start over). The shipped set, its sizes and metrics are
listed in docs/zoo.md, written by `pack`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from genzoo.zoo.build import ZOO_RECIPES, pack_all  # noqa: E402

RUN_NAME = "zoo"


def run_dir(runs: Path, experiment: str) -> Path:
    return runs / experiment / RUN_NAME


def train_one(runs: Path, experiment: str, extra: list[str], retrain: bool) -> None:
    target = run_dir(runs, experiment)
    if (target / "final_metrics.json").is_file() and not retrain:
        print(f"{experiment}: trained already ({target}); --retrain to start over")
        return
    if target.exists():
        import shutil

        shutil.rmtree(target)
    command = [
        sys.executable,
        "-m",
        "genzoo.cli.train",
        f"experiment={experiment}",
        f"run_name={RUN_NAME}",
        f"paths.runs_root={runs}",
        "logger=csv",
        "trainer=cpu",
        *[item.format(runs=runs) for item in extra],
    ]
    print(f"{experiment}: {' '.join(command[3:])}", flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=dict(os.environ, WANDB_MODE="offline"))
    seconds = time.perf_counter() - start
    record = {
        "train_seconds": round(seconds, 1),
        "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores",
        "command": "genzoo-train " + " ".join(command[3:6]),
    }
    (target / "zoo_train.json").write_text(json.dumps(record, indent=2))
    print(f"{experiment}: {seconds / 60:.1f} min", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    # cards: only the Markdown cards and docs/zoo.md, again from the JSON cards.
    parser.add_argument("phase", choices=["train", "pack", "all", "cards"])
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "zoo-build")
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--only", nargs="*", help="shipped names to build (default: all)")
    args = parser.parse_args()
    runs = args.runs.resolve()
    names = args.only or [recipe.name for recipe in ZOO_RECIPES]
    if args.phase in ("train", "all"):
        for recipe in ZOO_RECIPES:
            if recipe.name in names:
                train_one(runs, recipe.experiment, list(recipe.train_overrides), args.retrain)
    if args.phase in ("pack", "all"):
        pack_all(runs, RUN_NAME, names)
    if args.phase == "cards":
        from genzoo.zoo.cards import write_zoo_page

        write_zoo_page(REPO / "docs" / "zoo.md")


if __name__ == "__main__":
    main()
