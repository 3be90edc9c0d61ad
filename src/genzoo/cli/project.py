"""genzoo-project: GAN inversion, the latent with which a trained generator draws your image.

genzoo-project run=zoo:stylegan_digits input=my_digits/ output=projected/ space=w+
genzoo-project run=runs/dcgan_digits/<name> input=digit.png output=projected/

The work is in `tasks/project.py` (the algorithm in `tasks/projection.py`), imported only when
there is work: `--help` and mistakes on the command line answer without loading torch.
"""

from genzoo.cli.command import hydra_command

main = hydra_command("project", "genzoo.tasks.project:project_images")

if __name__ == "__main__":
    main()
