"""Training behaviour: the VAE learns, runs are reproducible, resume is exact, NaNs stop a run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from genzoo.callbacks.nan_guard import NonFiniteLossError
from genzoo.models.loading import load_model
from genzoo.models.vae import VAE
from genzoo.training.train import train
from genzoo.utils.checkpoint import CheckpointError
from tests.conftest import checkpoint_state

SHORT = [
    "trainer=cpu",
    "trainer.limit_train_batches=5",
    "trainer.limit_val_batches=2",
    "model.iw_samples=4",
    "callbacks.image_grid.every_n_steps=0",
]


def read_metric(run_dir: Path, name: str) -> list[float]:
    with open(run_dir / "csv" / "metrics.csv") as fh:
        return [float(row[name]) for row in csv.DictReader(fh) if row.get(name)]


def test_vae_learns_on_digits(make_cfg, tmp_path: Path) -> None:
    """Validation -ELBO falls by a clear margin over ~90 steps; samples are not constant."""
    run = tmp_path / "learn"
    train(
        make_cfg(
            "experiment=vae_digits",
            "trainer=cpu",
            "trainer.max_epochs=4",
            "trainer.check_val_every_n_epoch=1",
            "model.iw_samples=4",
            "callbacks.image_grid.every_n_steps=0",
            run_dir=run,
        )
    )
    neg_elbo = read_metric(run, "val/neg_elbo")
    assert len(neg_elbo) == 4
    assert neg_elbo[-1] < neg_elbo[0] - 60, f"val/neg_elbo did not improve enough: {neg_elbo}"
    assert neg_elbo[-1] < 420, neg_elbo
    model, _ = load_model(run)
    samples = model.sample(32, seed=1)
    assert samples.std(dim=0).mean() > 0.05, "all samples look the same"
    assert torch.equal(samples, model.sample(32, seed=1)) and not torch.equal(
        samples, model.sample(32, seed=2)
    )


def test_deterministic_runs_give_identical_metrics(make_cfg, tmp_path: Path) -> None:
    args = [*SHORT, "trainer.max_epochs=2", "trainer.deterministic=true", "seed=3"]
    first = train(make_cfg(*args, run_dir=tmp_path / "a"))
    second = train(make_cfg(*args, run_dir=tmp_path / "b"))
    assert first == second
    assert first != train(make_cfg(*args[:-1], "seed=4", run_dir=tmp_path / "c"))


def test_resume_matches_uninterrupted_run(make_cfg, tmp_path: Path) -> None:
    args = [
        *SHORT,
        "trainer.deterministic=true",
        "model.kl_warmup_steps=30",
        "model.scheduler={_target_:torch.optim.lr_scheduler.StepLR,_partial_:true,step_size:7}",
    ]
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(make_cfg(*args, "trainer.max_epochs=4", run_dir=whole))
    train(make_cfg(*args, "trainer.max_epochs=2", run_dir=split))
    assert checkpoint_state(split / "checkpoints" / "last.ckpt")["global_step"] == 10
    train(make_cfg(*args, "trainer.max_epochs=4", "resume=true", run_dir=split))

    a, b = (
        checkpoint_state(whole / "checkpoints" / "last.ckpt"),
        checkpoint_state(split / "checkpoints" / "last.ckpt"),
    )
    assert a["global_step"] == b["global_step"] == 20 and a["epoch"] == b["epoch"]
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(
            b["state_dict"][key], value, msg=f"weight {key} differs after resume"
        )
    opt_a, opt_b = a["optimizer_states"][0]["state"], b["optimizer_states"][0]["state"]
    for idx in opt_a:
        for name in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(opt_b[idx][name], opt_a[idx][name])
    assert a["lr_schedulers"][0]["last_epoch"] == b["lr_schedulers"][0]["last_epoch"] == 20
    # The metrics file of the resumed run continues the first part's steps.
    assert read_metric(split, "step")[-1] >= 19


def test_resume_without_checkpoint_is_an_error(make_cfg, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="resume=true but .*last.ckpt does not exist"):
        train(make_cfg(*SHORT, "resume=true", run_dir=tmp_path / "never"))
    with pytest.raises(CheckpointError, match="ckpt_path=.*does not exist"):
        train(make_cfg(*SHORT, f"ckpt_path={tmp_path}/nope.ckpt", run_dir=tmp_path / "x"))
    assert not (tmp_path / "never" / "checkpoints").exists()


def test_fresh_run_into_existing_run_is_refused(make_cfg, tmp_path: Path) -> None:
    train(make_cfg(*SHORT, "trainer.max_epochs=1", run_dir=tmp_path / "r"))
    with pytest.raises(CheckpointError, match="already holds last.ckpt: add resume=true"):
        train(make_cfg(*SHORT, "trainer.max_epochs=1", run_dir=tmp_path / "r"))


def test_resume_refuses_checkpoint_of_another_model(make_cfg, tmp_path: Path, monkeypatch) -> None:
    train(make_cfg(*SHORT, "trainer.max_epochs=1", run_dir=tmp_path / "r"))
    ckpt = tmp_path / "r" / "checkpoints" / "last.ckpt"
    state = checkpoint_state(ckpt)
    state["genzoo"]["model_target"] = "genzoo.models.other.Other"
    torch.save(state, ckpt)
    with pytest.raises(CheckpointError, match="holds a genzoo.models.other.Other"):
        train(make_cfg(*SHORT, "trainer.max_epochs=2", "resume=true", run_dir=tmp_path / "r"))


@pytest.mark.parametrize("fused", [False, True], ids=["checked", "deferred"])
def test_nan_loss_stops_with_step_named(make_cfg, tmp_path: Path, monkeypatch, fused: bool) -> None:
    """Checked: the loss is read before its backward. Deferred (a fused optimizer, genzoo's
    default on CUDA): the update is skipped on the device and the host reads the flag later."""
    original = VAE.training_step

    def poisoned(self, batch, batch_idx):
        loss = original(self, batch, batch_idx)
        return loss * float("nan") if self.global_step == 7 else loss

    monkeypatch.setattr(VAE, "training_step", poisoned)
    run = tmp_path / "nan"
    how = "skipped on the device" if fused else "before that batch changed any weight"
    with pytest.raises(NonFiniteLossError, match=f"in training batch 8 .*{how}"):
        train(
            make_cfg(*SHORT, "trainer.max_epochs=3", f"+model.optimizer.fused={fused}", run_dir=run)
        )
    saved = sorted((run / "checkpoints").glob("*.ckpt"))
    assert saved, "the epoch before the NaN should have been checkpointed"
    for path in saved:
        state = checkpoint_state(path)
        assert state["global_step"] == 5
        assert all(
            torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point()
        )


def test_failed_checkpoint_write_keeps_previous_checkpoint(
    make_cfg, tmp_path: Path, monkeypatch
) -> None:
    """A full disk while saving: a clear error naming the file; last.ckpt still the earlier, whole one."""
    import errno

    from fsspec.implementations.local import LocalFileOpener

    from genzoo.utils.checkpoint_io import CheckpointWriteError

    run = tmp_path / "full"
    train(make_cfg(*SHORT, "trainer.max_epochs=1", run_dir=run))
    before = (run / "checkpoints" / "last.ckpt").read_bytes()

    real_write = LocalFileOpener.write

    def no_space(self, data):
        if str(self.path).endswith(".ckpt"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(LocalFileOpener, "write", no_space)
    with pytest.raises(
        CheckpointWriteError, match=r"could not write checkpoint .*\.ckpt at global step 10"
    ):
        train(make_cfg(*SHORT, "trainer.max_epochs=2", "resume=true", run_dir=run))
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == before
    assert checkpoint_state(run / "checkpoints" / "last.ckpt")["global_step"] == 5


def test_end_of_run_is_saved_and_finished_run_has_nothing_left(make_cfg, tmp_path: Path) -> None:
    """last.ckpt holds the final step (not the last validation's); resuming it trains nothing."""
    run = tmp_path / "end"
    args = [*SHORT, "trainer.max_epochs=-1", "trainer.check_val_every_n_epoch=2"]
    train(make_cfg(*args, "trainer.max_steps=12", run_dir=run))
    last = run / "checkpoints" / "last.ckpt"
    assert checkpoint_state(last)["global_step"] == 12  # validation ran at step 10 only
    before = last.read_bytes()
    assert train(make_cfg(*args, "trainer.max_steps=12", "resume=true", run_dir=run)) == {}
    assert last.read_bytes() == before
    train(make_cfg(*args, "trainer.max_steps=17", "resume=true", run_dir=run))
    assert checkpoint_state(last)["global_step"] == 17


def test_resume_from_mid_epoch_checkpoint_is_exact(make_cfg, tmp_path: Path) -> None:
    """A checkpoint written mid-epoch continues with the next batch of the same data order."""
    args = [
        "trainer=cpu",
        "trainer.max_epochs=-1",
        "trainer.check_val_every_n_epoch=1",
        "trainer.limit_val_batches=1",
        "model.iw_samples=2",
        "callbacks.image_grid.every_n_steps=0",
        "trainer.deterministic=true",
        "data.batch_size=200",  # 7 batches an epoch
    ]
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(make_cfg(*args, "trainer.max_steps=16", run_dir=whole))
    train(make_cfg(*args, "trainer.max_steps=10", run_dir=split))  # stops at batch 3 of epoch 2
    assert checkpoint_state(split / "checkpoints" / "last.ckpt")["global_step"] == 10
    train(make_cfg(*args, "trainer.max_steps=16", "resume=true", run_dir=split))
    a, b = (
        checkpoint_state(whole / "checkpoints" / "last.ckpt"),
        checkpoint_state(split / "checkpoints" / "last.ckpt"),
    )
    assert a["global_step"] == b["global_step"] == 16
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, msg=f"{key} differs after resume")
    # Each finished epoch's training mean is logged once, over all its batches, resumed or not.
    means = [_epoch_means(run / "csv" / "metrics.csv") for run in (whole, split)]
    assert [epoch for epoch, _ in means[1]] == [0, 1] == [epoch for epoch, _ in means[0]]
    for (_, one), (_, other) in zip(*means, strict=True):
        assert other == pytest.approx(one, rel=1e-5)


def _epoch_means(path: Path) -> list[tuple[int, float]]:

    rows = list(csv.DictReader(path.open()))
    return [
        (int(row["epoch"]), float(row["train/neg_elbo_epoch"]))
        for row in rows
        if row.get("train/neg_elbo_epoch")
    ]


def test_deferred_nan_guard_skips_the_bad_update_on_the_device() -> None:
    """A fused optimizer's step is skipped where its loss was not finite, with no host read at
    that step; the host raises at the next logging batch, naming the first bad step."""
    import lightning as L

    from genzoo.callbacks.nan_guard import NaNGuard

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(3, 1)
            self.weights_after: dict[int, torch.Tensor] = {}

        def training_step(self, batch, batch_idx):
            loss = self.layer(batch[0]).pow(2).mean()
            return loss * float("nan") if self.global_step == 3 else loss

        def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
            self.weights_after[batch_idx] = self.layer.weight.detach().clone()

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=0.1, fused=True)

    data = torch.utils.data.TensorDataset(torch.randn(64, 3))
    model, guard = Tiny(), NaNGuard()
    trainer = L.Trainer(
        accelerator="cpu", max_steps=20, log_every_n_steps=6, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[guard],
    )  # fmt: skip
    said = "in training batch 4 .*skipped on the device; the 2 batches after it, up to batch 6"
    with pytest.raises(NonFiniteLossError, match=said):
        trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=4))
    assert guard.deferred
    weights = model.weights_after
    assert not torch.equal(weights[2], weights[1])  # finite steps move the weights
    assert torch.equal(weights[3], weights[2])  # the bad step was skipped
    # The host read the flags at the end of the 6th batch (log_every_n_steps=6), not before;
    # callbacks run before the module's own hook, which did not record that batch.
    assert max(weights) == 4
