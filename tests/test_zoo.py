"""The shipped checkpoints: the whole set is there and small, each file is the one its card
describes, and each reproduces its card's held-out metrics with genzoo-eval."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import genzoo
from genzoo.zoo import ZOO_DIR, UnknownModelError, model_card, shipped_checkpoint
from genzoo.zoo.build import ZOO_RECIPES
from tests.conftest import cli_cfg, run_cli

SHIPPED = [recipe.name for recipe in ZOO_RECIPES]
# The VAE's card bounds the NLL with 256 importance samples per held-out digit (30 s on one
# core): the full check runs in make test-all, a two-sample one in the default suite.
IW_BOUND_MODELS = ("vae_digits",)
# The card's keys that depend on the number of importance samples.
IW_KEYS = ("nll", "bpd", "iw_samples")
# The shipped weights' share of the wheel's 60 MB (tests/test_packaging.py), the code, configs
# and docs' images beside them taking the rest.
MAX_TOTAL_BYTES = 55e6


def test_every_recipe_ships_with_a_card_and_the_set_stays_small() -> None:
    assert genzoo.list_models() == sorted(SHIPPED)
    total = 0
    for name in SHIPPED:
        card = model_card(name)
        path = shipped_checkpoint(name)
        assert (ZOO_DIR / f"{name}.md").is_file()
        assert card["checkpoint_bytes"] == path.stat().st_size
        assert card["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), name
        assert card["train_seconds"] > 0 and card["batches"] > 0 and card["metrics"]
        total += path.stat().st_size
    assert total <= MAX_TOTAL_BYTES


# Cards whose evaluation takes minutes (a diffusion model's 1,000 50-step samples) carry a
# quick check, a cheaper measurement of the same weights: it runs in the default suite.
QUICK_CHECKED = [name for name in SHIPPED if "quick_check" in model_card(name)]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow)
        if name in IW_BOUND_MODELS or name in QUICK_CHECKED
        else name
        for name in SHIPPED
    ],
)
def test_shipped_model_reproduces_its_cards_metrics(name: str, tmp_path: Path) -> None:
    card = model_card(name)
    _check_reproduces(name, [], card["metrics"], card, tmp_path / "eval.json")


@pytest.mark.parametrize("name", QUICK_CHECKED)
def test_shipped_model_reproduces_its_cards_quick_check(name: str, tmp_path: Path) -> None:
    card = model_card(name)
    quick = card["quick_check"]
    _check_reproduces(name, quick["options"], quick["metrics"], card, tmp_path / "eval.json")


def _check_reproduces(name: str, options: list[str], expected: dict, card: dict, out: Path) -> None:
    from genzoo.tasks.evaluate import evaluate

    result = evaluate(cli_cfg("eval", f"run=zoo:{name}", "device=cpu", f"out={out}", *options))
    assert result["split"] == card["split"]
    for key, value in expected.items():
        got = result["metrics"][key]
        assert got == pytest.approx(value, rel=card["relative_tolerance"], abs=1e-4), key
    assert json.loads(out.read_text())["metrics"] == result["metrics"]


@pytest.mark.parametrize("name", IW_BOUND_MODELS)
def test_shipped_vae_reproduces_its_card_with_a_two_sample_bound(name: str, tmp_path: Path) -> None:
    """Every card metric but the 256-sample bound, re-measured; the two-sample bound lies
    between the card's tighter one and the ELBO, as importance weighting promises."""
    from genzoo.tasks.evaluate import evaluate

    card = model_card(name)
    args = ("eval", f"run=zoo:{name}", "device=cpu", f"out={tmp_path / 'eval.json'}")
    metrics = evaluate(cli_cfg(*args, "iw_samples=2"))["metrics"]
    assert metrics["iw_samples"] == 2
    for key, expected in card["metrics"].items():
        if key not in IW_KEYS:
            tolerance = card["relative_tolerance"]
            assert metrics[key] == pytest.approx(expected, rel=tolerance, abs=1e-4), key
    slack = card["relative_tolerance"] * card["metrics"]["nll"]
    assert card["metrics"]["nll"] - slack <= metrics["nll"] <= metrics["neg_elbo"] + slack


def test_an_unknown_shipped_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="did you mean vae_digits"):
        shipped_checkpoint("vae_digit")
    result = run_cli("genzoo-sample", "run=zoo:gan", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert (
        "genzoo ships no model named 'gan'; shipped: cyclegan_photos, dcgan_digits" in result.stderr
    )
    assert not (tmp_path / "runs").exists()


def test_commands_write_beside_a_shipped_model_under_runs_zoo(tmp_path: Path) -> None:
    result = run_cli("genzoo-sample", "run=zoo:dcgan_digits", "n=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    written = sorted(p.name for p in (tmp_path / "runs/zoo/dcgan_digits/samples").iterdir())
    assert any(name.startswith("samples_") for name in written)
    assert not any(ZOO_DIR.glob("samples*"))  # never into the package


def test_sample_metrics_are_pinned_to_a_feature_network_the_card_names() -> None:
    """FID / KID under a card are the same on every machine: `auto` would become Inception
    where torch-fidelity's weights exist, and report another number under the same key."""
    import torch
    import yaml

    from genzoo.utils.paths import config_dir

    for name in SHIPPED:
        card = model_card(name)
        if "fid" not in card["metrics"]:
            continue
        ckpt = torch.load(shipped_checkpoint(name), map_location="cpu", weights_only=True)
        assert ckpt["hyper_parameters"]["feature_network"] == card["feature_network"] == "digits"
        assert f"`{card['feature_network']}`" in (ZOO_DIR / f"{name}.md").read_text()
        recipe = yaml.safe_load(
            (config_dir() / "experiment" / f"{card['experiment']}.yaml").read_text()
        )
        assert recipe["model"]["feature_network"] == "digits", card["experiment"]
