"""W&B offline without a key, resumed runs keep their W&B id, TensorBoard and no-logger runs."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from genzoo.training.train import train

SHORT = [
    "trainer=cpu",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "model.iw_samples=2",
    "callbacks.image_grid.every_n_steps=1",
]


def test_wandb_goes_offline_without_key_and_resume_keeps_run_id(
    make_cfg, tmp_path: Path, monkeypatch, caplog
) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    run = tmp_path / "wb"
    with caplog.at_level(logging.WARNING, logger="genzoo"):
        train(make_cfg(*SHORT, "logger=wandb", run_dir=run))
    assert "logs offline" in caplog.text and "wandb sync" in caplog.text
    offline_runs = list((run / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1
    run_id = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["genzoo"][
        "wandb_run_id"
    ]
    assert run_id and offline_runs[0].name.endswith(run_id)
    assert (run / "csv" / "metrics.csv").is_file(), "the local CSV is written beside W&B"

    train(
        make_cfg(
            *[a for a in SHORT if "max_epochs" not in a],
            "trainer.max_epochs=2",
            "logger=wandb",
            "resume=true",
            run_dir=run,
        )
    )
    resumed = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["genzoo"][
        "wandb_run_id"
    ]
    assert resumed == run_id


def test_tensorboard_logger_writes_events_and_images(make_cfg, tmp_path: Path) -> None:
    run = tmp_path / "tb"
    train(make_cfg(*SHORT, "logger=tensorboard", run_dir=run))
    assert list((run / "tensorboard").rglob("events.out.tfevents.*"))
    assert (run / "csv" / "metrics.csv").is_file()


def test_logger_none_logs_nothing_but_keeps_checkpoints(make_cfg, tmp_path: Path) -> None:
    run = tmp_path / "quiet"
    train(make_cfg(*SHORT, "logger=none", run_dir=run))
    assert not (run / "csv").exists() and not (run / "wandb").exists()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "images" / "samples_latest.png").is_file()
    from PIL import Image

    with Image.open(run / "images" / "samples_latest.png") as image:  # says what it shows
        assert "samples from seed 0" in image.text["Description"]
        assert image.text["Title"].startswith("samples, batch ")


def test_wandb_logger_is_built_without_the_deprecated_anonymous_setting(make_cfg, tmp_path) -> None:
    """Lightning passes anonymous=None, which W&B answers with a deprecation note on every run."""
    from genzoo.training.loggers import build_loggers

    cfg = make_cfg("logger=wandb")
    loggers = build_loggers(cfg.logger)
    wandb_loggers = [lg for lg in loggers if type(lg).__name__ == "WandbLogger"]
    assert len(wandb_loggers) == 1 and "anonymous" not in wandb_loggers[0]._wandb_init
