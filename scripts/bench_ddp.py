"""Seconds per training batch of the GAN families under DDP, by gradient-sync mechanism.

    python scripts/bench_ddp.py                      # dcgan_digits and stylegan_digits, ddp_cpu
    python scripts/bench_ddp.py --trainer ddp        # on the GPUs of this machine

Mechanisms (docs/cli.md, "DDP"):
- `genzoo`: each player's gradients averaged in one flat all-reduce before its optimizer
  step, DDP's reducer idle (the default).
- `find_unused`: DDP's reducer with `find_unused_parameters=true`: it all-reduces after every
  backward pass (several per step) and searches the graph for unused parameters each time.
- `one_process`: the same per-process batch in one process, no communication (the floor).

Each figure is (time of a run of `--long` batches - time of `--short` batches) / difference,
so start-up, data loading and the process launch cancel out. No validation, no logger.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

MECHANISMS = {
    "genzoo": [],
    "find_unused": ["trainer.strategy.find_unused_parameters=true"],
    "one_process": None,  # trainer=cpu / gpu instead of the DDP trainer
}


def run_seconds(experiment: str, trainer: str, extra: list[str], batches: int, root: str) -> float:
    args = [
        sys.executable, "-m", "genzoo.cli.train", f"experiment={experiment}", f"trainer={trainer}",
        f"trainer.max_steps={batches}", "trainer.limit_val_batches=0", "logger=none",
        "callbacks.progress_bar=null", "callbacks.image_grid=null", "callbacks.model_checkpoint=null",
        f"paths.runs_root={root}", f"run_name=b{time.monotonic_ns()}", *extra,
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiments", nargs="*", default=["dcgan_digits", "stylegan_digits"])
    parser.add_argument("--trainer", default="ddp_cpu", choices=["ddp_cpu", "ddp"])
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=50)
    parser.add_argument("--mechanisms", nargs="*", default=list(MECHANISMS), choices=MECHANISMS)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run")
    args = parser.parse_args()
    single = "cpu" if args.trainer == "ddp_cpu" else "gpu"
    print("| experiment | mechanism | s / batch |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as root:
        for experiment in args.experiments:
            for name in args.mechanisms:
                extra = MECHANISMS[name]
                trainer = args.trainer if extra is not None else single
                times = [
                    run_seconds(experiment, trainer, [*(extra or []), *args.overrides], n, root)
                    for n in (args.short, args.long)
                ]
                per_batch = (times[1] - times[0]) / (args.long - args.short)
                print(f"| {experiment} | {name} | {per_batch:.3f} |", flush=True)


if __name__ == "__main__":
    main()
