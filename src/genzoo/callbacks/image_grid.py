"""Logs image grids (fixed-seed samples, reconstructions, interpolations) to every logger and to PNG."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid

from genzoo.callbacks.console import batches_done
from genzoo.figures import label_columns, save_png
from genzoo.models.base import GenerativeModel
from genzoo.networks.srresnet import bicubic_upscale


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The central (at most) size x size region of (B, C, H, W) images."""
    h, w = x.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return x[..., top : top + size, left : left + size]


class ImageGridLogger(L.Callback):
    """Every `every_n_steps` training batches and at the end of fit, on rank 0 only; files are
    named by the batch count (`samples_step0000500.png`), as trainer.max_steps counts.

    Calls only the model contract (sample / reconstruct / interpolate), never its internals.
    PNG files land in `out_dir` whatever the logger, so `logger=csv` runs keep their images.
    """

    def __init__(
        self,
        out_dir: str,
        every_n_steps: int = 500,
        num_samples: int = 64,
        seed: int = 0,
        interpolation_steps: int = 10,
        interpolation_rows: int = 4,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.every_n_steps, self.num_samples, self.seed = every_n_steps, num_samples, seed
        self.interpolation_steps, self.interpolation_rows = interpolation_steps, interpolation_rows
        self._fixed_batch: dict[str, torch.Tensor] | None = None
        self._last_logged_step = -1
        # What each grid shows: column titles drawn above panels, a caption in the PNG's metadata.
        self.column_titles: dict[str, list[str]] = {"upscaled": ["LR", "bicubic", "SR", "HR"]}
        self.captions: dict[str, str] = {}

    def _reference_batch(self, trainer: L.Trainer) -> dict[str, torch.Tensor] | None:
        datamodule = getattr(trainer, "datamodule", None)
        if self._fixed_batch is None and datamodule is not None:
            try:
                loader = datamodule.val_dataloader()
            except Exception:  # no validation data: reconstructions are skipped
                return None
            batch = next(iter(loader))
            self._fixed_batch = {k: v[: min(32, self.num_samples)] for k, v in batch.items()}
        return self._fixed_batch

    def grids(self, trainer: L.Trainer, model: GenerativeModel) -> dict[str, torch.Tensor]:
        """name -> a (3, H, W) grid in [0, 1]; what each shows is in `self.captions`."""
        out: dict[str, torch.Tensor] = {}
        nrow = max(1, int(self.num_samples**0.5))
        self.captions = {
            "samples": f"{self.num_samples} samples from seed {self.seed}",
            "reconstructions": "held-out images, each row of originals followed by its "
            "reconstructions",
            "interpolations": f"{self.interpolation_rows} interpolations between seed pairs, "
            "one per row",
            "upscaled": "held-out crops, one per row",
        }
        if model.supports("sample"):
            out["samples"] = make_grid(
                model.sample(self.num_samples, seed=self.seed).cpu(), nrow=nrow
            )
        batch = self._reference_batch(trainer) if model.supports("reconstruct") else None
        if batch is not None:
            x = batch["image"].to(model.device)
            recon = model.reconstruct(x, batch.get("label", None) if "label" in batch else None)
            if len(x) % 8 == 0:  # rows of 8 originals, each followed by their reconstructions
                pairs = torch.stack(
                    [x.view(-1, 8, *x.shape[1:]), recon.view(-1, 8, *x.shape[1:])], 1
                )
                out["reconstructions"] = make_grid(pairs.flatten(0, 2).cpu(), nrow=8)
            else:  # originals above, reconstructions below
                out["reconstructions"] = make_grid(torch.cat([x, recon]).cpu(), nrow=len(x))
        if model.supports("upscale"):
            panels = self._upscale_panels(trainer, model)
            if panels is not None:
                out["upscaled"] = panels
        if model.supports("translate"):
            out.update(self._translation_panels(trainer, model))
        if model.supports("interpolate"):
            rows = [
                model.interpolate(
                    self.interpolation_steps, self.seed + 2 * r, self.seed + 2 * r + 1
                )
                for r in range(self.interpolation_rows)
            ]
            out["interpolations"] = make_grid(torch.cat(rows).cpu(), nrow=self.interpolation_steps)
        return out

    def _upscale_panels(self, trainer: L.Trainer, model: GenerativeModel) -> torch.Tensor | None:
        """Rows of LR (nearest-upscaled) | bicubic | SR | HR for the centres of the first four
        validation images (crops of up to 48 LR pixels, so the panels stay readable)."""
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is None:
            return None
        rows = []
        for batch, _ in zip(datamodule.val_dataloader(), range(4), strict=False):
            lr = center_crop(batch["lr"], 48).to(model.device)
            scale = batch["hr"].shape[-1] // batch["lr"].shape[-1]
            big = (lr.shape[-2] * scale, lr.shape[-1] * scale)
            hr = center_crop(batch["hr"], max(big)).to(model.device)[..., : big[0], : big[1]]
            nearest = F.interpolate(lr, size=big, mode="nearest")
            rows += [nearest, bicubic_upscale(lr, scale), model.upscale(lr), hr]
        if not rows:
            return None
        return make_grid(torch.cat([r.cpu() for r in rows]), nrow=4, padding=4, pad_value=1.0)

    def _translation_panels(
        self, trainer: L.Trainer, model: GenerativeModel
    ) -> dict[str, torch.Tensor]:
        """One panel per direction the model learned, a row per held-out image: input |
        output | target for paired models (Pix2Pix), input | output | back again (| true
        output, where the held-out pairs are aligned) for both-way ones (CycleGAN)."""
        batch = self._reference_batch(trainer)
        if batch is None:
            return {}
        directions = list(getattr(model, "directions", ()))
        both_ways = len(directions) == 2
        aligned = not both_ways or ("aligned" in batch and bool(batch["aligned"].all()))
        panels = {}
        for direction in directions:
            source, target = direction[0], direction[-1]
            x = batch[source][:8].to(model.device)
            # One image at a time: at 256 px a batch of eight would set the run's peak memory.
            y = torch.cat([model.translate(image[None], direction) for image in x])
            columns = [x, y]
            titles = [source, f"G({source})"] if both_ways else ["input", "output"]
            if both_ways:
                back = f"{target}to{source}"
                columns.append(torch.cat([model.translate(image[None], back) for image in y]))
                titles.append(f"F(G({source}))")
            if aligned:
                columns.append(batch[target][:8].to(model.device))
                titles.append(f"true {target}" if both_ways else "target")
            self.column_titles[f"translate_{direction}"] = titles
            self.captions[f"translate_{direction}"] = f"held-out images, {direction}, one per row"
            rows = torch.stack(columns, 1).flatten(0, 1)  # image by image, column by column
            panels[f"translate_{direction}"] = make_grid(
                rows.cpu(), nrow=len(columns), padding=2, pad_value=1.0
            )
        return panels

    def log_grids(self, trainer: L.Trainer, model: L.LightningModule) -> None:
        if not trainer.is_global_zero or not isinstance(model, GenerativeModel):
            return
        batch, step = batches_done(trainer), trainer.global_step  # files by batch; loggers by step
        if batch == self._last_logged_step:
            return
        self._last_logged_step = batch
        was_training = model.training
        model.eval()
        try:
            grids = self.grids(trainer, model)
        finally:
            model.train(was_training)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name, grid in grids.items():
            titles = self.column_titles.get(name)
            picture = label_columns(grid, titles) if titles else grid
            what = f"{name} after {batch} batches: {self.captions.get(name, name)}"
            if titles:
                what += f"; columns: {' | '.join(titles)}"
            for path in (
                self.out_dir / f"{name}_step{batch:07d}.png",
                self.out_dir / f"{name}_latest.png",
            ):
                save_png(picture, path, title=f"{name}, batch {batch}", description=what)
            for logger in trainer.loggers:
                if isinstance(logger, WandbLogger):
                    logger.log_image(key=f"images/{name}", images=[grid], step=step)
                elif isinstance(logger, TensorBoardLogger):
                    logger.experiment.add_image(f"images/{name}", grid, global_step=step)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args, **kwargs
    ) -> None:
        batch = batches_done(trainer)
        if self.every_n_steps > 0 and batch % self.every_n_steps == 0 and batch > 0:
            self.log_grids(trainer, pl_module)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.log_grids(trainer, pl_module)
