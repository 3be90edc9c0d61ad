"""Training throughput and peak memory: each family's default experiment under Lightning,
and the same networks in a plain PyTorch loop, side by side.

    python scripts/bench.py                          # every row, fp32
    python scripts/bench.py --rows dcgan_ref64       # DCGAN at pytorch/examples' setting
    python scripts/bench.py --families vae --precision bf16-mixed --channels-last
    python scripts/bench.py --rows srgan_ref96 --set data.augment_on=device model.compile=true

Every measurement runs in its own process, so peak memory is that run's alone (CUDA:
torch.cuda.max_memory_allocated; CPU: peak resident set size of the process). Speed is the
median time per batch over the timed batches (a GAN batch is one D and one G step), which
a background hiccup on a shared machine does not move the way a total does.

The Lightning side runs what genzoo-train runs, validation aside: the experiment's callbacks
(progress bar, learning-rate monitor, image grids), NaNGuard and the CSV logger. The plain
side is a hand-written loop over the same networks, losses and optimizers. "data %" is the
share of the plain loop's time spent waiting for the next batch (its copy to the device and,
with data.augment_on=device, the batch's finishing there included). `--set KEY=VALUE` applies
to the rows whose config has KEY (`--set +KEY=VALUE`: whose config has KEY's parent); "warm-up s" is the time of the warm-up batches, which holds
torch.compile's kernel generation under model.compile=true.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch


@dataclass(frozen=True)
class Row:
    label: str
    family: str
    overrides: tuple[str, ...]
    plain_step: str  # name of a function below: one training step written as plain PyTorch
    # A VQ prior's row: the overrides of its first stage, built untrained (the step's cost does
    # not depend on the first stage's weights, only on its networks and code maps).
    first_stage: tuple[str, ...] = ()


# The pytorch/examples DCGAN: 64x64x3, batch 64, nz 100, ngf = ndf = 64, Adam 2e-4 (0.5, 0.999).
REFERENCE_DCGAN = (
    "model=dcgan",
    "data=photos",
    "data.image_size=64",
    "data.batch_size=64",
    "model.latent_dim=100",
    "model.g_channels=64",
    "model.d_channels=64",
)

# The paper's SR setting (96x96 HR crops, batch 16, 16 blocks of 64 channels, x4). SRGAN's VGG
# here has fixed random weights: the same arithmetic as ImageNet's, which this machine lacks.
PAPER_SR = ("data=sr_photos", "data.hr_size=96", "data.batch_size=16")
SRGAN_96 = ("model=srgan", *PAPER_SR, "model.init_from=null", "model.content_loss=vgg19_random")

ROWS = [
    Row("vae_digits32", "vae", ("experiment=vae_digits", "data.image_size=32"), "vae_step"),
    Row(
        "vae_photos64",
        "vae",
        ("experiment=vae_photos", "data.image_size=64", "data.crop_size=128"),
        "vae_step",
    ),
    Row("dcgan_digits32", "dcgan", ("experiment=dcgan_digits", "data.image_size=32"), "gan_step"),
    Row("dcgan_digits64", "dcgan", ("experiment=dcgan_digits", "data.image_size=64"), "gan_step"),
    Row(
        "stylegan_digits32",
        "stylegan",
        ("experiment=stylegan_digits", "data.image_size=32"),
        "gan_step",
    ),
    Row(
        "stylegan_digits64",
        "stylegan",
        ("experiment=stylegan_digits", "data.image_size=64"),
        "gan_step",
    ),
    Row("dcgan_ref64", "dcgan", REFERENCE_DCGAN, "gan_step"),
    Row("srresnet_photos", "srresnet", ("experiment=srresnet_photos",), "srresnet_step"),
    Row("srresnet_96", "srresnet", ("model=srresnet", *PAPER_SR), "srresnet_step"),
    Row("srgan_96", "srgan", SRGAN_96, "srgan_step"),
    # eriklindernoren/PyTorch-GAN's srgan.py compares VGG19 features up to phi_3,4 (its [:18]).
    Row("srgan_ref96", "srgan", (*SRGAN_96, "model.vgg_layer=relu3_4"), "srgan_step"),
]
VQ_DIGITS = ("experiment=vqvae_digits",)
VQ2_PHOTOS = ("experiment=vqvae2_photos",)
ROWS += [
    Row("vqvae_digits", "vqvae", VQ_DIGITS, "vqvae_step"),
    Row("vqvae2_photos", "vqvae", VQ2_PHOTOS, "vqvae_step"),
    Row("prior_digits", "vqvae_prior", ("experiment=vqvae_prior_digits",), "prior_step", VQ_DIGITS),
    Row(
        "pixelcnn_digits",
        "vqvae_prior",
        ("experiment=vqvae_prior_digits", "model.kind=pixelcnn", "model.layers=8"),
        "prior_step",
        VQ_DIGITS,
    ),
    Row(
        "prior2_photos",
        "vqvae_prior",
        ("experiment=vqvae2_prior_photos",),
        "prior_step",
        VQ2_PHOTOS,
    ),
]
# Image-to-image: the embedded defaults, and the papers' 256x256 batch-1 setting of
# junyanz/pytorch-CycleGAN-and-pix2pix (unet_256 / resnet_9blocks, PatchGAN 70x70, fp32).
PIX2PIX_256 = ("model=pix2pix", "data=facades_synth", "data.image_size=256", "data.batch_size=1")
CYCLEGAN_256 = ("model=cyclegan", "data=photos_warm", "data.batch_size=1")
ROWS += [
    Row("pix2pix_facades_synth", "pix2pix", ("experiment=pix2pix_facades_synth",), "pix2pix_step"),
    Row("cyclegan_photos", "cyclegan", ("experiment=cyclegan_photos",), "cyclegan_step"),
    Row("pix2pix_ref256", "pix2pix", PIX2PIX_256, "pix2pix_step"),
    Row(
        "cyclegan_ref256",
        "cyclegan",
        (*CYCLEGAN_256, "data.image_size=256", "data.crop_size=256"),
        "cyclegan_step",
    ),
    Row(
        "cyclegan_ref128",
        "cyclegan",
        (*CYCLEGAN_256, "data.image_size=128", "data.crop_size=128"),
        "cyclegan_step",
    ),
]
# A folder of 1,000 synthetic 256 px JPEGs on disk (made on first use), read at 64 px by the
# reference DCGAN: decoded once into memory (data.in_memory=auto), and decoded per batch.
FOLDER_256 = Path(tempfile.gettempdir()) / "genzoo-bench-folder256"
FOLDER_DCGAN = (
    *(o for o in REFERENCE_DCGAN if not o.startswith("data")),
    "data=image_folder",
    f"data.path={FOLDER_256}",
    "data.image_size=64",
    "data.batch_size=64",
)
ROWS += [
    Row("diffusion_digits", "diffusion", ("experiment=diffusion_digits",), "diffusion_step"),
    Row("dcgan_folder256", "dcgan", FOLDER_DCGAN, "gan_step"),
    Row("dcgan_folder256_files", "dcgan", (*FOLDER_DCGAN, "data.in_memory=false"), "gan_step"),
]


def synthetic_photo_folder(folder: Path, count: int = 1000, size: int = 256) -> Path:
    """Smooth random colour fields saved as JPEG (quality 90), like ref-bench's make_data.py."""
    import numpy as np
    from PIL import Image

    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        small = rng.integers(0, 256, size=(size // 16, size // 16, 3), dtype=np.uint8)
        image = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
        image.save(folder / f"{i:04d}.jpg", quality=90)
    return folder


# The fixed cost of a step: DCGAN and Pix2Pix shrunk until their arithmetic is negligible, so
# that s/batch is what the loop itself (Python, callbacks, logging, syncs) costs per batch.
ROWS += [
    Row(
        "overhead_gan",
        "dcgan",
        ("experiment=dcgan_digits", "data.image_size=8", "data.batch_size=4",
         "model.g_channels=4", "model.d_channels=4", "model.latent_dim=4"),
        "gan_step",
    ),
    Row(
        "overhead_pix2pix",
        "pix2pix",
        ("experiment=pix2pix_facades_synth", "data.image_size=32", "data.batch_size=2",
         "model.width=4", "model.d_width=4"),
        "pix2pix_step",
    ),
]  # fmt: skip

REFERENCE_ROWS = (
    "dcgan_ref64",
    "srgan_ref96",
    "pix2pix_ref256",
    "cyclegan_ref256",
    "cyclegan_ref128",
    "dcgan_folder256",
    "dcgan_folder256_files",
    "overhead_gan",
    "overhead_pix2pix",
)
DEFAULT_ROWS = [row.label for row in ROWS if row.label not in REFERENCE_ROWS]


def vae_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    terms = model.elbo_terms(batch["image"], batch.get("label"))
    loss = (-terms["log_px"] + terms["kl"]).mean()
    optimizers[0].zero_grad(set_to_none=True)
    loss.backward()
    optimizers[0].step()


def diffusion_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    """DDPM's simple loss with label dropout, one Adam step, then the EMA (as the system)."""
    from genzoo.models.ema import ema_decay_at, ema_update

    loss = model.denoising_loss(batch, model.denoiser, drop_labels=True)
    optimizers[0].zero_grad(set_to_none=True)
    loss.backward()
    optimizers[0].step()
    model.plain_steps = getattr(model, "plain_steps", 0) + 1
    ema_update(model.denoiser_ema, model.denoiser, ema_decay_at(model.ema_decay, model.plain_steps))


def gan_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    """One D step and one G step with the family's own losses, as a careful plain loop would
    write them (the pytorch/examples DCGAN does all of this): one batch of fakes for both
    steps, D's loss backpropagated term by term, D's gradients off during the G step."""
    opt_g, opt_d = optimizers
    real = batch["image"] * 2 - 1
    labels = batch.get("label") if model.num_classes else None
    fake = model.training_fakes(len(real), labels)
    opt_d.zero_grad(set_to_none=True)
    for term in model.d_loss_terms(real, labels, fake.detach(), {}):
        term.backward()
    opt_d.step()
    model.d_steps += 1  # the lazy-R1 phase, as GANModel.training_step counts it
    model.discriminator.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    for term in model.g_loss_terms(fake, labels, {}):
        term.backward()
    opt_g.step()
    model.discriminator.requires_grad_(True)
    model.update_ema()


def srresnet_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    loss = torch.nn.functional.mse_loss(model.generator(batch["lr"]), batch["hr"])
    optimizers[0].zero_grad(set_to_none=True)
    loss.backward()
    optimizers[0].step()


def srgan_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    """SRGAN's D step and G step (content + adversarial) on one batch, one generator pass."""
    opt_g, opt_d = optimizers
    lr, hr = batch["lr"], batch["hr"]
    sr = model.generator(lr)
    opt_d.zero_grad(set_to_none=True)
    for term in model.d_loss_terms(hr * 2 - 1, sr.detach() * 2 - 1, {}):
        term.backward()
    opt_d.step()
    model.discriminator.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    for term in model.g_loss_terms(sr, hr, {}):
        term.backward()
    opt_g.step()
    model.discriminator.requires_grad_(True)
    model.update_ema()


def vqvae_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    x = batch["image"] * 2 - 1
    recon, levels = model.net(x)
    loss = torch.nn.functional.mse_loss(recon, x)
    loss = loss + sum(model.beta * q["commitment"] + q["codebook_loss"] for q in levels)
    optimizers[0].zero_grad(set_to_none=True)
    loss.backward()
    optimizers[0].step()


def prior_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    """Codes from the frozen first stage, then each level's cross-entropy (top conditions bottom)."""
    with torch.no_grad():
        codes = model.first_stage.encode(batch["image"])
    loss = 0.0
    for level, prior in enumerate(model.priors):
        cond = codes[level + 1] if level + 1 < len(codes) else None
        loss = loss + torch.nn.functional.cross_entropy(
            prior(codes[level], None, cond), codes[level]
        )
    optimizers[0].zero_grad(set_to_none=True)
    loss.backward()
    optimizers[0].step()


def _two_player_step(model, optimizers: list, d_terms, g_terms) -> None:
    """D's step, then G's with D's gradients off, as the references' loops do."""
    opt_g, opt_d = optimizers
    opt_d.zero_grad(set_to_none=True)
    for term in d_terms():
        term.backward()
    opt_d.step()
    model.discriminator.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    for term in g_terms():
        term.backward()
    opt_g.step()
    model.discriminator.requires_grad_(True)


def pix2pix_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    source, target = model.split(batch)
    x, y = source * 2 - 1, target * 2 - 1
    fake = model.generator(x)
    _two_player_step(
        model,
        optimizers,
        lambda: model.d_loss_terms(x, y, fake.detach(), {}),
        lambda: model.g_loss_terms(x, y, fake, {}),
    )


def cyclegan_step(model, batch: dict[str, torch.Tensor], optimizers: list) -> None:
    a, b = batch["A"] * 2 - 1, batch["B"] * 2 - 1
    fake_b, fake_a = model.generator["AtoB"](a), model.generator["BtoA"](b)
    _two_player_step(
        model,
        optimizers,
        lambda: model.d_loss_terms(a, b, fake_a.detach(), fake_b.detach(), {}),
        lambda: model.g_loss_terms(a, b, fake_a, fake_b, {}),
    )


def untrained_first_stage(overrides: tuple[str, ...]) -> str:
    """A checkpoint of the untrained VQ-VAE that `overrides` compose, for a prior row."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.utils import instantiate

    from genzoo.models.loading import save_bare_checkpoint
    from genzoo.utils.paths import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = hydra_compose("train", overrides=list(overrides))
    model = instantiate(cfg.model, _convert_="all")
    return str(
        save_bare_checkpoint(
            model, Path(tempfile.mkdtemp(prefix="genzoo-bench-")) / "first_stage.ckpt"
        )
    )


def compose(row: Row, precision: str, channels_last: bool | None, settings: tuple[str, ...] = ()):
    import yaml
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    from genzoo.utils.paths import config_dir

    overrides = [*row.overrides, f"trainer.precision={precision}"]
    if row.first_stage:
        overrides.append(f"model.first_stage={untrained_first_stage(row.first_stage)}")
    if channels_last is not None:  # else the config's own choice
        overrides.append(f"model.channels_last={str(channels_last).lower()}")
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = hydra_compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.run_dir = tempfile.mkdtemp(prefix="genzoo-bench-")
        for setting in settings:  # --set: where the row's config has the key (+KEY: its parent)
            key, value = setting.split("=", 1)
            target = key.lstrip("+").rpartition(".")[0] if key.startswith("+") else key
            if OmegaConf.select(cfg, target) is not None:
                OmegaConf.update(cfg, key.lstrip("+"), yaml.safe_load(value), force_add=True)
    return cfg


# Host syncs in a profile: reading a device tensor into Python (int(), float(), .item(), bool()
# of a comparison) goes through this op; on a GPU each waits for every queued kernel.
SYNC_OPS = ("aten::_local_scalar_dense",)


class Profile:
    """torch.profiler over the timed batches when --profile DIR is given: writes the ops
    table and the host syncs per batch to DIR/<row>_<mode>.txt."""

    def __init__(self, directory: str | None, name: str, device: str) -> None:
        self.directory, self.name, self.device = directory, name, device
        self.profiler: torch.profiler.profile | None = None
        self.batches = 0

    def start(self) -> None:
        if not self.directory or self.profiler is not None:
            return
        activities = [torch.profiler.ProfilerActivity.CPU]
        if self.device == "cuda":
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        self.profiler = torch.profiler.profile(activities=activities)
        self.profiler.__enter__()

    def batch_done(self) -> None:
        if self.profiler is not None:
            self.batches += 1

    def finish(self) -> dict:
        if self.profiler is None:
            return {}
        self.profiler.__exit__(None, None, None)
        averages = self.profiler.key_averages()
        syncs = sum(e.count for e in averages if e.key in SYNC_OPS)
        per_batch = syncs / max(1, self.batches)
        sort = "self_cuda_time_total" if self.device == "cuda" else "self_cpu_time_total"
        out = Path(self.directory) / f"{self.name}.txt"  # type: ignore[arg-type]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            f"{self.name}: {self.batches} batches, {per_batch:.2f} host syncs per batch\n\n"
            + averages.table(sort_by=sort, row_limit=40)
        )
        return {"syncs_per_batch": per_batch, "profile": str(out)}


def peak_memory_mb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def batches(datamodule, model, device: str) -> Iterator[dict[str, torch.Tensor]]:
    """What Lightning does with each batch: the datamodule's copy to the device (non-blocking
    from pinned memory; training batches cut on the host are finished there), then the
    model's layout conversion."""
    target = torch.device(device)
    while True:
        for batch in datamodule.train_dataloader():
            batch = datamodule.transfer_batch_to_device(batch, target, 0)
            yield model.on_after_batch_transfer(batch, 0)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def plain_loop(
    cfg, model, datamodule, row: Row, steps: int, warmup: int, device: str, profile: Profile
):
    """(seconds per batch for each timed batch, seconds of each spent waiting for data,
    seconds of the warm-up batches)."""
    from genzoo.models.speed import compile_networks

    model.to(device).train()
    model.apply_memory_format()
    if cfg.model.get("compile"):
        compile_networks(model.compile_targets())
    configured = model.configure_optimizers()
    configured = configured["optimizer"] if isinstance(configured, dict) else configured
    configured = configured[0] if isinstance(configured, tuple) else configured  # (opts, scheds)
    optimizers = configured if isinstance(configured, list) else [configured]
    step_fn: Callable = globals()[row.plain_step]
    autocast = torch.autocast(
        device_type=device, dtype=torch.bfloat16, enabled="bf16" in str(cfg.trainer.precision)
    )
    stream = batches(datamodule, model, device)
    times, waits = [], []
    began = time.perf_counter()
    warmup_s = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            warmup_s = time.perf_counter() - began
            profile.start()
        _sync(device)
        start = time.perf_counter()
        batch = next(stream)
        fetched = time.perf_counter()
        with autocast:
            step_fn(model, batch, optimizers)
        _sync(device)
        if step >= warmup:
            times.append(time.perf_counter() - start)
            waits.append(fetched - start)
            profile.batch_done()
    return times, waits, warmup_s


class StepTimer(L.Callback):
    """Time from one training batch's start to the next's, after a warm-up."""

    def __init__(self, device: str, warmup: int = 0, profile: Profile | None = None) -> None:
        self.device, self.warmup, self.profile = device, warmup, profile
        self.starts: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.profile is not None and len(self.starts) == self.warmup:
            self.profile.start()
        elif self.profile is not None and len(self.starts) > self.warmup:
            self.profile.batch_done()
        _sync(self.device)
        self.starts.append(time.perf_counter())

    def on_train_end(self, trainer, pl_module) -> None:
        _sync(self.device)
        self.starts.append(time.perf_counter())
        if self.profile is not None:
            self.profile.batch_done()

    def times(self, warmup: int) -> list[float]:
        starts = self.starts[warmup:]
        return [b - a for a, b in zip(starts, starts[1:], strict=False)]

    def warmup_seconds(self, warmup: int) -> float:
        return self.starts[warmup] - self.starts[0]


def lightning_loop(
    cfg, model, datamodule, steps: int, warmup: int, device: str, profile: Profile
) -> tuple[list[float], float]:
    from genzoo.callbacks.nan_guard import NaNGuard
    from genzoo.training.loggers import build_callbacks, build_loggers

    per_batch = model.optimizer_steps_for(1) if hasattr(model, "optimizer_steps_for") else 1
    loggers = build_loggers(cfg.logger)
    timer = StepTimer(device, warmup, profile)
    callbacks = build_callbacks(cfg.callbacks, model, has_logger=bool(loggers))
    trainer = L.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        max_steps=(warmup + steps) * per_batch,
        logger=loggers,
        log_every_n_steps=int(cfg.trainer.log_every_n_steps),
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[*callbacks, NaNGuard(), timer],
        precision=str(cfg.trainer.precision),
        default_root_dir=cfg.paths.run_dir,
    )
    trainer.fit(model, datamodule=datamodule)
    return timer.times(warmup), timer.warmup_seconds(warmup)


def measure(
    row: Row,
    mode: str,
    steps: int,
    warmup: int,
    device: str,
    precision: str,
    channels_last: bool | None,
    profile_dir: str | None = None,
    settings: tuple[str, ...] = (),
) -> dict:
    from hydra.utils import instantiate
    from omegaconf import open_dict

    if any(o == f"data.path={FOLDER_256}" for o in row.overrides):
        synthetic_photo_folder(FOLDER_256)
    cfg = compose(row, precision, channels_last, settings)
    with open_dict(cfg):
        cfg.logger = {"csv": cfg.logger.get("csv")} if cfg.logger.get("csv") else None
    L.seed_everything(0, verbose=False)
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.setup("fit")
    model = instantiate(cfg.model, _convert_="all")
    waits: list[float] = []
    profile = Profile(profile_dir, f"{row.label}_{mode}", device)
    if mode == "plain":
        times, waits, warmup_s = plain_loop(
            cfg, model, datamodule, row, steps, warmup, device, profile
        )
    else:
        times, warmup_s = lightning_loop(cfg, model, datamodule, steps, warmup, device, profile)
    profiled = profile.finish()
    per_batch = statistics.median(times)
    return {
        **profiled,
        "row": row.label,
        "family": row.family,
        "size": int(cfg.data.get("image_size") or cfg.data.hr_size),
        "batch": datamodule.batch_size,
        "precision": precision,
        "channels_last": bool(cfg.model.get("channels_last", False)),
        "compile": bool(cfg.model.get("compile", False)),
        "augment_on": "device"
        if getattr(datamodule.train_set, "finish_on_device", False)
        else "host",
        "num_workers": datamodule.num_workers,
        "warmup_s": warmup_s,
        "mode": mode,
        "s_per_batch": per_batch,
        "images_per_s": datamodule.batch_size / per_batch,
        "data_share": sum(waits) / sum(times) if waits else None,
        "peak_mb": peak_memory_mb(device),
    }


def sampling_rates(row: Row, n: int, device: str) -> dict:
    """Images per second of a VQ prior's sampling (codes drawn one by one, then decoded), with
    the transformer's key/value cache and without it (every position a full forward pass)."""
    from hydra.utils import instantiate

    cfg = compose(row, "32-true", None)
    model = instantiate(cfg.model, _convert_="all").to(device).eval()
    result = {"row": row.label, "kind": cfg.model.kind, "n": n}
    # What a training step spends on encoding its batch with the frozen first stage.
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))["image"].to(device)
    model.first_stage.encode(batch)
    times = []
    for _ in range(10):
        _sync(device)
        start = time.perf_counter()
        model.first_stage.encode(batch)
        _sync(device)
        times.append(time.perf_counter() - start)
    result["encode_s"] = statistics.median(times)
    for cached in (True, False):
        model.sample(2, seed=0, use_cache=cached)  # warm-up
        _sync(device)
        start = time.perf_counter()
        model.sample(n, seed=1, use_cache=cached)
        _sync(device)
        result["cached" if cached else "uncached"] = n / (time.perf_counter() - start)
    return result


def run_worker(row: str, mode: str, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        f"{row}:{mode}",
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--device",
        args.device,
        "--precision",
        args.precision,
    ] + {True: ["--channels-last"], False: ["--contiguous"], None: []}[args.channels_last]
    cmd += ["--profile", args.profile] if args.profile else []
    cmd += ["--set", *args.set] if args.set else []
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"bench row {row} ({mode}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def header(args: argparse.Namespace) -> str:
    where = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    columns = (
        f"{'row':<19}{'size':>5}{'batch':>6}{'NHWC':>5}  {'mode':<10}{'s/batch':>9}{'img/s':>9}"
        f"{'peak MB':>9}{'data %':>8}{'L/plain':>9}{'augment':>9}{'warm-up s':>11}"
    )
    settings = f"; --set {' '.join(args.set)}" if args.set else ""
    return (
        f"device: {args.device} ({where}), precision {args.precision}; median of {args.steps} timed "
        f"batches after {args.warmup} warm-up, fastest of {args.repeats} runs{settings}\n"
        f"{columns}\n{'-' * len(columns)}"
    )


def line(r: dict) -> str:
    ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
    data = f"{100 * r['data_share']:.1f}" if r["data_share"] is not None else ""
    return (
        f"{r['row']:<19}{r['size']:>5}{r['batch']:>6}{'yes' if r['channels_last'] else 'no':>5}"
        f"  {r['mode']:<10}"
        f"{r['s_per_batch']:>9.4f}{r['images_per_s']:>9.1f}{r['peak_mb']:>9.0f}{data:>8}{ratio:>9}"
        f"{r['augment_on']:>9}{r['warmup_s']:>11.1f}"
        + (f"  {r['syncs_per_batch']:.1f} syncs/batch" if "syncs_per_batch" in r else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    labels = [row.label for row in ROWS]
    parser.add_argument("--rows", nargs="*", choices=labels, default=None, help="rows to run")
    parser.add_argument("--families", nargs="*", default=None, help="families to run")
    parser.add_argument("--modes", nargs="*", choices=("lightning", "plain"), default=None)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2, help="runs per mode; the fastest counts")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default="32-true", help="e.g. bf16-mixed, 16-mixed")
    layout = parser.add_mutually_exclusive_group()  # neither: each config's own choice
    layout.add_argument(
        "--channels-last", dest="channels_last", action="store_const", const=True, default=None
    )
    layout.add_argument("--contiguous", dest="channels_last", action="store_const", const=False)
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument(
        "--sampling",
        type=int,
        default=0,
        metavar="N",
        help="VQ prior rows: images/s of sampling N images with and without the cache instead",
    )
    parser.add_argument(
        "--profile",
        default=None,
        metavar="DIR",
        help="torch.profiler over the timed batches: ops table and host syncs per batch in DIR",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="config values for every row that has the key, e.g. data.augment_on=device",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    by_label = {row.label: row for row in ROWS}
    if args.worker:  # one measurement in this process
        label, mode = args.worker.split(":")
        result = measure(
            by_label[label],
            mode,
            args.steps,
            args.warmup,
            args.device,
            args.precision,
            args.channels_last,
            args.profile,
            tuple(args.set),
        )
        print(json.dumps(result))
        return

    chosen = args.rows or (labels if args.families else DEFAULT_ROWS)
    if args.sampling:
        torch.set_grad_enabled(False)
        for label in chosen:
            if by_label[label].first_stage:
                r = sampling_rates(by_label[label], args.sampling, args.device)
                print(
                    f"{label:<19}{r['kind']:<12} n={r['n']}: {r['cached']:.1f} img/s cached, "
                    f"{r['uncached']:.1f} img/s uncached; encoding a training batch "
                    f"{r['encode_s']:.4f} s",
                    flush=True,
                )
        return
    modes = args.modes or ["lightning", "plain"]
    results = []
    print(header(args), flush=True)
    for label in chosen:
        if args.families and by_label[label].family not in args.families:
            continue
        # Modes alternate over the repeats and each keeps its fastest run: a machine that
        # slows down for a minute then costs both sides alike.
        pair: dict[str, dict] = {}
        for repeat in range(args.repeats):
            for mode in modes if repeat % 2 == 0 else modes[::-1]:
                result = run_worker(label, mode, args)
                if mode not in pair or result["s_per_batch"] < pair[mode]["s_per_batch"]:
                    pair[mode] = result
        pair = {mode: pair[mode] for mode in modes}
        if len(pair) == 2:
            pair["lightning"]["ratio"] = (
                pair["lightning"]["images_per_s"] / pair["plain"]["images_per_s"]
            )
        results += list(pair.values())
        for result in pair.values():  # row by row: a long bench shows what it has so far
            print(line(result), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
