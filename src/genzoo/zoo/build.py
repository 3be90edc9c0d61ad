"""How the shipped checkpoints are made from training runs (scripts/build_zoo.py).

Packing keeps a run's last checkpoint's inference weights in float32 (no discriminator, no
optimizer state), points a second stage's first-stage path at the shipped first stage, then
evaluates the shipped file with genzoo-eval and writes its card from what it measured.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genzoo.zoo import ZOO_DIR


@dataclass(frozen=True)
class ZooRecipe:
    """One shipped model: its name, the experiment it is trained with, and the overrides that
    point a second stage at its first (formatted with the runs folder)."""

    name: str
    experiment: str
    train_overrides: tuple[str, ...] = field(default=())
    # genzoo-eval options of a cheaper second measurement, stored on the card as its
    # quick_check, where the card's own evaluation takes minutes (tests/test_zoo.py).
    quick_eval: tuple[str, ...] = field(default=())
    # "float16": the weights stored in 16 bits (cast back to float32 when loaded), where the
    # card's metrics do not move (docs/zoo.md); the card names it.
    weights_dtype: str = "float32"


ZOO_RECIPES: tuple[ZooRecipe, ...] = (
    ZooRecipe("vae_digits", "vae_digits"),
    ZooRecipe("dcgan_digits", "dcgan_digits"),
    ZooRecipe("vqvae_digits", "vqvae_digits"),
    ZooRecipe(
        "vqvae_prior_digits",
        "vqvae_prior_digits",
        ("model.first_stage={runs}/vqvae_digits/zoo",),
    ),
    ZooRecipe("pix2pix_facades_synth", "pix2pix_facades_synth"),
    ZooRecipe("cyclegan_photos", "cyclegan_photos"),
    ZooRecipe("srresnet_photos", "srresnet_photos"),
    ZooRecipe("srgan_photos", "srgan_photos", ("model.init_from={runs}/srresnet_photos/zoo",)),
    ZooRecipe("stylegan_digits", "stylegan_digits"),
    # float16: FID 2.286, class entropy 2.268 against 2.284 / 2.268 with the float32 weights.
    ZooRecipe("progan_digits", "progan_digits", weights_dtype="float16"),
    # 1,000 guided 50-step DDIM samples: 4 minutes; one step each measures the same weights.
    ZooRecipe("diffusion_digits", "diffusion_digits", quick_eval=("steps=1",)),
)


# A second stage's path to its first, rewritten to the shipped first stage.
STAGE_LINKS = {"first_stage": "zoo:vqvae_digits", "init_from": "zoo:srresnet_photos"}
# How close a rebuilt metric must come to its card (tests/test_zoo.py): evaluation is seeded,
# so only float summation order (threads, CPU kind) moves it.
RELATIVE_TOLERANCE = 0.02


def pack_all(runs: Path, run_name: str, names: list[str]) -> None:
    """Pack, evaluate and describe every recipe in `names`, then write docs/zoo.md."""
    for recipe in ZOO_RECIPES:
        if recipe.name in names:
            run = runs / recipe.experiment / run_name
            pack(recipe, run)
            write_card(recipe, run)
    from genzoo.zoo.cards import write_zoo_page

    write_zoo_page(ZOO_DIR.parents[2] / "docs" / "zoo.md")


def pack(recipe: ZooRecipe, run: Path) -> Path:
    """Write zoo/<name>.ckpt from the run's last checkpoint; returns its path."""
    import torch

    from genzoo.utils.checkpoint import import_target, read_checkpoint

    source = run / "checkpoints" / "last.ckpt"
    ckpt = read_checkpoint(source)
    cls = import_target(ckpt["genzoo"]["model_target"])
    dropped = tuple(getattr(cls, "training_only", ()))
    state = {
        key: stored(value, recipe.weights_dtype)
        for key, value in ckpt["state_dict"].items()
        if not key.startswith(tuple(f"{name}." for name in dropped))
    }
    hparams = dict(ckpt.get("hyper_parameters", {}))
    for key, shipped in STAGE_LINKS.items():
        if hparams.get(key):
            hparams[key] = shipped
    meta = dict(ckpt["genzoo"], shipped=recipe.name, dropped=list(dropped))
    meta["config"] = _without_local_paths(meta.get("config", {}), run)
    target = ZOO_DIR / f"{recipe.name}.ckpt"
    tmp = target.with_suffix(".tmp")
    torch.save(
        {
            "genzoo": meta,
            "state_dict": state,
            "hyper_parameters": hparams,
            "global_step": ckpt.get("global_step"),
        },
        tmp,
    )
    tmp.replace(target)
    return target


# What a card says of weights stored in fewer bits than they train in.
STORED_NOTE = {"float16": " (cast to float32 when loaded, the card measured so)"}


def stored(tensor: Any, dtype: str) -> Any:
    """A state tensor as the zoo stores it: floating weights in `dtype`, counters as they are."""
    import torch

    if dtype == "float32" or not tensor.is_floating_point():
        return tensor
    return tensor.to(getattr(torch, dtype))


def _without_local_paths(config: dict[str, Any], run: Path) -> dict[str, Any]:
    """The run's config with the build machine's run paths made relative."""
    text = json.dumps(config).replace(str(run.parents[1]), "runs/zoo-build")
    result: dict[str, Any] = json.loads(text)
    return result


def eval_command(name: str) -> list[str]:
    """genzoo-eval of a shipped model, as the card and the tests run it."""
    return ["genzoo-eval", f"run=zoo:{name}", "device=cpu"]


def write_card(recipe: ZooRecipe, run: Path) -> dict[str, Any]:
    """Evaluate the shipped file and write zoo/<name>.json from the run and the evaluation."""
    from genzoo.utils.checkpoint import import_target

    ckpt_path = ZOO_DIR / f"{recipe.name}.ckpt"
    command = eval_command(recipe.name)
    result, eval_seconds = _measure(command, run / "eval_shipped.json")
    training = json.loads((run / "zoo_train.json").read_text())
    final = json.loads((run / "final_metrics.json").read_text())
    dropped = import_target(result["model"]).training_only  # e.g. a GAN's discriminator
    left_out = " and ".join([*(f"the {part}" for part in dropped), "the optimizer state"])
    card = {
        "name": recipe.name,
        "family": result["model"].rsplit(".", 1)[-1],
        "model_target": result["model"],
        "experiment": recipe.experiment,
        "train_command": " ".join(
            ["genzoo-train", f"experiment={recipe.experiment}", *recipe.train_overrides]
        ).replace("{runs}", "runs"),
        "batches": final.get("batches"),
        "train_seconds": training["train_seconds"],
        "hardware": training["hardware"],
        "dataset": result["dataset"],
        "split": result["split"],
        "split_is": result["split_is"],
        "eval_command": " ".join(command),
        "eval_seconds": round(eval_seconds, 1),
        "metrics": result["metrics"],
        "notes": result.get("notes", {}),
        # FID / KID / class metrics depend on it: a card names it, so no machine reads another.
        "feature_network": result["hyper_parameters"].get("feature_network"),
        "relative_tolerance": RELATIVE_TOLERANCE,
        "checkpoint_bytes": ckpt_path.stat().st_size,
        "sha256": hashlib.sha256(ckpt_path.read_bytes()).hexdigest(),
        "weights": f"{recipe.weights_dtype}{STORED_NOTE.get(recipe.weights_dtype, '')}; "
        f"{left_out} left out",
    }
    if recipe.quick_eval:
        quick, _ = _measure([*command, *recipe.quick_eval], run / "eval_shipped_quick.json")
        card["quick_check"] = {"options": list(recipe.quick_eval), "metrics": quick["metrics"]}
    (ZOO_DIR / f"{recipe.name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def _measure(command: list[str], out: Path) -> tuple[dict[str, Any], float]:
    """genzoo-eval `command` in a fresh process: its result and how long it took."""
    start = time.perf_counter()
    subprocess.run(
        # The build owns `out`: a second pack of the same run measures again.
        [sys.executable, "-m", "genzoo.cli.eval", *command[1:], f"out={out}", "overwrite=true"],
        check=True,
        env=_offline_env(),
    )
    return json.loads(out.read_text()), time.perf_counter() - start


def _offline_env() -> dict[str, str]:
    import os

    return dict(os.environ, WANDB_MODE="offline")
