"""What a W&B user finds in a genzoo run, read back from the offline run files as W&B reads
them: each held-out metric's best value in its own direction, captioned image grids, a table
of fixed-seed samples, and genzoo-eval's metrics in an eval run of the same group."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch

from genzoo.training.wandb_logger import summary_kind
from tests.conftest import BIN, run_cli

# A VAE run of two epochs of two batches, validated after each: two values per metric.
TWO_VALIDATIONS = [
    "experiment=vae_digits",
    "trainer=cpu",
    "trainer.max_steps=4",
    "trainer.limit_train_batches=2",
    "trainer.check_val_every_n_epoch=1",
    "trainer.limit_val_batches=1",
    "model.iw_samples=2",
    "model.eval_samples=48",
    "callbacks.image_grid.every_n_steps=2",
    "logger=wandb",
    "run_name=wb",
]


def _inspect(offline_run: Path) -> dict:
    shown = subprocess.run(
        [str(BIN / "wandb"), "leet", "inspect", "--summary", "--json", str(offline_run)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(shown.stdout)


def _history(offline_run: Path, key: str) -> list[float]:
    """Every logged value of `key`, in order, from the run's transaction log."""
    shown = subprocess.run(
        [str(BIN / "wandb"), "leet", "inspect", "--json", str(offline_run)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    values = []
    for line in shown.stdout.splitlines():
        record = json.loads(line)
        if record.get("type") == "history" and key in record["history"]["item"]:
            values.append(float(record["history"]["item"][key]))
    return values


@pytest.fixture(scope="module")
def wandb_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("wandb")
    result = run_cli("genzoo-train", *TWO_VALIDATIONS, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "runs" / "vae_digits" / "wb"


def test_summary_kinds_follow_each_metrics_direction() -> None:
    assert summary_kind("val/fid") == "min,last"
    assert summary_kind("val/psnr") == "max,last"
    assert summary_kind("val/hf_ratio") == "last"  # best at 1: only best/val/hf_ratio


def test_a_run_holds_best_values_captioned_grids_and_a_seed_table(wandb_run: Path) -> None:
    [offline_run] = list((wandb_run / "wandb").glob("offline-run-*"))
    summary = _inspect(offline_run)["summary"]
    # The best of the two validations, in each metric's direction, beside the last.
    nll = _history(offline_run, "val/nll")
    assert len(nll) == 2
    assert summary["val/nll"] == {"min": pytest.approx(min(nll)), "last": pytest.approx(nll[-1])}
    assert summary["best/val/nll"] == pytest.approx(min(nll))  # a plain number, for sweeps
    assert set(summary["val/class_entropy"]) == {"max", "last"}
    assert "train/loss" in summary and not isinstance(summary["train/loss"], dict)
    # Image grids carry what they show.
    assert summary["images/samples"]["captions"] == [
        "samples after 4 batches: 64 samples from seed 0"
    ]
    assert "reconstructions" in summary["images/reconstructions"]["captions"][0]
    table = summary["samples/by_seed"]
    assert table["_type"] == "table-file" and (table["nrows"], table["ncols"]) == (8, 3)
    rows = json.loads((offline_run / "files" / table["path"]).read_text())
    assert rows["columns"] == ["batch", "seed", "sample"]
    assert [row[1] for row in rows["data"]] == list(range(8))


def test_eval_writes_its_metrics_to_an_eval_run_of_the_group(wandb_run: Path) -> None:
    before = set((wandb_run / "wandb").glob("offline-run-*"))
    result = run_cli(
        "genzoo-eval", f"run={wandb_run}", "iw_samples=2", "overwrite=true", cwd=wandb_run
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [eval_run] = set((wandb_run / "wandb").glob("offline-run-*")) - before
    assert str(eval_run) in result.stdout
    shown = _inspect(eval_run)
    written = json.loads((wandb_run / "eval_val.json").read_text())
    assert shown["name"] == "wb/eval-val" and shown["state"] == "finished"
    assert shown["config"]["checkpoint"] == written["checkpoint"]
    ckpt = torch.load(wandb_run / "checkpoints" / "last.ckpt", weights_only=False)
    train_id = ckpt["genzoo"]["wandb_run_id"]
    assert train_id and shown["config"]["evaluated_run_id"] == train_id
    for name, value in written["metrics"].items():
        assert shown["summary"][f"eval/val/{name}"] == pytest.approx(value)
    # wandb=false writes nothing to W&B.
    again = run_cli(
        "genzoo-eval",
        f"run={wandb_run}",
        "iw_samples=2",
        "overwrite=true",
        "wandb=false",
        cwd=wandb_run,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(set((wandb_run / "wandb").glob("offline-run-*"))) == len(before) + 1
