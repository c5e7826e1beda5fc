"""`richardson-lucy`: Richardson-Lucy deconvolution, the classical baseline of the x4 super-resolution task.

Richardson, JOSA 1972; Lucy, AJ 1974; scikit-image's `restoration.richardson_lucy`.

The x4 input is Y = U(D(X)) (`datamodules.forward.bicubic`): antialiased bicubic down-sampling, then bicubic
up-sampling. Averaged over the 16 sub-pixel phases its transfer function (MTF) is flat up to a quarter of the
low-resolution Nyquist frequency, halves at 0.103 cycles/pixel and vanishes beyond the low-resolution Nyquist
0.125; the impulse response has small negative side lobes (Keys' a = -0.75 kernel). Richardson-Lucy needs a
non-negative PSF, so we use the Gaussian whose MTF halves at the same frequency: sigma = sqrt(ln 2 / 2) / (pi
f50) = 0.455 x scale pixels (1.82 px at x4), truncated at 3 sigma (`tests/test_models_zoo.py` re-derives it
from the forward model). A least-squares fit to the impulse response instead (sigma 2.08 px) over-sharpens: it
ignores the flat, slightly >1 low-frequency part of the MTF. Images are reflect-padded by the PSF radius
before the (FFT) deconvolution and cropped back, so borders do not ring. 5 iterations: scikit-image starts
from a flat 0.5 image, and on synthetic x4 fluorescence scenes PSNR peaks at 5 iterations, then falls (RL
amplifies noise and ringing with every iteration); the estimate is clipped to [0, 1].

Where it applies: `fluorescence` (x4). It runs on every dataset, applied as it is (a floor, not a method
there): the runner fills `scale` from the dataset, so on the same-size tasks (scale 1) the PSF shrinks to
sigma 0.455 px; deconvolving a sharp but noisy image then mostly amplifies the noise, and the result scores
near or below the input (on the synthetic smoke data: -0.3 to -2.3 dB PSNR; +1.3 dB on the x4 task).
"""
from __future__ import annotations

import numpy as np
from skimage.restoration import richardson_lucy

from benchmark.option_types import PositiveFloat, PositiveInt
from models import register_model
from models.classical import ClassicalModel

# The Gaussian with the MTF half-maximum of the phase-averaged bicubic blur: sigma per unit of scale.
BICUBIC_SIGMA_PER_SCALE = 0.455


def gaussian_psf(sigma: float, truncate: float = 3.0) -> np.ndarray:
    """A normalised 2-D Gaussian of odd size covering +-`truncate` sigma (at least 3x3)."""
    radius = max(1, int(np.ceil(truncate * sigma)))
    axis = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (axis / sigma) ** 2)
    psf = np.outer(kernel, kernel)
    return psf / psf.sum()


@register_model("richardson-lucy")
class RichardsonLucyModel(ClassicalModel):
    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256, scale: int = 4,
                 psf_sigma: PositiveFloat | None = None, num_iter: PositiveInt = 5) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()
        self.psf = gaussian_psf(psf_sigma or BICUBIC_SIGMA_PER_SCALE * scale)

    def restore(self, image: np.ndarray) -> np.ndarray:
        radius = self.psf.shape[0] // 2
        padded = np.pad(image, radius, mode="reflect") if min(image.shape) > radius else image
        out = richardson_lucy(padded, self.psf, num_iter=self.hparams.num_iter, clip=True,
                              filter_epsilon=1e-6)
        return out[radius:-radius, radius:-radius] if padded is not image else out
