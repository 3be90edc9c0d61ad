"""Finding the config tree and turning configs into plain containers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf


def config_dir() -> Path:
    """The config tree: inside the installed package (wheel), else the checkout's configs/."""
    packaged = Path(__file__).resolve().parents[1] / "configs"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "configs"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"genzoo's configs were found neither in {packaged} nor in {checkout}: reinstall genzoo"
    )


def to_plain(cfg: DictConfig) -> dict[str, Any]:
    """A resolved config as plain dicts and lists (safe for weights_only checkpoints and loggers)."""
    container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    assert isinstance(container, dict)
    return {str(k): v for k, v in container.items()}


def require_values(cfg: DictConfig) -> None:
    """One ConfigError naming every mandatory key (???) the command line left unset."""
    from genzoo.errors import ConfigError

    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(
            "no value for "
            + ", ".join(missing)
            + ": set "
            + " ".join(f"{k}=..." for k in missing)
            + " on the command line"
        )
