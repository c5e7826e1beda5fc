"""SRResNet: the SRGAN generator (Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network", CVPR 2017, Fig. 4).

Why this network: it is the reference x4 super-resolution generator that both the MSE-trained SRResNet
baseline and SRGAN share, so the two can be compared on exactly the same architecture.
"""
from __future__ import annotations

import math

import torch
from torch import nn

_SCALES = (1, 2, 4, 8)


def _prelu(channels: int, channelwise: bool) -> nn.PReLU:
    # The paper says "PReLU" without saying whether the slope is shared; we default to one shared
    # slope (nn.PReLU()'s default, as in most reference implementations) and let the caller ask for one
    # slope per channel (He et al., ICCV 2015, allow both).
    return nn.PReLU(num_parameters=channels if channelwise else 1)


class ResidualBlock(nn.Module):
    """conv3x3-BN-PReLU-conv3x3-BN with an identity skip (the paper's "B residual blocks")."""

    def __init__(self, channels: int, prelu_channelwise: bool = False) -> None:
        super().__init__()
        # Biases are kept on every conv (the paper's kNnNsS notation lists none as bias-free). They are
        # redundant before BN but cost only 64 parameters per conv.
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            _prelu(channels, prelu_channelwise),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleBlock(nn.Module):
    """conv3x3 (C -> 4C) + PixelShuffle(2) + PReLU: one x2 sub-pixel stage (Shi et al., CVPR 2016)."""

    def __init__(self, channels: int, prelu_channelwise: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.act = _prelu(channels, prelu_channelwise)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shuffle(self.conv(x)))


class SRResNet(nn.Module):
    """SRGAN generator. Output is (N, out_channels, H*scale, W*scale).

    ``scale=1`` drops the sub-pixel stages entirely: the benchmark's same-size tasks (denoising,
    modality translation) then get the same residual trunk without any resampling. ``scale`` must be
    1, 2, 4 or 8 (one PixelShuffle(2) stage per factor of two; the paper uses 4, i.e. two stages).

    The output has no activation (the paper's last layer is a plain 9x9 conv); clipping to the data
    range is left to evaluation.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        channels: int = 64,
        num_blocks: int = 16,
        scale: int = 4,
        prelu_channelwise: bool = False,
    ) -> None:
        super().__init__()
        if scale not in _SCALES:
            raise ValueError(f"SRResNet scale must be one of {_SCALES}, got {scale!r}")
        self.scale = scale
        self.head = nn.Sequential(
            nn.Conv2d(in_channels, channels, 9, padding=4), _prelu(channels, prelu_channelwise)
        )
        self.blocks = nn.Sequential(*(ResidualBlock(channels, prelu_channelwise) for _ in range(num_blocks)))
        self.trunk_tail = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        self.upsample = nn.Sequential(
            *(UpsampleBlock(channels, prelu_channelwise) for _ in range(int(math.log2(scale))))
        )
        self.tail = nn.Conv2d(channels, out_channels, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        feat = feat + self.trunk_tail(self.blocks(feat))  # global skip from after the first conv
        return self.tail(self.upsample(feat))
