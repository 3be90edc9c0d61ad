"""genzoo-edit: a trained diffusion run inpaints, outpaints or edits your images.

genzoo-edit run=runs/diffusion_digits/<name> input=digit.png op=inpaint box=[0,16,32,32] output=out/
genzoo-edit run=<run> input=digit.png op=outpaint right=16 output=out/
genzoo-edit run=<run> input=digit.png op=edit strength=0.6 label=3 output=out/

The work is in `tasks/edit.py`, imported only when there is work.
"""

from genzoo.cli.command import hydra_command

main = hydra_command("edit", "genzoo.tasks.edit:edit")

if __name__ == "__main__":
    main()
