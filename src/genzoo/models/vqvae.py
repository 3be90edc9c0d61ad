"""VQ-VAE (van den Oord et al. 2017) and VQ-VAE-2 (Razavi et al. 2019) as one family:
`model=vqvae` with `model.levels=1` or `2` (the same losses, metrics and contract; only the
networks differ, networks/vqvae.py).

Loss (eq. 3): ||x - D(z_q)||^2 + beta * ||z_e - sg[z_q]||^2 (+ ||sg[z_e] - z_q||^2 when the
codebook learns by loss rather than by moving averages). The decoder is deterministic; for the
two-stage likelihood bound (models/vqvae_prior.py) a discretised logistic with one learned
scale (a single scalar shared by every image and pixel) is fitted to its reconstructions,
without changing the reconstructions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.losses.likelihood import discretized_logistic_log_likelihood
from genzoo.metrics.reconstruction import per_image_psnr
from genzoo.models.base import GenerativeModel, OptimizerFactory, SchedulerFactory
from genzoo.models.gan import to_signed, to_unit
from genzoo.networks.deploy import CodesToImage, ExportPart, InputSpec
from genzoo.networks.quantizer import VectorQuantizer, code_statistics, statistics_of_counts
from genzoo.networks.vqvae import VQVAENet
from genzoo.utils.distributed import sum_over_processes

LEVEL_NAMES = ("bottom", "top")


class VQVAE(GenerativeModel):
    """Discrete-latent autoencoder: `encode` images to integer code maps, `decode` them back."""

    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"reconstruct", "encode", "decode", "evaluate", "export"}
    )
    monitor: ClassVar[str | None] = "val/mse"
    monitor_mode: ClassVar[str] = "min"

    def __init__(
        self,
        image_channels: int = 1,
        image_size: int = 32,
        levels: int = 1,
        hidden_channels: int = 64,
        res_blocks: int = 2,
        res_channels: int = 32,
        downsample: int = 4,
        num_codes: int = 64,
        code_dim: int = 32,
        beta: float = 0.25,
        codebook: str = "ema",
        decay: float = 0.99,
        restart_after: int = 100,
        kmeans_init: bool = False,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, channels_last=channels_last)
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        self.levels, self.num_codes, self.beta = levels, num_codes, beta
        self.image_size, self.downsample = image_size, downsample
        self.net = VQVAENet(
            image_channels, levels, hidden_channels, res_blocks, res_channels, downsample,
            num_codes, code_dim, codebook, decay, restart_after, kmeans_init,
        )  # fmt: skip
        # The likelihood's scale on [-1, 1]; fitted to the reconstruction error, see above.
        self.log_scale = nn.Parameter(torch.tensor(math.log(0.1)))
        self._val_counts: list[torch.Tensor] = []

    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> dict[str, str]:
        problems = super().check_hparams(hparams)
        size, down = hparams.get("image_size"), hparams.get("downsample", 4)
        levels = hparams.get("levels", 1)
        if not (isinstance(size, int) and isinstance(down, int) and isinstance(levels, int)):
            return problems
        if levels not in (1, 2):
            return {**problems, "levels": f"is {levels}: 1 (VQ-VAE) or 2 (VQ-VAE-2)"}
        if down < 2 or down & (down - 1):
            return {**problems, "downsample": f"is {down}, not a power of two (2, 4, 8)"}
        factor = down * 2 ** (levels - 1)
        if size % factor:
            problems["image_size"] = f"is {size}, not a multiple of {factor} (downsample x levels)"
        return problems

    @classmethod
    def image_size_problem(cls, size: int) -> str | None:
        return None  # its rule (a multiple of downsample x levels) needs the other values

    def code_shapes(self) -> list[tuple[int, int]]:
        """(H', W') of each level's code map, bottom first."""
        side = self.image_size // self.downsample
        return [(side // 2**level, side // 2**level) for level in range(self.levels)]

    def level_name(self, level: int) -> str:
        """'' for the one level of a VQ-VAE, '_bottom' / '_top' for VQ-VAE-2 (metric names)."""
        return "" if self.levels == 1 else f"_{LEVEL_NAMES[level]}"

    # ----- losses -----------------------------------------------------------------
    def _terms(self, x: torch.Tensor) -> dict[str, Any]:
        target = to_signed(x)
        recon, levels = self.net(target)
        terms: dict[str, Any] = {
            "recon": recon,
            "mse": F.mse_loss(recon, target),
            "commitment": sum(lvl["commitment"] for lvl in levels),
            "codebook": sum(lvl["codebook_loss"] for lvl in levels),
            "codes": [lvl["codes"] for lvl in levels],
        }
        # Only the scale learns from the likelihood: the reconstructions stay those of eq. 3.
        log_px = discretized_logistic_log_likelihood(recon.detach(), self.log_scale, x)
        terms["recon_bits_per_dim"] = -log_px / (x[0].numel() * math.log(2))  # (B,)
        return terms

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        t = self._terms(batch["image"])
        loss = t["mse"] + self.beta * t["commitment"] + t["codebook"]
        # The epoch's mean: Lightning sums it without a host sync and logs it at the epoch's end.
        self.log("train/mse_epoch", t["mse"].detach(), on_step=False, on_epoch=True, sync_dist=True)
        if self.logging_now():
            logs = {"train/loss": loss, "train/mse": t["mse"], "train/commitment": t["commitment"]}
            for level, codes in enumerate(t["codes"]):
                stats = code_statistics(codes, self.num_codes)
                logs[f"train/perplexity{self.level_name(level)}"] = stats["perplexity"]
            self.log_dict(logs, on_step=True, on_epoch=False)
        return loss + t["recon_bits_per_dim"].mean()  # the last term moves log_scale alone

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # A code restarted in this forward (codebook=loss) starts with fresh optimizer moments,
        # not those it gathered before it died. Its gradient this step is zero (no vector
        # chose it), so zeroed moments leave it where the restart put it.
        quantizers: list[VectorQuantizer] = list(self.net.quantizers)  # type: ignore[arg-type]
        for quantizer in quantizers:
            mask = quantizer.just_restarted
            quantizer.just_restarted = None
            if mask is None or quantizer.mode != "loss":
                continue
            state = optimizer.state.get(quantizer.weight, {})
            for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer"):
                if isinstance(state.get(key), torch.Tensor):
                    state[key][mask] = 0

    # ----- validation ---------------------------------------------------------------
    def on_validation_epoch_start(self) -> None:
        self._val_counts = [
            torch.zeros(self.num_codes, device=self.device) for _ in range(self.levels)
        ]

    def _batch_metrics(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], list]:
        t = self._terms(x)
        recon = to_unit(t["recon"]).clamp(0, 1)
        per_image = {
            "mse": (recon - x).pow(2).flatten(1).mean(1),
            "psnr": per_image_psnr(recon, x),
            "recon_bits_per_dim": t["recon_bits_per_dim"],
        }
        return per_image, t["codes"]

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        per_image, codes = self._batch_metrics(batch["image"])
        for counts, level_codes in zip(self._val_counts, codes, strict=True):
            counts += torch.bincount(level_codes.flatten(), minlength=self.num_codes)
        logs = {f"val/{k}": v.mean() for k, v in per_image.items()}
        self.log_dict(logs, prog_bar=True, batch_size=len(batch["image"]), sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        logs = {}
        for level, counts in enumerate(self._val_counts):
            stats = statistics_of_counts(sum_over_processes(counts))
            for key, value in stats.items():
                logs[f"val/{key}{self.level_name(level)}"] = value
            restarts = self.net.quantizers[level].get_buffer("restarts").float()
            logs[f"val/codes_restarted{self.level_name(level)}"] = restarts
        self.log_dict(logs, prog_bar=False)

    # ----- the contract -------------------------------------------------------------
    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Images (B, C, H, W) in [0, 1] -> integer code maps (B, H', W') per level, bottom first."""
        return [lvl["codes"] for lvl in self.net.quantize(to_signed(x.to(self.device)))]

    @torch.no_grad()
    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """Code maps (B, H', W') per level, bottom first -> images (B, C, H, W) in [0, 1]."""
        return to_unit(self.net.decode_codes([c.to(self.device) for c in codes])).clamp(0, 1)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(self.encode(x))

    def export_parts(self) -> list[ExportPart]:
        shapes = self.code_shapes()
        names = (
            ["codes"]
            if self.levels == 1
            else [f"codes_{LEVEL_NAMES[i]}" for i in range(self.levels)]
        )
        # Each level halves the one below: grow the top by one code, the bottom by two.
        inputs = {
            name: InputSpec(
                (2, *shape), "codes", self.num_codes, spatial_step=2 ** (self.levels - 1 - i)
            )
            for i, (name, shape) in enumerate(zip(names, shapes, strict=True))
        }
        return [ExportPart("decoder", CodesToImage(self.net), inputs)]

    def recon_bits_per_dim(self, x: torch.Tensor, codes: list[torch.Tensor]) -> torch.Tensor:
        """-log2 p(x | codes) / dims under the fitted discretised logistic, (B,)."""
        recon = self.net.decode_codes([c.to(self.device) for c in codes])
        log_px = discretized_logistic_log_likelihood(recon, self.log_scale, x.to(self.device))
        return -log_px / (x[0].numel() * math.log(2))

    @torch.no_grad()
    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        sums: dict[str, float] = {}
        counts = [torch.zeros(self.num_codes, device=self.device) for _ in range(self.levels)]
        images = 0
        for batch in dataloader:
            per_image, codes = self._batch_metrics(batch["image"].to(self.device))
            for key, value in per_image.items():
                sums[key] = sums.get(key, 0.0) + float(value.sum())
            for total, level_codes in zip(counts, codes, strict=True):
                total += torch.bincount(level_codes.flatten(), minlength=self.num_codes)
            images += len(batch["image"])
        result = {key: total / images for key, total in sums.items()}
        for level, total in enumerate(counts):
            for key, value in statistics_of_counts(total).items():
                result[f"{key}{self.level_name(level)}"] = float(value)
        result["num_images"] = float(images)
        return result

    def metric_notes(self) -> dict[str, str]:
        return {
            "psnr": "per held-out image in [0, 1], then the mean",
            "recon_bits_per_dim": "-log2 p(x | codes) / dims: a discretised logistic over 8-bit "
            "values around the decoder's output, one fitted scale",
            "perplexity": "exp(entropy) of the held-out codes' histogram; code_usage: the "
            "fraction of the codebook they use",
        }
