"""The console scripts as a user runs them: subprocesses with Hydra overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from genzoo.models.loading import load_model
from tests.conftest import run_cli as run
from tests.conftest import sample_cfg

QUICK = [
    "logger=csv",
    "callbacks.progress_bar=null",
    "trainer=cpu",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=1",
    "model.iw_samples=2",
    "model.eval_samples=48",
    "data.binarize=dynamic",  # the Bernoulli NLL is then a likelihood, also in bits/dim
]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("cli")
    result = run("genzoo-train", *QUICK, "run_name=cli", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = cwd / "runs" / "vae_digits" / "cli"
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    return run_dir


def test_train_writes_run_directory(trained_run: Path) -> None:
    assert (trained_run / "csv" / "metrics.csv").is_file()
    assert (trained_run / ".hydra" / "config.yaml").is_file()
    assert list((trained_run / "images").glob("samples_*.png"))
    summary = json.loads((trained_run / "final_metrics.json").read_text())
    assert summary["global_step"] == 3 and "val/neg_elbo" in summary["metrics"]


def test_resume_from_cli_continues_step_counter(trained_run: Path) -> None:
    cwd = trained_run.parents[2]
    args = [a for a in QUICK if not a.startswith("trainer.max_epochs")]
    result = run(
        "genzoo-train", *args, "trainer.max_epochs=2", "run_name=cli", "resume=true", cwd=cwd
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((trained_run / "final_metrics.json").read_text())["global_step"] == 6


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.no_such_key=1", "no_such_key"),
        ("model=no_such_model", "model=no_such_model is not an option of model"),
        ("model=vea", "did you mean model=vae?"),
        ("trainer.max_epochs=abc", "trainer.max_epochs='abc'"),
        ("model.latent_dim=sixteen", "model.latent_dim='sixteen'"),
    ],
)
def test_bad_override_exits_with_readable_message(
    tmp_path: Path, override: str, expected: str
) -> None:
    result = run("genzoo-train", *QUICK, override, cwd=tmp_path)
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert expected in output, output[-2000:]
    assert "Traceback" not in output and "HYDRA_FULL_ERROR" not in output
    assert "site-packages/lightning" not in output, "a deep traceback instead of a message"
    assert not (tmp_path / "runs" / "vae_digits").exists() or not list(
        (tmp_path / "runs").rglob("*.ckpt")
    )


def test_resume_without_checkpoint_exits_nonzero(tmp_path: Path) -> None:
    result = run("genzoo-train", *QUICK, "run_name=ghost", "resume=true", cwd=tmp_path)
    assert result.returncode == 2
    assert "resume=true but" in result.stderr and "last.ckpt does not exist" in result.stderr


def test_help_lists_groups_in_plain_words(tmp_path: Path) -> None:
    result = run("genzoo-train", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for word in (
        "model",
        "data",
        "trainer",
        "logger",
        "experiment",
        "vae",
        "digits",
        "ddp_cpu",
        "vae_digits",
        "resume=true",
    ):
        assert word in result.stdout, word


def test_cfg_job_prints_config(tmp_path: Path) -> None:
    result = run("genzoo-train", "--cfg", "job", "model.latent_dim=7", cwd=tmp_path)
    assert result.returncode == 0 and "latent_dim: 7" in result.stdout


@pytest.mark.slow  # 24 s of two genzoo-sample runs: make test-all (default suite under 15 minutes)
def test_sample_is_deterministic_per_seed(trained_run: Path, tmp_path: Path) -> None:
    outputs = []
    # Two processes with one seed give the same bytes; another seed's images differ (in-process).
    for name, seed in (("a", 0), ("b", 0)):
        result = run(
            "genzoo-sample",
            f"run={trained_run}",
            "n=16",
            f"seed={seed}",
            f"out_dir={tmp_path / name}",
            "individual=true",
            "reconstruct=val",
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        # genzoo-sample logs one line per kind it wrote: "<kind>: <path>".
        written = dict(
            line.split(" - ", 1)[1].split(": ", 1)
            for line in result.stdout.splitlines()
            if "[genzoo][INFO] - " in line and ": /" in line
        )
        assert {"samples", "individual", "reconstructions", "interpolations"} <= set(written)
        outputs.append(Path(written["samples"]).read_bytes())
    assert outputs[0] == outputs[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"], "no sample.log"
    model, _ = load_model(trained_run)
    assert not torch.equal(model.sample(16, seed=0), model.sample(16, seed=1))
    assert len(list((tmp_path / "a").glob("samples_*/*.png"))) == 16


def test_sample_reconstructs_user_images(trained_run: Path, tmp_path: Path) -> None:
    for i in range(3):
        Image.new("L", (40, 40), color=60 * i).save(tmp_path / f"digit{i}.png")
    result = run(
        "genzoo-sample",
        f"run={trained_run}",
        f"reconstruct={tmp_path}",
        f"out_dir={tmp_path / 'o'}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert Image.open(next((tmp_path / "o").glob("reconstructions_*.png"))).size[0] > 3 * 32


def test_eval_writes_json_beside_run(trained_run: Path, tmp_path: Path) -> None:
    result = run("genzoo-eval", f"run={trained_run}", "iw_samples=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((trained_run / "eval_val.json").read_text())
    metrics = report["metrics"]
    assert metrics["num_images"] == 297
    assert (
        metrics["nll"] <= metrics["neg_elbo"] + 1.0
    )  # the IWAE bound is at least as tight as the ELBO
    assert abs(metrics["bpd"] * 1024 * 0.6931 - metrics["nll"]) < 0.5
    assert list(tmp_path.iterdir()) == [], "genzoo-eval writes nothing outside the run"


def test_sample_of_missing_run_is_a_clear_error(tmp_path: Path) -> None:
    result = run("genzoo-sample", f"run={tmp_path / 'nothing'}", cwd=tmp_path)
    assert result.returncode == 2 and "neither a run directory nor a checkpoint" in result.stderr


@pytest.mark.slow  # 15 s: three training processes
def test_multirun_sweep_gives_each_job_its_own_directory(tmp_path: Path) -> None:
    result = run(
        "genzoo-train", "-m", *QUICK, "model.latent_dim=4,8", "run_name=sweep", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for job in ("0", "1"):
        summary = json.loads(
            (tmp_path / "runs" / "multirun" / "sweep" / job / "final_metrics.json").read_text()
        )
        assert summary["global_step"] == 3


# ----- a CLI that fails well and leaves no debris ------------------------------------------


def test_refused_start_leaves_the_run_untouched(trained_run: Path) -> None:
    cwd = trained_run.parents[2]
    config, log = trained_run / ".hydra" / "config.yaml", trained_run / "train.log"
    before = config.read_bytes(), log.read_bytes()
    groups_before = sorted(p.name for p in (cwd / "runs" / "vae_digits").iterdir())
    refused = run("genzoo-train", *QUICK, "run_name=cli", "model.latent_dim=5", cwd=cwd)
    assert refused.returncode == 2 and "already holds last.ckpt" in refused.stderr
    bad = run("genzoo-train", *QUICK, "data.batch_size=-1", cwd=cwd)  # a timestamped run name
    assert bad.returncode == 2
    assert (config.read_bytes(), log.read_bytes()) == before
    assert sorted(p.name for p in (cwd / "runs" / "vae_digits").iterdir()) == groups_before


def test_bad_value_is_one_line_naming_the_key(tmp_path: Path) -> None:
    result = run("genzoo-train", *QUICK, "data.batch_size=-1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("data.batch_size=-1 must be a positive integer") == 1
    assert "Traceback" not in result.stderr + result.stdout


def test_debug_fdr_saves_nothing(tmp_path: Path) -> None:
    result = run("genzoo-train", "debug=fdr", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    leftovers = [p for p in (tmp_path / "runs").rglob("*")] if (tmp_path / "runs").exists() else []
    assert leftovers == [], leftovers
    assert not list(tmp_path.glob("*.log"))
    assert "💡 Tip" not in result.stdout + result.stderr  # Lightning's adverts are filtered


def test_misspelled_key_gets_did_you_mean(tmp_path: Path) -> None:
    result = run("genzoo-train", "trainer.max_epoch=3", cwd=tmp_path)
    assert result.returncode == 2
    assert "did you mean trainer.max_epochs" in result.stderr and "+trainer" not in result.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        ("genzoo-sample", [], "no value for run: set run=..."),
        ("genzoo-eval", ["run=anything", "split=train"], "split=train must be one of val, test"),
        ("genzoo-sample", ["run=x", "truncaton=0.7"], "did you mean truncation?"),
    ],
)
def test_sample_and_eval_mistakes_are_one_line(
    tmp_path: Path, command: str, args: list[str], expected: str
) -> None:
    result = run(command, *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing may be written"


@pytest.mark.parametrize("command", ["genzoo-sample", "genzoo-eval"])
def test_help_is_written_for_each_command(tmp_path: Path, command: str) -> None:
    result = run(command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert f"Usage: {command} run=" in result.stdout and "Examples:" in result.stdout
    assert "experiment" not in result.stdout and "trainer" not in result.stdout
    key = "truncation=" if command == "genzoo-sample" else "split=val"
    assert key in result.stdout


def test_sample_refuses_options_the_model_ignores(trained_run: Path, tmp_path: Path) -> None:
    from genzoo.models.loading import load_model
    from genzoo.tasks.sample import SampleRequestError, check_request

    model, _ = load_model(trained_run)
    for option in (
        "truncation=0.7",
        "noise_mode=random",
        "interpolation_space=w",
        "style_mix_rows=[1]",
        "interpolate=false",  # with gif=true below: nothing to animate
    ):
        extra = ["gif=true"] if option == "interpolate=false" else []
        with pytest.raises(SampleRequestError, match="VAE cannot do what was asked"):
            check_request(sample_cfg(f"run={trained_run}", option, *extra), model)
    check_request(sample_cfg(f"run={trained_run}", "temperature=0.5", "gif=true"), model)
    # From the command line: exit 2 and nothing written.
    result = run(
        "genzoo-sample",
        f"run={trained_run}",
        "truncation=0.7",
        f"out_dir={tmp_path / 'o'}",
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "truncation=" in result.stderr
    assert not (tmp_path / "o").exists()


def test_sample_file_names_keep_calls_apart(trained_run: Path, tmp_path: Path) -> None:
    from genzoo.tasks.sample import sample

    names = set()
    for args in (["n=16"], ["n=25"], ["seeds=[1,2,3]"], ["n=16", "temperature=0.5"]):
        written = sample(sample_cfg(f"run={trained_run}", *args, f"out_dir={tmp_path}"))
        names.add(Path(written["samples"]).name)
    assert len(names) == 4 and len(list(tmp_path.glob("samples_*.png"))) == 4


def test_reconstruct_folder_with_unreadable_files(trained_run: Path, tmp_path: Path) -> None:
    from tests.test_user_folders import BAD, write_user_folder

    folder = write_user_folder(tmp_path / "imgs")
    result = run(
        "genzoo-sample",
        f"run={trained_run}",
        f"reconstruct={folder}",
        "individual=true",
        f"out_dir={tmp_path / 'o'}",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "3 image(s) could not be read" in result.stderr
    for name in BAD:  # each listed once, on a line of its own
        assert sum(name in line for line in result.stderr.splitlines()) == 1, name
    (folder,) = [p for p in (tmp_path / "o").glob("reconstructions_*") if p.is_dir()]
    assert len(list(folder.glob("*.png"))) == 10
    assert "on_error" not in result.stderr


def test_console_prints_each_line_once(trained_run: Path) -> None:
    output = (trained_run / "train.log").read_text()
    stdout = run(
        "genzoo-train",
        *QUICK,
        "run_name=cli",
        "resume=true",
        "trainer.max_epochs=3",
        cwd=trained_run.parents[2],
    )
    assert stdout.returncode == 0, stdout.stderr[-2000:]
    console = stdout.stdout + stdout.stderr
    assert console.count("stopped after 9 batches") == 1, console[-3000:]
    for noise in ("LeafSpec", "litlogger", "anonymous setting", "Seed set to", "GPU available",
                  "TPU available", "`Trainer.fit` stopped", "exists and is not empty", "FLOPs",
                  "\x1b["):  # fmt: skip
        assert noise not in console, noise
    # Off a terminal: progress as plain log lines, not a redrawn bar wrapped into columns.
    assert "Epoch " not in console and "━" not in console
    assert "training on cpu x1" in output  # genzoo's own lines reach train.log too
