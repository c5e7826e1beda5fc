"""`nlmeans`: non-local means denoising, the classical baseline of the denoising tasks.

Buades, Coll, Morel, "A non-local algorithm for image denoising", CVPR 2005; scikit-image's
`restoration.denoise_nl_means`.

Settings (constructor arguments): scikit-image's fast mode (Darbon et al., ISBI 2008: integral images, so a
run of the test set takes seconds), 5x5 patches searched within 6 pixels, the noise sigma estimated per image
by the median absolute deviation of the finest diagonal Haar wavelet coefficients (Donoho and Johnstone,
Biometrika 1994; what `restoration.estimate_sigma` computes with PyWavelets, not a dependency here) unless
given, and filter strength h = 0.6 sigma with sigma subtracted from the patch distances, as scikit-image's own
example recommends for the fast mode with a known sigma.

Where it applies: `fmd` (Poisson-Gaussian microscopy noise), `mri` (the dominant degradation of 64 mT images
is thermal noise) and `nir` (shot-noise-limited NIR-IIa images). It runs on every dataset, applied as it is:
on the x4 task it denoises the (nearly noise-free) bicubic input and so stays close to it, a floor, not a
method.
"""
from __future__ import annotations

import numpy as np
from skimage.restoration import denoise_nl_means

from benchmark.option_types import PositiveFloat, PositiveInt
from models import register_model
from models.classical import ClassicalModel


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Gaussian noise sigma from the MAD of the finest diagonal Haar coefficients (robust to edges)."""
    h, w = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    x = image[:h, :w]
    diagonal = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) / 2.0
    return float(np.median(np.abs(diagonal)) / 0.6745) if diagonal.size else 0.0


@register_model("nlmeans")
class NLMeansModel(ClassicalModel):
    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256,
                 patch_size: PositiveInt = 5, patch_distance: PositiveInt = 6, h_factor: PositiveFloat = 0.6,
                 sigma: PositiveFloat | None = None, fast_mode: bool = True) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()

    def restore(self, image: np.ndarray) -> np.ndarray:
        hp = self.hparams
        sigma = float(hp.sigma) if hp.sigma is not None else estimate_noise_sigma(image)
        if not sigma > 1e-6:  # nothing to remove (and h = 0 would divide by zero)
            return image
        return denoise_nl_means(image, h=hp.h_factor * sigma, sigma=sigma, patch_size=hp.patch_size,
                                patch_distance=hp.patch_distance, fast_mode=hp.fast_mode)
