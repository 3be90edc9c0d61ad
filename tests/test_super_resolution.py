"""Super-resolution: the protocol's metrics, data, tiling, SRResNet learning, SRGAN's stage 2,
resume, and the upscale / eval CLIs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from genzoo.data.super_resolution import SRCropDataset, SRPhotosDataModule, downscale
from genzoo.errors import GenzooError
from genzoo.losses.perceptual import MissingWeightsError, VGGFeatures, vgg_layer_index
from genzoo.metrics.super_resolution import high_frequency_energy, y_psnr, y_ssim
from genzoo.models.loading import load_model
from genzoo.networks.srresnet import SRResNet
from genzoo.training.train import train
from genzoo.utils.tiling import tile_starts, upscale_tiled

# A reduced SRResNet for the default suite: x4, 32 px HR crops, small and residual over bicubic.
TINY_SR = [
    "experiment=srresnet_photos",
    "trainer=cpu",
    "data.hr_size=32",
    "data.batch_size=8",
    "model.width=16",
    "model.blocks=2",
    "trainer.val_check_interval=null",
    "trainer.check_val_every_n_epoch=1",
    "data.train_crops=400",
]


# Its second stage, as small: experiment=srgan_photos (offline content loss) on that generator.
TINY_SRGAN = [
    "experiment=srgan_photos",
    *TINY_SR[1:],
    "model.d_channels=8",
]


# ----- metrics --------------------------------------------------------------------------
def test_psnr_and_ssim_of_identical_images_are_inf_and_one() -> None:
    x = torch.rand(2, 3, 40, 40)
    assert torch.isinf(y_psnr(x, x, border=4)).all()
    torch.testing.assert_close(y_ssim(x, x, border=4), torch.ones(2))


def test_psnr_of_a_known_error_is_the_analytic_value() -> None:
    # Grey images on the 8-bit grid, off by 5 levels everywhere inside the border and anything
    # on the border: MSE = (5/255)^2 inside, so PSNR = 20 log10(255 / 5) = 34.15 dB.
    hr = torch.randint(20, 200, (1, 1, 48, 48)).float() / 255
    sr = hr + 5 / 255
    sr[..., :4, :] = 0  # the border is not scored
    assert float(y_psnr(sr, hr, border=4)) == pytest.approx(20 * math.log10(255 / 5), abs=1e-3)
    flat = torch.full((1, 1, 48, 48), 0.5)  # noise on a flat image: SSIM ~ C2 / (var + C2)
    noisy = flat + torch.randn_like(flat) * 0.05
    assert float(y_ssim(noisy, flat, border=4)) == pytest.approx(
        0.0009 / (0.0025 + 0.0009), abs=0.05
    )


def test_high_frequency_energy_drops_with_blur() -> None:
    x = torch.rand(1, 3, 64, 64)
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    assert float(high_frequency_energy(blurred)) < 0.2 * float(high_frequency_energy(x))


# ----- data -----------------------------------------------------------------------------
def test_crops_pair_lr_with_hr_and_repeat_for_the_same_key() -> None:
    images = [torch.randint(0, 256, (3, 100, 120), dtype=torch.uint8)]
    dataset = SRCropDataset(images, length=4, hr_size=48, scale=4, augment=True)
    a, b = dataset.__getitems__([(0, 7), (1, 8)])
    assert a["hr"].shape == (3, 48, 48) and a["lr"].shape == (3, 12, 12)
    torch.testing.assert_close(a["lr"], downscale(a["hr"][None], 4)[0])
    torch.testing.assert_close(dataset[(0, 7)]["hr"], a["hr"])  # augmentation from the key
    assert not torch.equal(a["hr"], b["hr"])


def test_photos_hold_out_whole_images_cropped_to_the_scale() -> None:
    data = SRPhotosDataModule(scale=4, hr_size=32)
    data.setup("fit")
    batches = list(data.val_dataloader())
    assert data.val_names == ["coffee", "flower"] and len(batches) == 2
    for batch in batches:
        h, w = batch["hr"].shape[-2:]
        assert h % 4 == w % 4 == 0 and batch["lr"].shape[-2:] == (h // 4, w // 4)


# ----- tiling ---------------------------------------------------------------------------
def test_tiled_upscaling_equals_untiled() -> None:
    torch.manual_seed(0)
    net = SRResNet(scale=4, width=8, blocks=2, batch_norm=False).eval()
    lr = torch.rand(1, 3, 70, 90)
    with torch.no_grad():
        whole = net(lr)
        tiled = upscale_tiled(net, lr, scale=4, tile=32, overlap=12)
    assert len(tile_starts(70, 32, 12)) > 2
    assert tiled.shape == whole.shape == (1, 3, 280, 360)
    assert float((tiled - whole).abs().max()) < 1 / 255


def test_receptive_radius_of_the_papers_srresnet() -> None:
    # head 9x9: 4; 16 blocks of two 3x3: 32; body 3x3: 1; sub-pixel 3x3 at x1 and x2: 1 + 1/2;
    # tail 9x9 at x4: 4/4 = 1. In LR pixels: 39.5.
    assert SRResNet().receptive_radius() == 39.5
    assert SRResNet(blocks=2, width=8).receptive_radius() == 11.5
    assert SRResNet(scale=2, blocks=0, bicubic_skip=True).receptive_radius() == 4 + 1 + 1 + 2


def _worst_case_srresnet() -> SRResNet:
    """The paper's SRResNet with every convolution reading its farthest right-hand neighbour, so
    an output pixel depends on inputs its full receptive radius away (no trained network reaches
    further): the hardest case for tiling."""
    net = SRResNet().eval()
    with torch.no_grad():
        for conv in [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]:
            out_ch, in_ch, k, _ = conv.weight.shape
            conv.weight.zero_()
            for o in range(out_ch):
                if out_ch == 4 * in_ch:  # a sub-pixel conv: 4 outputs per input channel
                    conv.weight[o, o // 4, k // 2, k - 1] = 1.0
                elif out_ch < in_ch:  # the tail: the mean over channels
                    conv.weight[o, :, k // 2, k - 1] = 1.0 / (in_ch * (2**16 + 1))
                else:  # the head (each feature copies one colour) and the body: one to one
                    conv.weight[o, o % in_ch, k // 2, k - 1] = 1.0
            if conv.bias is not None:
                conv.bias.zero_()
    return net


def test_tiles_overlapping_by_the_receptive_radius_equal_the_untiled_image() -> None:
    """genzoo-upscale's overlap=auto on a paper-sized network: tiled equals untiled exactly;
    the former default overlap of 24 LR pixels left seams."""
    net = _worst_case_srresnet()
    reach = math.ceil(net.receptive_radius())
    lr = torch.rand(1, 3, 8, 200, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole = net(lr)
        auto = upscale_tiled(net, lr, scale=4, tile=96, overlap=reach)
        short = upscale_tiled(net, lr, scale=4, tile=96, overlap=24)
    assert reach == 40 and float(whole.mean()) > 0.1
    assert float((auto - whole).abs().max()) < 1e-5
    assert float((short - whole).abs().max()) > 1 / 255


def test_upscale_tile_and_overlap_are_checked_in_one_line() -> None:
    from genzoo.errors import ConfigError
    from genzoo.tasks.upscale import tile_and_overlap

    assert tile_and_overlap(192, "auto", 40) == (192, 40)
    assert tile_and_overlap(64, 8, 40) == (64, 8)  # allowed, with a warning about seams
    for tile, overlap, says in [
        ("abc", "auto", "tile=abc must be a positive whole number"),
        (0, "auto", "tile=0 must be a positive whole number"),
        (192, 500, "tile=192 must be larger than twice overlap=500"),
        (192, -5, r"overlap=-5 must be auto \(this model: 40\)"),
        (192, "wide", "overlap=wide must be auto"),
    ]:
        with pytest.raises(ConfigError, match=says):
            tile_and_overlap(tile, overlap, 40)


def test_bicubic_baseline_is_matlabs_imresize() -> None:
    """The SR literature's bicubic (MATLAB imresize: Keys' kernel with a = -0.5, mirrored
    borders), every pixel, computed here from its definition."""
    from genzoo.networks.srresnet import bicubic_upscale

    def kernel(t: torch.Tensor, a: float = -0.5) -> torch.Tensor:
        t = t.abs()
        near = (a + 2) * t**3 - (a + 3) * t**2 + 1
        far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
        return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))

    def weights(n: int, scale: int) -> torch.Tensor:  # (n * scale, n): one row per output
        w = torch.zeros(n * scale, n, dtype=torch.float64)
        for i in range(n * scale):
            centre = (i + 0.5) / scale - 0.5
            for j in range(int(math.floor(centre)) - 1, int(math.floor(centre)) + 3):
                source = -j - 1 if j < 0 else 2 * n - 1 - j if j >= n else j  # symmetric
                w[i, source] += kernel(torch.tensor(centre - j, dtype=torch.float64))
        return w

    lr = 0.25 + 0.5 * torch.rand(1, 1, 7, 9, dtype=torch.float64)  # no clamping at [0, 1]
    expected = weights(7, 4) @ lr[0, 0] @ weights(9, 4).t()
    torch.testing.assert_close(bicubic_upscale(lr, 4)[0, 0], expected, atol=1e-12, rtol=0)


def test_srgan_evaluates_its_generator_or_an_ema_with_its_own_statistics() -> None:
    from genzoo.models.srgan import SRGAN

    paper = SRGAN(width=8, blocks=1, d_channels=8, content_loss="mse")
    assert paper.ema_decay is None and paper.sr_network() is paper.generator
    torch.manual_seed(0)
    ema = SRGAN(width=8, blocks=1, d_channels=8, content_loss="mse", ema_decay=0.999)
    assert ema.sr_network() is ema.generator_ema
    lr = torch.rand(16, 3, 12, 12)
    ema._recent_lr = [lr]
    ema.g_steps += 1
    with torch.no_grad():  # statistics copied from a live generator that saw other images
        for norm in ema.generator_ema.modules():
            if isinstance(norm, torch.nn.BatchNorm2d):
                norm.running_mean.fill_(3.0)
        ema.refresh_ema_statistics()
        evaluated = ema.generator_ema.eval()(lr)
        as_in_training = ema.generator_ema.train()(lr)
    ema.generator_ema.eval()
    torch.testing.assert_close(evaluated, as_in_training, atol=2e-3, rtol=0)
    assert "EMA" in ema.metric_notes()["sampler"] and "paper" in paper.metric_notes()["sampler"]


# ----- VGG features ---------------------------------------------------------------------
def test_vgg_layers_and_missing_weights() -> None:
    assert (
        vgg_layer_index("relu2_2") == 9 and vgg_layer_index("relu5_4") == 36
    )  # torchvision's indices
    with pytest.raises(MissingWeightsError, match="model.content_loss=vgg19_random or mse"):
        VGGFeatures("relu2_2", pretrained=True, weights_path="/nonexistent/vgg19.pth")


# ----- training -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def srresnet_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    """A reduced SRResNet trained for 300 batches on the embedded photos (about 15 s)."""
    from tests.conftest import FAST, compose_train

    run = tmp_path_factory.mktemp("sr") / "srresnet"
    # 6 epochs of 50 batches, validated once, at the end.
    cfg = compose_train(
        [*FAST, *TINY_SR, "trainer.max_steps=300", "trainer.check_val_every_n_epoch=6", "seed=1"],
        run,
    )
    return run, train(cfg)


def test_srresnet_beats_bicubic_on_held_out_photos(srresnet_run) -> None:
    _, metrics = srresnet_run
    # Measured: +0.44 dB after 300 batches (+0.18 after 200); bicubic scores 29.1 dB here.
    assert metrics["val/psnr_gain"] > 0.25, metrics
    assert metrics["val/ssim"] > metrics["val/bicubic_ssim"], metrics


def test_srgan_starts_from_srresnet_and_logs_its_losses(srresnet_run, make_cfg, tmp_path) -> None:
    stage1, _ = srresnet_run
    args = [
        *TINY_SRGAN,
        f"model.init_from={stage1}",
        "data.train_crops=48",  # one epoch of 6 batches, validated at its end
        "trainer.max_steps=6",
        "trainer.log_every_n_steps=1",
    ]
    # The paper's second phase at a tenth of the rate, here after 3 of the 6 batches.
    schedule = (
        "{_target_:torch.optim.lr_scheduler.MultiStepLR,_partial_:true,milestones:[3],gamma:0.1}"
    )
    metrics = train(make_cfg(*args, f"model.scheduler={schedule}", run_dir=tmp_path / "gan"))
    ckpt = torch.load(tmp_path / "gan" / "checkpoints" / "last.ckpt", weights_only=True)
    lrs = [state["param_groups"][0]["lr"] for state in ckpt["optimizer_states"]]
    assert lrs == pytest.approx([1e-5, 1e-5]) and len(ckpt["lr_schedulers"]) == 2
    assert {"val/psnr", "val/hf_ratio"} <= set(metrics)
    header = (tmp_path / "gan" / "csv" / "metrics.csv").read_text().splitlines()[0]
    for key in ("train/d_loss", "train/content_loss", "train/adversarial_loss"):
        assert key in header
    model, meta = load_model(tmp_path / "gan")
    assert meta["config"]["model"]["content_loss"] == "vgg19_random"
    assert model.metric_notes()["content_loss"] == "vgg19_random at relu2_2"
    # The paper's VGG loss without its weights stops before training, saying what to do.
    with pytest.raises(MissingWeightsError, match="vgg19_random or mse"):
        train(
            make_cfg(
                *args,
                "model.content_loss=vgg19",
                "model.vgg_weights=/nonexistent.pth",
                run_dir=tmp_path / "novgg",
            )
        )
    # Stage 1 must be an SRResNet run with the same generator.
    with pytest.raises(GenzooError, match="model.init_from=.*different generator.*model.width=16"):
        train(make_cfg(*args, "model.width=8", run_dir=tmp_path / "wide"))


def test_sr_model_on_image_data_is_a_clear_error(make_cfg, tmp_path) -> None:
    from genzoo.data.kinds import DataKindError

    with pytest.raises(DataKindError, match="use data=sr_photos"):
        train(
            make_cfg("model=srresnet", "data=digits", "trainer.max_steps=1", run_dir=tmp_path / "r")
        )


def test_srgan_refuses_a_run_of_another_family(make_cfg, tmp_path) -> None:
    from genzoo.models.srgan import InitFromError, read_init_from

    vae = tmp_path / "vae"
    train(make_cfg("experiment=vae_digits", "trainer.max_steps=2", run_dir=vae))
    with pytest.raises(InitFromError, match="is a VAE run, not an SRResNet one"):
        read_init_from(str(vae), {})
    with pytest.raises(InitFromError, match="not a usable SRResNet run.*neither a run directory"):
        read_init_from(str(tmp_path / "missing"), {})


@pytest.mark.parametrize("model", ["srresnet", "srgan"])
def test_sr_resume_matches_uninterrupted_run(srresnet_run, make_cfg, tmp_path, model) -> None:
    stage1, _ = srresnet_run
    args = [*(TINY_SRGAN if model == "srgan" else TINY_SR), "trainer.deterministic=true"]
    args += ["data.train_crops=32", "trainer.limit_val_batches=1"]  # 4 batches an epoch
    if model == "srgan":
        args += [f"model.init_from={stage1}", "model.content_loss=mse"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(make_cfg(*args, "trainer.max_steps=-1", "trainer.max_epochs=4", run_dir=whole))
    train(make_cfg(*args, "trainer.max_steps=-1", "trainer.max_epochs=2", run_dir=split))
    train(
        make_cfg(
            *args, "trainer.max_steps=-1", "trainer.max_epochs=4", "resume=true", run_dir=split
        )
    )
    a = torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(split / "checkpoints" / "last.ckpt", weights_only=True)
    assert a["global_step"] == b["global_step"] > 0
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, msg=f"{key} differs after resume")


# ----- CLIs -----------------------------------------------------------------------------
def test_upscale_cli_on_a_folder_of_odd_images(srresnet_run, tmp_path) -> None:
    from omegaconf import OmegaConf

    from genzoo.tasks.upscale import upscale
    from genzoo.tasks.user_images import ImagesSkipped

    stage1, _ = srresnet_run
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    Image.new("RGB", (37, 23), (200, 10, 10)).save(folder / "odd.png")
    Image.new("L", (20, 30), 128).save(folder / "grey.jpg")
    Image.new("RGBA", (16, 16), (0, 0, 255, 100)).save(folder / "sub" / "alpha.png")
    Image.new("I;16", (24, 12), 30000).save(folder / "deep.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    cfg = OmegaConf.create(
        dict(
            run=str(stage1),
            checkpoint="last",
            input=str(folder),
            output=str(tmp_path / "out"),
            tile=16,
            overlap=4,
            device="cpu",
        )
    )
    with pytest.raises(ImagesSkipped, match=r"1 of 5 image\(s\) could not be read") as info:
        upscale(cfg)
    assert info.value.exit_code == 1 and "broken.png" in str(info.value)
    sizes = {
        p.relative_to(tmp_path / "out").as_posix(): Image.open(p).size
        for p in (tmp_path / "out").rglob("*.png")
    }
    assert sizes == {
        "odd_x4.png": (148, 92),
        "grey_x4.png": (80, 120),
        "sub/alpha_x4.png": (64, 64),
        "deep_x4.png": (96, 48),
    }


def test_eval_cli_writes_a_per_image_table_on_a_folder(srresnet_run, tmp_path) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from genzoo.tasks.evaluate import evaluate
    from genzoo.utils.paths import config_dir

    stage1, _ = srresnet_run
    folder = tmp_path / "hr"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(torch.randint(0, 256, (50, 66, 3), dtype=torch.uint8).numpy()).save(
            folder / f"im{i}.png"
        )
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(
            "eval",
            overrides=[f"run={stage1}", "data=sr_folder", f"data.val_dir={folder}", "device=cpu"],
        )
    result = evaluate(cfg)
    assert [row["image"] for row in result["per_image"]] == ["im0", "im1"]
    assert result["metrics"]["images"] == 2
    table = (stage1 / "eval_sr_folder.md").read_text()
    assert "| im1 |" in table and "bicubic PSNR" in table
    assert json.loads((stage1 / "eval_sr_folder.json").read_text())["metrics"]["psnr"] > 0


# ----- real sets: download, verify and extract, on small files in the real layout -----------
def _png_bytes(size: tuple[int, int]) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_div2k_downloads_checks_and_extracts(tmp_path, monkeypatch) -> None:
    import zipfile

    from genzoo.data import sr_sets
    from genzoo.data.downloads import md5sum
    from genzoo.data.errors import DatasetError

    served = tmp_path / "served"
    served.mkdir()
    archives = {}
    for split, (name, _, inner) in sr_sets.DIV2K_ARCHIVES.items():
        with zipfile.ZipFile(served / name, "w") as zf:
            for i in range(3 if split == "train" else 2):
                zf.writestr(f"{inner}/{i + 1:04d}.png", _png_bytes((120, 100)))
        archives[split] = (name, md5sum(served / name), inner)
    monkeypatch.setattr(sr_sets, "DIV2K_URL", served.as_uri() + "/")
    monkeypatch.setattr(sr_sets, "DIV2K_ARCHIVES", archives)
    data = sr_sets.DIV2KDataModule(root=str(tmp_path / "root"), hr_size=48, batch_size=2)
    data.prepare_data()
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert batch["hr"].shape == (2, 3, 48, 48) and batch["lr"].shape == (2, 3, 12, 12)
    assert len(data.val_names) == 2
    # A corrupt archive is named, and nothing is extracted from it.
    bad = sr_sets.DIV2KDataModule(root=str(tmp_path / "other"))
    monkeypatch.setattr(
        sr_sets, "DIV2K_ARCHIVES", {"train": (archives["train"][0], "0" * 32, "DIV2K_train_HR")}
    )
    with pytest.raises(DatasetError, match="fails its checksum"):
        bad.prepare_data()


def test_benchmark_set_downloads_and_refuses_training(tmp_path, monkeypatch) -> None:
    import io
    import tarfile

    from genzoo.data import sr_sets
    from genzoo.data.errors import DatasetError

    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "Set5_HR.tar.gz", "w:gz") as tf:
        for name in ("baby", "bird", "butterfly", "head", "woman"):
            payload = _png_bytes((64, 52))
            info = tarfile.TarInfo(f"Set5_HR/{name}.png")
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    monkeypatch.setattr(sr_sets, "_HF", served.as_uri() + "/{name}_HR.tar.gz")
    data = sr_sets.SRBenchmarkDataModule(name="set5", root=str(tmp_path / "root"))
    loader = data.eval_dataloader("val")
    assert data.val_names == ["baby", "bird", "butterfly", "head", "woman"]
    assert next(iter(loader))["hr"].shape == (1, 3, 52, 64)
    with pytest.raises(DatasetError, match="is an evaluation set"):
        data.setup("fit")


def test_sample_cli_points_an_sr_run_to_upscale(srresnet_run) -> None:
    from genzoo.tasks.sample import SampleRequestError, sample
    from tests.conftest import sample_cfg

    stage1, _ = srresnet_run
    with pytest.raises(SampleRequestError, match="use genzoo-upscale"):
        sample(sample_cfg(f"run={stage1}", "device=cpu"))
