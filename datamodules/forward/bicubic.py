"""The x4 bicubic degradation of FI-GAN (Zhang C. et al., Biomed. Opt. Express 10(9):4742, 2019).

A high-resolution image X gives the low-resolution image D(X) (x`scale` bicubic down-sampling) and the network
input Y = U(D(X)) (bicubic up-sampling back to X's size), so input and target have the same size.

One documented implementation, PyTorch's: ``torch.nn.functional.interpolate(mode="bicubic",
align_corners=False)`` (Keys cubic convolution, a = -0.75), with ``antialias=True`` for the down-sampling (the
kernel is stretched by the scale factor, as MATLAB's ``imresize``, so D integrates over each 4x4 block instead
of aliasing it). Bicubic overshoots, so both D(X) and Y are clipped to [0, 1]: they are images a microscope
would store. Images are first cropped (top-left) to a multiple of the scale.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """Top-left crop of the last two dimensions to multiples of ``multiple``."""
    h, w = image.shape[-2:]
    return image[..., : h - h % multiple, : w - w % multiple]


def _as_batch(image: torch.Tensor) -> tuple[torch.Tensor, int]:
    dims = image.dim()
    while image.dim() < 4:
        image = image.unsqueeze(0)
    return image.float(), dims


def _restore(image: torch.Tensor, dims: int) -> torch.Tensor:
    while image.dim() > dims:
        image = image.squeeze(0)
    return image


def downsample(image: torch.Tensor, scale: int = 4) -> torch.Tensor:
    """D: antialiased bicubic down-sampling by ``scale`` (sizes: multiples of it), clipped to [0, 1]."""
    x, dims = _as_batch(image)
    h, w = x.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"image size {h}x{w} is not a multiple of the scale {scale}")
    out = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", align_corners=False, antialias=True)
    return _restore(out.clamp(0, 1), dims)


def upsample(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """U: bicubic up-sampling to ``size``, clipped to [0, 1]."""
    x, dims = _as_batch(image)
    out = F.interpolate(x, size=tuple(size), mode="bicubic", align_corners=False)
    return _restore(out.clamp(0, 1), dims)


def degrade(target: torch.Tensor, scale: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """(Y, D(X)) for a high-resolution X whose size is a multiple of ``scale``: Y = U(D(X)) at X's size."""
    low = downsample(target, scale)
    return upsample(low, tuple(target.shape[-2:])), low
