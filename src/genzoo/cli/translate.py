"""genzoo-translate: a trained Pix2Pix or CycleGAN run translates your images, any size.

genzoo-translate run=runs/pix2pix_facades_synth/<name> input=labels/ output=facades/
genzoo-translate run=<cyclegan run> input=photo.png output=out/ direction=BtoA

The work is in `tasks/translate.py`, imported only when there is work: `--help` and mistakes
on the command line answer without loading torch.
"""

from genzoo.cli.command import hydra_command

main = hydra_command("translate", "genzoo.tasks.translate:translate")

if __name__ == "__main__":
    main()
