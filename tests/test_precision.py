"""bf16-mixed on the CPU and channels_last: every family trains with finite losses, writes a
checkpoint and resumes from it (README, "Speed: precision and memory format")."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from genzoo.training.train import train
from tests.presets import TINY_DIFFUSION, TINY_PROGAN

FAMILIES = {
    "vae": ["model=vae", "model.iw_samples=2", "data.batch_size=16"],
    "dcgan": [
        "model=dcgan",
        "model.latent_dim=16",
        "model.g_channels=8",
        "model.d_channels=8",
        "data.batch_size=16",
    ],
    "stylegan": [
        "model=stylegan",
        "model.latent_dim=32",
        "model.mapping_depth=2",
        "model.channel_base=128",
        "model.channel_max=32",
        "model.r1_interval=2",
        "data.image_size=16",
        "data.batch_size=16",
    ],
    # Grows from 4 px: the first phase and the first fade within the three batches.
    "progan": [*TINY_PROGAN, "model.stable_images=16"],
    # The U-Net's attention and GroupNorm under autocast, the EMA copy in float32.
    "diffusion": [*TINY_DIFFUSION, "model.sample_steps=2", "data.batch_size=16"],
}
RUN = [
    "trainer=cpu",
    "trainer.precision=bf16-mixed",
    "model.channels_last=true",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=1",
    "trainer.log_every_n_steps=1",
    "model.eval_samples=16",
    "callbacks.image_grid.every_n_steps=0",
    "trainer.max_steps=-1",
    "trainer.val_check_interval=null",
    "trainer.check_val_every_n_epoch=1",
]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_bf16_mixed_channels_last_trains_and_resumes(make_cfg, tmp_path: Path, family: str) -> None:
    args = [*RUN, *FAMILIES[family]]
    first = train(make_cfg(*args, "trainer.max_epochs=1", run_dir=tmp_path))
    losses = {k: v for k, v in first.items() if k.startswith("train/") and "loss" in k}
    assert losses, f"no training loss logged: {sorted(first)}"
    assert all(math.isfinite(v) for v in losses.values()), losses

    last = tmp_path / "checkpoints" / "last.ckpt"
    saved = torch.load(last, map_location="cpu", weights_only=True)
    weights = [v for v in saved["state_dict"].values() if v.is_floating_point()]
    # Autocast computes in bfloat16; the weights and the checkpoint stay float32.
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in weights)

    resumed = train(make_cfg(*args, "trainer.max_epochs=2", "resume=true", run_dir=tmp_path))
    state = torch.load(last, map_location="cpu", weights_only=True)
    assert state["global_step"] == 2 * saved["global_step"]
    assert all(math.isfinite(v) for k, v in resumed.items() if k.startswith(("train/", "val/")))


def test_bf16_on_a_cpu_without_bfloat16_instructions_is_named(tmp_path: Path, monkeypatch) -> None:
    from genzoo.utils import device

    with_bf16, without = tmp_path / "with", tmp_path / "without"
    with_bf16.write_text("processor : 0\nflags : fpu avx2 avx512f avx512_bf16\n")
    without.write_text("processor : 0\nflags : fpu sse4_2 avx2\n")
    assert device.cpu_has_bf16(str(with_bf16)) is True
    assert device.cpu_has_bf16(str(without)) is False
    assert device.cpu_has_bf16(str(tmp_path / "absent")) is None

    monkeypatch.setattr(device, "cpu_has_bf16", lambda: False)
    message = device.bf16_on_cpu_warning("bf16-mixed", "cpu")
    assert message and "trainer.precision=32-true" in message
    assert device.bf16_on_cpu_warning("32-true", "cpu") is None
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)
    assert device.bf16_on_cpu_warning("bf16-mixed", "cpu") is None
