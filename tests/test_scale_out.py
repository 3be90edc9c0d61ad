"""Scale-out as a user meets it: genzoo-train under DDP (two CPU processes over gloo) for every
family, moving a run between process counts, and SLURM's preempt-and-requeue.

Each DDP run validates (metrics gathered over both processes), checks that both processes hold
the same weights, EMA, buffers and optimizer states while drawing different random numbers
(callbacks/rank_agreement.py), writes its checkpoint, and is resumed by one process.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from genzoo.callbacks.rank_agreement import disagreeing, fingerprint
from genzoo.utils.distributed import IN_PLACE_NUMEL, average_gradients, decorrelate_rng
from tests.conftest import BIN, free_port, run_cli, tiny_first_stage
from tests.presets import TINY_PROGAN, TINY_UNET

COMMON = ["logger=csv", "callbacks.progress_bar=null", "callbacks.image_grid.every_n_steps=0"]

# (experiment, overrides, batches of the DDP run): a few steps with one validation in between.
FAMILIES = {
    "vae": (
        "vae_digits",
        ["model.iw_samples=2", "model.eval_samples=48", "trainer.check_val_every_n_epoch=1"],
        6,
    ),
    "dcgan": ("dcgan_digits", ["model.eval_samples=48"], 6),
    "stylegan": ("stylegan_digits", ["model.eval_samples=48", "model.augment=''"], 4),
    "srresnet": ("srresnet_photos", ["data.batch_size=4"], 4),
    "srgan": (
        "srgan_photos",
        ["model.init_from=null", "data.batch_size=4", "data.hr_size=48"],
        4,
    ),
    "vqvae": ("vqvae_digits", ["trainer.check_val_every_n_epoch=1"], 4),
    # Stage 2 on an untrained first stage written by the test ({first_stage}).
    "vqvae_prior": (
        "vqvae_prior_digits",
        [
            "model.first_stage={first_stage}",
            "model.eval_samples=48",
            "model.width=32",
            "trainer.check_val_every_n_epoch=1",
        ],
        4,
    ),
    "pix2pix": (
        "pix2pix_facades_synth",
        ["model.width=8", "model.d_width=8", "data.batch_size=4", "data.val_pairs=8"],
        4,
    ),
    "cyclegan": (
        "cyclegan_photos",
        ["model.width=8", "model.blocks=1", "data.batch_size=4", "data.val_crops=8"],
        4,
    ),
    # 128 images a batch over both processes: the run grows to 8 px and starts its fade to 16.
    "progan": (
        "progan_digits",
        [*TINY_PROGAN[1:], "model.eval_samples=48", "model.stable_images=128"],
        4,
    ),
    "diffusion": (
        "diffusion_digits",
        [
            "data.image_size=16",
            "data.batch_size=8",
            *TINY_UNET,
            "model.sample_steps=2",
            "model.eval_samples=16",
        ],
        4,
    ),  # fmt: skip
}
# The default suite keeps the DCGAN (manual optimization with two players, which every
# adversarial family shares); the others, the VAE's 1 -> 2 -> 1 processes included, are `slow`
# (the default suite stays under 15 minutes on 2 cores).
DEFAULT_SUITE = ("dcgan",)


def train(tmp: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli("genzoo-train", *COMMON, *args, cwd=tmp, env=env, timeout=400)


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "final_metrics.json").read_text())


@pytest.mark.parametrize(
    "family",
    [f if f in DEFAULT_SUITE else pytest.param(f, marks=pytest.mark.slow) for f in FAMILIES],
)
def test_ddp_two_processes_agree_then_one_process_resumes(family: str, tmp_path: Path) -> None:
    experiment, extra, batches = FAMILIES[family]
    first_stage = tiny_first_stage(tmp_path / "first_stage.ckpt", 1, 32)
    extra = [e.format(first_stage=first_stage) for e in extra]
    validate_every = f"trainer.val_check_interval={batches // 2}"
    common = [f"experiment={experiment}", *extra, validate_every, "trainer.limit_val_batches=2"]
    common.append("run_name=r")
    run_dir = tmp_path / "runs" / experiment / "r"
    resume: list[str] = []
    if family == "vae":  # the VAE also starts in one process: 1 -> 2 -> 1 processes
        one = train(tmp_path, *common, "trainer=cpu", f"trainer.max_steps={batches // 2}")
        assert one.returncode == 0, (one.stdout + one.stderr)[-3000:]
        resume = ["resume=true"]
    two = train(tmp_path, *common, "trainer=ddp_cpu", f"trainer.max_steps={batches}", *resume)
    output = two.stdout + two.stderr
    assert two.returncode == 0, output[-3000:]
    first = summary(run_dir)
    metrics = first["metrics"]
    assert metrics["ddp/state_mismatches"] == 0, output[-3000:]
    assert metrics["ddp/rng_distinct"] == 1, "both processes drew the same random numbers"
    assert any(k.startswith("val/") for k in metrics), metrics
    assert "disagree" not in output

    one = train(tmp_path, *common, "trainer=cpu", f"trainer.max_steps={batches + 2}", "resume=true")
    assert one.returncode == 0, (one.stdout + one.stderr)[-3000:]
    assert "resuming from" in one.stdout + one.stderr
    resumed = summary(run_dir)["global_step"]
    assert resumed > first["global_step"]
    # GANs count a D and a G step per batch: the resumed run adds 2 batches' worth.
    assert resumed == first["global_step"] * (batches + 2) // batches


# ----- the pieces, in two forked processes -------------------------------------------------------
def _averaging_worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        small, large, only_rank1, unused = (
            nn.Parameter(torch.zeros(3)),
            nn.Parameter(torch.zeros(IN_PLACE_NUMEL)),
            nn.Parameter(torch.zeros(2)),
            nn.Parameter(torch.zeros(2)),
        )
        small.grad = torch.full((3,), float(rank + 1))  # 1 and 2: mean 1.5
        large.grad = torch.full((IN_PLACE_NUMEL,), float(3 * rank))  # 0 and 3: mean 1.5
        if rank == 1:
            only_rank1.grad = torch.full((2,), 4.0)  # counts as zero in rank 0: mean 2
        average_gradients([small, large, only_rank1, unused])
        torch.manual_seed(0)
        decorrelate_rng(rank)
        result = {
            "small": small.grad.tolist(),
            "large": sorted(set(large.grad.tolist())),
            "only_rank1": only_rank1.grad.tolist() if only_rank1.grad is not None else None,
            "unused": unused.grad,
            "draw": torch.rand(()).item(),
        }
        Path(f"{out}.{rank}").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def test_gradients_averaged_and_random_streams_split_across_processes(tmp_path: Path) -> None:
    port = free_port()
    out = str(tmp_path / "rank")
    mp.start_processes(_averaging_worker, args=(port, out), nprocs=2, start_method="fork")
    ranks = [json.loads(Path(f"{out}.{r}").read_text()) for r in (0, 1)]
    for result in ranks:
        assert result["small"] == [1.5] * 3
        assert result["large"] == [1.5]
        assert result["only_rank1"] == [2.0, 2.0]
        assert result["unused"] is None, "no gradient anywhere: Adam must not move it"
    torch.manual_seed(0)
    assert ranks[0]["draw"] == torch.rand(()).item(), "rank 0 keeps the run's own stream"
    assert ranks[1]["draw"] != ranks[0]["draw"]


def _pool_worker(rank: int, port: int, out: str) -> None:
    from genzoo.models.cyclegan import CycleGAN

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        kw = {"image_size": 8, "width": 4, "blocks": 1, "d_width": 4, "pool_size": 3}
        trained = CycleGAN(**kw)
        for domain in ("A", "B"):  # each process's pool holds its own fakes
            trained.pools[domain].query(torch.full((3, 3, 8, 8), float(rank)))
        saved = trained.pool_states()
        resumed = CycleGAN(**kw)
        resumed.restore_pools(saved, rank)
        result = {
            "saved_shape": list(saved["A"].shape),
            "saved_values": [float(saved["A"][r].mean()) for r in range(len(saved["A"]))],
            "restored": [float(image.mean()) for image in resumed.pools["B"].images],
        }
        Path(f"{out}.{rank}").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def test_each_process_keeps_its_own_image_pool_across_a_resume(tmp_path: Path) -> None:
    """CycleGAN's history pools are per process: the checkpoint keeps every process's, and each
    process resumes from its own (not all from process 0's)."""
    port = free_port()
    out = str(tmp_path / "rank")
    mp.start_processes(_pool_worker, args=(port, out), nprocs=2, start_method="fork")
    ranks = [json.loads(Path(f"{out}.{r}").read_text()) for r in (0, 1)]
    for rank, result in enumerate(ranks):
        assert result["saved_shape"] == [2, 3, 3, 8, 8]
        assert result["saved_values"] == [0.0, 1.0]
        assert result["restored"] == [float(rank)] * 3


def test_fingerprints_tell_permuted_and_changed_tensors_apart() -> None:
    base = torch.arange(6.0)
    prints = torch.stack([fingerprint(base), fingerprint(base)])
    same = torch.stack([prints, prints])  # (processes, tensors, 3)
    assert disagreeing(["a", "b"], same) == []
    other = prints.clone()
    other[1] = fingerprint(base.flip(0))  # same values, another order
    assert disagreeing(["a", "b"], torch.stack([prints, other])) == ["b"]


def test_sync_batchnorm_on_cpu_is_a_clear_error(tmp_path: Path) -> None:
    result = train(
        tmp_path, "experiment=dcgan_digits", "trainer=ddp_cpu", "trainer.sync_batchnorm=true"
    )
    assert result.returncode == 2
    assert "trainer.sync_batchnorm=true needs GPUs" in result.stderr
    assert "Traceback" not in result.stderr


# ----- SLURM: SIGUSR1 -> checkpoint + requeue; the requeued job resumes the same run -----------
def _slurm_env(tmp: Path, restarts: int) -> dict[str, str]:
    """What SLURM sets for a one-task batch job, and `scontrol` replaced by a stub that records
    its arguments and then, as SLURM does on a requeue, sends the job SIGTERM."""
    stub_dir = tmp / "bin"
    stub_dir.mkdir(exist_ok=True)
    stub = stub_dir / "scontrol"
    stub.write_text(f'#!/bin/sh\necho "$@" >> {tmp / "scontrol_calls"}\nkill -TERM $PPID\n')
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    return {
        "PATH": f"{stub_dir}{os.pathsep}{os.environ['PATH']}",
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_NAME": "genzoo",
        "SLURM_NTASKS": "1",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "SLURM_NODELIST": "localhost",
        "SLURM_RESTART_COUNT": str(restarts),
    }


def test_slurm_requeue_resumes_the_same_run_and_wandb_run(tmp_path: Path) -> None:
    # The same command both times, as a requeued sbatch script runs it: no run_name, no resume.
    args = [
        str(BIN / "genzoo-train"), "experiment=vae_digits", "logger=wandb", "callbacks.progress_bar=null",
        "trainer=cpu", "trainer.max_steps=60", "trainer.val_check_interval=20",
        "trainer.check_val_every_n_epoch=1",
        "trainer.limit_val_batches=1", "model.iw_samples=2", "model.eval_samples=48",
        "callbacks.image_grid.every_n_steps=0",
    ]  # fmt: skip
    env = {**os.environ, "GENZOO_RUNS": str(tmp_path / "runs"), "WANDB_MODE": "offline"}
    # Each job its own W&B service, as on a cluster: not one that an earlier test in this
    # pytest process started, which would still hold the killed job's run.
    env.pop("WANDB_SERVICE", None)
    job = subprocess.Popen(
        args, cwd=tmp_path, env={**env, **_slurm_env(tmp_path, 0)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    run_dir = tmp_path / "runs" / "vae_digits" / "slurm-4242"
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while not last.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGUSR1)  # what `#SBATCH --signal=SIGUSR1@90` sends before the limit
    out, _ = job.communicate(timeout=240)
    assert job.returncode != 0, out[-3000:]
    assert "a SLURM restart of this job does so by itself" in out, out[-3000:]
    calls = tmp_path / "scontrol_calls"
    assert calls.is_file() and calls.read_text().split() == ["requeue", "4242"], out[-3000:]
    hpc = list(run_dir.glob("hpc_ckpt_*.ckpt"))
    assert hpc, f"no checkpoint written on SIGUSR1:\n{out[-3000:]}"
    stopped = torch.load(last, map_location="cpu", weights_only=True)
    assert 0 < stopped["global_step"] < 60

    again = subprocess.run(
        args, cwd=tmp_path, env={**env, **_slurm_env(tmp_path, 1)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = again.stdout + again.stderr
    assert again.returncode == 0, output[-3000:]
    assert "SLURM requeued this job" in output
    assert summary(run_dir)["global_step"] == 60
    assert sorted(p.name for p in (tmp_path / "runs" / "vae_digits").iterdir()) == ["slurm-4242"]
    wandb_runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(wandb_runs) == 2
    assert len({p.name.rsplit("-", 1)[1] for p in wandb_runs}) == 1, "one W&B run id"
