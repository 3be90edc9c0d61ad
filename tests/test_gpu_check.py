"""scripts/gpu_check.sh: refuses clearly without a GPU; its plumbing runs on the CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_refuses_without_a_gpu() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu_check.sh")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 3, done.stderr
    assert "no CUDA GPU is visible" in done.stderr


@pytest.mark.slow  # two training processes (about 40 s): make test-all
def test_gpu_check_trains_resumes_and_tabulates_on_the_cpu() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "2"}
    args = ["--trainer", "cpu", "--experiments", "vae_digits", "--precisions", "bf16-mixed"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_check.py"), *args, "--steps", "4",
         "--no-bench"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "| vae_digits | bf16-mixed | ok | 6 |" in done.stdout, done.stdout
