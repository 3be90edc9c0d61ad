"""genzoo-train: train a model from the command line (the work: `training/train.py`).

genzoo-train experiment=vae_digits trainer=cpu
genzoo-train run_name=my_run resume=true          # continue runs/<group>/my_run
genzoo-train -m model.latent_dim=8,16,32          # a sweep, one run per value
"""

from genzoo.cli.command import hydra_command
from genzoo.config.command_line import check_run_location
from genzoo.errors import exit_on_user_error
from genzoo.training.resume_config import rewrite_resume_command_line


def _resume_command_line(argv: list[str]) -> None:
    """resume=true: the run's own saved command line, with this one's overrides on top."""
    with exit_on_user_error():
        rewrite_resume_command_line(argv)


main = hydra_command(
    "train",
    "genzoo.training.train:train_command",
    argv_checks=(check_run_location, _resume_command_line),
    checked_values=False,
)

if __name__ == "__main__":
    main()
