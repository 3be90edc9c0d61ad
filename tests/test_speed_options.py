"""Speed options that must not change what a run learns: model.compile (torch.compile of the
trained networks) and fused Adam on CUDA (models/speed.py)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

from genzoo.models import speed
from genzoo.training.train import check_start, train

TINY_DCGAN_16PX = [
    "experiment=dcgan_digits",
    "data.image_size=16",
    "data.batch_size=8",
    "data.num_workers=0",
    "model.g_channels=8",
    "model.d_channels=8",
    "model.latent_dim=8",
    "trainer=cpu",
    "trainer.max_steps=3",
    "trainer.limit_val_batches=0",
    "callbacks.image_grid.every_n_steps=0",
    "trainer.deterministic=true",
]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def test_compiled_training_learns_what_the_uncompiled_run_learns(
    make_cfg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The eager backend traces the same graphs as inductor without generating kernels (the
    # inductor run is the slow test below).
    monkeypatch.setattr(speed, "COMPILE_BACKEND", "eager")
    compiled: list[str] = []
    real = speed.compile_networks

    def spy(modules: dict) -> None:
        real(modules)
        compiled.extend(n for n, m in modules.items() if m._compiled_call_impl is not None)

    monkeypatch.setattr("genzoo.models.base.compile_networks", spy)
    train(make_cfg(*TINY_DCGAN_16PX, run_dir=tmp_path / "plain"))
    train(make_cfg(*TINY_DCGAN_16PX, "model.compile=true", run_dir=tmp_path / "compiled"))
    assert sorted(compiled) == ["discriminator", "generator"]
    plain, fast = _weights(tmp_path / "plain"), _weights(tmp_path / "compiled")
    assert plain.keys() == fast.keys()  # in place: a compiled run's checkpoint loads anywhere
    for key, value in plain.items():
        torch.testing.assert_close(fast[key], value, msg=key)


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        (["experiment=stylegan_digits"], "model.r1_gamma, model.pl_weight"),
        (["model=dcgan", "data=digits", "model.loss=wgan"], "model.loss=wgan"),
    ],
)
def test_compile_is_refused_where_a_penalty_differentiates_twice(
    make_cfg, overrides: list[str], names: str
) -> None:
    from genzoo.config.types import ConfigError

    with pytest.raises(ConfigError, match="model.compile") as err:
        check_start(make_cfg(*overrides, "model.compile=true"))
    assert names in str(err.value) and "model.compile=false" in str(err.value)


def test_adam_is_fused_only_for_cuda_parameters_and_an_explicit_choice_is_kept() -> None:
    cpu = [torch.nn.Parameter(torch.zeros(3))]
    adam = functools.partial(torch.optim.Adam, lr=1e-3)
    assert not speed.build_optimizer(adam, cpu).defaults.get("fused")
    assert speed.build_optimizer(torch.optim.SGD, cpu).defaults["lr"] == 1e-3
    if torch.cuda.is_available():
        cuda = [torch.nn.Parameter(torch.zeros(3, device="cuda"))]
        assert speed.build_optimizer(adam, cuda).defaults["fused"] is True
        kept = functools.partial(torch.optim.Adam, lr=1e-3, foreach=True)
        assert not speed.build_optimizer(kept, cuda).defaults.get("fused")


@pytest.mark.slow
def test_inductor_compiled_dcgan_trains_on_the_cpu(make_cfg, tmp_path: Path) -> None:
    """The real backend: kernels generated for this machine, the run's losses finite."""
    metrics = train(make_cfg(*TINY_DCGAN_16PX, "model.compile=true", run_dir=tmp_path / "run"))
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert _weights(tmp_path / "run").keys() == _weights_keys_of_a_fresh_model()


def _weights_keys_of_a_fresh_model() -> set[str]:
    from genzoo.models.dcgan import DCGAN

    model = DCGAN(image_channels=1, image_size=16, latent_dim=8, g_channels=8, d_channels=8)
    return set(model.state_dict())
