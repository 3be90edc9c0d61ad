"""What bf16-mixed does to a result: train one experiment in fp32 and in bf16-mixed for a few
seeds, the same number of batches each, and print the final validation metrics side by side.

    python scripts/precision_quality.py                       # dcgan_digits, 1000 batches, 3 seeds
    python scripts/precision_quality.py --experiment vae_digits --batches 600 --seeds 0 1

Each run is a plain `genzoo-train` in its own process (logger=csv, runs under --out).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run(experiment: str, precision: str, seed: int, batches: int, out: Path) -> dict:
    run_dir = out / f"{experiment}-{precision}-seed{seed}"
    cmd = [
        sys.executable,
        "-m",
        "genzoo.cli.train",
        f"experiment={experiment}",
        "trainer=cpu",
        f"trainer.precision={precision}",
        f"seed={seed}",
        f"trainer.max_steps={batches}",
        f"trainer.val_check_interval={batches}",
        "logger=csv",
        "callbacks.progress_bar=null",
        f"paths.run_dir={run_dir}",
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    summary = json.loads((run_dir / "final_metrics.json").read_text())
    return {
        "precision": precision,
        "seed": seed,
        "minutes": (time.perf_counter() - start) / 60,
        **{k: v for k, v in summary["metrics"].items() if k.startswith("val/")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", default="dcgan_digits")
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--precisions", nargs="*", default=["32-true", "bf16-mixed"])
    parser.add_argument("--out", type=Path, default=Path("runs/precision_quality"))
    args = parser.parse_args()

    rows = [
        run(args.experiment, precision, seed, args.batches, args.out)
        for seed in args.seeds
        for precision in args.precisions
    ]
    keys = sorted({k for r in rows for k in r if k.startswith("val/")})
    print(f"{args.experiment}, {args.batches} batches per run")
    print("| precision | seed | minutes | " + " | ".join(keys) + " |")
    print("|---" * (3 + len(keys)) + "|")
    for r in rows:
        values = " | ".join(f"{r.get(k, float('nan')):.4g}" for k in keys)
        print(f"| {r['precision']} | {r['seed']} | {r['minutes']:.1f} | {values} |")
    for precision in args.precisions:
        mine = [r for r in rows if r["precision"] == precision]
        means = " | ".join(
            f"{statistics.mean(r.get(k, float('nan')) for r in mine):.4g}" for k in keys
        )
        print(
            f"| {precision} | mean | {statistics.mean(r['minutes'] for r in mine):.1f} | {means} |"
        )


if __name__ == "__main__":
    main()
