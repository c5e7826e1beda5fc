"""Image metrics, one definition each, with the protocol written into it.

Three kinds, each scored per image of a batch and declaring whether higher or lower is better:
- full reference (PSNR, SSIM, NRMSE, RMSE, MAE): an image against the batch's target, inside the boolean mask
  (B, 1, H, W) when the dataset scores inside one (MRI: brain mask), averaged over channels;
- no reference (PIQE): the image alone, whole image, per channel then averaged;
- region ratios (SBR, T/NT for NIR): means of the image's linear intensities inside the batch's region masks.

Protocol shared by all: images are float tensors (B, C, H, W) in [0, 1] (data range 1); the prediction is
clamped to [0, 1] before scoring. Undefined values are NaN, never a division by zero: NRMSE of an all-zero
target; any metric of an empty mask; a region ratio whose masks are missing from the batch.
PSNR of a perfect prediction is capped at 100 dB (MSE floored at 1e-10).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from benchmark.piqe import piqe as piqe_score
from benchmark.ratios import signal_to_background_ratio, tumour_to_normal_ratio

MSE_FLOOR = 1e-10
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


@dataclass(frozen=True)
class Metric:
    name: str
    better: str  # "higher" | "lower"
    protocol: str
    # full_reference: fn(image, target, mask); no_reference: fn(image); region: fn(image, batch)
    fn: Callable[..., torch.Tensor]
    kind: str = "full_reference"  # "full_reference" | "no_reference" | "region"
    label: str = ""  # column heading; the upper-case name when empty

    @property
    def arrow(self) -> str:
        return "↑" if self.better == "higher" else "↓"

    @property
    def title(self) -> str:
        return self.label or self.name.upper()

    def of(self, image: torch.Tensor, batch: dict[str, Any], mask: torch.Tensor | None) -> torch.Tensor:
        """Per-image values (B,) of `image` (a prediction, the source or the target) for this batch."""
        if self.kind == "full_reference":
            return self.fn(image, batch["target"].float(), mask)
        if self.kind == "no_reference":
            return self.fn(image)
        return self.fn(image, batch)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over (C, H, W) per image, restricted to the mask; NaN where the mask is empty."""
    if mask is None:
        return values.flatten(1).mean(1)
    weights = mask.to(values.dtype).expand_as(values)
    total = weights.flatten(1).sum(1)
    return (values * weights).flatten(1).sum(1) / total.where(total > 0, torch.full_like(total, float("nan")))


def mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    return _masked_mean((pred - target) ** 2, mask)


def psnr(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """10 log10(1 / MSE), data range 1."""
    return 10 * torch.log10(1.0 / mse(pred, target, mask).clamp_min(MSE_FLOOR))


def rmse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    return mse(pred, target, mask).sqrt()


def nrmse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """||target - pred|| / ||target|| (scikit-image's default 'euclidean' normalisation)."""
    energy = _masked_mean(target**2, mask)
    return rmse(pred, target, mask) / energy.sqrt().where(energy > 0, torch.full_like(energy, float("nan")))


def mae(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    return _masked_mean((pred - target).abs(), mask)


def _gaussian_window(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    coords = torch.arange(SSIM_WINDOW, dtype=dtype, device=device) - SSIM_WINDOW // 2
    g = torch.exp(-(coords**2) / (2 * SSIM_SIGMA**2))
    return g / g.sum()


def _blur_valid(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter over the 'valid' region (no padding), channel by channel."""
    c = x.shape[1]
    x = F.conv2d(x, window.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, window.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ssim_map(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM map over the valid region (H - 10, W - 10), computed in float64.

    Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, population covariance, data range 1: the same numbers as
    scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=1), which also discards the 5-pixel border before averaging. (torchmetrics averages a
    different border region, so its per-image value differs from scikit-image's by ~1e-3.)
    """
    if min(pred.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {tuple(pred.shape[-2:])}")
    x, y = pred.double(), target.double()
    w = _gaussian_window(x.dtype, x.device)
    mu_x, mu_y = _blur_valid(x, w), _blur_valid(y, w)
    var_x = _blur_valid(x * x, w) - mu_x**2
    var_y = _blur_valid(y * y, w) - mu_y**2
    cov = _blur_valid(x * y, w) - mu_x * mu_y
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))


def ssim(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean SSIM over the valid region, inside the (equally cropped) mask when given."""
    values = ssim_map(pred, target)
    border = SSIM_WINDOW // 2
    inner = None if mask is None else mask[..., border:-border, border:-border]
    return _masked_mean(values, inner).to(pred.dtype)


def _per_image(values: list[float], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, device=like.device)


def piqe(image: torch.Tensor) -> torch.Tensor:
    """PIQE (`benchmark.piqe`, MATLAB convention: grey levels round(255 x) of [0, 1] floats) per image,
    each channel scored as a grey image, then averaged; the whole image (no-reference: no mask)."""
    scores = [sum(piqe_score(channel) for channel in img) / img.shape[0] for img in image.detach().float().cpu()]
    return _per_image(scores, image)


def _region_masks(batch: dict[str, Any], key: str, index: int) -> torch.Tensor | None:
    value = batch.get(key)
    return None if value is None else value[index][0].bool()


def sbr(image: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """Signal-to-background ratio: mean inside the batch `mask` (the signal region) over the mean inside
    `background_mask` when given, else outside the signal; first channel; NaN without a mask."""
    values = []
    for i in range(image.shape[0]):
        signal, background = _region_masks(batch, "mask", i), _region_masks(batch, "background_mask", i)
        values.append(float("nan") if signal is None
                      else signal_to_background_ratio(image[i, 0].float(), signal, background))
    return _per_image(values, image)


def tnr(image: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """Tumour-to-normal-tissue ratio from the aux masks `tumour_mask` and `normal_mask`; NaN without them."""
    values = []
    for i in range(image.shape[0]):
        tumour, normal = _region_masks(batch, "tumour_mask", i), _region_masks(batch, "normal_mask", i)
        values.append(float("nan") if tumour is None or normal is None
                      else tumour_to_normal_ratio(image[i, 0].float(), tumour, normal))
    return _per_image(values, image)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("psnr", "higher", "10 log10(1/MSE), data range 1, MSE floored at 1e-10 (cap 100 dB)", psnr),
        Metric("ssim", "higher", "Gaussian window 11, sigma 1.5, population covariance, 5-pixel border "
                                 "discarded, data range 1 (= scikit-image gaussian_weights=True)", ssim),
        Metric("nrmse", "lower", "RMSE / RMS(target) (scikit-image 'euclidean'); NaN for an all-zero target",
               nrmse),
        Metric("rmse", "lower", "sqrt(MSE), data range 1", rmse),
        Metric("mae", "lower", "mean absolute error, data range 1", mae),
        Metric("piqe", "lower", "no-reference PIQE (Venkatanath et al. 2015, MATLAB piqe): grey levels "
                                "round(255 x) of the [0, 1] image, not rescaled to its maximum; whole image; "
                                "0-100", piqe, kind="no_reference"),
        Metric("sbr", "higher", "signal-to-background ratio of linear intensities: mean in the signal mask / "
                                "mean outside it (Ma et al. 2021); NaN when the background mean is <= 0",
               sbr, kind="region", label="SBR"),
        Metric("tnr", "higher", "tumour-to-normal-tissue ratio: mean in the tumour mask / mean in the normal-"
                                "tissue mask (Ma et al. 2021)", tnr, kind="region", label="T/NT"),
    )
}
FULL_REFERENCE: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.kind == "full_reference")
NO_REFERENCE: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.kind == "no_reference")
REGION: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.kind == "region")
