"""scripts/bench.py: what can fail cheaply (one row, two timed batches per mode)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


@pytest.mark.slow  # 20 s: make test-all (default suite under 15 minutes)
def test_bench_runs_one_row_and_prints_a_well_formed_table(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    out = tmp_path / "rows.json"
    argv = ["bench.py", "--rows", "vae_digits32", "--steps", "2", "--warmup", "1"]
    monkeypatch.setattr(sys, "argv", [*argv, "--repeats", "1", "--json", str(out)])
    spec = importlib.util.spec_from_file_location("genzoo_bench", SCRIPT)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "genzoo_bench", bench)  # dataclasses look their module up
    spec.loader.exec_module(bench)
    bench.main()  # each measurement still runs in its own process
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("device: cpu") and "median of 2 timed batches" in lines[0]
    assert lines[1].split() == [
        "row", "size", "batch", "NHWC", "mode", "s/batch", "img/s", "peak", "MB", "data", "%",
        "L/plain", "augment", "warm-up", "s",
    ]  # fmt: skip
    lightning, plain = (line.split() for line in lines[3:5])
    assert lightning[:5] == ["vae_digits32", "32", "64", "yes", "lightning"]
    assert plain[:5] == ["vae_digits32", "32", "64", "yes", "plain"]
    for row in (lightning, plain):
        seconds, images_per_s, peak_mb = (float(v) for v in row[5:8])
        assert seconds > 0 and peak_mb > 100
        assert abs(images_per_s - 64 / seconds) < 0.01 * images_per_s + 0.1
    assert 0 <= float(plain[8]) < 100  # the data share, plain loop only
    ratio = float(lightning[8])
    assert abs(ratio - float(lightning[6]) / float(plain[6])) < 0.01 + 0.01 * ratio
    assert lightning[9] == plain[9] == "host"  # the digits are made whole on the host
    assert float(lightning[10]) > 0 and float(plain[10]) > 0  # the warm-up batch's seconds

    rows = json.loads(out.read_text())
    assert [r["mode"] for r in rows] == ["lightning", "plain"]
    assert rows[1]["data_share"] is not None and rows[0]["data_share"] is None


def test_bench_settings_reach_the_rows_that_have_them(tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "rows.json"
    argv = ["bench.py", "--rows", "srresnet_photos", "vae_digits32", "--modes", "plain"]
    settings = ["--set", "data.augment_on=device", "data.batch_size=4"]
    monkeypatch.setattr(
        sys,
        "argv",
        [*argv, "--steps", "2", "--warmup", "1", "--repeats", "1", "--json", str(out), *settings],
    )
    spec = importlib.util.spec_from_file_location("genzoo_bench", SCRIPT)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "genzoo_bench", bench)
    spec.loader.exec_module(bench)
    bench.main()
    assert "--set data.augment_on=device data.batch_size=4" in capsys.readouterr().out
    sr, vae = json.loads(out.read_text())
    # SR batches are finished where the step runs; the digits set has no such key and stays.
    assert (sr["augment_on"], sr["batch"]) == ("device", 4)
    assert (vae["augment_on"], vae["batch"]) == ("host", 4)
