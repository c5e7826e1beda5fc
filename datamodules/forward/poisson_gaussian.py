"""The Poisson-Gaussian noise of fluorescence microscopy, and FMD's frame averaging.

Model (Foi et al., IEEE TIP 17(10), 2008; used by Zhang et al., "A Poisson-Gaussian denoising dataset with
real fluorescence microscopy images", CVPR 2019, Sec. 3): a capture of the clean intensity x in [0, 1] is

    y = a * Poisson(x / a) + N(0, b),     so  E[y] = x,  Var[y] = a * x + b,

with a the inverse photon gain (x / a photons) and b the signal-independent (read/dark) variance. FMD's noise
level n is the average of n captures and its ground truth the average of 50, so Var falls as (a x + b) / n.

Averages are drawn exactly and cheaply: a sum of k independent Poisson(x / a) draws is Poisson(k x / a), and
a sum of k N(0, b) draws is N(0, k b). Levels are nested like FMD's (the average of 2 contains the raw
capture, the average of 50 contains all of them), so the noise of an input and of its avg50 ground truth are
correlated as in the real dataset. Clipping to [0, 1] and 8-bit quantisation act on the averaged image (FMD
stores 8-bit PNGs); per-capture clipping is ignored (it only matters for saturated pixels).

Parameter ranges per microscope kind, on the [0, 1] scale of 8-bit images. The FMD paper estimates (a, b) for
every raw image and finds Poisson noise dominant (b near zero) for the PMT-based confocal and two-photon
microscopes and a larger Gaussian term for the camera-based wide-field microscope. The ranges below span that
picture and were checked against the real pairs in `shared/data/fmd` (fitting Var[raw - gt] = a gt + b gives
confocal a 0.024-0.081, b ~0-0.0014; two-photon a 0.036, b ~0; wide-field a 0.0015-0.016, b 0.0023-0.012).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEVELS = (1, 2, 4, 8, 16)  # FMD noise levels: raw, avg2, avg4, avg8, avg16
GT_CAPTURES = 50  # FMD ground truth: the average of 50 captures

#: (a range, b range), sampled log-uniformly.
MICROSCOPE_NOISE: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "confocal": ((0.01, 0.08), (1e-5, 1.5e-3)),
    "two_photon": ((0.01, 0.06), (1e-5, 5e-4)),
    "widefield": ((0.0015, 0.02), (5e-4, 1.2e-2)),
}


@dataclass(frozen=True)
class NoiseParams:
    """Var[y] = a * x + b for one capture (intensities in [0, 1])."""

    a: float
    b: float

    def variance(self, x: np.ndarray | float, n: int = 1) -> np.ndarray | float:
        """Variance of the average of ``n`` captures at clean intensity ``x``."""
        return (self.a * np.asarray(x) + self.b) / n


def sample_params(rng: np.random.Generator, microscope: str) -> NoiseParams:
    """Noise parameters of one field of view, log-uniform in the microscope kind's ranges."""
    (a_lo, a_hi), (b_lo, b_hi) = MICROSCOPE_NOISE[microscope]
    a = float(np.exp(rng.uniform(np.log(a_lo), np.log(a_hi))))
    b = float(np.exp(rng.uniform(np.log(b_lo), np.log(b_hi))))
    return NoiseParams(a, b)


def averaged_captures(rng: np.random.Generator, clean: np.ndarray, params: NoiseParams,
                      counts: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Unclipped averages of the first n captures for every n in ``counts`` (nested; exact in law)."""
    x = np.clip(clean, 0.0, None)
    photons_sum = np.zeros_like(x)
    gauss_sum = np.zeros_like(x)
    out: dict[int, np.ndarray] = {}
    done = 0
    for n in sorted(set(counts)):
        k = n - done
        photons_sum += rng.poisson(k * x / params.a)
        gauss_sum += rng.normal(0.0, np.sqrt(k * params.b), size=x.shape)
        done = n
        out[n] = (params.a * photons_sum + gauss_sum) / n
    return out


def quantize(image: np.ndarray, bits: int | None = 8) -> np.ndarray:
    """Clip to [0, 1] and round to ``bits`` (None: clip only), as a stored image."""
    image = np.clip(image, 0.0, 1.0)
    if bits is None:
        return image
    levels = float(2 ** bits - 1)
    return np.round(image * levels) / levels
