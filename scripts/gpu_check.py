"""The GPU path in one call: every family's pinned embedded-data recipe for a few dozen steps
under 16-mixed and bf16-mixed (finite losses, a checkpoint that resumes), the R1 / path-length /
gradient-penalty paths under autocast, trainer=ddp (one GPU: the DDP wrapper, NCCL and
SyncBatchNorm; several: DCGAN and StyleGAN over all of them, with the processes' state
compared), then `scripts/bench.py` rows on cuda. One table out.

    bash scripts/gpu_check.sh            # what a machine with one GPU runs (under 8 minutes)

Refuses (exit 3) when no CUDA GPU is visible.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# (experiment, extra overrides): each family, and the regulariser paths under autocast.
DIGITS = ["model.eval_samples=200"]
CASES = [
    ("vae_digits", DIGITS),
    ("dcgan_digits", DIGITS),
    ("wgangp_digits", DIGITS),  # gradient penalty
    (
        "stylegan_digits",
        [*DIGITS, "model.r1_interval=4", "model.pl_weight=2", "model.pl_interval=2"],
    ),
    ("srresnet_photos", ["data.batch_size=8"]),
    ("srgan_photos", ["model.init_from=null", "data.batch_size=8", "data.hr_size=48"]),
    ("vqvae_digits", ["trainer.check_val_every_n_epoch=1"]),
    # Stage 2 on the vqvae_digits run of the same precision above ({runs}, {precision}).
    (
        "vqvae_prior_digits",
        [
            *DIGITS,
            "trainer.check_val_every_n_epoch=1",
            "model.first_stage={runs}/vqvae_digits/vqvae_digits-{precision}",
        ],
    ),
    ("vqvae2_photos", ["data.batch_size=8", "trainer.check_val_every_n_epoch=1"]),
    ("pix2pix_facades_synth", []),
    ("cyclegan_photos", []),
]
PRECISIONS = ["16-mixed", "bf16-mixed"]
STEPS, MORE = 40, 20
QUALITY = (
    "val/fid",
    "val/swd",
    "val/psnr",
    "val/gain_AtoB",
    "val/nll_bits_per_code",
    "ddp/state_mismatches",
)


TRAINER = "gpu"  # --trainer cpu runs the same plumbing on the CPU (how the tests check it)


def ddp_cases(gpus: int) -> list[tuple[str, str, list[str]]]:
    """(label, experiment, overrides) under trainer=ddp: on one GPU the DDP wrapper, NCCL and
    SyncBatchNorm plumbing of a GAN; on several, two families over all GPUs."""
    if gpus < 2:
        return [
            (
                "ddp1-syncbn",
                "dcgan_digits",
                [*DIGITS, "trainer.devices=1", "trainer.sync_batchnorm=true"],
            )
        ]
    return [
        (f"ddp{gpus}", "dcgan_digits", [*DIGITS, "trainer.devices=-1"]),
        (f"ddp{gpus}", "stylegan_digits", [*DIGITS, "trainer.devices=-1"]),
    ]


def train(run_root: Path, experiment: str, extra: list[str], precision: str, steps: int,
          resume: bool, trainer: str, label: str) -> tuple[int, dict, float]:  # fmt: skip
    extra = [e.format(runs=run_root, precision=precision) for e in extra]
    args = [
        sys.executable, "-m", "genzoo.cli.train", f"experiment={experiment}", f"trainer={trainer}",
        f"trainer.precision={precision}", f"trainer.max_steps={steps}",
        f"trainer.val_check_interval={max(1, STEPS // 2)}", "logger=csv",
        "callbacks.progress_bar=null", "callbacks.image_grid.every_n_steps=0",
        f"paths.runs_root={run_root}", f"run_name={label}-{precision}", *extra,
    ]  # fmt: skip
    if resume:
        args.append("resume=true")
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    runs = list(run_root.glob(f"*/{label}-{precision}/final_metrics.json"))
    summary = json.loads(runs[0].read_text()) if runs and done.returncode == 0 else {}
    if done.returncode != 0:
        summary = {"error": (done.stderr or done.stdout)[-600:]}
    return done.returncode, summary, seconds


def check_case(run_root: Path, experiment: str, extra: list[str], precision: str,
               trainer: str | None = None, label: str | None = None) -> dict:  # fmt: skip
    trainer, label = trainer or TRAINER, label or experiment
    name = experiment if label == experiment else f"{experiment} ({label})"
    row = {"experiment": name, "precision": precision}
    code, first, seconds = train(
        run_root, experiment, extra, precision, STEPS, False, trainer, label
    )
    row["seconds"] = round(seconds, 1)
    if code != 0:
        return {**row, "result": "FAIL (train)", "detail": first.get("error", "")}
    code, second, _ = train(
        run_root, experiment, extra, precision, STEPS + MORE, True, trainer, label
    )
    if code != 0:
        return {**row, "result": "FAIL (resume)", "detail": second.get("error", "")}
    losses = {k: v for k, v in second["metrics"].items() if k.startswith("train/")}
    finite = all(math.isfinite(v) for v in losses.values()) and bool(losses)
    quality = {k: round(v, 2) for k, v in second["metrics"].items() if k in QUALITY}
    return {
        **row,
        "result": "ok" if finite else "FAIL (non-finite loss)",
        "global_step": second["global_step"],
        "detail": json.dumps(quality),
    }


def main(argv: list[str]) -> int:
    import argparse

    import torch

    global TRAINER, STEPS, MORE
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trainer", default="gpu", choices=["gpu", "cpu"])
    parser.add_argument("--experiments", nargs="*", default=[c[0] for c in CASES])
    parser.add_argument("--precisions", nargs="*", default=PRECISIONS)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--no-bench", action="store_true")
    parser.add_argument("--no-ddp", action="store_true", help="leave out the trainer=ddp rows")
    args = parser.parse_args(argv)
    TRAINER, STEPS, MORE = args.trainer, args.steps, max(1, args.steps // 2)
    if args.trainer == "gpu" and not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA GPU is visible (torch.cuda.is_available() is False); "
            "run it on a machine with one GPU",
            file=sys.stderr,
        )
        return 3
    device = torch.cuda.get_device_name(0) if args.trainer == "gpu" else "cpu"
    print(f"gpu_check on {device}, torch {torch.__version__}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for experiment, extra in [c for c in CASES if c[0] in args.experiments]:
            for precision in args.precisions:
                rows.append(check_case(Path(tmp), experiment, extra, precision))
                print(json.dumps(rows[-1]), flush=True)
        if args.trainer == "gpu" and not args.no_ddp:
            for label, experiment, extra in ddp_cases(torch.cuda.device_count()):
                rows.append(check_case(Path(tmp), experiment, extra, "16-mixed", "ddp", label))
                print(json.dumps(rows[-1]), flush=True)
    bench = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("bench.py")), "--device", "cuda",
         "--steps", "40"],
        capture_output=True, text=True,
    ) if not args.no_bench else None  # fmt: skip
    print("\n| experiment | precision | result | global step | seconds | val metrics |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['experiment']} | {r['precision']} | {r['result']} | {r.get('global_step', '')}"
            f" | {r['seconds']} | {r.get('detail', '')[:200]} |"
        )
    if bench is not None:
        print("\nscripts/bench.py --device cuda:")
        print(bench.stdout if bench.returncode == 0 else f"FAIL\n{bench.stderr[-1500:]}")
    failed = [r for r in rows if r["result"] != "ok"] or ([1] if bench and bench.returncode else [])
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("WANDB_MODE", "offline")
    sys.exit(main(sys.argv[1:]))
