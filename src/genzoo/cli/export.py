"""genzoo-export: the deployable part of a trained model as ONNX or TorchScript, checked.

genzoo-export run=zoo:dcgan_digits format=onnx output=exported/
genzoo-export run=runs/cyclegan_photos/<name> format=torchscript part=AtoB

The work is in `tasks/export.py`, imported only when there is work: `--help` and mistakes on
the command line answer without loading torch.
"""

from genzoo.cli.command import hydra_command

main = hydra_command("export", "genzoo.tasks.export:export")

if __name__ == "__main__":
    main()
