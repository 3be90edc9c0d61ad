"""genzoo-sample's request: its options by type and value, checked against what the loaded
model can do before anything is written, and the tags its file names carry."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from omegaconf import DictConfig

from genzoo.errors import GenzooError
from genzoo.models.base import GenerativeModel
from genzoo.tasks.preamble import RUN_RULES
from genzoo.utils.options import (
    Rule,
    boolean,
    choice,
    int_list,
    integer,
    number,
    optional,
    text,
)

NOISE_MODES = ("const", "random", "none")


class SampleRequestError(GenzooError, ValueError):
    """An option the loaded model cannot honour; nothing has been written."""


# A diffusion run's sampling (docs/diffusion.md): genzoo-sample's, -edit's and (guidance,
# steps) -eval's options; unset, the run's own.
DIFFUSION_SAMPLING_RULES: dict[str, Rule] = {
    "guidance": optional(number(0)),
    "steps": optional(integer(1)),
    "sampler": optional(choice("ddim", "ddpm")),
    "eta": optional(number(0, 1)),
}

# genzoo-sample's options by type and value (utils/options.py), checked before loading.
OPTION_RULES: dict[str, Rule] = {
    **RUN_RULES,
    "n": integer(1),
    "seed": integer(),
    "seeds": optional(int_list()),
    "truncation": optional(number(0)),
    "noise_mode": optional(choice(*NOISE_MODES)),
    "nrow": optional(integer(1)),
    "out_dir": optional(text),
    "grid": boolean,
    "individual": boolean,
    "temperature": number(0, above=True),
    "top_k": optional(integer(1)),
    "top_p": optional(number(0, 1, above=True)),
    "resolution": optional(integer(4)),
    **DIFFUSION_SAMPLING_RULES,
    "reconstruct": optional(text),
    "interpolate": boolean,
    "interpolation_steps": integer(2),
    "interpolation_rows": integer(1),
    "interpolation_space": text,
    "gif": boolean,
    "style_mix_rows": optional(int_list()),
    "style_mix_cols": optional(int_list()),
    "style_mix_layers": optional(int_list(2, low=0)),
}


def check_request(cfg: DictConfig, model: GenerativeModel) -> None:
    """Every option against what the model can do, before anything is written."""
    name = type(model).__name__
    if not {"sample", "reconstruct"} & model.capabilities:
        other = "genzoo-upscale" if model.supports("upscale") else "genzoo-translate"
        raise SampleRequestError(
            f"{name} neither samples nor reconstructs, so nothing was written: "
            f"use {other} run={cfg.run} input=<images> output=<folder>"
        )
    if not model.supports("sample") and not cfg.reconstruct:
        raise SampleRequestError(
            f"{name} does not sample by itself, so nothing was written: it reconstructs "
            f"(reconstruct=val, or reconstruct=<your images>); sampling needs a prior trained "
            f"on its codes (genzoo-train experiment=vqvae_prior_digits "
            f"model.first_stage=<this run's checkpoint>)"
        )
    problems = []
    for option in given_options(cfg):
        if option not in model.sample_options:
            problems.append(f"{option}= (it understands: {listed(model.sample_options)})")
    if cfg.reconstruct and not model.supports("reconstruct"):
        problems.append("reconstruct= (it has no encoder)")
    if cfg.style_mix_rows or cfg.style_mix_cols:
        if not model.supports("style_mix"):
            problems.append("style_mix_rows / style_mix_cols (it has no styles to mix)")
        elif not (cfg.style_mix_rows and cfg.style_mix_cols):
            problems.append("style mixing needs both style_mix_rows and style_mix_cols")
        elif cfg.style_mix_layers:
            start, end = (int(v) for v in cfg.style_mix_layers)
            layers = int(getattr(model, "style_layers", 0))
            if not 0 <= start < end <= layers:
                problems.append(
                    f"style_mix_layers=[{start},{end}] (a range [start, end) within its "
                    f"{layers} w layers: 0 <= start < end <= {layers})"
                )
    space = str(cfg.interpolation_space)
    if (
        cfg.interpolate
        and model.supports("interpolate")
        and space not in model.interpolation_spaces
    ):
        problems.append(
            f"interpolation_space={cfg.interpolation_space} (it interpolates in: "
            f"{listed(model.interpolation_spaces)})"
        )
    if cfg.gif and not (cfg.interpolate and model.supports("interpolate")):
        problems.append("gif=true (it animates the interpolation: set interpolate=true)")
    if problems:
        raise SampleRequestError(
            f"{name} cannot do what was asked, so nothing was written: " + "; ".join(problems)
        )


def listed(items: Iterable[str]) -> str:
    return ", ".join(sorted(items)) or "none"


# Sampling options a user may set, with the tag each gets in file names.
OPTION_TAGS = {
    "truncation": "psi",
    "noise_mode": "noise",
    "temperature": "temp",
    "top_k": "topk",
    "top_p": "topp",
    "guidance": "w",
    "steps": "steps",
    "sampler": "",
    "eta": "eta",
    "resolution": "px",
}


def given_options(cfg: DictConfig) -> dict[str, Any]:
    """The sampling options the user set (truncation, noise_mode, temperature other than 1):
    checked against the model, passed to it, and named in file names."""
    options: dict[str, Any] = {}
    if cfg.truncation is not None:
        options["truncation"] = float(cfg.truncation)
    if cfg.noise_mode is not None:
        options["noise_mode"] = str(cfg.noise_mode)
    if float(cfg.temperature) != 1.0:
        options["temperature"] = float(cfg.temperature)
    if cfg.top_k is not None:
        options["top_k"] = int(cfg.top_k)
    if cfg.top_p is not None:
        options["top_p"] = float(cfg.top_p)
    if cfg.get("resolution") is not None:
        options["resolution"] = int(cfg.resolution)
    return {**options, **diffusion_sampling_options(cfg)}


def diffusion_sampling_options(cfg: DictConfig) -> dict[str, Any]:
    """The DIFFUSION_SAMPLING_RULES options the user set, as the model takes them."""
    kinds = {"guidance": float, "steps": int, "sampler": str, "eta": float}
    return {name: kind(cfg[name]) for name, kind in kinds.items() if cfg.get(name) is not None}


def option_tag(cfg: DictConfig) -> str:
    """What changes the images besides the seed, for file names: '_psi0.7_noiserandom_temp0.8'."""
    return "".join(
        f"_{OPTION_TAGS[name]}{value:g}"
        if isinstance(value, float)
        else f"_{OPTION_TAGS[name]}{value}"
        for name, value in given_options(cfg).items()
    )


def seed_tag(cfg: DictConfig, seeds: list[int] | None) -> str:
    if not seeds:
        return f"n{int(cfg.n)}_seed{cfg.seed}"
    joined = "-".join(str(s) for s in seeds)
    if len(joined) > 40:  # many seeds: a readable start and a hash of them all
        joined = f"{seeds[0]}-{seeds[-1]}-{hashlib.sha1(joined.encode()).hexdigest()[:6]}"
    return f"seeds{joined}"
