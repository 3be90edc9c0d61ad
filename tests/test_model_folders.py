"""Model folders the ecosystem reads (config.json, model.safetensors, a README.md card with
YAML front matter), the shipped cards in the same form, torch.hub entry points and
list_models' filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import genzoo
from genzoo.utils.checkpoint import CheckpointError
from genzoo.zoo import ZOO_DIR
from genzoo.zoo.cards import card_markdown
from genzoo.zoo.folder_card import read_front_matter
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dcgan_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return genzoo.load("dcgan_digits", device="cpu").save_pretrained(
        tmp_path_factory.mktemp("folders") / "dcgan_digits"
    )


def test_a_folder_holds_the_inference_weights_and_loads_back_the_same_model(
    dcgan_folder: Path,
) -> None:
    assert sorted(p.name for p in dcgan_folder.iterdir()) == [
        "README.md", "config.json", "model.safetensors",
    ]  # fmt: skip
    shipped = genzoo.load("dcgan_digits", device="cpu")
    weights = load_file(str(dcgan_folder / "model.safetensors"))
    assert not any(k.startswith("discriminator.") for k in weights)  # inference only
    for key, value in weights.items():
        assert torch.equal(value, shipped.module.state_dict()[key]), key
    config = json.loads((dcgan_folder / "config.json").read_text())
    assert config["model_target"] == "genzoo.models.dcgan.DCGAN"
    assert config["hyper_parameters"] == json.loads(json.dumps(dict(shipped.module.hparams)))
    again = genzoo.load(dcgan_folder, device="cpu")
    assert torch.equal(again.sample(4, seed=5), shipped.sample(4, seed=5))


def test_a_folders_card_has_the_front_matter_hubs_read(dcgan_folder: Path) -> None:
    text = (dcgan_folder / "README.md").read_text()
    header = read_front_matter(text)
    card = genzoo.model_card("dcgan_digits")
    assert header["library_name"] == "genzoo" and header["license"] == "mit"
    assert header["datasets"] == ["digits"]
    assert header["pipeline_tag"] == "unconditional-image-generation"
    assert "arxiv:1511.06434" in header["tags"] and "1511.06434" in header["paper"]["url"]
    [result] = header["model-index"][0]["results"]
    measured = {m["type"]: m["value"] for m in result["metrics"]}
    assert measured["fid"] == pytest.approx(card["metrics"]["fid"], abs=1e-4)
    assert "num_fake" not in measured  # counts are not measurements
    assert result["dataset"]["split"] == card["split"]
    assert text.endswith(card_markdown(card))


def test_16_bit_folders_keep_the_samples(tmp_path: Path) -> None:
    model = genzoo.load("stylegan_digits", device="cpu")
    half = genzoo.load(model.save_pretrained(tmp_path / "half", dtype="float16"), device="cpu")
    full_size = (model.save_pretrained(tmp_path / "full") / "model.safetensors").stat().st_size
    assert (tmp_path / "half" / "model.safetensors").stat().st_size < 0.55 * full_size
    assert next(half.module.parameters()).dtype == torch.float32  # back in the model's dtype
    gap = (half.sample(8, seed=1) - model.sample(8, seed=1)).abs().max()
    assert 0 < gap < 5e-3
    with pytest.raises(ValueError, match="dtype='int8'"):
        model.save_pretrained(tmp_path / "bad", dtype="int8")


def test_commands_take_a_folder_where_they_take_a_run(dcgan_folder: Path, tmp_path: Path) -> None:
    result = run_cli(
        "genzoo-sample", f"run={dcgan_folder}", "n=4", f"out_dir={tmp_path}", "interpolate=false",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(tmp_path.glob("*.png")), result.stdout


def test_a_broken_folder_is_one_error_naming_its_file(tmp_path: Path, dcgan_folder: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    (broken / "model.safetensors").write_bytes((dcgan_folder / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match=r"broken/config\.json is not a genzoo model folder"):
        genzoo.load(broken)


def test_every_shipped_card_carries_its_metrics_in_front_matter() -> None:
    for name in genzoo.list_models():
        text = (ZOO_DIR / f"{name}.md").read_text()
        header = read_front_matter(text)
        card = genzoo.model_card(name)
        assert header["library_name"] == "genzoo", name
        [result] = header["model-index"][0]["results"]
        for metric in result["metrics"]:
            assert metric["value"] == pytest.approx(card["metrics"][metric["type"]], abs=1e-4)
        assert text.endswith(card_markdown(card)), f"{name}.md: run scripts/build_zoo.py cards"


def test_torch_hub_loads_a_shipped_model_from_the_checkout() -> None:
    model = torch.hub.load(str(ROOT), "vae_digits", source="local", trust_repo=True)
    assert isinstance(model, genzoo.api.Model) and model.family == "VAE"
    assert torch.equal(model.sample(2, seed=0), genzoo.load("vae_digits").sample(2, seed=0))


def test_list_models_filters_by_pattern_and_capability() -> None:
    assert genzoo.list_models("vqvae*") == ["vqvae_digits", "vqvae_prior_digits"]
    assert genzoo.list_models(capability="translate") == [
        "cyclegan_photos",
        "pix2pix_facades_synth",
    ]
    assert genzoo.list_models("*_digits", capability="project") == [
        "dcgan_digits", "stylegan_digits",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="capability='paint'"):
        genzoo.list_models(capability="paint")
