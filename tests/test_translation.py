"""Pix2Pix and CycleGAN: networks by construction, data formats and their errors, downloads on
small archives, learning on the embedded tasks, exact resume, genzoo-translate."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from genzoo.data.errors import DatasetError
from genzoo.networks.discriminators import PatchGAN
from genzoo.networks.translation import UNetGenerator, unet_levels
from genzoo.training.train import train
from tests.conftest import run_cli

TINY_PIX2PIX = [
    "experiment=pix2pix_facades_synth",
    "model.width=8",
    "model.d_width=8",
    "data.batch_size=8",
    "data.val_pairs=16",
]
TINY_CYCLEGAN = [
    "experiment=cyclegan_photos",
    "model.width=8",
    "model.blocks=1",
    "model.d_width=8",
    "data.batch_size=4",
    "data.val_crops=8",
    "model.pool_size=6",
]


# ----- networks by construction ------------------------------------------------------------
def test_unet_depth_follows_the_image_size_and_skips_carry_detail() -> None:
    assert unet_levels(256) == 8 and unet_levels(64) == 6 and unet_levels(32) == 5
    with pytest.raises(ValueError, match="power of two"):
        unet_levels(48)
    torch.manual_seed(0)
    net = UNetGenerator(3, 3, levels=5, width=8, norm="none", dropout=0.0).eval()
    # Every decoder level below the bottleneck takes its own output plus the encoder's skip.
    widths = [8, 16, 32, 64, 64]
    ins = [block[1].in_channels for block in net.decoder]
    assert ins == [64, 128, 64, 32, 16] == [widths[-1]] + [2 * w for w in widths[-2::-1]]
    # With the bottleneck silenced the output still follows the input: only the skips carry it.
    net.encoder[-1].register_forward_hook(lambda module, args, out: torch.zeros_like(out))
    with torch.no_grad():
        x = torch.rand(1, 3, 32, 32)
        x2 = x.clone()
        x2[0, :, 16, 16] += 0.5
        change = (net(x2) - net(x)).abs().sum(1)[0]
    assert float(change[16, 16]) > 1e-4


def test_unet_256_has_dropout_on_the_papers_three_decoder_levels() -> None:
    """CD512-CD1024-CD1024 (pix2pix appendix 6.1.1): the first three decoder levels from the
    bottleneck, and no others."""
    net = UNetGenerator(3, 3, levels=8, width=64, norm="batch", dropout=0.5)
    with_dropout = [
        any(isinstance(layer, torch.nn.Dropout) for layer in block) for block in net.decoder
    ]
    assert with_dropout == [True, True, True, False, False, False, False, False]
    assert [block[1].out_channels for block in net.decoder[:3]] == [512, 512, 512]


def test_instance_norm_has_no_learned_affine() -> None:
    from genzoo.networks.blocks import make_norm

    norm = make_norm("instance", 8)
    assert isinstance(norm, torch.nn.InstanceNorm2d) and not norm.affine
    assert sum(p.numel() for p in norm.parameters()) == 0


def _pix2pix(test_mode: str, dropout: float = 0.5) -> torch.nn.Module:
    from genzoo.models.pix2pix import Pix2Pix

    torch.manual_seed(0)
    model = Pix2Pix(image_size=32, width=8, d_width=8, dropout=dropout, test_mode=test_mode)
    model.generator.train()
    with torch.no_grad():  # running statistics that differ from any one image's
        model.generator(torch.randn(8, 3, 32, 32) * 3)
    return model.eval()


def test_pix2pix_tests_as_the_paper_by_default_and_leaves_its_statistics_alone() -> None:
    """test_mode=paper (the default): each image normalised by its own statistics, dropout on
    from a fixed seed; the running statistics untouched. test_mode=eval: the usual inference."""
    from genzoo.models.pix2pix import Pix2Pix

    assert Pix2Pix(image_size=32, width=8, d_width=8).test_mode == "paper"
    x = torch.rand(3, 3, 32, 32)
    paper, plain = _pix2pix("paper", dropout=0.0), _pix2pix("eval", dropout=0.0)
    before = [b.clone() for b in paper.buffers()]
    alone = paper.translate(x[:1])
    together = paper.translate(x)
    torch.testing.assert_close(together[:1], alone)  # no image's statistics reach another's
    assert not torch.allclose(together, plain.translate(x), atol=1e-3)
    assert all(torch.equal(a, b) for a, b in zip(before, paper.buffers(), strict=True))
    assert not paper.generator.training, "translate restored eval mode"
    noisy = _pix2pix("paper")
    first, again = noisy.translate(x), noisy.translate(x)
    torch.testing.assert_close(first, again)  # repeatable: a fixed dropout seed
    noisy.test_mode = "eval"
    assert not torch.allclose(noisy.translate(x), first, atol=1e-3)
    assert noisy.metric_notes()["test_mode"].startswith("eval")
    assert paper.metric_notes()["test_mode"].startswith("paper")


def test_edges2shoes_recipe_is_the_papers_batch_4_for_15_epochs() -> None:
    from hydra import compose, initialize_config_dir

    from genzoo.utils.paths import config_dir

    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", ["experiment=pix2pix_edges2shoes"])
    assert cfg.data.batch_size == 4
    batches_per_epoch = 49_825 // 4
    assert cfg.trainer.max_steps == 15 * batches_per_epoch
    assert cfg.model.lr_constant_steps + cfg.model.lr_decay_steps == cfg.trainer.max_steps


def test_patchgan_sees_70_pixel_patches() -> None:
    d = PatchGAN(6).eval()  # eval: batch norm with running statistics couples no positions
    assert d.receptive_field == 70
    assert PatchGAN(3, layers=2).receptive_field == 34
    x = torch.randn(1, 6, 128, 128, requires_grad=True)
    logits = d(x)
    assert logits.shape == (1, 1, 14, 14)
    logits[0, 0, 7, 7].backward()
    rows = x.grad.abs().sum((0, 1, 3)).nonzero().flatten()  # type: ignore[union-attr]
    cols = x.grad.abs().sum((0, 1, 2)).nonzero().flatten()  # type: ignore[union-attr]
    assert int(rows[-1] - rows[0]) + 1 == 70 and int(cols[-1] - cols[0]) + 1 == 70


# ----- data ------------------------------------------------------------------------------
def _gradient(w: int, h: int) -> Image.Image:
    x = torch.linspace(0, 255, w).expand(h, w)
    y = torch.linspace(0, 255, h)[:, None].expand(h, w)
    return Image.fromarray(torch.stack([x, y, 255 - x], -1).to(torch.uint8).numpy())


def write_aligned(folder: Path, n: int, size: int = 40) -> None:
    """A|B images whose B is the colour negative of A."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        a = _gradient(size, size).rotate(90 * i)
        b = Image.eval(a, lambda v: 255 - v)
        ab = Image.new("RGB", (2 * size, size))
        ab.paste(a, (0, 0))
        ab.paste(b, (size, 0))
        ab.save(folder / f"{i}.png")


def test_paired_data_crops_and_flips_both_sides_alike(tmp_path: Path) -> None:
    from genzoo.data.translation import PairedDataModule

    for split in ("train", "val"):
        write_aligned(tmp_path / "pairs" / split, 3)
    dm = PairedDataModule(
        path=str(tmp_path / "pairs"), load_size=40, crop_size=32, batch_size=2, num_workers=0
    )
    dm.setup("fit")
    for seed in range(6):
        item = dm.train_set[(seed % 3, seed)]  # type: ignore[index]
        assert item["A"].shape == (3, 32, 32)
        torch.testing.assert_close(item["B"], 1 - item["A"], atol=2 / 255, rtol=0)
    assert dm.val_set[0]["A"].shape == (3, 32, 32)  # type: ignore[index]


def test_paired_folders_name_what_does_not_match(tmp_path: Path) -> None:
    from genzoo.data.translation import PairedDataModule

    root = tmp_path / "pairs"
    for side in ("A", "B"):
        (root / "train" / side).mkdir(parents=True)
        _gradient(20, 20).save(root / "train" / side / "same.png")
    _gradient(20, 20).save(root / "train" / "A" / "lonely.png")
    dm = PairedDataModule(path=str(root), layout="folders", load_size=16, crop_size=16)
    with pytest.raises(DatasetError, match=r"lonely\.png has no partner"):
        dm.setup("fit")
    (root / "train" / "A" / "lonely.png").unlink()
    _gradient(24, 20).save(root / "train" / "B" / "same.png")
    (root / "val").mkdir()
    (root / "val" / "A").mkdir()
    (root / "val" / "B").mkdir()
    _gradient(20, 20).save(root / "val" / "A" / "v.png")
    _gradient(20, 20).save(root / "val" / "B" / "v.png")
    dm = PairedDataModule(path=str(root), layout="folders", load_size=16, crop_size=16)
    dm.setup("fit")
    with pytest.raises(
        DatasetError, match=r"differ in size: .*A/same\.png is 20x20, .*B/same\.png"
    ):
        dm.train_set[0]  # type: ignore[index]
    # An aligned image of odd width is named, with the other layout suggested.
    odd = tmp_path / "odd" / "train"
    odd.mkdir(parents=True)
    _gradient(41, 20).save(odd / "odd.png")
    write_aligned(tmp_path / "odd" / "val", 1)
    dm = PairedDataModule(path=str(tmp_path / "odd"), load_size=16, crop_size=16)
    dm.setup("fit")
    with pytest.raises(DatasetError, match=r"odd\.png is 41 pixels wide.*layout=folders"):
        dm.train_set[0]  # type: ignore[index]


def test_unpaired_domains_of_different_sizes(tmp_path: Path) -> None:
    from genzoo.data.translation import UnpairedDataModule

    for domain, n in (("trainA", 5), ("trainB", 2), ("testA", 2), ("testB", 1)):
        (tmp_path / domain).mkdir()
        for i in range(n):
            _gradient(30 + i, 20).save(tmp_path / domain / f"{i}.jpg")
    dm = UnpairedDataModule(path=str(tmp_path), load_size=24, crop_size=16, num_workers=0)
    dm.setup("fit")
    assert len(dm.train_set) == 5 and len(dm.val_set) == 2  # type: ignore[arg-type]
    partners = {int(dm.train_set[(0, s)]["B"].sum() * 1000) for s in range(12)}  # type: ignore[index]
    assert len(partners) > 1  # B is drawn independently of A
    missing = UnpairedDataModule(path=str(tmp_path / "nowhere"), load_size=24, crop_size=16)
    with pytest.raises(DatasetError, match=r"nowhere/trainA is not a folder"):
        missing.setup("fit")


def test_real_sets_download_from_archives_in_their_published_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genzoo.data import translation_sets as sets

    served = tmp_path / "served"
    served.mkdir()
    # pix2pix's facades: facades/train, facades/val of aligned images, as a .tar.gz.
    write_aligned(tmp_path / "src" / "facades" / "train", 3)
    write_aligned(tmp_path / "src" / "facades" / "val", 2)
    with tarfile.open(served / "facades.tar.gz", "w:gz") as tf:
        tf.add(tmp_path / "src" / "facades", arcname="facades")
    monkeypatch.setattr(sets, "PIX2PIX_URL", f"file://{served}/{{name}}.tar.gz")
    monkeypatch.setitem(sets.PIX2PIX_SETS, "facades", (3, "val", "BtoA"))
    dm = sets.Pix2PixSetDataModule(
        name="facades", root=str(tmp_path / "data"), load_size=40, crop_size=32, num_workers=0
    )
    dm.setup("fit")
    assert len(dm.train_set) == 3 and len(dm.val_set) == 2  # type: ignore[arg-type]
    # CycleGAN's horse2zebra: horse2zebra/{trainA,trainB,testA,testB}, as a .zip with SHA-256.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for domain in ("trainA", "trainB", "testA", "testB"):
            png = io.BytesIO()
            _gradient(20, 20).save(png, format="PNG")
            zf.writestr(f"horse2zebra/{domain}/n01.png", png.getvalue())
    (served / "horse2zebra.zip").write_bytes(buffer.getvalue())
    url = f"file://{served}/{{name}}.zip"
    monkeypatch.setattr(sets, "CYCLEGAN_URL", url)
    monkeypatch.setattr(sets, "CYCLEGAN_MIRROR", url)
    monkeypatch.setitem(sets.CYCLEGAN_SETS, "horse2zebra", "0" * 64)
    bad = sets.CycleGANSetDataModule(name="horse2zebra", root=str(tmp_path / "data"))
    with pytest.raises(DatasetError, match=r"horse2zebra\.zip.*fails its checksum \(sha256"):
        bad.setup("fit")
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    monkeypatch.setitem(sets.CYCLEGAN_SETS, "horse2zebra", digest)
    dm2 = sets.CycleGANSetDataModule(
        name="horse2zebra", root=str(tmp_path / "data"), load_size=20, crop_size=16
    )
    dm2.setup("fit")
    assert len(dm2.train_set) == 1  # type: ignore[arg-type]
    offline = sets.CycleGANSetDataModule(name="apple2orange", root=str(tmp_path / "data"),
                                         download=False)  # fmt: skip
    with pytest.raises(DatasetError, match=r"apple2orange images are not in .*download"):
        offline.setup("fit")


def test_the_warm_tone_task_is_unpaired_in_training_and_aligned_held_out() -> None:
    from genzoo.data.translation_embedded import TransformedPhotosDataModule, warm_tone

    dm = TransformedPhotosDataModule(val_crops=4)
    dm.setup("fit")
    item = dm.train_set.__getitems__([(0, 11)])[0]  # type: ignore[union-attr]
    assert not torch.allclose(warm_tone(item["A"][None])[0], item["B"], atol=0.05)
    held_out = dm.val_set.__getitems__([0])[0]  # type: ignore[union-attr]
    torch.testing.assert_close(warm_tone(held_out["A"][None])[0], held_out["B"])
    assert bool(held_out["aligned"])


# ----- learning ------------------------------------------------------------------------------
def _val(metrics: dict[str, float], key: str) -> float:
    return float(metrics[f"val/{key}"])


def test_pix2pix_learns_the_embedded_facades(make_cfg) -> None:
    """Held-out L1 to the targets falls below its start and below the per-pixel mean of the
    training targets (the trivial baseline)."""
    from genzoo.models.pix2pix import Pix2Pix

    args = [*TINY_PIX2PIX[:-1], "data.val_pairs=32", "model.width=16", "model.d_width=16"]
    args += ["trainer.max_steps=150", "trainer.val_check_interval=150"]
    args += ["model.lr_constant_steps=150", "model.lr_decay_steps=0"]
    metrics = train(make_cfg(*args))
    cfg = make_cfg(*args)
    from hydra.utils import instantiate

    untrained: Pix2Pix = instantiate(cfg.model)
    dm = instantiate(cfg.data)
    dm.setup("validate")
    start = untrained.evaluate(dm.val_dataloader())
    assert _val(metrics, "l1") < 0.8 * start["l1"], (metrics, start)
    assert _val(metrics, "l1") < _val(metrics, "mean_target_l1"), metrics
    assert _val(metrics, "psnr_gain_over_mean") > 1.0, metrics


def test_cyclegan_learns_the_known_tone_transform(make_cfg) -> None:
    """The error to the true mapping falls in both directions, and so does the cycle error."""
    args = [*TINY_CYCLEGAN, "model.width=16", "model.d_width=16", "data.batch_size=8"]
    args += ["trainer.max_steps=160", "trainer.val_check_interval=160"]
    args += ["data.val_crops=32", "callbacks.image_grid.every_n_steps=100000"]
    from hydra.utils import instantiate

    cfg = make_cfg(*args)
    untrained = instantiate(cfg.model)
    dm = instantiate(cfg.data)
    dm.setup("validate")
    start = untrained.evaluate(dm.val_dataloader())
    metrics = train(cfg)
    for direction in ("AtoB", "BtoA"):
        assert _val(metrics, f"l1_{direction}") < 0.5 * start[f"l1_{direction}"], (metrics, start)
    assert _val(metrics, "cycle_l1") < 0.5 * start["cycle_l1"], (metrics, start)


def test_cyclegan_resume_matches_an_uninterrupted_run(make_cfg, tmp_path: Path) -> None:
    """Both optimizers, both LR schedules (decaying across the interruption), the image pools
    and every weight end as in the run that was never stopped."""
    args = [*TINY_CYCLEGAN, "data.train_crops=16", "trainer.limit_val_batches=1"]
    args += ["model.lr_constant_steps=4", "model.lr_decay_steps=8", "trainer.deterministic=true"]
    args += ["trainer.max_steps=-1", "trainer.val_check_interval=null"]
    args += ["trainer.check_val_every_n_epoch=1"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(make_cfg(*args, "trainer.max_epochs=4", run_dir=whole))
    train(make_cfg(*args, "trainer.max_epochs=2", run_dir=split))
    half = torch.load(split / "checkpoints" / "last.ckpt", weights_only=True)
    assert half["image_pools"]["A"].shape[:2] == (1, 6)  # one process; full: 8 seen, 6 kept
    train(make_cfg(*args, "trainer.max_epochs=4", "resume=true", run_dir=split))
    a = torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(split / "checkpoints" / "last.ckpt", weights_only=True)
    assert a["global_step"] == b["global_step"] == 32
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, msg=f"{key} differs after resume")
    for domain in ("A", "B"):
        torch.testing.assert_close(b["image_pools"][domain], a["image_pools"][domain])
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        for pid, state in opt_a["state"].items():
            torch.testing.assert_close(opt_b["state"][pid]["exp_avg"], state["exp_avg"])
    schedules = [s["last_epoch"] for s in b["lr_schedulers"]]
    assert schedules == [s["last_epoch"] for s in a["lr_schedulers"]] == [16, 16]
    # 4 batches at 2e-4, then down by 1/9 a batch: 0 from batch 12 on.
    assert [g["param_groups"][0]["lr"] for g in b["optimizer_states"]] == [0.0, 0.0]


# ----- use ---------------------------------------------------------------------------------
@pytest.fixture
def pix2pix_checkpoint(tmp_path: Path) -> Path:
    from genzoo.models.loading import save_bare_checkpoint
    from genzoo.models.pix2pix import Pix2Pix

    model = Pix2Pix(direction="BtoA", image_size=32, width=8, d_width=8)
    return save_bare_checkpoint(model, tmp_path / "pix2pix.ckpt")


def test_translate_cli_on_a_folder_of_odd_images(pix2pix_checkpoint: Path, tmp_path: Path) -> None:
    from genzoo.errors import ConfigError
    from genzoo.tasks.translate import translate
    from genzoo.tasks.user_images import ImagesSkipped

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    Image.new("RGB", (37, 23), (200, 10, 10)).save(folder / "odd.png")
    Image.new("L", (20, 300), 128).save(folder / "grey.jpg")
    Image.new("RGBA", (16, 16), (0, 0, 255, 100)).save(folder / "sub" / "alpha.png")
    Image.new("I;16", (24, 12), 30000).save(folder / "deep.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    cfg = OmegaConf.create(
        dict(run=str(pix2pix_checkpoint), checkpoint="last", input=str(folder),
             output=str(tmp_path / "out"), direction=None, size="native", device="cpu")
    )  # fmt: skip
    with pytest.raises(ImagesSkipped, match=r"1 of 5 image\(s\) could not be read") as info:
        translate(cfg)
    assert info.value.exit_code == 1 and "broken.png" in str(info.value)
    sizes = {
        p.relative_to(tmp_path / "out").as_posix(): Image.open(p).size
        for p in (tmp_path / "out").rglob("*.png")
    }
    assert sizes == {
        "odd_BtoA.png": (37, 23),
        "grey_BtoA.png": (20, 300),
        "sub/alpha_BtoA.png": (16, 16),
        "deep_BtoA.png": (24, 12),
    }
    # The command as a user runs it: the exit code says an image was skipped.
    done = run_cli("genzoo-translate", f"run={pix2pix_checkpoint}", f"input={folder}",
                   f"output={tmp_path / 'cli'}", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    assert "broken.png" in done.stderr and len(list((tmp_path / "cli").rglob("*.png"))) == 4
    cfg.size, cfg.output = "train", str(tmp_path / "resized")
    with pytest.raises(ImagesSkipped):
        translate(cfg)
    assert Image.open(tmp_path / "resized" / "odd_BtoA.png").size == (37, 23)
    cfg.direction = "AtoB"  # a Pix2Pix run learned one direction only
    with pytest.raises(ConfigError, match=r"translates BtoA only.*data.direction=BtoA"):
        translate(cfg)
    # test_mode: the paper's (the run's default, above) or eval mode, which translates otherwise.
    cfg.direction, cfg.size, cfg.output = None, "native", str(tmp_path / "eval")
    cfg.test_mode = "sometimes"
    with pytest.raises(ConfigError, match="test_mode=sometimes must be one of paper, eval"):
        translate(cfg)
    cfg.test_mode = "eval"
    with pytest.raises(ImagesSkipped):
        translate(cfg)
    paper, plain = (Image.open(tmp_path / d / "odd_BtoA.png") for d in ("out", "eval"))
    assert paper.tobytes() != plain.tobytes()


def test_cyclegan_translates_both_ways_from_one_checkpoint(tmp_path: Path) -> None:
    from genzoo.models.cyclegan import CycleGAN
    from genzoo.models.loading import load_model, save_bare_checkpoint

    model = CycleGAN(image_size=32, width=8, blocks=1, d_width=8, norm="none", d_norm="none")
    loaded, _ = load_model(str(save_bare_checkpoint(model, tmp_path / "c.ckpt")), "last", "cpu")
    x = torch.rand(2, 3, 18, 30)
    ab, ba = loaded.translate(x, "AtoB"), loaded.translate(x, "BtoA")
    assert ab.shape == ba.shape == x.shape and not torch.allclose(ab, ba)


def test_pix2pix_refuses_unpaired_data(make_cfg) -> None:
    from genzoo.data.kinds import DataKindError

    cfg = make_cfg("model=pix2pix", "data=photos_warm", "debug=fdr")
    with pytest.raises(DataKindError, match=r"aligned A / B pairs.*data=photos_warm"):
        train(cfg)


def test_a_facade_pair_depends_on_its_seed_alone() -> None:
    """Pairs share per-size grids (data/synthetic_facades.py): drawing others in between, or at
    another size, must not change a pair, and pairs of different seeds differ."""
    from genzoo.data.synthetic_facades import facade_pair

    first_a, first_b = facade_pair(7, size=128)
    for seed in range(5):
        facade_pair(seed, size=128)
        facade_pair(seed, size=64)
    again_a, again_b = facade_pair(7, size=128)
    assert torch.equal(first_a, again_a) and torch.equal(first_b, again_b)
    _, other_b = facade_pair(8, size=128)
    assert not torch.equal(first_b, other_b)
    assert first_b.shape == (3, 128, 128) and first_b.min() >= 0 and first_b.max() <= 1


def test_cyclegan_steps_g_then_d_on_the_fakes_made_before_gs_step(make_cfg, monkeypatch) -> None:
    """CycleGAN's order is its reference's (junyanz, cycle_gan_model.optimize_parameters): G
    steps, then D judges the fakes G made before its step; Pix2Pix steps D, then G."""
    import copy

    from genzoo.models.adversarial import AdversarialModel
    from genzoo.models.cyclegan import CycleGAN

    order: list[tuple[str, str]] = []
    seen: dict[str, object] = {}
    g_step, d_step = AdversarialModel.generator_step, AdversarialModel.discriminator_step
    d_terms = CycleGAN.d_loss_terms

    def generator_step(self, *args):
        order.append(("G", type(self).__name__))
        if isinstance(self, CycleGAN):
            seen["g_before"] = copy.deepcopy(self.generator["AtoB"])
        return g_step(self, *args)

    def discriminator_step(self, *args):
        order.append(("D", type(self).__name__))
        return d_step(self, *args)

    def cyclegan_d_terms(self, a, b, fake_a, fake_b, logs):
        seen["a"], seen["fake_b"] = a.detach().clone(), fake_b.detach().clone()
        return d_terms(self, a, b, fake_a, fake_b, logs)

    monkeypatch.setattr(AdversarialModel, "generator_step", generator_step)
    monkeypatch.setattr(AdversarialModel, "discriminator_step", discriminator_step)
    monkeypatch.setattr(CycleGAN, "d_loss_terms", cyclegan_d_terms)
    one_batch = [
        "trainer.max_steps=1",
        "trainer.limit_val_batches=0",
        "callbacks.image_grid.every_n_steps=0",
    ]
    cyclegan = make_cfg(*TINY_CYCLEGAN, *one_batch)
    train(cyclegan)
    train(make_cfg(*TINY_PIX2PIX, *one_batch, run_dir=Path(cyclegan.paths.run_dir + "_p2p")))
    assert order == [("G", "CycleGAN"), ("D", "CycleGAN"), ("D", "Pix2Pix"), ("G", "Pix2Pix")]
    with torch.no_grad():  # D saw G's output before G stepped, not after
        before = seen["g_before"](seen["a"])
    torch.testing.assert_close(before, seen["fake_b"])
