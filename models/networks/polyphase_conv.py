"""A convolution with one output channel, computed on the CPU as a polyphase convolution (same function).

Why: oneDNN vectorises a CPU convolution over its output channels, so a wide kernel with a single output
(CycleGAN's and LoHiResGAN's 7x7 16->1 output layer at the full image size) runs far below the CPU's matmul
rate and takes a large share of the training step. Splitting the output into the `s*s` phases of each s x s
cell turns the same convolution into a stride-`s` one with `s*s` outputs, each phase's kernel the original one
shifted by its offset on a zero canvas; `pixel_shuffle` puts the phases back. Both compute the same sums (the
zeros add nothing), so the result differs at most by floating-point rounding, and the weights stay one
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
    """(O, C, kh, kw) -> (O*s*s, C, s*k, s*k): output phase (p, q) is the original kernel shifted by (p, q)
    on a zero canvas, the window an output at offset (p, q) of an s x s cell reads from the cell's corner."""
    out_c, in_c, kh, kw = weight.shape
    side = s * -(-(s - 1 + max(kh, kw)) // s)
    shifted = [F.pad(weight, (q, side - kw - q, p, side - kh - p)) for p in range(s) for q in range(s)]
    return torch.stack(shifted, dim=1).reshape(out_c * s * s, in_c, side, side)


def polyphase_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, s: int = PHASES) -> torch.Tensor:
    """`F.conv2d(x, weight, bias)` (stride 1, no padding) as a stride-`s` convolution with `s*s` outputs."""
    kh, kw = weight.shape[-2:]
    height, width = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    kernel = polyphase_weight(weight, s)
    side = kernel.shape[-1]
    rows, cols = -(-height // s), -(-width // s)
    x = F.pad(x, (0, s * (cols - 1) + side - x.shape[-1], 0, s * (rows - 1) + side - x.shape[-2]))
    phases = F.conv2d(x, kernel, None if bias is None else bias.repeat_interleave(s * s), stride=s)
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
