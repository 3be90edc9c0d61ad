"""genzoo-sample: images from a trained run through the model contract.

genzoo-sample run=runs/vae_digits/<name> n=64 seed=0
genzoo-sample run=<ckpt> reconstruct=val          # reconstructions of validation images
genzoo-sample run=<ckpt> reconstruct=my_digits/   # ... or of your own image files

The work is in `sample_images.py`, imported only when there is work: `--help` and mistakes on
the command line answer without loading torch.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from genzoo.errors import exit_on_user_error
from genzoo.utils.config import config_dir, require_values


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="sample")
def _hydra_main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        require_values(cfg)
        from genzoo.sample_images import sample

        sample(cfg)


def main() -> None:
    """genzoo-sample: checks the command line's keys, then hands over to Hydra."""
    from genzoo.utils.cli import check_command_line

    check_command_line("sample", sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
