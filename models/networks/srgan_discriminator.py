"""The SRGAN discriminator (Ledig et al., CVPR 2017, Fig. 4, bottom), made input-size agnostic.

Why: SRGAN's adversarial term needs the paper's VGG-style discriminator; the benchmark's images are not
the paper's 96x96 crops, so the dense head sits behind an adaptive pool.
"""
from __future__ import annotations

import torch
from torch import nn

# Eight 3x3 convs; stride 2 on layers 2, 4, 6, 8 (the paper's k3n64s2, k3n128s2, ...). Widths are
# multiples of base_channels: 64, 64, 128, 128, 256, 256, 512, 512 at the default.
_WIDTH_MULT = (1, 1, 2, 2, 4, 4, 8, 8)
_STRIDES = (1, 2, 1, 2, 1, 2, 1, 2)


class SRGANDiscriminator(nn.Module):
    """Returns one unbounded logit per image, shape (N, 1); pair it with BCE-with-logits.

    The paper trains on fixed 96x96 crops, so its dense layer sees 512x6x6 features. To accept any input
    size, an ``nn.AdaptiveAvgPool2d`` pools the conv features to ``image_size // 16`` squared before the
    dense layers: at the default ``image_size=96`` that is 6x6, an identity on 96x96 inputs, so the
    paper configuration is unchanged there; other sizes are average-pooled (or, below 96, replicated)
    to 6x6. ``image_size`` only sets that pooled size (and so the first dense layer's input width).
    """

    def __init__(
        self,
        in_channels: int = 1,
        base_channels: int = 64,
        image_size: int = 96,
        negative_slope: float = 0.2,
        dense_features: int = 1024,
    ) -> None:
        super().__init__()
        if image_size < 16 or image_size % 16:
            raise ValueError(
                f"SRGANDiscriminator image_size must be a positive multiple of 16, got {image_size}"
            )
        layers: list[nn.Module] = []
        prev = in_channels
        for i, (mult, stride) in enumerate(zip(_WIDTH_MULT, _STRIDES)):
            width = base_channels * mult
            layers.append(nn.Conv2d(prev, width, 3, stride=stride, padding=1))
            if i > 0:  # no BN on the first layer, as in the paper (and DCGAN)
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(negative_slope, inplace=True))
            prev = width
        self.features = nn.Sequential(*layers)
        pooled = image_size // 16
        self.pool = nn.AdaptiveAvgPool2d(pooled)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(prev * pooled * pooled, dense_features),
            nn.LeakyReLU(negative_slope, inplace=True),
            nn.Linear(dense_features, 1),  # logit; the paper's sigmoid lives in the loss
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))
