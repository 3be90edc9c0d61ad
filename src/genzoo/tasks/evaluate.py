"""genzoo-eval: the family's metrics on the held-out split, written as JSON beside the run.

genzoo-eval run=runs/vae_digits/<name> [split=val iw_samples=256]
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from genzoo.errors import ConfigError
from genzoo.tasks.eval_wandb import log_evaluation
from genzoo.tasks.preamble import RUN_RULES, apply_family_options, checked_options, loaded_model
from genzoo.tasks.sample_request import DIFFUSION_SAMPLING_RULES
from genzoo.utils.options import (
    Rule,
    boolean,
    check_output_file,
    choice,
    integer,
    optional,
    text,
)

log = logging.getLogger("genzoo")


OPTION_RULES: dict[str, Rule] = {
    **RUN_RULES,
    "split": choice("val", "test"),
    "batch_size": integer(1),
    "iw_samples": optional(integer(1)),
    "seed": integer(),
    "test_mode": optional(choice("paper", "eval")),
    "guidance": DIFFUSION_SAMPLING_RULES["guidance"],
    "steps": DIFFUSION_SAMPLING_RULES["steps"],
    "out": optional(text),
    "overwrite": boolean,
    "wandb": lambda v: None if v in ("auto", True, False) else "must be auto, true or false",
}


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate a run's checkpoint; return (and write) the metrics with their provenance."""
    checked_options(cfg, OPTION_RULES, "genzoo-eval")
    if cfg.out:
        check_output_file(str(cfg.out), "out", bool(cfg.overwrite))
    # Heavy imports here, so that --help and command-line mistakes answer at once.
    import lightning as L

    L.seed_everything(int(cfg.seed), verbose=False)
    model, meta = loaded_model(cfg)
    apply_family_options(model, cfg, ("test_mode", "iw_samples", "guidance", "steps"))
    data_cfg, other_set = _data_config(cfg, meta, model)
    datamodule = _held_out_data(data_cfg, model)
    split = str(cfg.split)
    loader = Progress(datamodule.eval_dataloader(split), f"evaluating {datamodule.name} {split}")
    metrics, per_image = _measure(model, loader, datamodule)
    ckpt_path = Path(meta["checkpoint_path"]).resolve()
    run_dir = Path(meta["run_dir"])
    result = {
        "model": meta["model_target"],
        "checkpoint": str(ckpt_path),
        "global_step": meta.get("global_step"),
        "dataset": data_cfg.get("_target_"),
        "split": split,
        "split_is": datamodule.held_out_splits[split],
        "seed": int(cfg.seed),
        "hyper_parameters": dict(model.hparams),
        "metrics": metrics,
        "notes": model.metric_notes(),
    }
    if per_image is not None:
        result["per_image"] = per_image
    tag = datamodule.name if other_set else split
    out = Path(cfg.out) if cfg.out else run_dir / f"eval_{tag}.json"
    table = out.with_suffix(".md")
    if per_image is not None and cfg.out:  # the SR table goes beside out=: checked before either
        check_output_file(str(table), "out (its .md table)", bool(cfg.overwrite))
    _write_atomically(out, json.dumps(result, indent=2))
    if per_image is not None:
        _write_atomically(table, sr_table(per_image, metrics, f"{tag}, x{model.hparams['scale']}"))
        log.info("per-image table written to %s", table)
    print(metric_table(metrics, f"{datamodule.name}, split={split} ({result['split_is']})"))
    if wandb_dir := log_evaluation(meta, result, cfg.wandb):
        print(f"W&B: the metrics are in the eval run at {wandb_dir}")
    print(f"all results (hyper-parameters, notes{', per image' if per_image else ''}): {out}")
    return result


def _held_out_data(data_cfg: DictConfig, model: Any) -> Any:
    """The datamodule to evaluate on, of a kind the model accepts, prepared (downloaded)."""
    from hydra.utils import instantiate

    from genzoo.data.kinds import DataKindError, mismatch_message

    datamodule = instantiate(data_cfg, _convert_="all")
    kind = getattr(datamodule, "yields", None)
    if kind is not None and kind not in model.accepts:
        raise DataKindError(
            mismatch_message(type(model).__name__, model.accepts, datamodule.name, kind)
        )
    datamodule.prepare_data()
    return datamodule


def _measure(
    model: Any, loader: Progress, datamodule: Any
) -> tuple[dict[str, float], list[dict[str, Any]] | None]:
    """The family's metrics; for super-resolution also one row per image (means over them)."""
    from genzoo.models.super_resolution import mean_of_rows

    if not model.supports("upscale"):
        return model.evaluate(loader), None
    rows = model.evaluate_per_image(loader)
    names = list(getattr(datamodule, "val_names", [])) or [str(i) for i in range(len(rows))]
    per_image = [{"image": name, **row} for name, row in zip(names, rows, strict=True)]
    return mean_of_rows(rows), per_image


class Progress:
    """A loader that shows a progress bar on stderr each time it is read (families read the
    held-out images once for their metrics, and again for sample quality)."""

    def __init__(self, loader: Any, desc: str) -> None:
        self.loader, self.desc = loader, desc

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Any:
        from tqdm import tqdm

        # disable=None: a bar on a terminal, nothing in a log file or pipe.
        bar = tqdm(
            self.loader, desc=self.desc, unit="batch", file=sys.stderr, leave=False, disable=None
        )
        yield from bar


def metric_table(metrics: dict[str, float], title: str) -> str:
    """The metrics as two aligned columns under a title."""
    width = max((len(k) for k in metrics), default=0)
    lines = [title] + [f"  {k:<{width}}  {_number(v)}" for k, v in metrics.items()]
    return "\n".join(lines)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _data_config(cfg: DictConfig, meta: dict[str, Any], model: Any) -> tuple[DictConfig, bool]:
    """The data config to evaluate on, and whether it is another set than the run's: the run's
    own with `data.*` overrides, or a different dataset chosen with data=NAME (its own config,
    at the run's scale for SR)."""
    run_data = OmegaConf.create(meta.get("config", {}).get("data") or {})
    chosen = cfg.data or {}
    if not run_data and not chosen.get("_target_"):  # a checkpoint made outside a run
        raise ConfigError(
            f"run={cfg.run} records no dataset (it was not trained by genzoo-train): "
            "name one with data=NAME, e.g. data=digits"
        )
    other_set = bool(chosen.get("_target_")) and chosen.get("_target_") != run_data.get("_target_")
    data_cfg = OmegaConf.merge(chosen if other_set else run_data, {} if other_set else chosen)
    assert isinstance(data_cfg, DictConfig)
    data_cfg.batch_size = int(cfg.batch_size)
    if "scale" in data_cfg and "scale" in model.hparams:
        data_cfg.scale = int(model.hparams["scale"])  # LR made at the factor the model learned
    if other_set:  # another set's images, at the channels and size the model takes
        for data_key, model_key in (("channels", "image_channels"), ("image_size", "image_size")):
            if data_key in data_cfg and model_key in model.hparams:
                data_cfg[data_key] = int(model.hparams[model_key])
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
