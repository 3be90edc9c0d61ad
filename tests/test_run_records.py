"""A run's record belongs to one start: one W&B run per sweep job, one process per run
directory, run names that stay under runs/, no file replaced or left behind by accident, and
an unreadable checkpoint answered without unsafe advice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genzoo.errors import ConfigError
from genzoo.training.run_lock import LOCK_NAME, RunLockedError, run_lock
from genzoo.training.train import train
from genzoo.utils.checkpoint import CheckpointError
from tests.conftest import BIN, cli_cfg, run_cli

# A VAE run of a few batches on the embedded digits, validated once.
TINY_VAE = [
    "experiment=vae_digits",
    "trainer=cpu",
    "trainer.max_steps=3",
    "trainer.limit_val_batches=1",
    "model.iw_samples=2",
    "model.eval_samples=48",
    "callbacks.image_grid.every_n_steps=0",
]


def _offline_summary(job: Path) -> dict:
    """A job's offline W&B run as W&B itself reads its transaction log back."""
    [offline_run] = list((job / "wandb").glob("offline-run-*"))
    shown = subprocess.run(
        [str(BIN / "wandb"), "leet", "inspect", "--summary", "--json", str(offline_run)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(shown.stdout)


def test_a_sweep_with_wandb_gives_each_job_its_own_run(tmp_path: Path) -> None:
    result = run_cli(
        "genzoo-train", "-m", *TINY_VAE, "model.latent_dim=4,8", "logger=wandb", "run_name=sw",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "will reuse this run" not in result.stdout + result.stderr
    jobs = [tmp_path / "runs" / "multirun" / "sw" / num for num in ("0", "1")]
    runs = [_offline_summary(job) for job in jobs]
    assert [r["name"] for r in runs] == ["sw/0", "sw/1"]
    assert runs[0]["run_id"] != runs[1]["run_id"]
    assert [r["config"]["model"]["latent_dim"] for r in runs] == [4, 8]
    assert [r["state"] for r in runs] == ["finished", "finished"]
    for run, job in zip(runs, jobs, strict=True):
        assert run["summary"]["trainer/global_step"] == 3
        assert str(job) in run["config"]["paths"]["run_dir"]
        assert "train/loss" in run["summary"]


def test_log_model_without_a_wandb_server_is_refused_before_anything_is_written(
    make_cfg, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError, match=r"logger.wandb.log_model=True uploads checkpoints"):
        train(make_cfg(*TINY_VAE, "logger=wandb", "logger.wandb.log_model=true", run_dir=run_dir))
    assert not run_dir.exists() or not list(run_dir.iterdir())


def test_a_run_directory_is_held_by_one_process_and_a_stale_lock_is_not(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with run_lock(run_dir):
        assert json.loads((run_dir / LOCK_NAME).read_text())["pid"] > 0
        busy = pytest.raises(RunLockedError, match=r"is in use by pid \d+ on .*choose another")
        with busy, run_lock(run_dir):
            pass
    assert not run_dir.exists(), "the folder the lock made goes with it"
    # What a killed process leaves: the file without a live holder. It does not block.
    run_dir.mkdir()
    (run_dir / LOCK_NAME).write_text(json.dumps({"pid": 999999, "host": "h", "started": "t"}))
    with run_lock(run_dir):
        pass


def test_a_second_training_into_the_same_run_is_refused(tmp_path: Path) -> None:
    """Two real processes with one run_name: the second is refused, the first's record stays
    its own, and its lock goes when it ends (by a Ctrl-C, said as one, with a resume hint that
    adds only what the command lacks)."""
    env = {"GENZOO_RUNS": str(tmp_path / "runs"), "WANDB_MODE": "offline"}
    args = [*TINY_VAE, "logger=csv", "trainer.max_steps=100000", "run_name=twin"]
    first = subprocess.Popen(
        [str(BIN / "genzoo-train"), *args], cwd=tmp_path, env={**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    run_dir = tmp_path / "runs" / "vae_digits" / "twin"
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "train.log").exists() and first.poll() is None:
            assert time.monotonic() < deadline, "the first run did not start"
            time.sleep(0.2)
        second = run_cli("genzoo-train", *args, "seed=1", cwd=tmp_path)
    finally:
        first.send_signal(signal.SIGINT)  # a Ctrl-C: finish the batch, save, say how to go on
        out, err = first.communicate(timeout=120)
    assert first.returncode == 130, err[-2000:]
    console = out + err
    assert "Received SIGTERM" not in console and "interrupted by SIGINT after" in console
    assert "Continue it with the same command plus resume=true" in console
    assert "plus resume=true run_name=" not in console, "run_name= is in the command already"
    assert second.returncode == 2, second.stderr[-2000:]
    assert "is in use by pid" in second.stderr and second.stderr.count("\n") == 1
    assert "seed: 0" in (run_dir / ".hydra" / "config.yaml").read_text()
    assert (run_dir / "train.log").read_text().count("training on") == 1, "one start's log"
    assert not (run_dir / LOCK_NAME).exists()


def test_a_run_name_is_one_folder_under_runs(tmp_path: Path, capsys) -> None:
    from genzoo.config.command_line import check_run_location

    result = run_cli("genzoo-train", "run_name=../../escape", cwd=tmp_path)
    assert result.returncode == 2 and "must be one folder name" in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing may be made, inside runs/ or outside"
    for bad in ("run_name=a/b", "run_name=..", "run_name=", "run_group=../x", "run_name=ok,../x"):
        with pytest.raises(SystemExit) as refused:
            check_run_location([bad])
        assert refused.value.code == 2 and "must be one folder name" in capsys.readouterr().err
    check_run_location(["run_name=my_run.v2", "run_group=vae-sweep"])  # names, not paths


def test_eval_refuses_to_replace_a_file_unless_asked(tmp_path: Path) -> None:
    from genzoo.tasks.evaluate import evaluate

    script = tmp_path / "api1.py"
    script.write_text("print('a user script')\n")
    with pytest.raises(ConfigError, match="already exists: .*overwrite=true"):
        evaluate(cli_cfg("eval", "run=zoo:vae_digits", f"out={script}", "iw_samples=1"))
    assert script.read_text() == "print('a user script')\n"
    evaluate(cli_cfg("eval", "run=zoo:vae_digits", f"out={script}", "iw_samples=1",
                     "overwrite=true", "batch_size=512"))  # fmt: skip
    assert "metrics" in json.loads(script.read_text())


def test_compare_and_export_refuse_an_output_that_is_a_file(tmp_path: Path) -> None:
    import genzoo

    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    with pytest.raises(ConfigError, match="is a file: name a folder to write the exported files"):
        genzoo.load("zoo:dcgan_digits").export("onnx", output=taken)
    result = run_cli("genzoo-compare", str(tmp_path), f"output={taken}", cwd=tmp_path)
    assert result.returncode == 2 and "is a file" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and taken.read_text() == "keep me"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import FAST, compose_train

    run_dir = tmp_path_factory.mktemp("records") / "run"
    train(compose_train([*FAST, *TINY_VAE], run_dir))
    return run_dir


def test_a_corrupt_checkpoint_is_one_line_without_unsafe_advice(tiny_run: Path, tmp_path) -> None:
    import shutil

    from tests.conftest import FAST, compose_train

    run_dir = tmp_path / "copy"
    shutil.copytree(tiny_run, run_dir)
    last = run_dir / "checkpoints" / "last.ckpt"
    shutil.copy(last, last.with_name("best-step0000003.ckpt"))  # a sound checkpoint beside it
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(CheckpointError) as refused:
        train(compose_train([*FAST, *TINY_VAE, "trainer.max_steps=6", "resume=true"], run_dir))
    message = str(refused.value)
    assert str(last) in message and "truncated or corrupt" in message
    assert "weights_only" not in message and "best-step" in message
    result = run_cli("genzoo-sample", f"run={run_dir}", cwd=tmp_path)
    assert result.returncode == 2 and "weights_only" not in result.stderr
    assert "truncated or corrupt" in result.stderr and "Traceback" not in result.stderr


def test_a_start_that_fails_before_its_first_batch_leaves_no_run(
    make_cfg, tmp_path: Path, monkeypatch
) -> None:
    from genzoo.models.vae import VAE

    def broken(self: VAE) -> None:
        raise RuntimeError("optimizer construction failed")

    monkeypatch.setattr(VAE, "configure_optimizers", broken)
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="optimizer construction failed"):
        train(make_cfg(*TINY_VAE, "logger=wandb", run_dir=run_dir))
    assert not run_dir.exists() or list(run_dir.iterdir()) == [], "nothing of the start stays"


def test_too_few_images_for_a_batch_is_refused_before_the_run_exists(
    make_cfg, tmp_path: Path
) -> None:
    from genzoo.data.errors import DatasetError
    from tests.fake_datasets import write_images

    write_images(tmp_path / "four", 4, size=(32, 32))
    run_dir = tmp_path / "run"
    cfg = make_cfg(*TINY_VAE, "data=image_folder", f"data.path={tmp_path / 'four'}",
                   "logger=wandb", run_dir=run_dir)  # fmt: skip
    with pytest.raises(DatasetError, match="fewer than data.batch_size"):
        train(cfg)
    assert not run_dir.exists() or not list(run_dir.iterdir())


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))


def test_the_summary_counts_epochs_as_the_log_does(tiny_run: Path) -> None:
    summary = json.loads((tiny_run / "final_metrics.json").read_text())
    # 3 batches of a 23-batch epoch: in epoch 0, no whole epoch trained.
    assert (summary["batches"], summary["epoch"], summary["epochs_completed"]) == (3, 0, 0)


def test_a_run_branched_from_another_says_so_without_lightnings_warning(
    tiny_run: Path, tmp_path: Path, caplog, recwarn
) -> None:
    import logging

    from tests.conftest import FAST, compose_train

    last = tiny_run / "checkpoints" / "last.ckpt"
    cfg = compose_train([*FAST, *TINY_VAE, "trainer.max_steps=5", f"ckpt_path={last}"],
                        tmp_path / "branch")  # fmt: skip
    with caplog.at_level(logging.INFO, logger="genzoo"):
        train(cfg)
    assert "continuing from a checkpoint of" in caplog.text
    assert not [w for w in recwarn if "dirpath has changed" in str(w.message)]


def test_small_mistakes_get_the_right_answer(tmp_path: Path, capsys) -> None:
    from genzoo.config.command_line import check_command_line
    from genzoo.tasks.sample import sample

    with pytest.raises(SystemExit):
        check_command_line("train", ["model.lr=-1"])
    assert "did you mean model.optimizer.lr?" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="no such file or folder"):  # exit 2, as input= does
        sample(cli_cfg("sample", "run=zoo:vae_digits", f"reconstruct={tmp_path / 'missing.png'}"))
