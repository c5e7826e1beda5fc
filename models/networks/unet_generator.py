"""The pix2pix U-Net generator (Isola et al., CVPR 2017).

Encoder of 4x4 stride-2 convolutions (LeakyReLU 0.2), decoder of 4x4 stride-2 transposed convolutions (ReLU)
with skip connections by concatenation, Tanh-free output mapped to [0, 1] by a sigmoid (our images live in
[0, 1], pix2pix's in [-1, 1]; a sigmoid is the same map up to the affine change of range).
`depth` down-samplings take a 2**depth image to 1x1 at the bottleneck (U-Net-256: depth 8); `depth=None`
derives it from the image size. Channels double from `ngf` up to 8 * ngf.
"""
from __future__ import annotations

import torch
from torch import nn

from benchmark.errors import UsageError
from models.networks.layers import conv_bias, norm_layer
from models.padding import padded_apply


def depth_for_size(image_size: int, max_depth: int = 8) -> int:
    """The most stride-2 levels the size allows (it must divide by 2**depth), capped at 8 as U-Net-256.

    A power-of-two size gets a 1x1 bottleneck (256 -> 8 levels); 96 gets 5 (a 3x3 bottleneck).
    """
    depth = 2
    while depth < max_depth and image_size % 2 ** (depth + 1) == 0:
        depth += 1
    return depth


class UNetBlock(nn.Module):
    """One level: down-sample, the inner levels, up-sample; its output is concatenated with its input."""

    def __init__(self, outer: int, inner: int, submodule: nn.Module | None, norm: str, in_channels: int | None = None,
                 outermost: bool = False, dropout: float = 0.0, out_channels: int | None = None) -> None:
        super().__init__()
        self.outermost = outermost
        norm_cls, bias = norm_layer(norm), conv_bias(norm)
        in_channels = in_channels or outer
        down = nn.Conv2d(in_channels, inner, 4, 2, 1, bias=bias)
        innermost = submodule is None
        up_in = inner if innermost else inner * 2
        if outermost:
            up = nn.ConvTranspose2d(up_in, out_channels or outer, 4, 2, 1)
            layers = [down, submodule, nn.ReLU(True), up]
        else:
            up = nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=bias)
            down_layers = [nn.LeakyReLU(0.2, True), down]
            if not innermost and norm_cls is not None:
                down_layers.append(norm_cls(inner))
            up_layers = [nn.ReLU(True), up] + ([norm_cls(outer)] if norm_cls is not None else [])
            if dropout:
                up_layers.append(nn.Dropout(dropout))
            layers = down_layers + ([] if innermost else [submodule]) + up_layers
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UNetGenerator(nn.Module):
    """U-Net with `depth` levels; the innermost `depth - 5` levels at 8 * ngf carry dropout when enabled."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, ngf: int = 64, depth: int = 8,
                 norm: str = "batch", dropout: float = 0.5) -> None:
        super().__init__()
        if depth < 2:
            raise UsageError(f"model.depth={depth} must be at least 2")
        self.depth = depth
        # Built inside out: the innermost block first, then the 8*ngf blocks, then the widening ones.
        block: nn.Module | None = None
        widths = [min(8, 2 ** level) * ngf for level in range(depth)]  # channels entering each level
        for level in reversed(range(1, depth)):
            outer, inner = widths[level - 1], widths[level]
            inner_8 = inner == 8 * ngf and outer == 8 * ngf and block is not None
            block = UNetBlock(outer, inner, block, norm, dropout=dropout if inner_8 else 0.0)
        self.model = UNetBlock(out_channels, ngf, block, norm, in_channels=in_channels, outermost=True,
                               out_channels=out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Whole test images of any size: padded to the total stride, prediction cropped back.
        return torch.sigmoid(padded_apply(self.model, x, 2**self.depth))
