"""The user surface as a property: every model / data pair is accepted or refused in one line
before a run starts, every CLI option with a wrong type or value is one line naming it before
anything is loaded or written, and a run's record survives resumes and refusals."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from PIL import Image

from genzoo.config.command_line import check_command_line, group_options
from genzoo.data.kinds import DataKindError, accepts_of, yields_of
from genzoo.errors import ConfigError, GenzooError
from genzoo.training.train import check_start, train
from genzoo.utils.paths import config_dir
from tests.conftest import cli_cfg, compose_train, run_cli

MODELS = group_options("model")
DATA = group_options("data")


def _target(group: str, name: str) -> str:
    return str(yaml.safe_load((config_dir() / group / f"{name}.yaml").read_text())["_target_"])


def test_every_config_says_what_it_yields_or_accepts() -> None:
    assert all(yields_of(_target("data", d)) for d in DATA)
    assert all(accepts_of(_target("model", m)) for m in MODELS)


@functools.cache
def _composed(group: str, option: str) -> DictConfig:
    """configs/train.yaml with one group option, its Hydra node kept (read-only: copy it)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose("train", overrides=[f"{group}={option}"], return_hydra_config=True)


def _pair_cfg(model: str, data: str, run_dir: Path) -> DictConfig:
    """compose_train([model=, data=]) from the two options composed once each (a pair is
    one model's config with one data option's node): no model or data config sets a key of
    the other group, so this is the composition itself, 36 composes instead of 260."""
    cfg = copy.deepcopy(_composed("model", model))
    with open_dict(cfg):
        cfg.data = copy.deepcopy(_composed("data", data).data)
        cfg.hydra.runtime.choices.data = data
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.run_dir = str(run_dir)
        del cfg.hydra
    return cfg


def test_a_pair_from_options_composed_once_equals_the_pair_composed() -> None:
    for model, data in [("srgan", "sr_photos"), ("vae", "facades_synth"), ("cyclegan", DATA[0])]:
        composed = compose_train([f"model={model}", f"data={data}"], Path("run"))
        assert OmegaConf.to_yaml(_pair_cfg(model, data, Path("run"))) == OmegaConf.to_yaml(
            composed
        ), (model, data)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_data_pair_is_accepted_or_refused_in_one_line(
    model: str, tmp_path: Path
) -> None:
    accepts = accepts_of(_target("model", model))
    assert accepts is not None
    for data in DATA:
        cfg = _pair_cfg(model, data, tmp_path / "run")
        fits = yields_of(_target("data", data)) in accepts
        try:
            check_start(cfg)
        except DataKindError as err:
            assert not fits, f"model={model} data={data} refused: {err}"
            message = str(err)
            assert "\n" not in message and f"model={model}" in message
            assert f"data={data} gives" in message and "use data=" in message
        except ConfigError as err:
            # The pairs that fit stop only at values the user must give (a path, a first stage).
            assert fits and str(err).startswith("no value for "), (model, data, err)
        else:
            assert fits, f"model={model} data={data} was not refused"
        assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["model=pix2pix", "data=digits"], "use data=facades_synth (embedded)"),
        (["model=srresnet", "data=digits"], "use data=sr_photos (embedded)"),
        (["model=vae", "data=facades_synth"], "gives aligned A / B pairs"),
        (["model=dcgan", "data=sr_photos"], "gives low- and high-resolution pairs"),
        (["model=srgan", "data=photos"], "gives images"),
        (["data=image_folder", "data.path=MISSING"], "does not exist"),
        (["data=image_folder", "data.path=EMPTY"], "holds no images"),
        (["data=image_folder", "data.path=FILE"], "is a file"),
        (["data=mnist", "data.download=false", "data.root=EMPTY"], "missing dataset file"),
        (["data.binarize=maybe"], "data.binarize=maybe is not known"),
        (["model.likelihood=poisson"], "model.likelihood='poisson' is not known"),
        (["seed=abc"], "seed='abc' must be an integer"),
        (["model.latent_dim=[1,2]"], "model.latent_dim=[1, 2] is a list"),
        (["+model.foo=1"], "model.foo is not a key of genzoo.models.vae.VAE"),
        (["+model.latentdim=1"], "did you mean model.latent_dim?"),
    ],
)
def test_refused_starts_leave_nothing_behind(
    overrides: list[str], expected: str, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.png").write_bytes(b"not a folder")
    paths = {"MISSING": tmp_path / "nothere", "EMPTY": tmp_path / "empty"}
    paths["FILE"] = tmp_path / "file.png"
    for placeholder, path in paths.items():
        overrides = [o.replace(placeholder, str(path)) for o in overrides]
    run_dir = tmp_path / "runs" / "r"
    cfg = compose_train(["logger=csv", "trainer.max_steps=2", *overrides], run_dir)
    with pytest.raises(GenzooError) as refused:
        train(cfg)
    assert expected in str(refused.value)
    assert not run_dir.exists(), list(run_dir.rglob("*"))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["model=vea"], "model=vea is not an option of model: did you mean model=vae?"),
        (["logger=foo"], "logger=foo is not an option of logger: the options are csv"),
        (["experiment=vae_digit"], "did you mean experiment=vae_digits"),
        (["experiment=null"], "experiment=null is not an option of experiment: leave"),
    ],
)
def test_group_options_get_did_you_mean(argv: list[str], expected: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        check_command_line("train", argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


# ----- the other CLIs: each option with a wrong type or value, before anything is loaded ------
BAD_OPTIONS = {
    "sample": {
        "run": "run=[1]",
        "checkpoint": "checkpoint=[1]",
        "n": "n=abc",
        "seed": "seed=1.5",
        "seeds": "seeds=[1,x]",
        "truncation": "truncation=-1",
        "noise_mode": "noise_mode=loud",
        "nrow": "nrow=0",
        "out_dir": "out_dir=[1]",
        "grid": "grid=maybe",
        "individual": "individual=2",
        "temperature": "temperature=0",
        "top_k": "top_k=0",
        "top_p": "top_p=2",
        "resolution": "resolution=2",
        "reconstruct": "reconstruct=[1]",
        "interpolate": "interpolate=yes please",
        "interpolation_steps": "interpolation_steps=1",
        "interpolation_rows": "interpolation_rows=abc",
        "interpolation_space": "interpolation_space=[1]",
        "gif": "gif=3",
        "style_mix_rows": "style_mix_rows=[a]",
        "style_mix_cols": "style_mix_cols=5",
        "style_mix_layers": "style_mix_layers=[0,1,2]",
        "guidance": "guidance=-1",
        "steps": "steps=0",
        "sampler": "sampler=euler",
        "eta": "eta=2",
        "device": "device=gpu",
    },
    "eval": {
        "run": "run=[1]",
        "checkpoint": "checkpoint=[1]",
        "split": "split=train",
        "batch_size": "batch_size=0",
        "iw_samples": "iw_samples=abc",
        "seed": "seed=abc",
        "test_mode": "test_mode=train",
        "guidance": "guidance=abc",
        "steps": "steps=0",
        "out": "out=[1]",
        "overwrite": "overwrite=maybe",
        "device": "device=tpu",
        "wandb": "wandb=maybe",
    },
    "translate": {
        "run": "run=[1]",
        "checkpoint": "checkpoint=[1]",
        "input": "input=[1]",
        "output": "output=[1]",
        "direction": "direction=AtoC",
        "size": "size=big",
        "test_mode": "test_mode=train",
        "device": "device=gpu",
    },
    "upscale": {
        "run": "run=[1]",
        "checkpoint": "checkpoint=[1]",
        "input": "input=[1]",
        "output": "output=[1]",
        "device": "device=gpu",
    },
    "export": {
        "run": "run=[1]",
        "checkpoint": "checkpoint=[1]",
        "format": "format=tflite",
        "output": "output=[1]",
        "part": "part=[1]",
    },
    "edit": {
        "run": "run=[1]",
        "checkpoint": "checkpoint=[1]",
        "input": "input=[1]",
        "output": "output=[1]",
        "op": "op=erase",
        "mask": "mask=[1]",
        "box": "box=[0,1,2]",
        "left": "left=-1",
        "right": "right=abc",
        "top": "top=1.5",
        "bottom": "bottom=-2",
        "strength": "strength=0",
        "label": "label=-1",
        "seed": "seed=abc",
        "resample": "resample=0",
        "harmonize": "harmonize=-1",
        "guidance": "guidance=-1",
        "steps": "steps=0",
        "sampler": "sampler=euler",
        "eta": "eta=-1",
        "device": "device=gpu",
    },
    "project": {
        "run": "run=[1]",
        "checkpoint": "checkpoint=[1]",
        "input": "input=[1]",
        "output": "output=[1]",
        "space": "space=z+",
        "steps": "steps=0",
        "lr": "lr=0",
        "distance": "distance=lpips",
        "noise_weight": "noise_weight=-1",
        "batch_size": "batch_size=abc",
        "seed": "seed=-1",
        "device": "device=gpu",
    },
}


def _entry(name: str):
    if name == "sample":
        from genzoo.tasks.sample import OPTION_RULES, sample

        return OPTION_RULES, sample
    if name == "eval":
        from genzoo.tasks.evaluate import OPTION_RULES, evaluate

        return OPTION_RULES, evaluate
    if name == "translate":
        from genzoo.tasks.translate import OPTION_RULES, translate

        return OPTION_RULES, translate
    if name == "export":
        from genzoo.tasks.export import OPTION_RULES, export

        return OPTION_RULES, export
    if name == "edit":
        from genzoo.tasks.edit import OPTION_RULES, edit

        return OPTION_RULES, edit
    if name == "project":
        from genzoo.tasks.project import OPTION_RULES, project_images

        return OPTION_RULES, project_images
    from genzoo.tasks.upscale import OPTION_RULES, upscale

    return OPTION_RULES, upscale


@pytest.mark.parametrize("name", list(BAD_OPTIONS))
def test_each_cli_option_with_a_wrong_value_is_one_line_before_loading(
    name: str, tmp_path: Path
) -> None:
    rules, command = _entry(name)
    bad = BAD_OPTIONS[name]
    assert set(bad) == set(rules), "every option of the CLI has a case here"
    required = {"run": "run=NOT_A_RUN", "input": f"input={tmp_path}", "output": "output=out"}
    for key, override in bad.items():
        given = [v for k, v in required.items() if k != key and k in rules] + [override]
        if key == "style_mix_layers":
            given += ["style_mix_rows=[1]", "style_mix_cols=[2]"]
        cfg = cli_cfg(name, *given)
        with pytest.raises(ConfigError) as refused:
            command(cfg)
        message = str(refused.value)
        assert message.startswith(f"{key}=") and "\n" not in message, message
        assert "NOT_A_RUN" not in message  # refused before the run was looked at
    assert not (tmp_path / "out").exists()


def test_upscale_tile_and_overlap_are_checked_against_the_model() -> None:
    from genzoo.tasks.upscale import tile_and_overlap

    for tile, overlap, expected in [
        (0, "auto", "tile=0"),
        ("abc", "auto", "tile=abc"),
        (192, 500, "larger than twice overlap=500"),
        (192, -5, "overlap=-5"),
    ]:
        with pytest.raises(ConfigError, match=expected):
            tile_and_overlap(tile, overlap, reach=20)
    # The hint names the smallest tile that works, and that tile works.
    with pytest.raises(ConfigError, match="set tile=41 or more"):
        tile_and_overlap(4, "auto", reach=20)
    assert tile_and_overlap(41, "auto", reach=20) == (41, 20)


def test_a_large_upscale_says_how_far_it_got_and_a_stopped_one_leaves_no_folder(
    tmp_path: Path, caplog
) -> None:
    import logging

    from genzoo.tasks.upscale import TileProgress
    from genzoo.tasks.user_images import convert_user_images
    from genzoo.utils.tiling import upscale_tiled

    seen: list[tuple[int, int]] = []
    lr = torch.rand(1, 3, 100, 150)
    out = upscale_tiled(lambda x: x.repeat_interleave(2, -1).repeat_interleave(2, -2), lr, 2,
                        tile=30, overlap=5, progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert out.shape == (1, 3, 200, 300) and seen[-1][0] == seen[-1][1] == len(seen) > 10
    with caplog.at_level(logging.INFO, logger="genzoo"):
        say = TileProgress()
        for done, total in seen:
            say(done, total)
    assert (
        caplog.text.count("tile ") == 10
        and f"tile {len(seen)} of {len(seen)} (100%)" in caplog.text
    )

    photos = tmp_path / "in"
    photos.mkdir()
    Image.new("RGB", (40, 30)).save(photos / "big.png")

    def stopped(x: torch.Tensor) -> torch.Tensor:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert_user_images(str(photos), str(tmp_path / "out"), 3, "cpu", stopped, "x4")
    assert not (tmp_path / "out").exists()


def test_output_paths_that_cannot_be_written_are_refused(tmp_path: Path) -> None:
    from genzoo.utils.options import check_output_file, check_output_folder

    (tmp_path / "in").mkdir()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        check_output_folder(str(tmp_path / "a_file"), "output")
    with pytest.raises(ConfigError, match="lies inside input="):
        check_output_folder(str(tmp_path / "in"), "output", inputs=str(tmp_path / "in"))
    with pytest.raises(ConfigError, match="lies inside input="):
        check_output_folder(str(tmp_path / "in" / "up"), "output", inputs=str(tmp_path / "in"))
    with pytest.raises(ConfigError, match="is a folder"):
        check_output_file(str(tmp_path / "in"), "out")
    assert check_output_folder(str(tmp_path / "new"), "output") == tmp_path / "new"


# ----- a run's record ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def vae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vae_digits run of 4 batches, started from the command line."""
    cwd = tmp_path_factory.mktemp("surface")
    result = run_cli(
        "genzoo-train", "experiment=vae_digits", "run_name=r1", "trainer.max_steps=4",
        "logger=csv", "trainer.check_val_every_n_epoch=null", "trainer.val_check_interval=3",
        "model.eval_samples=16", cwd=cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / "runs" / "vae_digits" / "r1"


def _record(run_dir: Path) -> dict[str, bytes]:
    names = (".hydra/config.yaml", ".hydra/overrides.yaml", "train.log")
    return {name: (run_dir / name).read_bytes() for name in names}


def test_resume_continues_the_runs_own_config_and_records_itself(vae_run: Path) -> None:
    cwd, before = vae_run.parents[2], _record(vae_run)
    # No experiment= on the command line: the run's own (binarize dynamic, its schedule) holds.
    result = run_cli(
        "genzoo-train", "run_name=r1", "resume=true", "trainer.max_steps=6",
        "model.eval_samples=24", cwd=cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((vae_run / "final_metrics.json").read_text())["batches"] == 6
    ckpt = load_meta(vae_run / "checkpoints" / "last.ckpt")
    assert ckpt["config"]["data"]["binarize"] == "dynamic"
    assert ckpt["config"]["run_group"] == "vae_digits"
    after = _record(vae_run)
    assert after[".hydra/config.yaml"] == before[".hydra/config.yaml"]
    assert after[".hydra/overrides.yaml"] == before[".hydra/overrides.yaml"]
    assert b"resuming from" in after["train.log"][len(before["train.log"]) :]
    (resume,) = yaml.safe_load((vae_run / ".hydra" / "resumes.yaml").read_text())
    assert resume["overrides"] == ["trainer.max_steps=6", "model.eval_samples=24"]
    assert resume["from_batch"] == 4
    # One last.ckpt, however the run stopped and resumed.
    assert sorted(p.name for p in (vae_run / "checkpoints").glob("last*")) == ["last.ckpt"]


def test_resume_refuses_overrides_that_change_the_checkpoint(vae_run: Path) -> None:
    cwd, before = vae_run.parents[2], _record(vae_run)
    resumes = (vae_run / ".hydra" / "resumes.yaml").read_bytes()
    for change, named in [
        ("model.latent_dim=8", "model.latent_dim: 16 -> 8"),
        ("model=dcgan", "model: vae -> dcgan"),
        ("data.binarize=none", "data.binarize: dynamic -> none"),
    ]:
        result = run_cli(
            "genzoo-train", "experiment=vae_digits", "run_name=r1", "resume=true", change,
            "trainer.max_steps=9", cwd=cwd,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr[-2000:]
        assert named in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert _record(vae_run) == before
    assert (vae_run / ".hydra" / "resumes.yaml").read_bytes() == resumes


def load_meta(path: Path) -> dict:
    from genzoo.utils.checkpoint import read_checkpoint

    return read_checkpoint(path)["genzoo"]


def test_eval_says_which_split_and_refuses_one_the_data_lacks(vae_run: Path, tmp_path) -> None:
    from genzoo.tasks.evaluate import evaluate

    with pytest.raises(GenzooError, match="data=digits has no test split: use split=val"):
        evaluate(cli_cfg("eval", f"run={vae_run}", "split=test"))
    result = evaluate(
        cli_cfg("eval", f"run={vae_run}", "iw_samples=2", f"out={tmp_path / 'e.json'}")
    )
    assert result["split"] == "val" and result["split_is"] == "the validation split"
    assert not list(tmp_path.glob("*.tmp"))


def test_checkpoint_best_and_last_are_both_accepted(vae_run: Path) -> None:
    from genzoo.utils.checkpoint import find_checkpoint

    assert find_checkpoint(vae_run, "last").name == "last.ckpt"
    assert find_checkpoint(vae_run, "best").name.startswith("best-step")


# ----- saying what happened ------------------------------------------------------------------
@pytest.fixture
def bare_runs(tmp_path: Path) -> dict[str, Path]:
    """Untrained checkpoints of three families, in genzoo's format."""
    from genzoo.models.loading import save_bare_checkpoint
    from genzoo.models.pix2pix import Pix2Pix
    from genzoo.models.srresnet import SRResNetModel
    from genzoo.models.vae import VAE
    from tests.conftest import tiny_first_stage

    return {
        "vqvae": tiny_first_stage(tmp_path / "vq.ckpt", 1, 32),
        "pix2pix": save_bare_checkpoint(
            Pix2Pix(image_size=32, width=8, d_width=8), tmp_path / "p2p.ckpt"
        ),
        "sr": save_bare_checkpoint(SRResNetModel(width=8, blocks=1), tmp_path / "sr.ckpt"),
        "vae": save_bare_checkpoint(
            VAE(hidden_channels=8, latent_dim=4, eval_samples=16), tmp_path / "vae.ckpt"
        ),
    }


def test_sample_says_what_a_first_stage_or_a_translator_does_instead(bare_runs) -> None:
    from genzoo.models.loading import load_model
    from genzoo.tasks.sample import SampleRequestError, check_request
    from tests.conftest import sample_cfg

    vq, _ = load_model(bare_runs["vqvae"])
    with pytest.raises(SampleRequestError) as said:
        check_request(sample_cfg(f"run={bare_runs['vqvae']}"), vq)
    assert "reconstruct=val" in str(said.value) and "sampling needs a prior" in str(said.value)
    check_request(sample_cfg(f"run={bare_runs['vqvae']}", "reconstruct=val"), vq)
    translator, _ = load_model(bare_runs["pix2pix"])
    with pytest.raises(SampleRequestError) as said:
        check_request(sample_cfg(f"run={bare_runs['pix2pix']}"), translator)
    assert "use genzoo-translate run=" in str(said.value)
    assert not str(said.value).rstrip().endswith(";")


def test_eval_reads_the_data_root_as_training_does(bare_runs, tmp_path, monkeypatch) -> None:
    from genzoo.tasks.evaluate import evaluate

    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "datasets"))
    cfg = cli_cfg("eval", f"run={bare_runs['sr']}", "data=set5", "++data.download=false")
    with pytest.raises(GenzooError) as refused:
        evaluate(cfg)
    assert str(tmp_path / "datasets" / "Set5") in str(refused.value)


def test_eval_refuses_another_kind_of_data_and_converts_another_set(bare_runs, tmp_path) -> None:
    from genzoo.tasks.evaluate import evaluate

    with pytest.raises(DataKindError, match="SRResNetModel learns from low- and high-res"):
        evaluate(cli_cfg("eval", f"run={bare_runs['sr']}", "data=digits"))
    with pytest.raises(ConfigError, match="iw_samples=3: SRResNetModel has no importance"):
        evaluate(cli_cfg("eval", f"run={bare_runs['sr']}", "iw_samples=3"))
    # A grey 32 px VAE on the colour photos: converted to what the model takes.
    out = tmp_path / "photos.json"
    result = evaluate(
        cli_cfg("eval", f"run={bare_runs['vae']}", "data=photos", "iw_samples=2", f"out={out}")
    )
    assert result["metrics"]["neg_elbo"] > 0 and out.is_file()


def test_family_recipes_are_named_when_the_pair_has_none(tmp_path, caplog) -> None:
    from genzoo.training.recipes import recipe_tip as _recipe_tip

    compose_train(["model=dcgan", "data=photos"], tmp_path / "r")
    with caplog.at_level("WARNING", logger="genzoo"):
        _recipe_tip()
    assert "has no pinned recipe" in caplog.text and "dcgan_digits" in caplog.text


def test_a_short_run_logs_its_training_metrics(make_cfg, tmp_path: Path) -> None:
    import csv

    run_dir = tmp_path / "short"
    train(make_cfg("experiment=vae_digits", "trainer.max_steps=3", run_dir=run_dir))
    rows = list(csv.DictReader((run_dir / "csv" / "metrics.csv").open()))
    assert any(row.get("train/neg_elbo") for row in rows)


def test_reconstructing_a_far_from_square_image_says_it_was_cropped(tmp_path, caplog) -> None:
    from PIL import Image

    from genzoo.tasks.user_images import images_from_files

    Image.new("RGB", (2000, 10)).save(tmp_path / "wide.png")
    Image.new("RGB", (30, 30)).save(tmp_path / "square.png")
    with caplog.at_level("WARNING", logger="genzoo"):
        images, used, _ = images_from_files(str(tmp_path), 32, 1)
    assert images.shape == (2, 1, 32, 32)
    assert "wide.png (2000x10)" in caplog.text and "square.png" not in caplog.text


# The Python API shares genzoo-sample's option rules: each sampling option, wrong, is refused
# naming it; right, it is taken (by the family that understands it).
API_SAMPLING = {
    "truncation": ("stylegan_digits", -1, 0.7),
    "noise_mode": ("stylegan_digits", "loud", "const"),
    "temperature": ("vae_digits", 0, 0.8),
    "top_k": ("vqvae_prior_digits", 0, 5),
    "top_p": ("vqvae_prior_digits", 2, 0.9),
    "resolution": ("progan_digits", 2, 16),
    # No diffusion model ships yet: a tiny untrained one behind the same API.
    "guidance": ("tiny diffusion", -1, 2.0),
    "steps": ("tiny diffusion", 0, 3),
    "sampler": ("tiny diffusion", "euler", "ddpm"),
    "eta": ("tiny diffusion", 2, 0.5),
}


def _api_model(name: str):
    import genzoo
    from genzoo.api import Model

    if name != "tiny diffusion":
        return genzoo.load(name, device="cpu")
    from genzoo.models.diffusion import Diffusion

    module = Diffusion(image_size=8, base_channels=8, channel_mults=(1, 2), sample_steps=2)
    return Model(module.eval(), {}, name)


def test_the_python_api_checks_every_sampling_option_as_genzoo_sample() -> None:
    from genzoo.models.base import GenerativeModel
    from genzoo.tasks.api_checks import OptionError
    from genzoo.tasks.sample import OPTION_TAGS

    every = set().union(*(cls.sample_options for cls in _model_classes(GenerativeModel)))
    assert set(API_SAMPLING) == every == set(OPTION_TAGS), "every sampling option has a case"
    for key, (name, wrong, right) in API_SAMPLING.items():
        model = _api_model(name)
        with pytest.raises(OptionError, match=f"{key}={wrong!r} "):
            model.sample(2, **{key: wrong})
        assert model.sample(2, **{key: right}).shape[0] == 2


def _model_classes(base: type) -> list[type]:
    import importlib
    import pkgutil

    import genzoo.models

    for module in pkgutil.iter_modules(genzoo.models.__path__):  # every family, new ones too
        importlib.import_module(f"genzoo.models.{module.name}")
    found, todo = [], [base]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_device_cuda_without_a_gpu_is_one_line_in_every_command(tmp_path: Path) -> None:
    from genzoo.utils.device import DeviceError

    photo = tmp_path / "in"
    photo.mkdir()
    Image.new("RGB", (32, 32)).save(photo / "a.png")
    cases = {
        "sample": ["run=zoo:dcgan_digits"],
        "eval": ["run=zoo:dcgan_digits"],
        "translate": ["run=zoo:cyclegan_photos", f"input={photo}", f"output={tmp_path / 'o'}"],
        "upscale": ["run=zoo:srresnet_photos", f"input={photo}", f"output={tmp_path / 'o'}"],
        "project": ["run=zoo:dcgan_digits", f"input={photo}", f"output={tmp_path / 'o'}"],
    }
    for name, args in cases.items():
        _, command = _entry(name)
        with pytest.raises(DeviceError, match="device=cuda but PyTorch sees no CUDA GPU"):
            command(cli_cfg(name, *args, "device=cuda"))
    result = run_cli("genzoo-sample", "run=zoo:dcgan_digits", "device=cuda", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "o").exists()
