"""Discriminators shared by several families.

`PatchGAN` (Isola et al. 2017, sec. 3.2.2; used by Pix2Pix and CycleGAN): a fully convolutional
classifier whose every output judges one overlapping patch of the input. With the default three
stride-2 layers each output sees 70x70 pixels (`receptive_field`), whatever the image size.
"""

from __future__ import annotations

from torch import nn

from genzoo.networks.blocks import make_norm


def receptive_field(layers: list[tuple[int, int]]) -> int:
    """The receptive field in input pixels of one output of stacked convolutions given as
    (kernel, stride), first layer first."""
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


class PatchGAN(nn.Sequential):
    """C64-C128-C256-C512 of the pix2pix paper for `layers=3`: `layers` stride-2 4x4 convolutions,
    one stride-1, then a 1-channel 4x4 convolution giving one logit per patch.

    `in_channels` is the channels it judges: Pix2Pix's conditional discriminator sees the input
    and the (real or generated) output concatenated; CycleGAN's sees one domain's images.
    """

    def __init__(
        self, in_channels: int, width: int = 64, layers: int = 3, norm: str = "batch"
    ) -> None:
        bias = norm != "batch"  # batch norm's shift makes a bias redundant (also the reference's)
        blocks: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        channels = width
        for i in range(1, layers + 1):
            out = width * min(2**i, 8)
            stride = 2 if i < layers else 1
            blocks += [
                nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=bias),
                make_norm(norm, out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels = out
        blocks.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        super().__init__(*blocks)
        self.layers = layers

    @property
    def receptive_field(self) -> int:
        """Pixels of input one output logit sees along each side (70 for layers=3)."""
        convs = [m for m in self.modules() if isinstance(m, nn.Conv2d)]
        return receptive_field([(int(c.kernel_size[0]), int(c.stride[0])) for c in convs])
