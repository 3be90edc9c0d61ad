"""Shared fixtures: composing train configs the way genzoo-train does, offline datasets."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import genzoo.config.compose  # noqa: F401 - registers the resolvers the configs use (default_run_name)
from genzoo.utils.paths import config_dir
from tests.fake_datasets import write_all

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
# Under pytest-xdist (make test: two workers on two cores) each worker takes one core, and so
# does every process it starts (the command server, fresh commands, DDP ranks): two workers'
# commands at torch's default of a thread per core ran 1.6x slower, oversubscribed.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(threads, "1")
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)

# Quiet, quick defaults for in-process training in tests.
FAST = [
    "logger=csv",
    "callbacks.progress_bar=null",
    "trainer.enable_model_summary=false",
]
# A few dozen generated images per validation are enough to test the sample-quality metrics
# (families that sample; make_cfg sets it unless the test does).
FAST_EVAL_SAMPLES = 48
# The samples of the panels a run draws at its end (64 unless told): 16 show them as well.
FAST_GRID_SAMPLES = 16


BIN = Path(sys.executable).parent  # the console scripts of this environment


def run_cli(
    cmd: str,
    *args: str,
    cwd: Path,
    env: dict | None = None,
    timeout: int = 300,
    fresh: bool = False,
) -> subprocess.CompletedProcess:
    """A console script as a user runs it: runs under cwd/runs, W&B offline. It runs in a
    process forked from a warm interpreter (tests/command_server.py) unless `fresh` (or
    GENZOO_TESTS_FRESH=1) asks for a newly started one."""
    full_env = {
        **os.environ,
        "GENZOO_RUNS": str(cwd / "runs"),
        "WANDB_MODE": "offline",
        **(env or {}),
    }
    entry = _entry_points().get(cmd)
    if fresh or entry is None or os.environ.get("GENZOO_TESTS_FRESH") == "1":
        return subprocess.run(
            [str(BIN / cmd), *args], cwd=cwd, env=full_env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
    request = {"script": str(BIN / cmd), "args": list(args), "entry": entry, "cwd": str(cwd),
               "env": full_env, "timeout": timeout}  # fmt: skip
    reply = _command_server().run(request)
    if reply["timed_out"]:
        raise subprocess.TimeoutExpired([cmd, *args], timeout, reply["stdout"], reply["stderr"])
    return subprocess.CompletedProcess(
        [str(BIN / cmd), *args], reply["returncode"], reply["stdout"], reply["stderr"]
    )


@functools.cache
def _entry_points() -> dict[str, str]:
    """genzoo's console scripts: name -> module:function."""
    from importlib.metadata import entry_points

    return {
        ep.name: ep.value
        for ep in entry_points(group="console_scripts")
        if ep.value.startswith("genzoo.")
    }


class _CommandServer:
    """The warm interpreter of this test process (one per pytest worker), started on first use."""

    def __init__(self) -> None:
        script = Path(__file__).with_name("command_server.py")
        self.process = subprocess.Popen(
            [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, cwd=script.parent,
        )  # fmt: skip
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("tests/command_server.py did not start")

    def run(self, request: dict) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()


_SERVER: _CommandServer | None = None


def _command_server() -> _CommandServer:
    global _SERVER
    if _SERVER is None or _SERVER.process.poll() is not None:
        import atexit

        _SERVER = _CommandServer()
        atexit.register(_SERVER.close)
    return _SERVER


def free_port() -> int:
    """A TCP port nobody listens on, for a test's own process group."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tiny_first_stage(path: Path, channels: int, image_size: int, levels: int = 1) -> Path:
    """An untrained, tiny VQ-VAE checkpoint in genzoo's format: a first stage for prior tests
    that need its shapes, not its quality."""
    from genzoo.models.loading import save_bare_checkpoint
    from genzoo.models.vqvae import VQVAE

    model = VQVAE(channels, image_size, levels, hidden_channels=16, res_blocks=1, res_channels=8,
                  num_codes=16, code_dim=8)  # fmt: skip
    return save_bare_checkpoint(model, path)


def compose_train(overrides: list[str], run_dir: Path) -> DictConfig:
    """Compose configs/train.yaml with overrides, as `genzoo-train` would, into run_dir."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # ${hydra:runtime.choices...} resolve as in a real run
    with open_dict(cfg):
        cfg.paths.run_dir = str(run_dir)
        del cfg.hydra
    return cfg


def cli_cfg(name: str, *overrides: str) -> DictConfig:
    """Compose configs/<name>.yaml with overrides, as genzoo-<name> does."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(name, overrides=list(overrides))


def sample_cfg(*overrides: str) -> DictConfig:
    """Compose configs/sample.yaml with overrides, as genzoo-sample does."""
    return cli_cfg("sample", *overrides)


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    def _make(*overrides: str, run_dir: Path | None = None) -> DictConfig:
        cfg = compose_train(FAST + list(overrides), run_dir or tmp_path / "run")
        if "eval_samples" in cfg.model and not any("model.eval_samples" in o for o in overrides):
            cfg.model.eval_samples = FAST_EVAL_SAMPLES
        grids = cfg.callbacks.get("image_grid")
        if grids is not None and not any("image_grid.num_samples" in o for o in overrides):
            grids.num_samples = FAST_GRID_SAMPLES
        return cfg

    return _make


# The README's report command (docs: "genzoo-report output=report/"): the shipped-set report is
# the suite's costliest single command, so it runs once for every test that reads it.
SHIPPED_REPORT_COMMAND = ("genzoo-report", "output=report/")


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this pytest run that every xdist worker sees (the workers' parent)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def shipped_report(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess]:
    """SHIPPED_REPORT_COMMAND on the shipped checkpoints, run by the first worker that asks, in
    a folder of its own; the others read its result: (that folder, the command's result)."""
    from filelock import FileLock  # torch's own dependency

    shared = _shared_folder(tmp_path_factory)
    cwd, record = shared / "shipped_report", shared / "shipped_report.json"
    with FileLock(str(shared / "shipped_report.lock")):
        if not record.exists():
            cwd.mkdir()
            result = run_cli(*SHIPPED_REPORT_COMMAND, cwd=cwd, timeout=600)
            reply = {"returncode": result.returncode, "stdout": result.stdout,
                     "stderr": result.stderr}  # fmt: skip
            record.write_text(json.dumps(reply))
    reply = json.loads(record.read_text())
    return cwd, subprocess.CompletedProcess(list(SHIPPED_REPORT_COMMAND), **reply)


@pytest.fixture(scope="session")
def fake_data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MNIST, Fashion-MNIST, CIFAR-10, CelebA and an image folder in their real formats."""
    return write_all(tmp_path_factory.mktemp("datasets"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line naming the browser tests skipped for want of Chromium, and how to get it."""
    skipped = [
        r
        for r in terminalreporter.stats.get("skipped", [])
        if "chromium" in str(r.longrepr).lower()
    ]
    if skipped:
        names = ", ".join(sorted({r.nodeid.split("::")[-1].split("[")[0] for r in skipped}))
        terminalreporter.write_line(
            f"{len(skipped)} browser tests skipped, Chromium is not installed ({names}): "
            "apt-get install -y chromium (as root), then make test"
        )


def digit_quality(model, n: int = 300) -> dict[str, float]:
    """FID / KID / SWD / class entropy of n samples against the held-out digits."""
    size = int(model.hparams.image_size)  # SWD compares images of one size
    from genzoo.data.embedded import DigitsDataModule
    from genzoo.metrics.generation import SampleQuality

    data = DigitsDataModule(image_size=size)
    data.setup()
    quality = SampleQuality("digits", image_size=size, channels=1)
    for batch in data.val_dataloader():
        quality.update(batch["image"], real=True)
    quality.update(model.sample(n, seed=99), real=False)
    return quality.compute()


def checkpoint_state(path: Path) -> dict:
    """A checkpoint file as saved, on the CPU (weights-only loading, as genzoo reads them)."""
    return torch.load(path, map_location="cpu", weights_only=True)
