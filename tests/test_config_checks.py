"""Checks before anything runs: values that cannot work, unknown keys, missing values, hardware."""

from __future__ import annotations

import logging

import pytest
import torch

from genzoo.config.command_line import check_command_line
from genzoo.config.types import ConfigError, check_config_types
from genzoo.config.values import check_config_values


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.batch_size=-1"], "data.batch_size=-1 must be a positive integer"),
        (["model.latent_dim=0"], "model.latent_dim=0 must be a positive integer"),
        (["model=dcgan", "data.image_size=33"], "data.image_size=33 is not 4 times a power of two"),
        (["model=stylegan", "data.image_size=48"], "data.image_size=48 is not 4 times"),
        (["trainer.max_steps=0"], "trainer.max_steps=0 must be a positive count, or -1"),
        (["trainer.max_epochs=-3"], "trainer.max_epochs=-3 must be a positive count"),
        (["model.optimizer.lr=0"], "model.optimizer.lr=0 must be a positive learning rate"),
        (["model=dcgan", "model.optimizer_d.lr=-1e-4"], "model.optimizer_d.lr=-0.0001"),
        (["data=image_folder"], "no value for data.path: set data.path=..."),
        (["data.channels=2"], "data.channels=2 must be 1 (grey) or 3 (colour)"),
        (["data.num_workers=-1"], "data.num_workers=-1 must be 0 or more, or auto"),
    ],
)
def test_values_that_cannot_work_name_their_key(make_cfg, overrides, message) -> None:
    with pytest.raises(ConfigError) as err:
        check_config_values(make_cfg(*overrides))
    assert message in str(err.value)


def test_good_configs_pass(make_cfg) -> None:
    for overrides in (
        [],
        ["experiment=dcgan_digits"],
        ["experiment=stylegan_digits"],
        ["data.num_workers=auto"],
    ):
        check_config_values(make_cfg(*overrides))


def test_gpu_trainer_without_gpu_names_the_alternatives(make_cfg) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="has none: use trainer=cpu, or trainer=default"):
        check_config_values(make_cfg("trainer=gpu"))


def test_type_errors_name_the_type_in_words(make_cfg) -> None:
    with pytest.raises(ConfigError) as err:
        check_config_types(make_cfg("trainer.max_epochs=abc", "data.batch_size=1.5"))
    assert "trainer.max_epochs='abc' is a string, expected an int or null" in str(err.value)
    assert "data.batch_size=1.5 is a number, expected an int" in str(err.value)
    assert "Optional" not in str(err.value)


@pytest.mark.parametrize(
    ("config", "argv", "suggestion"),
    [
        ("train", ["trainer.max_epoch=3"], "did you mean trainer.max_epochs"),
        ("train", ["model=dcgan", "model.n_critc=2"], "did you mean model.n_critic?"),
        ("train", ["data.batchsize=8"], "did you mean data.batch_size?"),
        ("sample", ["run=x", "trunaction=0.5"], "did you mean truncation?"),
        ("eval", ["run=x", "iw_sample=4"], "did you mean iw_samples?"),
        ("train", ["--cfg", "job", "trainer.max_epoch=3"], "did you mean trainer.max_epochs"),
        ("train", ["-m", "model.latnt_dim=3,4"], "did you mean model.latent_dim?"),
    ],
)
def test_misspelled_keys_get_a_suggestion(config, argv, suggestion, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        check_command_line(config, argv)
    assert exit_info.value.code == 2
    assert suggestion in capsys.readouterr().err


def test_known_keys_and_additions_pass(capsys) -> None:
    check_command_line("train", ["model=dcgan", "model.n_critic=2", "+trainer.foo=1", "seed=1"])
    check_command_line("train", ["-m", "model.latent_dim=4,8", "data=photos"])
    check_command_line("sample", ["run=x", "truncation=0.5"])
    assert capsys.readouterr().err == ""


def test_stylegan_on_digits_without_experiment_names_the_recipe(make_cfg, caplog) -> None:
    from genzoo.training.recipes import recipe_tip as _recipe_tip

    make_cfg("model=stylegan", "data=digits")
    with caplog.at_level(logging.WARNING, logger="genzoo"):
        _recipe_tip()
    assert "experiment=stylegan_digits is the recipe sized for this data" in caplog.text
    caplog.clear()
    make_cfg("experiment=stylegan_digits")
    with caplog.at_level(logging.WARNING, logger="genzoo"):
        _recipe_tip()
    assert caplog.text == ""
