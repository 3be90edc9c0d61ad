"""genzoo-upscale: a trained super-resolution run upscales your images, any size.

genzoo-upscale run=runs/srresnet_photos/<name> input=photo.png output=upscaled/
genzoo-upscale run=<run> input=my_folder/ output=upscaled/ tile=128

The work is in `upscale_images.py`, imported only when there is work: `--help` and mistakes on
the command line answer without loading torch.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from genzoo.errors import exit_on_user_error
from genzoo.utils.config import config_dir, require_values


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="upscale")
def _hydra_main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        require_values(cfg)
        from genzoo.upscale_images import upscale

        upscale(cfg)


def main() -> None:
    """genzoo-upscale: checks the command line's keys, then hands over to Hydra."""
    from genzoo.utils.cli import check_command_line

    check_command_line("upscale", sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
