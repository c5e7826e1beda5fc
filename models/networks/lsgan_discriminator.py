"""The least-squares discriminator used with the FI-GAN generator.

Why: FI-GAN (Zhang C. et al., Biomed. Opt. Express 10(9):4742, 2019) trains its generator against a
least-squares GAN critic, whose loss needs an unbounded real-valued score, not a probability. The FI-GAN
paper does not give the critic's layers, so we follow the LSGAN paper's own discriminator (Mao et al.,
"Least Squares Generative Adversarial Networks", ICCV 2017, Fig. 3b): four 5x5 stride-2 convs of width
64, 128, 256, 512 with LeakyReLU(0.2), then one linear layer with no activation (the score fed to the
least-squares loss). BatchNorm goes on all convs but the first (the DCGAN convention, Radford et al.,
ICLR 2016, which LSGAN builds on: normalising the raw image layer destabilises the critic).

Choices (constructor arguments):
- ``pool_size=4``: an ``nn.AdaptiveAvgPool2d`` to 4x4 before the linear layer lets any input size
  through (LSGAN used fixed 112x112 inputs -> 7x7). 4x4 keeps some spatial layout in the score while
  staying small; inputs smaller than 64 px give feature maps under 4x4, which the pool replicates.
- ``batch_norm=True`` as in LSGAN; ``spectral_norm=False`` available for a BN-free critic.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm


class LSGANDiscriminator(nn.Module):
    """(N, in_channels, H, W), any H and W -> (N, 1) unbounded least-squares score."""

    def __init__(
        self,
        in_channels: int = 1,
        base_channels: int = 64,
        num_layers: int = 4,
        pool_size: int = 4,
        batch_norm: bool = True,
        spectral_norm: bool = False,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_channels
        for i in range(num_layers):
            width = base_channels * 2**i
            conv = nn.Conv2d(prev, width, 5, stride=2, padding=2)
            layers.append(_spectral_norm(conv) if spectral_norm else conv)
            if batch_norm and i > 0:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(negative_slope, inplace=True))
            prev = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        linear = nn.Linear(prev * pool_size * pool_size, 1)
        self.head = nn.Sequential(nn.Flatten(), _spectral_norm(linear) if spectral_norm else linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))
