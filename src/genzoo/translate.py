"""genzoo-translate: a trained Pix2Pix or CycleGAN run translates your images, any size.

genzoo-translate run=runs/pix2pix_facades_synth/<name> input=labels/ output=facades/
genzoo-translate run=<cyclegan run> input=photo.png output=out/ direction=BtoA

The work is in `translate_images.py`, imported only when there is work: `--help` and mistakes
on the command line answer without loading torch.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from genzoo.errors import exit_on_user_error
from genzoo.utils.config import config_dir, require_values


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="translate")
def _hydra_main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        require_values(cfg)
        from genzoo.translate_images import translate

        translate(cfg)


def main() -> None:
    """genzoo-translate: checks the command line's keys, then hands over to Hydra."""
    from genzoo.utils.cli import check_command_line

    check_command_line("translate", sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
