"""The tip a start without experiment=... gets: the pinned recipe for its model and data."""

from __future__ import annotations

import logging

from genzoo.utils.paths import config_dir

log = logging.getLogger("genzoo")


def recipe_tip() -> None:
    """Without experiment=..., name the pinned recipe for the chosen model and data, if any:
    family defaults are sized for real data (StyleGAN's crawl on 32 px digits on a CPU)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    choices = HydraConfig.get().runtime.choices
    if choices.get("experiment") not in (None, "null"):
        return
    model, data = choices.get("model"), choices.get("data")
    recipe = f"{model}_{data}"
    if (config_dir() / "experiment" / f"{recipe}.yaml").is_file():
        log.warning(
            "model=%s data=%s with the family's defaults: experiment=%s is the recipe sized for "
            "this data (widths, batch, steps)",
            model,
            data,
            recipe,
        )
        return
    family = sorted(p.stem for p in (config_dir() / "experiment").glob(f"{model}_*.yaml"))
    if family:
        log.warning(
            "model=%s data=%s has no pinned recipe: the family's defaults are sized for its "
            "paper's data and may be slow or poor here. Its recipes (experiment=...): %s",
            model,
            data,
            ", ".join(family),
        )
