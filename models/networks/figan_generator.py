"""FI-GAN generator (Zhang C., Wang K., An Y., He K., Tong T., Tian J., "Improved generative adversarial
networks using the total gradient loss for the resolution enhancement of fluorescence images", Biomed. Opt.
Express 10(9):4742, 2019).

Why this shape: the paper's generator works at 1/4 resolution (two stride-2 convs), so its seven
residual dense blocks are 16x cheaper than at full size, then returns to the input size by sub-pixel
convolution. Spectral normalisation on the generator convs stabilises its least-squares GAN training.

Residual dense blocks follow RDN (Zhang Y., Tian Y., Kong Y., Zhong B., Fu Y., "Residual Dense Network
for Image Super-Resolution", CVPR 2018): densely connected 3x3 conv + ReLU layers, 1x1 local feature
fusion back to ``channels``, and a local residual.

Choices where the paper's figure does not give every detail (all constructor arguments):
- ``channels=64``, ``growth=32``, ``layers_per_block=4``: the figure shows neither the growth rate nor
  the dense depth; 64/32 are RDN's defaults (G0=64, G=32) and 4 layers keeps the 7-block trunk light.
- ``global_fusion=True``: RDN's global feature fusion (1x1 conv over the concatenated block outputs,
  then a 3x3 conv) plus a global residual from the down-sampled features; ``False`` keeps only the
  global residual over the plain chain of blocks.
- 3x3 kernels for the stride-2 down-sampling convs (exact halving with padding 1 on even sizes),
  LeakyReLU(``negative_slope``) after each down-sampling conv and each PixelShuffle stage.
- Spectral norm (Miyato et al., ICLR 2018) on every conv of the generator, including the 1x1 fusions
  and the output conv, when ``spectral_norm=True``.
- No output activation: intensities are regressed directly, clipping is left to evaluation.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, sn: bool = True) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)
    return _spectral_norm(conv) if sn else conv


class ResidualDenseBlock(nn.Module):
    """RDB (RDN, CVPR 2018): each layer sees the block input and all earlier layers' outputs."""

    def __init__(self, channels: int, growth: int, num_layers: int, sn: bool = True) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            _conv(channels + i * growth, growth, 3, sn=sn) for i in range(num_layers)
        )
        self.act = nn.ReLU(inplace=True)
        self.fusion = _conv(channels + num_layers * growth, channels, 1, sn=sn)  # local feature fusion

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for layer in self.layers:
            feats.append(self.act(layer(torch.cat(feats, dim=1))))
        return x + self.fusion(torch.cat(feats, dim=1))  # local residual learning


class FIGANGenerator(nn.Module):
    """(N, in_channels, H, W) -> (N, out_channels, H, W); H and W must be multiples of 4."""

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        channels: int = 64,
        num_blocks: int = 7,
        growth: int = 32,
        layers_per_block: int = 4,
        spectral_norm: bool = True,
        global_fusion: bool = True,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        sn = spectral_norm
        self.down = nn.Sequential(
            _conv(in_channels, channels, 3, stride=2, sn=sn),
            nn.LeakyReLU(negative_slope, inplace=True),
            _conv(channels, channels, 3, stride=2, sn=sn),
            nn.LeakyReLU(negative_slope, inplace=True),
        )
        self.blocks = nn.ModuleList(
            ResidualDenseBlock(channels, growth, layers_per_block, sn=sn) for _ in range(num_blocks)
        )
        self.global_fusion = (
            nn.Sequential(
                _conv(num_blocks * channels, channels, 1, sn=sn), _conv(channels, channels, 3, sn=sn)
            )
            if global_fusion
            else None
        )
        up: list[nn.Module] = []
        for _ in range(2):  # two x2 sub-pixel stages = x4, undoing the two stride-2 convs
            up += [
                _conv(channels, channels * 4, 3, sn=sn),
                nn.PixelShuffle(2),
                nn.LeakyReLU(negative_slope, inplace=True),
            ]
        self.up = nn.Sequential(*up)
        self.out = _conv(channels, out_channels, 3, sn=sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % 4 or w % 4:
            raise ValueError(f"FIGANGenerator needs H and W divisible by 4 (two stride-2 convs), got {h}x{w}")
        base = self.down(x)
        feat = base
        outputs: list[torch.Tensor] = []
        for block in self.blocks:
            feat = block(feat)
            outputs.append(feat)
        if self.global_fusion is not None:
            feat = self.global_fusion(torch.cat(outputs, dim=1))
        return self.out(self.up(base + feat))  # global residual over the dense trunk
