"""Stage 2 of VQ-VAE / VQ-VAE-2 (Razavi et al. 2019, sec. 3.2, algorithm 2): an autoregressive
prior over the frozen first stage's code maps, then samples decoded through its decoder.

`model.first_stage` names the VQ-VAE run (or checkpoint). Its weights are copied into this
module (so a prior run samples on its own) and its checkpoint's sha256 is kept: a resume whose
first stage changed is refused. Codes are encoded on the fly from each batch (docs/vqvae.md:
measured cheap next to the prior's step, and random crops stay random).

Metrics: prior NLL in bits per code; the two-stage bound -log2 p(x) <= -log2 p(z) -
log2 p(x | z) with z the encoder's codes (a deterministic q, so no entropy term), in bits per
image dimension, with p(x | z) the first stage's fitted discretised logistic; FID / KID / SWD
(and class entropy on digits) of decoded samples (models/quality.py).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.models.base import GenerativeModel, OptimizerFactory, SchedulerFactory
from genzoo.models.first_stage import FirstStageError, read_first_stage
from genzoo.models.quality import SampleQualityMixin
from genzoo.models.speed import build_optimizer
from genzoo.models.vqvae import VQVAE
from genzoo.networks.deploy import ExportPart
from genzoo.networks.priors import PRIOR_KINDS, CausalTransformer, GatedPixelCNN, sample_codes

# The frozen first stage stays in eval mode on purpose (VQPrior.train).
warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode at the start")


class VQPrior(SampleQualityMixin, GenerativeModel):
    """Autoregressive prior(s) over a frozen VQ-VAE's codes: one for a VQ-VAE; for VQ-VAE-2 a
    top prior and a bottom prior conditioned on the top codes."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"sample", "evaluate", "export"})
    sample_options: ClassVar[frozenset[str]] = frozenset({"temperature", "top_k", "top_p"})
    sequential_sampling: ClassVar[bool] = True
    monitor: ClassVar[str | None] = "val/nll_bits_per_code"
    monitor_mode: ClassVar[str] = "min"

    def export_parts(self) -> list[ExportPart]:
        """The first stage's decoder: a prior's samples are code maps drawn one code at a time,
        which deploy as a loop around the prior, not as one graph."""
        return self.first_stage.export_parts()

    def __init__(
        self,
        first_stage: str | None = None,
        image_channels: int = 1,
        image_size: int = 32,
        kind: str = "transformer",
        width: int = 128,
        layers: int = 4,
        heads: int = 4,
        kernel_size: int = 3,
        dropout: float = 0.0,
        num_classes: int = 0,
        feature_network: str = "auto",
        eval_samples: int = 1000,
        first_stage_info: dict[str, Any] | None = None,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,  # torch.compile the networks for training (models/base.py)
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler, channels_last=channels_last)
        if kind not in PRIOR_KINDS:
            raise ValueError(f"model.kind='{kind}' is not known: use {', '.join(PRIOR_KINDS)}")
        self.save_hyperparameters(ignore=["optimizer", "scheduler"])
        weights: dict[str, torch.Tensor] | None = None
        if first_stage_info is None:  # a new run (or a resume): read the named first stage
            if not first_stage:
                raise FirstStageError(
                    "model.first_stage is not set: pass the VQ-VAE run this prior learns, e.g. "
                    "model.first_stage=runs/vqvae_digits/<run name>"
                )
            first_stage_info, weights = read_first_stage(first_stage)
            self.hparams["first_stage_info"] = first_stage_info  # saved in every checkpoint
        self.first_stage = VQVAE(**first_stage_info["hparams"])
        if weights is not None:
            self.first_stage.load_state_dict(weights)
        self.first_stage.requires_grad_(False).eval()
        self.num_classes, self.levels = num_classes, self.first_stage.levels
        self.shapes = self.first_stage.code_shapes()
        num_codes = self.first_stage.num_codes
        self.priors = nn.ModuleList()
        for level, shape in enumerate(self.shapes):
            cond = num_codes if level < self.levels - 1 else 0  # bottom | top codes
            if kind == "transformer":
                prior: nn.Module = CausalTransformer(
                    num_codes, shape, width, layers, heads, dropout, num_classes, cond
                )
            else:
                prior = GatedPixelCNN(num_codes, width, layers, kernel_size, num_classes, cond)
            self.priors.append(prior)
        self._init_quality(feature_network, eval_samples, image_size, image_channels)

    @classmethod
    def check_hparams(cls, hparams: dict[str, Any]) -> dict[str, str]:
        problems = super().check_hparams(hparams)
        if hparams.get("kind") not in PRIOR_KINDS:
            problems["kind"] = f"must be one of {', '.join(PRIOR_KINDS)}"
        path = hparams.get("first_stage")
        if path and not hparams.get("first_stage_info"):
            try:
                info, _ = read_first_stage(str(path))
            except FirstStageError as err:
                return {**problems, "first_stage": str(err).split(" ", 1)[1]}
            theirs = info["hparams"]
            for key, name in (("image_size", "image_size"), ("image_channels", "channels")):
                if key in hparams and theirs.get(key) != hparams[key]:
                    problems[key] = (
                        f"differs from the first stage's {theirs.get(key)}: set data.{name}="
                        f"{theirs.get(key)} (the data the first stage was trained on)"
                    )
        return problems

    @classmethod
    def image_size_problem(cls, size: int) -> str | None:
        return None  # the first stage's size, checked against it above

    def train(self, mode: bool = True) -> VQPrior:
        super().train(mode)
        self.first_stage.eval()  # frozen: its batch statistics and codebook stay as trained
        return self

    def configure_optimizers(self) -> Any:
        trainable = [p for p in self.parameters() if p.requires_grad]
        if self.optimizer_factory is None:
            return super().configure_optimizers()
        return build_optimizer(self.optimizer_factory, trainable)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = (checkpoint.get("hyper_parameters") or {}).get("first_stage_info") or {}
        mine = self.hparams.get("first_stage_info") or {}
        if saved.get("sha256") and mine.get("sha256") and saved["sha256"] != mine["sha256"]:
            raise FirstStageError(
                f"model.first_stage={self.hparams.get('first_stage')} has changed since this "
                f"prior was trained on it ({mine['checkpoint']}: sha256 {mine['sha256'][:12]} "
                f"now, {saved['sha256'][:12]} then): pass the first stage it was trained on "
                f"({saved.get('checkpoint')}), or start a new prior run"
            )
        super().on_load_checkpoint(checkpoint)

    # ----- likelihood -----------------------------------------------------------------
    def _labels(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        if "label" not in batch:
            raise FirstStageError(
                f"this prior is class-conditional (model.num_classes={self.num_classes}) but the "
                "batch has no 'label': use a data set with labels or set model.num_classes=0"
            )
        return batch["label"].long()

    def code_nll(
        self, codes: list[torch.Tensor], labels: torch.Tensor | None
    ) -> list[torch.Tensor]:
        """-log p of each level's code map, (B,) nats per level, bottom first."""
        nll = []
        for level, prior in enumerate(self.priors):
            cond = codes[level + 1] if level + 1 < self.levels else None
            logits = prior(codes[level], labels, cond)  # (B, K, H, W)
            ce = F.cross_entropy(logits, codes[level], reduction="none")  # (B, H, W)
            nll.append(ce.flatten(1).sum(1))
        return nll

    def _bits_per_code(self, nll: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Mean bits per code over all levels, and per level for VQ-VAE-2; each (B,)."""
        codes = sum(h * w for h, w in self.shapes)
        out = {"nll_bits_per_code": sum(nll) / (codes * math.log(2))}
        if self.levels == 2:
            for level, level_nll in enumerate(nll):
                h, w = self.shapes[level]
                name = self.first_stage.level_name(level)
                out[f"nll_bits_per_code{name}"] = level_nll / (h * w * math.log(2))
        return out  # type: ignore[return-value]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        codes = self.first_stage.encode(batch["image"])
        bits = self._bits_per_code(self.code_nll(codes, self._labels(batch)))
        loss = bits["nll_bits_per_code"].mean() * math.log(2)  # nats per code
        epoch_mean = bits["nll_bits_per_code"].mean().detach()
        self.log(
            "train/nll_bits_per_code_epoch",
            epoch_mean,
            on_step=False,
            on_epoch=True,
            sync_dist=True,
        )
        if self.logging_now():
            self.log_dict({f"train/{k}": v.mean() for k, v in bits.items()}, on_step=True)
        return loss

    def _batch_metrics(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["image"]
        codes = self.first_stage.encode(x)
        nll = self.code_nll(codes, self._labels(batch))
        out = self._bits_per_code(nll)
        prior_bits = sum(nll) / math.log(2)
        recon_bits = self.first_stage.recon_bits_per_dim(x, codes) * x[0].numel()
        out["bpd_bound"] = (prior_bits + recon_bits) / x[0].numel()
        return out

    def on_validation_epoch_start(self) -> None:
        self.quality_validation_start()

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.quality_validation_step(batch)
        logs = {f"val/{k}": v.mean() for k, v in self._batch_metrics(batch).items()}
        self.log_dict(logs, prog_bar=True, batch_size=len(batch["image"]), sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        metrics = self.quality_validation_end()
        self.log_dict({f"val/{k}": v for k, v in metrics.items()}, sync_dist=True)

    # ----- the contract ---------------------------------------------------------------
    @torch.no_grad()
    def sample_code_maps(
        self,
        n: int,
        generator: torch.Generator,
        labels: torch.Tensor | None = None,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        use_cache: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[torch.Tensor]:
        """n code maps per level (bottom first), the top level drawn first."""
        codes: list[torch.Tensor] = [torch.empty(0)] * self.levels
        total = sum(h * w for h, w in self.shapes)
        done = 0
        for level in reversed(range(self.levels)):
            cond = codes[level + 1] if level + 1 < self.levels else None
            offset = done

            def report(i: int, _: int, offset: int = offset) -> None:
                if progress is not None:
                    progress(offset + i, total)

            codes[level] = sample_codes(
                self.priors[level], n, self.shapes[level], generator, labels, cond,
                temperature, top_k, top_p, use_cache, report,
            )  # fmt: skip
            done += self.shapes[level][0] * self.shapes[level][1]
        return codes

    @torch.no_grad()
    def sample(
        self,
        n: int,
        seed: int = 0,
        labels: torch.Tensor | None = None,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seeds: list[int] | None = None,
        use_cache: bool = True,
        progress: Callable[[int, int], None] | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """n decoded samples in [0, 1]; class-conditional priors cycle through the classes
        unless `labels` are given. Same seed, same images (one image per entry of `seeds`)."""
        if seeds is not None:
            return torch.cat(
                [
                    self.sample(
                        1,
                        s,
                        None if labels is None else labels[i : i + 1],
                        temperature,
                        top_k,
                        top_p,
                        use_cache=use_cache,
                    )  # fmt: skip
                    for i, s in enumerate(seeds)
                ]
            )
        if self.num_classes and labels is None:
            labels = torch.arange(n, device=self.device) % self.num_classes
        generator = torch.Generator().manual_seed(seed)
        codes = self.sample_code_maps(
            n, generator, labels, temperature, top_k, top_p, use_cache, progress
        )
        return self.first_stage.decode(codes)

    @torch.no_grad()
    def evaluate(self, dataloader: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        sums: dict[str, float] = {}
        count = 0
        for batch in dataloader:
            batch = {k: v.to(self.device) for k, v in batch.items()}
            for key, value in self._batch_metrics(batch).items():
                sums[key] = sums.get(key, 0.0) + float(value.sum())
            count += len(batch["image"])
        result = {key: total / count for key, total in sums.items()}
        result["num_images"] = float(count)
        return {**result, **self.quality_evaluate(dataloader)}

    def metric_notes(self) -> dict[str, str]:
        return {
            **self.quality_notes(),
            "nll_bits_per_code": "-log2 p(codes) / number of codes, codes from the first "
            "stage's encoder",
            "bpd_bound": "(-log2 p(z) - log2 p(x | z)) / dims with z the encoder's codes: an "
            "upper bound on -log2 p(x) per dimension, p(x | z) the first stage's discretised "
            "logistic over 8-bit values",
        }
