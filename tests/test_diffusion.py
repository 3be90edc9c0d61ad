"""The diffusion family: the U-Net, seeds and guidance, the edits (inpaint, outpaint, SDEdit)
and their masks, learning on the embedded digits, and exact resume with the EMA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genzoo.metrics.generation import SampleQuality
from genzoo.models.diffusion import Diffusion
from genzoo.models.diffusion_edits import EditInputError
from genzoo.models.loading import load_model
from genzoo.networks.unet import UNet
from genzoo.training.train import train
from tests.conftest import FAST, compose_train, run_cli
from tests.presets import BY_EPOCH, NO_GRIDS, TINY_DIFFUSION


def _tiny_model(**overrides) -> Diffusion:
    torch.manual_seed(0)
    args = dict(
        image_size=16, base_channels=8, channel_mults=(1, 2), attention_resolutions=(8,),
        num_classes=10, sample_steps=4, dropout=0.0,
    )  # fmt: skip
    model = Diffusion(**{**args, **overrides}).eval()
    _randomised(model.denoiser)
    model.denoiser_ema.load_state_dict(model.denoiser.state_dict())
    return model


def _randomised(net: torch.nn.Module) -> torch.nn.Module:
    """Random weights in the layers a fresh U-Net starts at zero (its blocks are identities
    then, and the labels and timesteps would not reach the output)."""
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=0.05)
    return net


def test_the_unet_keeps_the_shape_and_no_label_is_the_extra_class() -> None:
    net = UNet(image_channels=3, image_size=16, base_channels=8, channel_mults=(1, 2, 2),
               num_res_blocks=2, attention_resolutions=(8, 4), num_classes=5)  # fmt: skip
    _randomised(net).eval()
    x, t = torch.randn(3, 3, 16, 16), torch.tensor([0, 500, 999])
    assert net(x, t).shape == x.shape
    torch.testing.assert_close(net(x, t, None), net(x, t, torch.full((3,), 5)))
    assert not torch.allclose(net(x, t, torch.zeros(3, dtype=torch.long)), net(x, t))
    assert net(torch.randn(1, 3, 24, 32), t[:1]).shape == (1, 3, 24, 32)  # any multiple of 4


def test_an_image_depends_on_its_seed_only() -> None:
    model = _tiny_model()
    both = model.sample(2, seed=10)
    torch.testing.assert_close(model.sample(1, seeds=[11], labels=torch.tensor([1])), both[1:])
    assert both.shape == (2, 1, 16, 16) and both.min() >= 0 and both.max() <= 1
    assert not torch.equal(both, model.sample(2, seed=12))
    ddpm = model.sample(2, seed=10, sampler="ddpm", steps=6)
    torch.testing.assert_close(ddpm, model.sample(2, seed=10, sampler="ddpm", steps=6))


def test_the_trajectory_panel_shows_four_seeds_from_noisy_to_clean() -> None:
    panel = _tiny_model(sample_steps=6).validation_panels(iter([]))["trajectory"]
    assert panel.grid.shape[0] == 3 and "6 DDIM steps" in panel.caption
    assert panel.grid.shape[1] == 4 * 17 + 1  # 4 rows of 16 px images, 1 px apart


def test_sampling_in_chunks_gives_the_images_of_one_batch(monkeypatch) -> None:
    import genzoo.models.diffusion as diffusion

    model = _tiny_model()
    whole = model.sample(5, seed=3)
    monkeypatch.setattr(diffusion, "SAMPLE_CHUNK", 2)
    torch.testing.assert_close(model.sample(5, seed=3), whole)


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_the_denoiser_exports_with_the_timestep_and_label_as_inputs(
    fmt: str, tmp_path: Path
) -> None:
    """genzoo-export's own check compares the exported file with PyTorch on drawn inputs."""
    from genzoo.tasks.export import export_model

    parts = export_model(_tiny_model(), fmt, tmp_path)
    assert [part.path.name for part in parts] == [
        f"denoiser.{'pt' if fmt == 'torchscript' else 'onnx'}"
    ]


def test_guidance_one_is_the_conditional_model_and_zero_the_unconditional() -> None:
    model = _tiny_model()
    x, t, labels = torch.randn(4, 1, 16, 16), torch.full((4,), 300), torch.arange(4)
    net = model.denoiser_ema
    torch.testing.assert_close(model.guided_denoiser(labels, 1.0)(x, t), net(x, t, labels))
    torch.testing.assert_close(model.guided_denoiser(labels, 0.0)(x, t), net(x, t, None))
    cond, uncond = net(x, t, labels), net(x, t, None)
    torch.testing.assert_close(
        model.guided_denoiser(labels, 3.0)(x, t), uncond + 3 * (cond - uncond)
    )


def test_inpainting_and_outpainting_keep_the_kept_pixels_exactly() -> None:
    model = _tiny_model()
    image = torch.rand(2, 1, 16, 16)
    mask = torch.zeros(16, 16)
    mask[4:12, 8:] = 1
    out = model.inpaint(image, mask, label=3, resample=2)
    kept = mask == 0
    assert torch.equal(out[..., kept], image[..., kept])
    assert not torch.equal(out[..., ~kept], image[..., ~kept])
    grown = model.outpaint(image, left=4, bottom=4)
    assert grown.shape == (2, 1, 20, 20)
    assert torch.equal(grown[..., :16, 4:], image)
    edited = model.edit(image, strength=0.3, label=5)
    assert edited.shape == image.shape and not torch.equal(edited, image)


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (torch.ones(8, 8), r"the mask is \(8, 8\) pixels \(H, W\) and the image \(16, 16\)"),
        (torch.zeros(16, 16), "the mask is empty: mark the region to paint with 1"),
        (torch.ones(16, 16), "the mask covers the whole image"),
    ],
)
def test_a_bad_mask_is_one_line(mask: torch.Tensor, message: str) -> None:
    with pytest.raises(EditInputError, match=message) as err:
        _tiny_model().inpaint(torch.rand(1, 1, 16, 16), mask)
    assert "\n" not in str(err.value)


def test_bad_edit_options_are_one_line() -> None:
    model, image = _tiny_model(), torch.rand(1, 1, 16, 16)
    with pytest.raises(EditInputError, match="on at least one side"):
        model.outpaint(image)
    with pytest.raises(EditInputError, match="multiples of 2"):
        model.outpaint(image, left=3)
    with pytest.raises(EditInputError, match=r"strength=1.5: give a noise level in \(0, 1\]"):
        model.edit(image, strength=1.5)


def _held_out_quality(model: Diffusion, digits) -> dict[str, float]:
    quality = SampleQuality("digits", image_size=16, channels=1)
    for batch in digits.val_dataloader():
        quality.update(batch["image"], real=True)
    quality.update(model.sample(96, seed=5, steps=8), real=False)
    return quality.compute()


def test_diffusion_learns_on_digits(make_cfg, tmp_path: Path) -> None:
    """The held-out denoising loss falls and the samples move toward the held-out digits (FID
    and SWD in the digit classifier's features)."""
    from hydra.utils import instantiate

    cfg = make_cfg(
        *TINY_DIFFUSION, "trainer=cpu", "trainer.max_steps=150", "trainer.val_check_interval=150",
        "model.ema_decay=0.9", *NO_GRIDS, run_dir=tmp_path / "run",
    )  # fmt: skip
    torch.manual_seed(0)
    untrained = instantiate(cfg.model, _convert_="all").eval()
    from genzoo.data.embedded import DigitsDataModule

    digits = DigitsDataModule(image_size=16, batch_size=64)
    digits.setup()
    before = _held_out_quality(untrained, digits)
    metrics = train(cfg)
    model, _ = load_model(tmp_path / "run")
    after = _held_out_quality(model, digits)
    assert after["fid"] < before["fid"] / 2, (before, after)
    assert after["swd"] < before["swd"], (before, after)
    batch = next(iter(digits.val_dataloader()))
    gen = torch.Generator().manual_seed(0)
    loss_before = untrained.denoising_loss(batch, untrained.denoiser_ema, False, gen)
    gen = torch.Generator().manual_seed(0)
    loss_after = model.denoising_loss(batch, model.denoiser_ema, False, gen)
    assert float(loss_after) < 0.7 * float(loss_before), (loss_before, loss_after)
    assert metrics["val/loss"] == pytest.approx(float(loss_after), rel=0.5)


def test_diffusion_resume_matches_uninterrupted_run(make_cfg, tmp_path: Path) -> None:
    args = [
        *TINY_DIFFUSION, "trainer=cpu", "trainer.limit_train_batches=4",
        "trainer.limit_val_batches=1", "model.eval_samples=8", "model.sample_steps=2",
        *NO_GRIDS, *BY_EPOCH, "trainer.deterministic=true",
    ]  # fmt: skip
    whole, split = tmp_path / "whole", tmp_path / "split"
    whole_metrics = train(make_cfg(*args, "trainer.max_epochs=4", run_dir=whole))
    train(make_cfg(*args, "trainer.max_epochs=2", run_dir=split))
    resumed = train(make_cfg(*args, "trainer.max_epochs=4", "resume=true", run_dir=split))
    for key in ("val/loss", "val/swd", "val/fid"):
        assert resumed[key] == pytest.approx(whole_metrics[key], rel=1e-6), key
    a = torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(split / "checkpoints" / "last.ckpt", weights_only=True)
    assert a["global_step"] == b["global_step"] == 16
    assert any(key.startswith("denoiser_ema.") for key in a["state_dict"])
    for key, value in a["state_dict"].items():  # the live U-Net and its EMA
        torch.testing.assert_close(b["state_dict"][key], value, msg=f"{key} differs after resume")
    for idx, state in a["optimizer_states"][0]["state"].items():
        for name, value in state.items():
            torch.testing.assert_close(b["optimizer_states"][0]["state"][idx][name], value)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A diffusion run of a few batches: what the commands need, not a good model."""
    run_dir = tmp_path_factory.mktemp("diffusion") / "runs" / "diffusion_digits" / "tiny"
    cfg = compose_train(
        [*FAST, *TINY_DIFFUSION, "trainer=cpu", "trainer.max_steps=3",
         "trainer.val_check_interval=3", "model.eval_samples=4", "model.sample_steps=2", *NO_GRIDS],
        run_dir,
    )  # fmt: skip
    train(cfg)
    return run_dir


def test_genzoo_edit_inpaints_a_box_and_keeps_the_rest(tiny_run: Path, tmp_path: Path) -> None:
    image = (torch.rand(16, 16) * 255).to(torch.uint8)
    Image.fromarray(image.numpy(), mode="L").save(tmp_path / "digit.png")
    result = run_cli(
        "genzoo-edit", f"run={tiny_run}", "input=digit.png", "op=inpaint", "box=[0,8,16,16]",
        "label=3", "steps=2", "resample=1", "output=out", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = torch.from_numpy(np.array(Image.open(tmp_path / "out" / "digit_inpaint.png")))
    assert out.shape == (16, 16)
    assert torch.equal(out[:8], image[:8])  # the rows above the box, to the byte
    sample = run_cli("genzoo-sample", f"run={tiny_run}", "n=4", "guidance=2", "steps=2",
                     "interpolate=false", f"out_dir={tmp_path / 's'}", cwd=tmp_path)  # fmt: skip
    assert sample.returncode == 0, sample.stderr[-2000:]
    assert any(
        p.name.startswith("samples_") and "_w2" in p.name for p in (tmp_path / "s").iterdir()
    )


def test_genzoo_edit_refuses_a_mask_of_another_size_in_one_line(
    tiny_run: Path, tmp_path: Path
) -> None:
    Image.new("L", (16, 16), 90).save(tmp_path / "digit.png")
    Image.new("L", (20, 16), 255).save(tmp_path / "mask.png")
    result = run_cli(
        "genzoo-edit", f"run={tiny_run}", "input=digit.png", "op=inpaint", "mask=mask.png",
        "output=out", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "mask=mask.png is 20x16 pixels and the image 16x16" in result.stderr
    assert not (tmp_path / "out").exists()
