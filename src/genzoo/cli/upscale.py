"""genzoo-upscale: a trained super-resolution run upscales your images, any size.

genzoo-upscale run=runs/srresnet_photos/<name> input=photo.png output=upscaled/
genzoo-upscale run=<run> input=my_folder/ output=upscaled/ tile=128

The work is in `tasks/upscale.py`, imported only when there is work: `--help` and mistakes on
the command line answer without loading torch.
"""

from genzoo.cli.command import hydra_command

main = hydra_command("upscale", "genzoo.tasks.upscale:upscale")

if __name__ == "__main__":
    main()
