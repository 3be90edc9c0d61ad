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

    from genzoo.utils.checkpoint import load_model
    from genzoo.utils.console import quiet_console
    from genzoo.utils.device import pick_device

    quiet_console()
    L.seed_everything(int(cfg.seed), verbose=False)
    device = pick_device(cfg.device)
    model, meta = load_model(cfg.run, cfg.checkpoint, device=device)
    if hasattr(model, "iw_samples") and cfg.iw_samples:
        setattr(model, "iw_samples", int(cfg.iw_samples))  # noqa: B010 - not every family has it
    data_cfg = OmegaConf.merge(OmegaConf.create(meta["config"]["data"]), cfg.data or {})
    assert isinstance(data_cfg, DictConfig)
    data_cfg.batch_size = int(cfg.batch_size)
    datamodule = instantiate(data_cfg, _convert_="all")
    datamodule.prepare_data()
    metrics = model.evaluate(datamodule.eval_dataloader(str(cfg.split)))
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
    out = Path(cfg.out) if cfg.out else run_dir / f"eval_{cfg.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)
    log.info("metrics written to %s", out)
    print(json.dumps(result, indent=2))
    return result


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
