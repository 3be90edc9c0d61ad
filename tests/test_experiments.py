"""Every pinned experiment runs end to end with debug=fdr on the CPU (real sets: offline fakes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genzoo.train import train
from genzoo.utils.config import config_dir

EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_fast_dev_run(make_cfg, fake_data_root: Path, tmp_path: Path, name: str) -> None:
    cfg = make_cfg(
        f"experiment={name}",
        "debug=fdr",
        "trainer=cpu",
        f"paths.data_root={fake_data_root}",
        "data.batch_size=4",
        "data.num_workers=0",
        "data.download=false" if "digits" not in name and "photos" not in name else "seed=0",
    )
    metrics = train(cfg)
    assert any(k.startswith("val/") for k in metrics), metrics
    assert all(v == v for v in metrics.values()), f"NaN metric in {metrics}"
    assert (tmp_path / "run" / "images" / "samples_latest.png").is_file()
