"""A convolution with one output channel, computed on the CPU as a polyphase convolution (same function).

Why: oneDNN vectorises a CPU convolution over its output channels, so a wide kernel with a single output
(CycleGAN's and LoHiResGAN's 7x7 16->1 output layer at the full image size) runs at a few per cent of the
CPU's matmul rate and takes a large share of the training step. Rearranging the input with a space-to-depth
of factor `s` (`pixel_unshuffle`) turns the same convolution into one with `s*s` outputs and `C*s*s` inputs
on an `s` times smaller grid, whose kernel holds the original weights at the positions each output phase
reads (zeros elsewhere); `pixel_shuffle` puts the phases back. Both sides compute exactly the same sums, so
the result differs only by floating-point rounding (the order of the additions), and the weights stay one
`nn.Conv2d` weight with the usual keys.

Used on the CPU only, where it was measured; CUDA and `plain_convolutions()` (the FLOP counter's setting, so
MFU counts the network's own FLOPs, not the zeros of the rearranged kernel) take `nn.Conv2d`'s path.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

PHASES = 4  # s: with one output channel, 16 outputs per position of the coarse grid
_plain = False


@contextlib.contextmanager
def plain_convolutions() -> Iterator[None]:
    """Within: every `PolyphaseConv2d` runs as the plain convolution it stands for."""
    global _plain
    before, _plain = _plain, True
    try:
        yield
    finally:
        _plain = before


def polyphase_weight(weight: torch.Tensor, s: int) -> torch.Tensor:
    """(O, C, kh, kw) -> (O*s*s, C*s*s, K, K): output phase (p, q) reads input phase (r, t) of coarse offset
    (a, b) through original tap (s*a + r - p, s*b + t - q), zero where that tap is outside the kernel."""
    out_c, in_c, kh, kw = weight.shape
    k = -(-(s - 1 + max(kh, kw)) // s)
    low = s - 1
    padded = F.pad(weight, (low, s * k - kw, low, s * k - kh))
    phase = torch.arange(s, device=weight.device)
    offset = torch.arange(k, device=weight.device)
    taps = s * offset.view(1, 1, k) + phase.view(1, s, 1) - phase.view(s, 1, 1) + low  # [p, r, a]
    gathered = padded[:, :, taps][..., taps]  # [o, c, p, r, a, q, t, b]
    return gathered.permute(0, 2, 5, 1, 3, 6, 4, 7).reshape(out_c * s * s, in_c * s * s, k, k)


def polyphase_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, s: int = PHASES) -> torch.Tensor:
    """`F.conv2d(x, weight, bias)` (stride 1, no padding) through a space-to-depth of factor `s`."""
    kh, kw = weight.shape[-2:]
    height, width = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    kernel = polyphase_weight(weight, s)
    k = kernel.shape[-1]
    rows, cols = -(-height // s), -(-width // s)
    x = F.pad(x, (0, s * (cols + k - 1) - x.shape[-1], 0, s * (rows + k - 1) - x.shape[-2]))
    phases = F.conv2d(F.pixel_unshuffle(x, s), kernel, None if bias is None else bias.repeat_interleave(s * s))
    return F.pixel_shuffle(phases, s)[..., :height, :width]


class PolyphaseConv2d(nn.Conv2d):
    """`nn.Conv2d(in_channels, 1, kernel_size)` (stride 1, zero padding), polyphase on the CPU."""

    def __init__(self, in_channels: int, kernel_size: int, padding: int = 0, bias: bool = True) -> None:
        super().__init__(in_channels, 1, kernel_size, padding=padding, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _plain or x.device.type != "cpu":
            return super().forward(x)
        if any(self.padding):
            x = F.pad(x, (self.padding[1], self.padding[1], self.padding[0], self.padding[0]))
        return polyphase_conv2d(x, self.weight, self.bias)
