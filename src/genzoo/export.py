"""genzoo-export: the deployable part of a trained model as ONNX or TorchScript, checked.

genzoo-export run=zoo:dcgan_digits format=onnx output=exported/
genzoo-export run=runs/cyclegan_photos/<name> format=torchscript part=AtoB

The work is in `export_model.py`, imported only when there is work: `--help` and mistakes on
the command line answer without loading torch.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from genzoo.errors import exit_on_user_error
from genzoo.utils.config import config_dir, require_values


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="export")
def _hydra_main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        require_values(cfg)
        from genzoo.export_model import export

        export(cfg)


def main() -> None:
    """genzoo-export: checks the command line's keys, then hands over to Hydra."""
    from genzoo.utils.cli import check_command_line

    check_command_line("export", sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
