"""genzoo-eval: the family's metrics on the held-out split, written as JSON beside the run.

genzoo-eval run=runs/vae_digits/<name> [split=val iw_samples=256]
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from genzoo.errors import ConfigError, exit_on_user_error
from genzoo.utils.config import config_dir, require_values

log = logging.getLogger("genzoo")
SPLITS = ("val", "test")


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate a run's checkpoint; return (and write) the metrics with their provenance."""
    if str(cfg.split) not in SPLITS:
        raise ConfigError(f"split={cfg.split} is not a held-out split: use split=val or split=test")
    # Heavy imports here, so that --help and command-line mistakes answer at once.
    import lightning as L
    from hydra.utils import instantiate

    from genzoo.models.super_resolution import mean_of_rows
    from genzoo.utils.checkpoint import load_model
    from genzoo.utils.console import quiet_console
    from genzoo.utils.device import pick_device

    quiet_console()
    L.seed_everything(int(cfg.seed), verbose=False)
    device = pick_device(cfg.device)
    model, meta = load_model(cfg.run, cfg.checkpoint, device=device)
    if cfg.get("test_mode") is not None:  # Pix2Pix: the paper's test behaviour or eval mode
        from genzoo.models.pix2pix import apply_test_mode

        apply_test_mode(model, str(cfg.test_mode))
    if hasattr(model, "iw_samples") and cfg.iw_samples:
        setattr(model, "iw_samples", int(cfg.iw_samples))  # noqa: B010 - not every family has it
    data_cfg, other_set = _data_config(cfg, meta, model)
    datamodule = instantiate(data_cfg, _convert_="all")
    datamodule.prepare_data()
    loader = datamodule.eval_dataloader(str(cfg.split))
    per_image = None
    if model.supports("upscale"):  # SR: one row per image, the means over them
        rows = model.evaluate_per_image(loader)
        names = list(getattr(datamodule, "val_names", [])) or [str(i) for i in range(len(rows))]
        per_image = [{"image": name, **row} for name, row in zip(names, rows, strict=True)]
        metrics = mean_of_rows(rows)
    else:
        metrics = model.evaluate(loader)
    ckpt_path = Path(meta["checkpoint_path"]).resolve()
    run_dir = (
        ckpt_path.parent.parent if ckpt_path.parent.name == "checkpoints" else ckpt_path.parent
    )
    result = {
        "model": meta["model_target"],
        "checkpoint": str(ckpt_path),
        "global_step": meta.get("global_step"),
        "dataset": data_cfg.get("_target_"),
        "split": str(cfg.split),
        "seed": int(cfg.seed),
        "hyper_parameters": dict(model.hparams),
        "metrics": metrics,
        "notes": model.metric_notes(),
    }
    if per_image is not None:
        result["per_image"] = per_image
    tag = datamodule.name if other_set else str(cfg.split)
    out = Path(cfg.out) if cfg.out else run_dir / f"eval_{tag}.json"
    _write_atomically(out, json.dumps(result, indent=2))
    log.info("metrics written to %s", out)
    if per_image is not None:
        table = out.with_suffix(".md")
        _write_atomically(table, sr_table(per_image, metrics, f"{tag}, x{model.hparams['scale']}"))
        log.info("per-image table written to %s", table)
    print(json.dumps(result, indent=2))
    return result


def _data_config(cfg: DictConfig, meta: dict[str, Any], model: Any) -> tuple[DictConfig, bool]:
    """The data config to evaluate on, and whether it is another set than the run's: the run's
    own with `data.*` overrides, or a different dataset chosen with data=NAME (its own config,
    at the run's scale for SR)."""
    run_data = OmegaConf.create(meta["config"]["data"])
    chosen = cfg.data or {}
    other_set = bool(chosen.get("_target_")) and chosen.get("_target_") != run_data.get("_target_")
    data_cfg = OmegaConf.merge(chosen if other_set else run_data, {} if other_set else chosen)
    assert isinstance(data_cfg, DictConfig)
    data_cfg.batch_size = int(cfg.batch_size)
    if "scale" in data_cfg and "scale" in model.hparams:
        data_cfg.scale = int(model.hparams["scale"])  # LR made at the factor the model learned
    return data_cfg, other_set


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def sr_table(rows: list[dict[str, Any]], means: dict[str, float], title: str) -> str:
    """A markdown table: bicubic and model PSNR / SSIM per image, then the mean."""
    lines = [
        f"# Super-resolution, {title}: Y-channel PSNR (dB) / SSIM, border cropped",
        "",
        "| image | bicubic PSNR | model PSNR | bicubic SSIM | model SSIM |",
        "|---|---|---|---|---|",
    ]
    for row in [*rows, {"image": "**mean**", **means}]:
        lines.append(
            f"| {row['image']} | {row['bicubic_psnr']:.2f} | {row['psnr']:.2f} | "
            f"{row['bicubic_ssim']:.4f} | {row['ssim']:.4f} |"
        )
    return "\n".join(lines) + "\n"


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="eval")
def _hydra_main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        require_values(cfg)
        evaluate(cfg)


def main() -> None:
    """genzoo-eval: checks the command line's keys, then hands over to Hydra."""
    from genzoo.utils.cli import check_command_line

    check_command_line("eval", sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
