"""Every pinned experiment runs end to end with debug=fdr on the CPU (real sets: offline fakes),
and writes nothing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from genzoo.training.train import train
from genzoo.utils.paths import config_dir
from tests.conftest import tiny_first_stage

EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))
EMBEDDED = ("digits", "photos", "synth")


def data_overrides(name: str, root: Path) -> list[str]:
    if name.endswith("_folder"):
        return [f"data.path={root / 'folder'}"]
    if any(e in name for e in EMBEDDED):
        return []
    return ["data.download=false"]


# Priors over real data sets: their wiring is that of the embedded priors (slow: 5 s each).
# The image-to-image sets' recipes run the papers' 256 px networks (slow: 5 to 40 s each);
# their data wiring is tested on small archives in test_translation.py.
SLOW = ("vqvae_prior_cifar10", "vqvae2_prior_celeba64")
SLOW += tuple(n for n in EXPERIMENTS if n.startswith(("pix2pix_", "cyclegan_")))
SLOW = tuple(n for n in SLOW if not n.endswith(("_synth", "_photos")))


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in EXPERIMENTS],
)
def test_experiment_fast_dev_run(make_cfg, fake_data_root: Path, tmp_path: Path, name: str) -> None:
    cfg = make_cfg(
        f"experiment={name}",
        "debug=fdr",
        "trainer=cpu",
        f"paths.data_root={fake_data_root}",
        "data.batch_size=4",
        "data.num_workers=0",
        *data_overrides(name, fake_data_root),
        # CPU-sized widths: the recipes' 512-channel StyleGANs take minutes per batch here, as
        # do the real sets' 128-channel diffusion U-Nets.
        *(["model.channel_max=32"] if name.startswith("stylegan") else []),
        *(
            ["model.base_channels=16"]
            if name in ("diffusion_cifar10", "diffusion_celeba64")
            else []
        ),
        # SRGAN without a first-stage run, and with the offline content loss (no VGG weights here).
        *(
            ["model.init_from=null", "model.content_loss=vgg19_random"]
            if name.startswith("srgan")
            else []
        ),
    )
    if "prior" in name:  # stage 2 needs a first stage of its data's shape: a tiny untrained one
        levels = 2 if name.startswith("vqvae2") else 1
        ckpt = tmp_path / "first_stage.ckpt"
        tiny_first_stage(ckpt, cfg.data.channels, cfg.data.image_size, levels)
        cfg.model.first_stage = str(ckpt)
    metrics = train(cfg)
    assert any(k.startswith("train/") for k in metrics), metrics
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    if name.endswith("digits") or name.startswith("vae"):  # offline metrics exist for these
        assert any(k.startswith("val/") for k in metrics), metrics
    # debug=fdr saves nothing: no checkpoint, image, log, config or summary.
    run_dir = tmp_path / "run"
    assert not run_dir.exists() or not any(run_dir.rglob("*")), list(run_dir.rglob("*"))
