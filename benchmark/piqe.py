"""PIQE: Perception based Image Quality Evaluator, a no-reference quality score (lower is better).

Why: LoHiResGAN reports PIQE on translated 64 mT -> 3 T images, where no reference may exist. This is an
independent, block-vectorised implementation of Venkatanath N. et al., "Blind image quality evaluation
using perception based features", NCC 2015, following MATLAB's ``piqe`` (Image Processing Toolbox):

1. Grey levels: ``round(255 * x)``, ``x`` in [0, 1] (MATLAB ``round(255*im2double(I))``, halves away from 0).
   Not invariant to intensity scale: a dim image (max << 1) is not stretched and scores worse, up to 100
   (pypiqe instead divides by the image max). Normalise images the same way before comparing models.
2. MSCN: ``(I - mu) / (sigma + 1)``; ``mu``, ``sigma`` from a 7x7 Gaussian window, sigma 7/6, replicate
   border, ``sigma = sqrt(|G*I^2 - mu^2|)``.
3. Rows/columns are padded (replicate, bottom/right) to a multiple of 16; non-overlapping 16x16 blocks.
4. A block is active when the sample variance (ddof 1) of its MSCN values exceeds 0.1.
5. Noticeable artifact: on any of the 4 block borders, some run of 6 contiguous pixels has std (ddof 1) < 0.1.
6. Noise: ``s = sqrt(var)``; ``r = std(centre) / std(surround)`` where the centre is block columns 7 and 8
   (0-based) and the surround the 16x14 block without columns 7 and 9 -- MATLAB deletes column 8 and then
   "column 9" of the already shortened block; we keep that quirk so scores match (r = 0 when it is nan).
   ``beta = |s - r| / max(s, r)``; noisy when ``s > 2 * beta``.
7. Block distortion: ``(1 - var)`` if artifact, plus ``var`` if noisy.
   Score = ``100 * (sum of distortions + 1) / (number of active blocks + 1)``.

A uniform image has no active block and scores 100 (MATLAB's documented behaviour). The result is clipped to
[0, 100], the documented range; MATLAB itself does not clip, but on real images the raw value stays inside.
"""
from __future__ import annotations

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import correlate1d

BLOCK = 16
ACTIVITY_T = 0.1
ARTIFACT_T = 0.1
SEGMENT = 6
C = 1.0


def _gauss_kernel(size: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    k = np.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


_KERNEL = _gauss_kernel()


def _blur(a: np.ndarray) -> np.ndarray:
    """Separable 7x7 Gaussian (sigma 7/6) with replicate border, as ``imgaussfilt(..., 'replicate')``."""
    return correlate1d(correlate1d(a, _KERNEL, axis=0, mode="nearest"), _KERNEL, axis=1, mode="nearest")


def _to_unit_grey(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """2-D float64 in [0, 1]: integers scaled by their dtype range (``im2double``), floats clipped."""
    if isinstance(image, torch.Tensor):
        image = image.detach().to("cpu")
        image = (image.double() if image.is_floating_point() else image).numpy()
    a = np.asarray(image)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"PIQE needs one 2-D grey image, got shape {np.shape(image)}")
    if a.size == 0:
        raise ValueError("PIQE needs a non-empty image")
    if a.dtype == np.bool_:
        return a.astype(np.float64)
    if np.issubdtype(a.dtype, np.integer):
        info = np.iinfo(a.dtype)
        return (a.astype(np.float64) - info.min) / (info.max - info.min)
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError("PIQE needs a finite image (found nan or inf)")
    return np.clip(a, 0.0, 1.0)


def _mscn(grey255: np.ndarray) -> np.ndarray:
    mu = _blur(grey255)
    sigma = np.sqrt(np.abs(_blur(grey255 * grey255) - mu * mu))
    return (grey255 - mu) / (sigma + C)


def _blocks(a: np.ndarray) -> np.ndarray:
    """(N, 16, 16) view of the non-overlapping blocks, row-major."""
    h, w = a.shape
    return a.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).swapaxes(1, 2).reshape(-1, BLOCK, BLOCK)


def _has_artifact(blocks: np.ndarray) -> np.ndarray:
    """Any 6-pixel run on the top, right, bottom or left border with std < 0.1."""
    edges = np.stack([blocks[:, 0, :], blocks[:, :, -1], blocks[:, -1, :], blocks[:, :, 0]], axis=1)
    seg_std = sliding_window_view(edges, SEGMENT, axis=2).std(axis=-1, ddof=1)  # (N, 4, 11)
    return (seg_std < ARTIFACT_T).any(axis=(1, 2))


def _is_noisy(blocks: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Centre-surround criterion (see module docstring, step 6)."""
    mid = BLOCK // 2  # 8 for 16: MATLAB centre columns 8 and 9 (1-based)
    centre = blocks[:, :, mid - 1 : mid + 1].reshape(len(blocks), 2 * BLOCK)
    keep = np.ones(BLOCK, dtype=bool)
    keep[[mid - 1, mid + 1]] = False  # MATLAB's sequential deletion removes 0-based columns 7 and 9
    surround = blocks[:, :, keep].reshape(len(blocks), BLOCK * (BLOCK - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = centre.std(axis=1, ddof=1) / surround.std(axis=1, ddof=1)
        ratio = np.where(np.isnan(ratio), 0.0, ratio)
        s = np.sqrt(var)
        beta = np.abs(s - ratio) / np.maximum(s, ratio)
        return s > 2 * beta  # nan beta (0/0 or inf/inf) compares False, as in MATLAB


def piqe(image: np.ndarray | torch.Tensor) -> float:
    """PIQE score in [0, 100] (lower is better) of one grey image.

    ``image``: 2-D (or with leading singleton dims) array or tensor; floats are read as [0, 1] intensities
    (clipped), integer dtypes are scaled by their full range (uint8 /255, uint16 /65535) as MATLAB does.
    """
    unit = _to_unit_grey(image)
    grey = np.floor(255.0 * unit + 0.5)  # MATLAB round: halves away from zero (values are >= 0)
    h, w = grey.shape
    pad = ((0, -h % BLOCK), (0, -w % BLOCK))
    grey = np.pad(grey, pad, mode="edge")
    blocks = _blocks(_mscn(grey))
    var = blocks.reshape(len(blocks), BLOCK * BLOCK).var(axis=1, ddof=1)
    active = var > ACTIVITY_T
    blocks, var = blocks[active], var[active]
    distortion = np.where(_has_artifact(blocks), 1.0 - var, 0.0) + np.where(_is_noisy(blocks, var), var, 0.0)
    score = 100.0 * (distortion.sum() + C) / (active.sum() + C)
    return float(np.clip(score, 0.0, 100.0))


def piqe_batch(t: torch.Tensor) -> list[float]:
    """PIQE of each image of a (B, 1, H, W) batch of [0, 1] grey images."""
    if t.ndim != 4 or t.shape[1] != 1:
        raise ValueError(f"piqe_batch needs a (B, 1, H, W) tensor, got {tuple(t.shape)}")
    return [piqe(x[0]) for x in t]
