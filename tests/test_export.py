"""genzoo-export: every family's deployable part, as ONNX (run with onnxruntime) and TorchScript,
equals eager PyTorch at other batch and spatial sizes than the example's; failures leave
nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import genzoo
from genzoo.tasks.export import TOLERANCE, ExportError, ExportMismatch, export_model
from tests.conftest import cli_cfg, run_cli

# One shipped model per family; the VQ prior exports its first stage's decoder.
FAMILIES = {
    "vae_digits": ["decoder"],
    "dcgan_digits": ["generator"],
    "stylegan_digits": ["generator"],
    "progan_digits": ["generator"],
    "vqvae_digits": ["decoder"],
    "vqvae_prior_digits": ["decoder"],
    "pix2pix_facades_synth": ["AtoB"],
    "cyclegan_photos": ["AtoB", "BtoA"],
    "srresnet_photos": ["upscaler"],
    "srgan_photos": ["upscaler"],
}
SPATIAL = {"vqvae_digits", "vqvae_prior_digits", "pix2pix_facades_synth", "cyclegan_photos"}
SPATIAL |= {"srresnet_photos", "srgan_photos"}


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_exports_and_matches_pytorch(name: str, fmt: str, tmp_path: Path) -> None:
    model = genzoo.load(name, device="cpu")
    done = export_model(model.module, fmt, tmp_path)
    assert [d.name for d in done] == FAMILIES[name]
    manifest = json.loads((tmp_path / f"export_{fmt}.json").read_text())
    for item, entry in zip(done, manifest["parts"], strict=True):
        assert item.path.is_file() and item.max_abs_diff <= TOLERANCE
        assert entry["max_abs_diff_vs_pytorch"] == item.max_abs_diff
        axes = [a for spec in entry["inputs"].values() for a in spec["dynamic_axes"]]
        assert "batch" in axes
        assert any(a.endswith("_height") for a in axes) == (name in SPATIAL)
        checked = entry["checked_input_shapes"]
        assert checked[0][next(iter(checked[0]))][0] == 3  # another batch than the example's 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"export_{fmt}.json", *(d.path.name for d in done)]
    )


def test_an_onnx_generator_run_by_hand_draws_the_models_samples(tmp_path: Path) -> None:
    """What a user deploys: the exported StyleGAN generator, fed seeded z and truncation."""
    import onnxruntime

    model = genzoo.load("stylegan_digits", device="cpu")
    (part,) = export_model(model.module, "onnx", tmp_path)
    session = onnxruntime.InferenceSession(str(part.path), providers=["CPUExecutionProvider"])
    from genzoo.models.base import seeded_latents

    z = seeded_latents(64, 3, 0, [5, 6, 7])
    (images,) = session.run(None, {"z": z.numpy(), "truncation": np.array([0.7], np.float32)})
    expected = model.sample(3, seeds=[5, 6, 7], truncation=0.7)
    assert np.abs(images - expected.numpy()).max() < TOLERANCE


def test_a_mismatch_or_a_missing_package_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    model = genzoo.load("cyclegan_photos", device="cpu")
    monkeypatch.setattr("genzoo.tasks.export.TOLERANCE", -1.0)
    with pytest.raises(ExportMismatch, match="AtoB: the torchscript export differs"):
        export_model(model.module, "torchscript", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ExportError, match="format=onnx needs onnx, onnxruntime: pip install onnx"):
        export_model(model.module, "onnx", tmp_path / "out")
    with pytest.raises(ExportError, match="part=CtoD: CycleGAN exports AtoB, BtoA"):
        export_model(model.module, "torchscript", tmp_path / "out", only="CtoD")


def test_genzoo_export_command_writes_beside_the_run_or_where_told(tmp_path: Path) -> None:
    from genzoo.tasks.export import export

    done = export(cli_cfg("export", "run=zoo:cyclegan_photos", f"output={tmp_path}", "part=BtoA"))
    assert [d.path for d in done] == [tmp_path / "BtoA.onnx"]
    result = run_cli("genzoo-export", "run=zoo:vae_digits", "format=torchscript", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "runs" / "zoo" / "vae_digits" / "export" / "decoder.pt").is_file()
    loaded = torch.jit.load(str(tmp_path / "runs/zoo/vae_digits/export/decoder.pt"))
    assert loaded(torch.zeros(5, 16)).shape == (5, 1, 32, 32)
    refused = run_cli("genzoo-export", "run=zoo:vae_digits", "format=tflite", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "format=tflite must be one of onnx, torchscript" in refused.stderr


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_conditional_models_export_with_a_label_input(fmt: str, tmp_path: Path) -> None:
    """Class-conditional VAE and DCGAN (no shipped model is one) take `label` beside z."""
    from genzoo.models.dcgan import DCGAN
    from genzoo.models.vae import VAE

    for model in (
        VAE(num_classes=10, likelihood="discretized_logistic"),
        DCGAN(latent_dim=16, g_channels=8, d_channels=8, num_classes=10),
    ):
        folder = tmp_path / type(model).__name__
        (part,) = export_model(model.eval(), fmt, folder)
        inputs = json.loads((folder / f"export_{fmt}.json").read_text())["parts"][0]["inputs"]
        assert list(inputs) == ["z", "label"] and inputs["label"]["dtype"] == "int64"
        assert part.max_abs_diff <= TOLERANCE
