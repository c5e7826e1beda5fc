"""The ResNet generator of CycleGAN (Zhu et al., ICCV 2017; after Johnson et al., ECCV 2016).

7x7 conv (reflection padding), two stride-2 3x3 down-samplings, `num_blocks` residual blocks (conv-norm-ReLU-
conv-norm with reflection padding), two stride-2 transposed-conv up-samplings, 7x7 conv out (one output
channel: `PolyphaseConv2d`, the same convolution computed faster on a CPU). Output mapped to
[0, 1] by a sigmoid (the papers' Tanh on [-1, 1], re-ranged). Used by CycleGAN and LoHiResGAN.
"""
from __future__ import annotations

import torch
from torch import nn

from models.networks.layers import conv_bias, norm_layer
from models.networks.polyphase_conv import PolyphaseConv2d


def _norm(kind: str, channels: int) -> list[nn.Module]:
    cls = norm_layer(kind)
    return [cls(channels)] if cls is not None else []


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: str, dropout: float = 0.0) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), *_norm(norm, channels),
                  nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), *_norm(norm, channels)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, in_channels: int = 1, out_channels: int = 1, ngf: int = 64, num_blocks: int = 9,
                 norm: str = "instance", dropout: float = 0.0) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                                   *_norm(norm, ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            layers += [nn.Conv2d(c, c * 2, 3, 2, 1, bias=bias), *_norm(norm, c * 2), nn.ReLU(True)]
        layers += [ResidualBlock(ngf * 4, norm, dropout) for _ in range(num_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias),
                       *_norm(norm, c // 2), nn.ReLU(True)]
        out = PolyphaseConv2d(ngf, 7) if out_channels == 1 else nn.Conv2d(ngf, out_channels, 7)
        layers += [nn.ReflectionPad2d(3), out]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(x))
