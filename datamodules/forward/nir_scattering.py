"""Wavelength-dependent tissue optics: how one fluorophore distribution looks in NIR-I, NIR-IIa and NIR-IIb.

Why the NIR-IIb window (1500-1700 nm) gives sharper, higher-contrast images than NIR-IIa (1300-1400 nm) or
NIR-I (700-900 nm) (Ma et al., PNAS 118(1), 2021; Carr et al., PNAS 115(17), 2018): reduced scattering falls
with wavelength, water absorption rises and removes the long-path (multiply scattered) photons that form the
blur halo, and tissue autofluorescence nearly vanishes.

Model, per fluorophore layer at depth d (mm), for an emission wavelength lambda:

- reduced scattering, power law (Jacques, Phys. Med. Biol. 58 R37, 2013, Table 2 averages):
  mu_s'(lambda) = a' (lambda / 500 nm)^(-b); soft tissue a' = 1.89 /mm, b = 1.286; skin 4.60 /mm, 1.421;
  brain 2.42 /mm, 1.611;
- absorption mu_a = water fraction (0.7) x water absorption (Hale & Querry, Appl. Opt. 12, 1973: about 0.0043,
  0.12 and 0.65 /mm at 850, 1300 and 1600 nm) + 0.02 /mm for blood and other chromophores;
- the emerging light splits into quasi-ballistic (snake) photons, fraction exp(-mu_s' d), imaged with a narrow
  PSF (system blur plus slight depth spreading), and diffuse photons, fraction 1 - exp(-mu_s' d), which spread
  over a Gaussian halo of sigma ~ 0.8 d (the surface profile of a buried point source in the diffusion regime)
  and travel a longer path L ~ d (1 + mu_s' d) (random walk of d mu_s' transport lengths), so they are
  attenuated by exp(-mu_a L) instead of exp(-mu_a d);
- autofluorescence: a smooth tissue background whose level falls steeply with wavelength (Diao et al.,
  Nano Res. 8, 2015): 0.25, 0.05 and 0.01 of the signal's robust peak in NIR-I, NIR-IIa and NIR-IIb;
- shot noise at ``photons`` photons for the image's robust peak, plus a small Gaussian read noise (InGaAs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TISSUES: dict[str, tuple[float, float]] = {  # a' (1/mm at 500 nm), b
    "soft_tissue": (1.89, 1.286),
    "skin": (4.60, 1.421),
    "brain": (2.42, 1.611),
}
WATER_FRACTION = 0.7
OTHER_ABSORPTION = 0.02  # 1/mm


@dataclass(frozen=True)
class Band:
    """An emission window: centre wavelength, water absorption there, relative autofluorescence."""

    name: str
    wavelength_nm: float
    water_absorption: float  # 1/mm
    autofluorescence: float


BANDS: dict[str, Band] = {
    "nir_i": Band("NIR-I", 850.0, 0.0043, 0.25),
    "nir_iia": Band("NIR-IIa", 1300.0, 0.12, 0.05),
    "nir_iib": Band("NIR-IIb", 1600.0, 0.65, 0.01),
}


def reduced_scattering(band: Band, tissue: str = "soft_tissue") -> float:
    """mu_s' in 1/mm."""
    a, b = TISSUES[tissue]
    return a * (band.wavelength_nm / 500.0) ** (-b)


def absorption(band: Band) -> float:
    """mu_a in 1/mm."""
    return WATER_FRACTION * band.water_absorption + OTHER_ABSORPTION


@dataclass(frozen=True)
class LayerPSF:
    """Two-component PSF of a layer: weights and Gaussian sigmas (pixels)."""

    sharp_weight: float
    sharp_sigma: float
    halo_weight: float
    halo_sigma: float


def layer_psf(band: Band, depth_mm: float, tissue: str = "soft_tissue", pixel_mm: float = 0.1,
              system_sigma: float = 0.7) -> LayerPSF:
    """The PSF of a fluorophore layer at ``depth_mm`` seen through tissue in ``band``."""
    mus, mua = reduced_scattering(band, tissue), absorption(band)
    ballistic = np.exp(-mus * depth_mm)
    path = depth_mm * (1.0 + mus * depth_mm)
    return LayerPSF(
        sharp_weight=float(ballistic * np.exp(-mua * depth_mm)),
        sharp_sigma=float(np.hypot(system_sigma, 0.1 * depth_mm / pixel_mm)),
        halo_weight=float((1.0 - ballistic) * np.exp(-mua * path)),
        halo_sigma=float(np.hypot(system_sigma, 0.8 * depth_mm / pixel_mm)),
    )


def blur_layers(layers: list[tuple[np.ndarray, float]], bands: list[Band], tissue: str = "soft_tissue",
                pixel_mm: float = 0.1, pad: int = 32) -> list[np.ndarray]:
    """Noise-free images of fluorophore ``layers`` (map, depth in mm) in each band.

    Blurring is linear, so every layer is Fourier-transformed once (zero-padded by ``pad`` pixels: no light
    from outside the field) and blurred by its sharp and halo Gaussians (whose widths depend on depth only);
    each band then weighs and sums those spectra and needs a single inverse FFT.
    """
    shape = layers[0][0].shape
    padded = (shape[0] + 2 * pad, shape[1] + 2 * pad)
    fy, fx = np.fft.fftfreq(padded[0])[:, None], np.fft.rfftfreq(padded[1])[None, :]
    radius2 = -2.0 * np.pi ** 2 * (fy ** 2 + fx ** 2)
    totals = [np.zeros((padded[0], padded[1] // 2 + 1), dtype=np.complex128) for _ in bands]
    for fluor, depth in layers:
        spectrum = np.fft.rfft2(np.pad(fluor, pad))
        reference = layer_psf(bands[0], depth, tissue, pixel_mm)
        sharp = spectrum * np.exp(radius2 * reference.sharp_sigma ** 2)
        halo = spectrum * np.exp(radius2 * reference.halo_sigma ** 2)
        for total, band in zip(totals, bands):
            psf = layer_psf(band, depth, tissue, pixel_mm)
            total += psf.sharp_weight * sharp + psf.halo_weight * halo
    return [np.fft.irfft2(total, s=padded)[pad: pad + shape[0], pad: pad + shape[1]] for total in totals]


def acquire(clean: np.ndarray, tissue_map: np.ndarray, band: Band, rng: np.random.Generator,
            photons: float = 400.0, read_noise: float = 0.004) -> np.ndarray:
    """Camera frame in [0, 1]: signal scaled to a robust peak of 1, plus autofluorescence of ``tissue_map``
    (in [0, 1]), shot noise at ``photons`` for that peak and read noise; then stretched so its 99.8th
    percentile is 1 and clipped, like a display-stretched 8-bit NIR frame."""
    peak = float(np.percentile(clean, 99.5)) or 1.0
    image = np.clip(clean / peak + band.autofluorescence * tissue_map, 0.0, None)
    noisy = rng.poisson(image * photons) / photons + rng.normal(0.0, read_noise, image.shape)
    top = float(np.percentile(noisy, 99.8)) or 1.0
    return np.clip(noisy / top, 0.0, 1.0)
