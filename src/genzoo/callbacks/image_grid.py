"""Logs image grids (fixed-seed samples, reconstructions, interpolations) to every logger and to PNG."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid

from genzoo.callbacks.console import batches_done
from genzoo.models.base import GenerativeModel
from genzoo.utils.figures import label_columns, save_png


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
        table_seeds: int = 8,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.every_n_steps, self.num_samples, self.seed = every_n_steps, num_samples, seed
        self.interpolation_steps, self.interpolation_rows = interpolation_steps, interpolation_rows
        self.table_seeds = table_seeds  # images in the W&B table of fixed-seed samples
        self._fixed_batch: dict[str, torch.Tensor] | None = None
        self._last_logged_step = -1
        # What each grid shows: column titles drawn above panels, a caption in the PNG's metadata.
        self.column_titles: dict[str, list[str]] = {}
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

    @staticmethod
    def _held_out_batches(trainer: L.Trainer) -> Iterator[dict[str, torch.Tensor]]:
        """The validation batches, read only as far as a family's panels ask."""
        datamodule = getattr(trainer, "datamodule", None)
        try:
            loader = datamodule.val_dataloader() if datamodule is not None else ()
        except Exception:  # no validation data: no panels
            return
        yield from loader

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
        for name, panel in model.validation_panels(self._held_out_batches(trainer)).items():
            out[name] = panel.grid
            self.captions[name] = panel.caption
            if panel.column_titles:
                self.column_titles[name] = panel.column_titles
        if model.supports("interpolate"):
            rows = [
                model.interpolate(
                    self.interpolation_steps, self.seed + 2 * r, self.seed + 2 * r + 1
                )
                for r in range(self.interpolation_rows)
            ]
            out["interpolations"] = make_grid(torch.cat(rows).cpu(), nrow=self.interpolation_steps)
        return out

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
                    logger.log_image(
                        key=f"images/{name}", images=[picture], caption=[what], step=step
                    )
                elif isinstance(logger, TensorBoardLogger):
                    logger.experiment.add_image(f"images/{name}", grid, global_step=step)
        if model.supports("sample"):
            self._log_sample_table(trainer, model, batch, step)

    def _log_sample_table(
        self, trainer: L.Trainer, model: GenerativeModel, batch: int, step: int
    ) -> None:
        """A W&B table of one image per fixed seed, a table per logging: the same seeds' images
        side by side across a run's steps and across runs."""
        loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        if not loggers:
            return
        import wandb

        seeds = list(range(self.seed, self.seed + self.table_seeds))
        with torch.no_grad():
            was_training = model.training
            model.eval()
            try:
                images = model.sample(len(seeds), seeds=seeds).cpu()
            finally:
                model.train(was_training)
        rows = [
            [batch, seed, wandb.Image(image, caption=f"seed {seed}, batch {batch}")]
            for seed, image in zip(seeds, images, strict=True)
        ]
        for logger in loggers:
            logger.log_table("samples/by_seed", ["batch", "seed", "sample"], rows, step=step)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args, **kwargs
    ) -> None:
        batch = batches_done(trainer)
        if self.every_n_steps > 0 and batch % self.every_n_steps == 0 and batch > 0:
            self.log_grids(trainer, pl_module)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.log_grids(trainer, pl_module)
