"""Region intensity ratios for NIR fluorescence: signal-to-background (SBR) and tumour-to-normal (T/NT).

Why: Ma et al., PNAS 2021 ("Deep learning for in vivo near-infrared imaging") judge NIR-I/IIa -> NIR-IIb
translation by how well a target stands out from its surroundings, e.g. lymph-node SBR from 8.44 to 117, and
tumour-to-normal-tissue ratios. Both are a ratio of region means of the raw (linear) intensities:

    ratio = mean(image[numerator_mask]) / mean(image[denominator_mask])

Undefined cases return ``float("nan")`` (the leaderboard shows nan as "n/a") instead of raising or dividing by
zero: an empty numerator or denominator region, or a denominator mean <= 0 (a ratio against a zero or negative
background level carries no meaning and would flip the ranking). Masks are boolean (or 0/1) arrays of the
image's shape; numpy arrays and torch tensors are both accepted.
"""
from __future__ import annotations

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


def _np(a: ArrayLike) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().to("cpu")
        a = a.double() if a.is_floating_point() else a
        return a.numpy()
    return np.asarray(a)


def _mask(mask: ArrayLike, shape: tuple[int, ...], name: str) -> np.ndarray:
    m = _np(mask)
    if m.shape != shape:
        raise ValueError(f"{name} has shape {m.shape}, the image {shape}")
    return m.astype(bool)


def _region_ratio(
    image: ArrayLike, num_mask: ArrayLike, den_mask: ArrayLike, names: tuple[str, str]
) -> float:
    img = _np(image).astype(np.float64)
    num = _mask(num_mask, img.shape, names[0])
    den = _mask(den_mask, img.shape, names[1])
    if not num.any() or not den.any():
        return float("nan")
    den_mean = img[den].mean()
    if not den_mean > 0:  # also catches nan
        return float("nan")
    return float(img[num].mean() / den_mean)


def signal_to_background_ratio(
    image: ArrayLike, signal_mask: ArrayLike, background_mask: ArrayLike | None = None
) -> float:
    """SBR = mean inside ``signal_mask`` / mean inside ``background_mask``.

    Without ``background_mask`` the background is every pixel outside the signal mask. Returns nan when
    either region is empty or the background mean is <= 0.
    """
    if background_mask is None:
        background_mask = ~_mask(signal_mask, tuple(_np(image).shape), "signal_mask")
    return _region_ratio(image, signal_mask, background_mask, ("signal_mask", "background_mask"))


def tumour_to_normal_ratio(image: ArrayLike, tumour_mask: ArrayLike, normal_mask: ArrayLike) -> float:
    """T/NT = mean inside ``tumour_mask`` / mean inside ``normal_mask`` (nan rules as for the SBR)."""
    return _region_ratio(image, tumour_mask, normal_mask, ("tumour_mask", "normal_mask"))
