"""Every config file composes, and every node with a _target_ instantiates."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint

from genzoo.training.loggers import build_callbacks, build_loggers
from genzoo.utils.paths import config_dir
from tests.conftest import tiny_first_stage

CONFIGS = config_dir()


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


def test_every_group_has_options() -> None:
    for group in (
        "model",
        "data",
        "trainer",
        "logger",
        "callbacks",
        "debug",
        "experiment",
        "paths",
    ):
        assert options(group), f"configs/{group} is empty"


@pytest.mark.parametrize("name", options("model"))
def test_model_configs_instantiate(make_cfg, name: str, tmp_path: Path) -> None:
    # SRGAN's first stage is a run the user names; null builds it without one. The VQ prior's
    # is a VQ-VAE checkpoint: a tiny one of the digits' shape.
    extra = {
        "srgan": ["model.init_from=null"],
        "vqvae_prior": [f"model.first_stage={tiny_first_stage(tmp_path / 'vq.ckpt', 1, 32)}"],
    }.get(name, [])
    cfg = make_cfg(f"model={name}", *extra)
    model = instantiate(cfg.model, _convert_="all")
    assert model.configure_optimizers() is not None


@pytest.mark.parametrize("name", options("data"))
def test_data_configs_instantiate(make_cfg, fake_data_root: Path, name: str) -> None:
    extra = {
        "image_folder": ["data.path=" + str(fake_data_root / "folder")],
        "sr_folder": ["data.val_dir=" + str(fake_data_root / "folder")],
        "paired_folder": ["data.path=" + str(fake_data_root / "facades")],
        "unpaired_folder": ["data.path=" + str(fake_data_root / "horse2zebra")],
    }.get(name, [])
    cfg = make_cfg(f"data={name}", f"paths.data_root={fake_data_root}", *extra)
    datamodule = instantiate(cfg.data, _convert_="all")
    size = cfg.data.get("image_size", cfg.data.get("hr_size", datamodule.image_size))
    assert datamodule.channels == cfg.data.channels and datamodule.image_size == size


@pytest.mark.parametrize("name", options("trainer"))
def test_trainer_configs_compose(make_cfg, name: str) -> None:
    cfg = make_cfg(f"trainer={name}")
    if cfg.trainer.accelerator in ("cpu", "auto"):
        trainer = instantiate(cfg.trainer, logger=False)
        assert trainer.max_epochs == cfg.trainer.max_epochs
    else:  # GPU trainers: the strategy and everything but the accelerator must still build
        if "strategy" in cfg.trainer:
            instantiate(cfg.trainer.strategy)
        assert cfg.trainer.precision in ("16-mixed", "bf16-mixed", "32-true")


@pytest.mark.parametrize("name", options("logger"))
def test_logger_configs_instantiate(make_cfg, name: str) -> None:
    cfg = make_cfg(f"logger={name}")
    loggers = build_loggers(cfg.get("logger"))
    assert (len(loggers) == 0) == (name == "none")


@pytest.mark.parametrize("name", options("callbacks"))
def test_callback_configs_instantiate(make_cfg, name: str) -> None:
    cfg = make_cfg(f"callbacks={name}")
    model = instantiate(cfg.model, _convert_="all")
    callbacks = build_callbacks(cfg.callbacks, model, has_logger=True)
    checkpoints = [c for c in callbacks if isinstance(c, ModelCheckpoint)]
    assert checkpoints and checkpoints[0].monitor == model.monitor


@pytest.mark.parametrize("name", options("debug"))
def test_debug_configs_compose(make_cfg, name: str) -> None:
    assert make_cfg(f"debug={name}").trainer


def test_run_group_defaults_to_model_and_data(make_cfg) -> None:
    assert make_cfg().run_group == "vae_digits"
    assert make_cfg("data=photos").run_group == "vae_photos"


def test_packaged_and_checkout_configs_agree() -> None:
    assert (CONFIGS / "train.yaml").is_file() and Path(CONFIGS).name == "configs"
