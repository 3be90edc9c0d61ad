"""genzoo-project: GAN inversion, the latent with which a trained generator draws your image.

genzoo-project run=zoo:stylegan_digits input=my_digits/ output=projected/ space=w+
genzoo-project run=runs/dcgan_digits/<name> input=digit.png output=projected/

The work is in `project_images.py` (the algorithm in `projection.py`), imported only when
there is work: `--help` and mistakes on the command line answer without loading torch.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from genzoo.errors import exit_on_user_error
from genzoo.utils.config import config_dir, require_values


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="project")
def _hydra_main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        require_values(cfg)
        from genzoo.project_images import project_images

        project_images(cfg)


def main() -> None:
    """genzoo-project: checks the command line's keys, then hands over to Hydra."""
    from genzoo.utils.cli import check_command_line

    check_command_line("project", sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
