"""Hyper-parameter search: the Optuna presets of configs/hparams_search/ (a real two-trial
search on the embedded digits), the W&B sweep file for a server, and the SLURM launcher."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from genzoo.config.compose import optuna_direction
from genzoo.utils.paths import config_dir
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
SEARCHES = {"vae_digits": "val/nll", "dcgan_digits": "val/fid"}


def _composed(*overrides: str) -> DictConfig:
    """configs/train.yaml with its hydra node, resolved as in a run (runtime choices set)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


def test_optuna_directions_follow_the_metrics() -> None:
    assert optuna_direction("val/fid") == "minimize"
    assert optuna_direction("val/psnr") == "maximize"
    with pytest.raises(ValueError, match="best at 1"):
        optuna_direction("val/hf_ratio")


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_each_search_preset_composes_an_optuna_sweep(name: str, tmp_path: Path) -> None:
    cfg = _composed(
        f"experiment={name}", f"hparams_search={name}", "run_name=s",
        f"paths.runs_root={tmp_path}",
    )  # fmt: skip
    sweeper = cfg.hydra.sweeper
    assert "OptunaSweeper" in sweeper._target_ and cfg.hydra.mode.name == "MULTIRUN"
    assert cfg.optimized_metric == SEARCHES[name]
    assert sweeper.direction == "minimize"
    assert sweeper.storage == f"sqlite:///{tmp_path.resolve()}/multirun/s/optuna.sqlite"
    assert sweeper.study_name == f"{name}_s"
    # Every searched key is a key of the experiment's config.
    for key in sweeper.params:
        assert OmegaConf.select(cfg, key) is not None, key


def test_a_two_trial_search_runs_and_records_its_best(tmp_path: Path) -> None:
    result = run_cli(
        "genzoo-train", "-m", "experiment=vae_digits", "hparams_search=vae_digits",
        "hydra.sweeper.n_trials=2", "hydra.sweeper.sampler.n_startup_trials=2",
        "trainer=cpu", "trainer.max_steps=2", "trainer.limit_train_batches=2",
        "trainer.check_val_every_n_epoch=1", "trainer.limit_val_batches=1",
        "model.iw_samples=2", "model.eval_samples=48", "callbacks.image_grid.every_n_steps=0",
        "logger=csv", "run_name=search",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = tmp_path / "runs" / "multirun" / "search"
    nll = [
        json.loads((sweep / job / "final_metrics.json").read_text())["metrics"]["val/nll"]
        for job in ("0", "1")
    ]
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(min(nll))
    with sqlite3.connect(sweep / "optuna.sqlite") as db:
        states = [row[0] for row in db.execute("select state from trials")]
    assert states == ["COMPLETE", "COMPLETE"]


def test_a_search_of_a_metric_the_run_does_not_log_says_which_it_does(tmp_path: Path) -> None:
    result = run_cli(
        "genzoo-train", "experiment=vae_digits", "optimized_metric=val/psnr", "trainer=cpu",
        "trainer.max_steps=1", "trainer.limit_train_batches=1",
        "trainer.check_val_every_n_epoch=1", "trainer.limit_val_batches=1",
        "model.iw_samples=2", "model.eval_samples=48", "callbacks.image_grid.every_n_steps=0",
        "logger=csv", "run_name=m",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "optimized_metric=val/psnr was not logged" in result.stderr
    assert "val/nll" in result.stderr


def test_the_wandb_sweep_file_calls_genzoo_train_with_keys_it_has() -> None:
    sweep = yaml.safe_load((ROOT / "scripts" / "wandb_sweep_vae_digits.yaml").read_text())
    assert sweep["command"][0] == "genzoo-train" and "${args_no_hyphens}" in sweep["command"]
    metric = sweep["metric"]["name"]
    assert metric.startswith("best/")  # a plain number in the run's summary (wandb_logger.py)
    assert sweep["metric"]["goal"] == optuna_direction(metric.removeprefix("best/"))
    fixed = [a for a in sweep["command"][1:] if "=" in a]
    picked = [f"{k}={v.get('values', [v.get('min')])[0]}" for k, v in sweep["parameters"].items()]
    cfg = _composed(*fixed, *picked)
    for override in picked:
        key, value = override.split("=")
        assert str(OmegaConf.select(cfg, key)) == value


def test_the_slurm_launcher_asks_for_the_trainers_gpus() -> None:
    cfg = _composed("hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4",
                    "trainer.num_nodes=2", "hydra.launcher.partition=gpu")  # fmt: skip
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.tasks_per_node, launcher.gpus_per_node, launcher.nodes) == (4, 4, 2)
    assert launcher.partition == "gpu" and launcher.signal_delay_s == 120
