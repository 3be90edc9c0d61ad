"""genzoo-sample: images from a trained run through the model contract.

genzoo-sample run=runs/vae_digits/<name> n=64 seed=0
genzoo-sample run=<ckpt> reconstruct=val          # reconstructions of validation images
genzoo-sample run=<ckpt> reconstruct=my_digits/   # ... or of your own image files

The work is in `tasks/sample.py`, imported only when there is work: `--help` and mistakes on
the command line answer without loading torch.
"""

from genzoo.cli.command import hydra_command

main = hydra_command("sample", "genzoo.tasks.sample:sample")

if __name__ == "__main__":
    main()
