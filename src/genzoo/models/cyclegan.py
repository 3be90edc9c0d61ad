"""CycleGAN (Zhu et al., ICCV 2017): unpaired translation between domains A and B.

Four networks: G_AtoB, G_BtoA (ResNet generators by default) and the PatchGAN discriminators
D_A, D_B. The generators minimise the LSGAN loss + `cycle_weight` * cycle consistency
|F(G(a)) - a| + |G(F(b)) - b| (eq. 2, lambda = 10) + `identity_weight` * `cycle_weight` *
identity |G(b) - b| + |F(a) - a| (sec. 5.2, 0.5 * lambda); each discriminator sees fakes drawn
from a history pool of 50 (sec. 4). Adam(2e-4, 0.5), constant then linearly decaying learning
rate. Manual optimization with two optimizers, one per role, each over both networks of its
role; Adam's steps are per parameter, so this is the paper's update. Each batch steps the
generators first, then the discriminators on the fakes made before that step, in the order of
the reference code (junyanz/pytorch-CycleGAN-and-pix2pix, `optimize_parameters`).

The embedded task's held-out batches are aligned (`'aligned'` in the batch): G(A) and F(B) are
then scored against the true mapping, beside the identity baseline (docs/translation.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import nn

from genzoo.losses.adversarial import discriminator_loss_fake, discriminator_loss_real
from genzoo.metrics.reconstruction import per_image_psnr
from genzoo.models.base import OptimizerFactory
from genzoo.models.gan import to_signed, to_unit
from genzoo.models.translation import DIRECTIONS, ImagePool, TranslationModel, paper_adversarial
from genzoo.networks.discriminators import PatchGAN
from genzoo.networks.translation import build_generator
from genzoo.utils.distributed import gather_from_processes


class CycleGAN(TranslationModel):
    generator: nn.ModuleDict  # AtoB, BtoA
    discriminator: nn.ModuleDict  # A, B
    monitor: ClassVar[str | None] = "val/cycle_l1"

    def __init__(
        self,
        image_channels: int = 3,
        image_size: int = 256,
        generator: str = "resnet",
        blocks: int = 9,
        width: int = 64,
        norm: str = "instance",
        dropout: float = 0.0,
        d_width: int = 64,
        d_layers: int = 3,
        d_norm: str = "instance",
        loss: str = "lsgan",
        cycle_weight: float = 10.0,
        identity_weight: float = 0.5,
        pool_size: int = 50,
        lr_constant_steps: int = 100_000,
        lr_decay_steps: int = 100_000,
        optimizer_g: OptimizerFactory | None = None,
        optimizer_d: OptimizerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
    ) -> None:
        super().__init__(
            lr_constant_steps=lr_constant_steps,
            lr_decay_steps=lr_decay_steps,
            optimizer_g=optimizer_g,
            optimizer_d=optimizer_d,
            channels_last=channels_last,
        )
        self.save_hyperparameters(ignore=["optimizer_g", "optimizer_d"])
        self.directions = DIRECTIONS
        self.loss_kind = loss
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight
        c = image_channels

        def make_generator() -> nn.Module:
            return build_generator(generator, c, c, image_size, width, norm, dropout, blocks)

        self.generator = nn.ModuleDict({"AtoB": make_generator(), "BtoA": make_generator()})
        # D_A judges images of domain A (real A against F(b)); D_B those of B.
        self.discriminator = nn.ModuleDict(
            {d: PatchGAN(c, d_width, d_layers, d_norm) for d in ("A", "B")}
        )
        self._setup_ema()
        self.pools = {d: ImagePool(pool_size) for d in ("A", "B")}

    def generator_for(self, direction: str) -> nn.Module:
        return self.generator[direction]

    # ----- training -------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        a, b = to_signed(batch["A"]), to_signed(batch["B"])
        self._grad_norms = {} if self.logging_now() else None
        fake_b, fake_a = self.generator["AtoB"](a), self.generator["BtoA"](b)
        logs: dict[str, Any] = {}
        # As the reference (junyanz, cycle_gan_model.optimize_parameters): G steps first on the
        # adversarial, cycle and identity terms; then D judges the fakes made before G's step.
        self.generator_step(lambda: self.g_loss_terms(a, b, fake_a, fake_b, logs))
        self.discriminator_step(
            lambda: self.d_loss_terms(a, b, fake_a.detach(), fake_b.detach(), logs)
        )
        self.end_batch(logs, len(a))

    def d_loss_terms(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        fake_a: torch.Tensor,
        fake_b: torch.Tensor,
        logs: dict[str, Any],
    ) -> Iterator[torch.Tensor]:
        for domain, real, fake in (("B", b, fake_b), ("A", a, fake_a)):
            d = self.discriminator[domain]
            pooled = self.pools[domain].query(fake)
            # Each half as the paper's least-squares term: 2x genzoo's (which carries 1/2).
            real_loss = discriminator_loss_real(self.loss_kind, d(real))
            fake_loss = discriminator_loss_fake(self.loss_kind, d(pooled))
            scale = 1.0 if self.loss_kind == "lsgan" else 0.5
            yield scale * (real_loss + fake_loss)
            logs[f"train/d_loss_{domain}"] = scale * (real_loss + fake_loss).detach()

    def g_loss_terms(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        fake_a: torch.Tensor,
        fake_b: torch.Tensor,
        logs: dict[str, Any],
    ) -> Iterator[torch.Tensor]:
        g_ab, g_ba = self.generator["AtoB"], self.generator["BtoA"]
        adversarial = paper_adversarial(
            self.loss_kind, self.discriminator["B"](fake_b)
        ) + paper_adversarial(self.loss_kind, self.discriminator["A"](fake_a))
        cycle = (g_ba(fake_b) - a).abs().mean() + (g_ab(fake_a) - b).abs().mean()
        loss = adversarial + self.cycle_weight * cycle
        if self.identity_weight:
            identity = (g_ab(b) - b).abs().mean() + (g_ba(a) - a).abs().mean()
            loss = loss + self.identity_weight * self.cycle_weight * identity
            logs["train/identity_loss"] = identity.detach()
        yield loss
        logs["train/adversarial_loss"] = adversarial.detach()
        logs["train/cycle_loss"] = cycle.detach()
        logs["train/g_loss"] = loss.detach()

    # ----- the pools in the checkpoint ----------------------------------------------------
    # Each DDP process keeps a pool of its own fakes; the checkpoint keeps every process's,
    # (processes, n, C, H, W) per domain, and process r resumes from pool r.
    def pool_states(self) -> dict[str, torch.Tensor]:
        """Every process's pools, gathered (a collective: called in every process)."""
        return {d: gather_from_processes(p.state(self.device)).cpu() for d, p in self.pools.items()}

    def restore_pools(self, saved: dict[str, torch.Tensor], rank: int) -> None:
        """Pools from `pool_states()` (or a one-process (n, C, H, W) of older checkpoints):
        process `rank` takes its own; a run resumed on more processes than saved them reuses
        the saved ones in turn."""
        for d, images in saved.items():
            per_process = images if images.dim() == 5 else images[None]
            self.pools[d].load(per_process[rank % len(per_process)] if images.numel() else images)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["image_pools"] = self.pool_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        self.restore_pools(checkpoint.get("image_pools", {}), self.global_rank)

    def monitor_metric(self, datamodule: Any = None) -> str | None:
        """The error to the truth where the held-out pairs are aligned (a wrong map can have a
        low cycle error); the cycle error where they are not."""
        return "val/l1_to_truth" if getattr(datamodule, "aligned_held_out", False) else self.monitor

    # ----- held-out metrics -------------------------------------------------------------
    def val_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        a, b = batch["A"], batch["B"]
        g_ab, g_ba = self.generator["AtoB"], self.generator["BtoA"]
        fake_b, fake_a = to_unit(g_ab(to_signed(a))), to_unit(g_ba(to_signed(b)))
        cycle_a, cycle_b = to_unit(g_ba(to_signed(fake_b))), to_unit(g_ab(to_signed(fake_a)))
        out = {
            "cycle_l1_A": (cycle_a - a).abs().flatten(1).mean(1),
            "cycle_l1_B": (cycle_b - b).abs().flatten(1).mean(1),
        }
        if "aligned" in batch and bool(batch["aligned"].all()):
            # B is the true mapping of A: score both directions against the truth.
            out["l1_AtoB"] = (fake_b - b).abs().flatten(1).mean(1)
            out["l1_BtoA"] = (fake_a - a).abs().flatten(1).mean(1)
            out["psnr_AtoB"] = per_image_psnr(fake_b, b)
            out["psnr_BtoA"] = per_image_psnr(fake_a, a)
            out["identity_l1"] = (a - b).abs().flatten(1).mean(1)
            out["identity_psnr"] = per_image_psnr(a, b)
        return out

    def finish_means(self, means: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        means["cycle_l1"] = (means["cycle_l1_A"] + means["cycle_l1_B"]) / 2
        if "l1_AtoB" in means:
            means["l1_to_truth"] = (means["l1_AtoB"] + means["l1_BtoA"]) / 2
        if "identity_psnr" in means:
            for d in DIRECTIONS:
                means[f"gain_{d}"] = means[f"psnr_{d}"] - means["identity_psnr"]
        return means

    def metric_notes(self) -> dict[str, str]:
        return {
            "cycle_l1_A, cycle_l1_B": "|F(G(a)) - a|, |G(F(b)) - b| on [0, 1] images",
            "l1_*, psnr_*": "G(a) against the true B of a, F(b) against the true A of b "
            "(embedded task only: aligned held-out pairs)",
            "identity_*": "the input itself as the output: the baseline; gain_* = psnr_* - "
            "identity_psnr (dB)",
        }
