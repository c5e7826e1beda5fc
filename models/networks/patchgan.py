"""The 70x70 PatchGAN discriminator (Isola et al., CVPR 2017): a grid of real/fake logits, one per patch.

C64-C128-C256-C512 with 4x4 convolutions (stride 2, 2, 2, 1), LeakyReLU 0.2, no norm on the first layer, then a
4x4 conv to one channel. Three stride-2 layers give the 70x70 receptive field.
"""
from __future__ import annotations

import torch
from torch import nn

from models.networks.layers import conv_bias, norm_layer


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 2, ndf: int = 64, num_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        norm_cls, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        channels = ndf
        for n in range(1, num_layers + 1):
            out = ndf * min(2 ** n, 8)
            stride = 2 if n < num_layers else 1
            layers += [nn.Conv2d(channels, out, 4, stride, 1, bias=bias)]
            layers += [norm_cls(out)] if norm_cls is not None else []
            layers += [nn.LeakyReLU(0.2, True)]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
