"""Tiny configurations shared by the tests: overrides that make a run take seconds."""

from __future__ import annotations

# A DCGAN small enough to train a few batches in a second on the CPU.
TINY_DCGAN = [
    "model.latent_dim=16",
    "model.g_channels=8",
    "model.d_channels=8",
    "data.batch_size=16",
]
# A StyleGAN at 16 px with a two-layer mapping network.
TINY_STYLEGAN = [
    "model.latent_dim=32",
    "model.mapping_depth=2",
    "model.channel_base=128",
    "model.channel_max=32",
    "data.image_size=16",
    "data.batch_size=16",
]
# Epochs instead of an experiment's batch schedule: validation (and last.ckpt) at each epoch end.
BY_EPOCH = [
    "trainer.max_steps=-1",
    "trainer.val_check_interval=null",
    "trainer.check_val_every_n_epoch=1",
]
NO_GRIDS = ["callbacks.image_grid.every_n_steps=0"]
# A diffusion U-Net at 16 px: 8 / 16 channels, one block per resolution, attention at 8 px.
TINY_UNET = [
    "model.base_channels=8",
    "model.channel_mults=[1,2]",
    "model.num_res_blocks=1",
    "model.attention_resolutions=[8]",
]
# The class-conditional digits recipe on that U-Net, a few sampler steps.
TINY_DIFFUSION = [
    "experiment=diffusion_digits",
    "data.image_size=16",
    "data.batch_size=32",
    *TINY_UNET,
    "model.sample_steps=8",
    "model.guidance=1.0",
]
# A ProGAN grown 4 -> 8 -> 16 px: 32 / 16 / 8 channels, a 40-image first phase, 160-image fades.
TINY_PROGAN = [
    "model=progan",
    "model.latent_dim=16",
    "model.channel_base=128",
    "model.channel_max=32",
    "model.stable_images=40",
    "model.fade_images=160",
    "data.image_size=16",
    "data.batch_size=16",
]
