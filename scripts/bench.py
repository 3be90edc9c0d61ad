"""Training throughput and peak memory: each family's default experiment under Lightning,
and the same networks in a plain PyTorch loop, side by side.

    python scripts/bench.py                      # every family, default sizes
    python scripts/bench.py --families vae --steps 100 --device cuda

Every measurement runs in its own process so peak memory is that run's alone
(CUDA: torch.cuda.max_memory_allocated; CPU: peak resident set size of the process).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import lightning as L
import torch


@dataclass(frozen=True)
class Row:
    family: str
    experiment: str
    overrides: tuple[str, ...]
    plain_step: str  # name of a function below: one training step written as plain PyTorch


ROWS = [
    Row("vae", "vae_digits", ("data.image_size=32",), "vae_step"),
    Row("vae", "vae_photos", ("data.image_size=64", "data.crop_size=128"), "vae_step"),
    Row("dcgan", "dcgan_digits", ("data.image_size=32",), "gan_step"),
    Row("dcgan", "dcgan_digits", ("data.image_size=64",), "gan_step"),
    Row("stylegan", "stylegan_digits", ("data.image_size=32",), "gan_step"),
    Row("stylegan", "stylegan_digits", ("data.image_size=64",), "gan_step"),
]


def vae_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    terms = model.elbo_terms(batch["image"], batch.get("label"))
    loss = (-terms["log_px"] + terms["kl"]).mean()
    optimizers[0].zero_grad(set_to_none=True)
    loss.backward()
    optimizers[0].step()


def gan_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    """One D step and one G step with the family's own losses, as a plain PyTorch loop would."""
    opt_g, opt_d = optimizers
    real = batch["image"] * 2 - 1
    labels = batch.get("label") if model.num_classes else None
    d_loss, _ = model.d_loss(real, labels)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    model.d_steps += 1  # the lazy-R1 phase, as GANModel.training_step counts it
    g_loss, _ = model.g_loss(len(real), labels)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    model.update_ema()


def compose(row: Row):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from genzoo.utils.config import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = hydra_compose(
            "train",
            overrides=[f"experiment={row.experiment}", *row.overrides],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.run_dir = "/tmp/genzoo-bench"
    return cfg


def peak_memory_mb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def batches(datamodule, device: str):
    while True:
        for batch in datamodule.train_dataloader():
            yield {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def measure(row: Row, mode: str, steps: int, warmup: int, device: str) -> dict:
    from hydra.utils import instantiate

    cfg = compose(row)
    L.seed_everything(0, verbose=False)
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.setup("fit")
    model = instantiate(cfg.model, _convert_="all")
    batch_size = datamodule.batch_size
    if mode == "plain":
        model.to(device).train()
        configured = model.configure_optimizers()
        configured = configured["optimizer"] if isinstance(configured, dict) else configured
        optimizers = configured if isinstance(configured, list) else [configured]
        step_fn: Callable = globals()[row.plain_step]
        stream = batches(datamodule, device)
        for step in range(warmup + steps):
            if step == warmup:
                if device == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            step_fn(model, next(stream), optimizers)
        if device == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
    else:
        timer = StepTimer(warmup, device)
        per_batch = model.optimizer_steps_for(1) if hasattr(model, "optimizer_steps_for") else 1
        trainer = L.Trainer(
            accelerator="gpu" if device == "cuda" else "cpu",
            devices=1,
            max_steps=(warmup + steps) * per_batch,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
            callbacks=[timer],
            precision=str(cfg.trainer.precision),
        )
        trainer.fit(model, datamodule=datamodule)
        elapsed = timer.elapsed()
    return {
        "family": row.family,
        "experiment": row.experiment,
        "size": int(cfg.data.image_size),
        "batch": batch_size,
        "mode": mode,
        "images_per_s": steps * batch_size / elapsed,
        "peak_mb": peak_memory_mb(device),
    }


class StepTimer(L.Callback):
    """Times the optimizer steps after a warm-up."""

    def __init__(self, warmup: int, device: str) -> None:
        self.warmup, self.device = warmup, device
        self.start = self.end = 0.0
        self.batches = 0

    def _sync(self) -> None:
        if self.device == "cuda":
            torch.cuda.synchronize()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.batches += 1
        if (
            self.batches == self.warmup + 1
        ):  # batches, not optimizer steps (GANs take two per batch)
            self._sync()
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self._sync()
        self.end = time.perf_counter()

    def elapsed(self) -> float:
        return self.end - self.start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--families", nargs="*", default=None, help="families to run (default: all)"
    )
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:  # one measurement in this process
        index, mode = args.worker.split(":")
        print(json.dumps(measure(ROWS[int(index)], mode, args.steps, args.warmup, args.device)))
        return

    results = []
    for index, row in enumerate(ROWS):
        if args.families and row.family not in args.families:
            continue
        pair = {}
        for mode in ("lightning", "plain"):
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                f"{index}:{mode}",
                "--steps",
                str(args.steps),
                "--warmup",
                str(args.warmup),
                "--device",
                args.device,
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            pair[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        pair["lightning"]["ratio"] = (
            pair["lightning"]["images_per_s"] / pair["plain"]["images_per_s"]
        )
        results += [pair["lightning"], pair["plain"]]

    header = f"{'family':<10}{'experiment':<17}{'size':>5}{'batch':>6}  {'mode':<10}{'img/s':>9}{'peak MB':>9}{'L/plain':>9}"
    print(
        f"device: {args.device} ({torch.cuda.get_device_name() if args.device == 'cuda' else 'CPU'}), "
        f"{args.steps} timed steps after {args.warmup} warm-up\n{header}\n" + "-" * len(header)
    )
    for r in results:
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        print(
            f"{r['family']:<10}{r['experiment']:<17}{r['size']:>5}{r['batch']:>6}  {r['mode']:<10}"
            f"{r['images_per_s']:>9.1f}{r['peak_mb']:>9.0f}{ratio:>9}"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
