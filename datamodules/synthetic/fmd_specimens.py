"""Procedural specimens of the 12 FMD imaging types, rendered as clean photon-rate images in [0, 1].

FMD (Zhang et al., CVPR 2019) images fixed BPAE cells (bovine pulmonary artery endothelial cells stained
for mitochondria (MitoTracker, R), F-actin (phalloidin, G) and nuclei (DAPI, B)), zebrafish embryos (FISH)
and mouse brain sections (MICE) with confocal, two-photon and wide-field microscopes, at 512x512 pixels.
The generators draw those structures at FMD's pixel scale (measured on the real samples: nuclei 40-70 px
across, stress fibres and mitochondrial tubules 2-4 px wide, zebrafish nuclei ~30 px with sub-resolution
FISH spots, a membrane-like mesh in brain tissue), so a 128x128 synthetic image looks like a crop of an
FMD field of view.

The microscope kind sets the optics: a Gaussian PSF (confocal sharpest, two-photon a little wider, wide-field
widest plus out-of-focus haze, since it has no optical sectioning) and a dark offset (two-photon PMT offset,
wide-field camera offset plus background), and the noise parameters (see `forward.poisson_gaussian`).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from datamodules.synthetic.primitives import (
    blur,
    draw_curves,
    draw_curves_widths,
    draw_spots,
    percentile_scale,
    smooth_field,
    soft_ellipses,
    trace_curves,
)

Shape = tuple[int, int]

#: FMD type -> (microscope kind, specimen).
FMD_TYPES: dict[str, tuple[str, str]] = {
    "Confocal_BPAE_R": ("confocal", "mitochondria"),
    "Confocal_BPAE_G": ("confocal", "actin"),
    "Confocal_BPAE_B": ("confocal", "nuclei"),
    "Confocal_FISH": ("confocal", "zebrafish"),
    "Confocal_MICE": ("confocal", "brain_tissue"),
    "TwoPhoton_BPAE_R": ("two_photon", "mitochondria"),
    "TwoPhoton_BPAE_G": ("two_photon", "actin"),
    "TwoPhoton_BPAE_B": ("two_photon", "nuclei"),
    "TwoPhoton_MICE": ("two_photon", "brain_tissue"),
    "WideField_BPAE_R": ("widefield", "mitochondria"),
    "WideField_BPAE_G": ("widefield", "actin"),
    "WideField_BPAE_B": ("widefield", "nuclei"),
}

#: PSF sigma range (px), dark offset range, out-of-focus haze weight range, per microscope kind.
OPTICS: dict[str, dict[str, tuple[float, float]]] = {
    "confocal": {"psf": (0.6, 1.1), "offset": (0.0, 0.02), "haze": (0.0, 0.05)},
    "two_photon": {"psf": (0.8, 1.4), "offset": (0.02, 0.09), "haze": (0.0, 0.08)},
    "widefield": {"psf": (1.3, 2.4), "offset": (0.03, 0.2), "haze": (0.25, 0.9)},
}


def _cells(rng: np.random.Generator, shape: Shape, scale: float = 30.0) -> np.ndarray:
    """Soft cytoplasm mask: a thresholded smooth field (BPAE cells are larger than a 128 px crop)."""
    field = smooth_field(rng, shape, scale)
    return 1.0 / (1.0 + np.exp(-(field - rng.uniform(-1.0, 0.3)) * 4.0))


def _centres(rng: np.random.Generator, shape: Shape, n: int, margin: float = 0.0) -> np.ndarray:
    h, w = shape
    return np.stack([rng.uniform(-margin, h + margin, n), rng.uniform(-margin, w + margin, n)], axis=1)


def _nuclei_layer(rng: np.random.Generator, shape: Shape, n: int, radius: tuple[float, float],
                  texture: float) -> tuple[np.ndarray, np.ndarray]:
    """Textured nuclei: the image, and their centres and radii as (n, 3)."""
    centres = _centres(rng, shape, n, margin=radius[0])
    r = rng.uniform(*radius, n)
    radii = np.stack([r, r * rng.uniform(0.65, 1.0, n)], axis=1)
    occ = soft_ellipses(shape, centres, radii, rng.uniform(0, np.pi, n), edge=rng.uniform(0.8, 2.0))
    brightness = np.exp(rng.normal(0.0, 0.3, n))
    grain = smooth_field(rng, shape, rng.uniform(1.5, 3.5))
    chromatin = np.clip(1.0 - texture + texture * (0.6 + 0.4 * grain), 0.05, None)
    image = (occ * brightness[:, None, None]).max(axis=0, initial=0.0) * chromatin
    # Nucleoli: darker round regions inside the nuclei.
    k = rng.poisson(2.0 * n)
    if k:
        pick = rng.integers(0, n, k)
        offsets = rng.normal(0, 0.4, (k, 2)) * r[pick, None]
        holes = soft_ellipses(shape, centres[pick] + offsets, np.repeat(rng.uniform(2.5, 6.0, (k, 1)), 2, 1),
                              np.zeros(k), edge=1.0).max(axis=0)
        image *= 1.0 - 0.45 * holes
    return image, np.concatenate([centres, r[:, None]], axis=1)


def nuclei(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """DAPI-stained nuclei (BPAE blue channel): a few large textured ellipses, dim cytoplasm, some debris."""
    count, texture = int(rng.integers(1, 5)), rng.uniform(0.2, 0.5)
    image, _ = _nuclei_layer(rng, shape, count, (18.0, 34.0), texture=texture)
    image += rng.uniform(0.0, 0.05) * _cells(rng, shape)
    k = rng.poisson(3)
    image += draw_spots(shape, _centres(rng, shape, k), rng.uniform(0.3, 1.2, k), rng.uniform(1.0, 2.0))
    return image


def actin(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Phalloidin-stained F-actin (BPAE green channel): locally aligned stress fibres over the cytoplasm."""
    cells = _cells(rng, shape, rng.uniform(25, 45))
    orientation = rng.uniform(0, np.pi) + rng.uniform(0.1, 0.5) * smooth_field(rng, shape, 40.0)
    n, steps = int(rng.integers(120, 400)), 150
    starts = _centres(rng, shape, n, margin=60.0)
    r = np.clip(starts[:, 0].astype(int), 0, shape[0] - 1)
    c = np.clip(starts[:, 1].astype(int), 0, shape[1] - 1)
    heading = orientation[r, c] + np.pi * rng.integers(0, 2, n) + rng.normal(0, 0.08, n)
    curves = trace_curves(rng, starts, heading, steps, step=1.0, turn=rng.uniform(0.005, 0.02))
    length = rng.uniform(15, steps, n)[:, None]
    along = np.arange(steps)[None, :]
    taper = np.clip(np.minimum(along, length - along) / 6.0, 0.0, 1.0)  # fibres fade in and out
    strength = np.exp(rng.normal(0.0, 0.5, n))[:, None] * taper
    widths = rng.uniform(0.6, 1.2, n)
    fibres = draw_curves_widths(shape, curves, strength, widths, step=1.0, bins=3)
    cytoplasm = rng.uniform(0.05, 0.3) * cells * (1 + 0.3 * smooth_field(rng, shape, 6))
    image = fibres * (0.15 + 0.85 * cells) + cytoplasm
    # Cell cortex: brighter rim where the cytoplasm mask falls off.
    rim = np.clip(cells * (1 - cells) * 4, 0, 1) ** 2
    return np.clip(image + rng.uniform(0.0, 0.4) * rim, 0, None)


def mitochondria(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """MitoTracker-stained mitochondria (BPAE red channel): short tubules, dense around the nucleus."""
    k_cells = int(rng.integers(1, 3))
    centres = _centres(rng, shape, k_cells, margin=30.0)
    radius = rng.uniform(18, 32, k_cells)
    decay = rng.uniform(25, 70, k_cells)
    # Rejection-sample tubule positions from a density that decays away from the nuclear envelope.
    cand = _centres(rng, shape, 6000, margin=4.0)
    dist = np.linalg.norm(cand[:, None, :] - centres[None], axis=2) - radius[None]
    density = np.where(dist > 0, np.exp(-dist / decay[None]), 0.0).max(axis=1)
    density *= 1 + 0.8 * np.clip(smooth_field(rng, (1, 6000), 1)[0], -1, 1)
    keep = cand[rng.uniform(0, 1, len(cand)) < density * rng.uniform(0.05, 0.12)]
    n = len(keep)
    image = np.zeros(shape)
    if n:
        steps = 40
        curves = trace_curves(rng, keep, rng.uniform(0, 2 * np.pi, n), steps, step=0.5, turn=0.15)
        length = rng.uniform(3, steps, n)[:, None]
        strength = np.exp(rng.normal(0.0, 0.4, n))[:, None] * (np.arange(steps)[None] < length)
        image += draw_curves_widths(shape, curves, strength, rng.uniform(0.8, 1.4, n), bins=2)
        image += draw_spots(shape, keep[: n // 4], np.exp(rng.normal(0.0, 0.4, n // 4)), 1.2)
    occ = soft_ellipses(shape, centres, np.repeat(radius[:, None], 2, 1) * [1.0, 0.8],
                        rng.uniform(0, np.pi, k_cells), edge=2.0).max(axis=0)
    image += rng.uniform(0.02, 0.2) * occ + rng.uniform(0.0, 0.06) * _cells(rng, shape)
    return image


def zebrafish(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Zebrafish nuclei with FISH puncta: mid-sized dim nuclei, bright sub-resolution spots, sparse dots."""
    image, geo = _nuclei_layer(rng, shape, int(rng.integers(1, 7)), (10.0, 18.0), texture=0.4)
    image *= rng.uniform(0.2, 0.6)
    k = rng.poisson(3 * len(geo))
    if k:
        pick = rng.integers(0, len(geo), k)
        spots = geo[pick, :2] + rng.normal(0, 0.45, (k, 2)) * geo[pick, 2:3]
        image += draw_spots(shape, spots, rng.uniform(0.4, 1.3, k), rng.uniform(1.0, 1.8))
    k = rng.poisson(6)
    image += draw_spots(shape, _centres(rng, shape, k), rng.uniform(0.1, 0.6, k), 1.2)
    return image + rng.uniform(0.0, 0.04) * (1 + 0.5 * smooth_field(rng, shape, 20))


def brain_tissue(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Mouse brain section: a membrane-like mesh (ridges of a random field), somata and processes."""
    field = smooth_field(rng, shape, rng.uniform(3.5, 7.0))
    mesh = np.exp(-(field / rng.uniform(0.15, 0.3)) ** 2)
    mesh *= np.clip(0.6 + 0.5 * smooth_field(rng, shape, 18.0), 0.0, None)
    image = mesh * rng.uniform(0.5, 1.0)
    k = int(rng.integers(0, 5))
    if k:
        somata = soft_ellipses(shape, _centres(rng, shape, k), rng.uniform(5, 11, (k, 2)),
                               rng.uniform(0, np.pi, k), edge=1.2)
        signs = rng.choice([-0.5, 1.0], k)[:, None, None]
        image = np.clip(image + (somata * signs).sum(axis=0) * rng.uniform(0.4, 0.9), 0, None)
    n = int(rng.integers(0, 10))
    if n:
        starts, headings = _centres(rng, shape, n, 20.0), rng.uniform(0, 2 * np.pi, n)
        curves = trace_curves(rng, starts, headings, 200, turn=0.06)
        image += draw_curves(shape, curves, np.exp(rng.normal(-1.0, 0.4, n)), rng.uniform(0.7, 1.3))
    return image + rng.uniform(0.05, 0.25) * (1 + 0.4 * smooth_field(rng, shape, 12))


SPECIMENS: dict[str, Callable[[np.random.Generator, Shape], np.ndarray]] = {
    "nuclei": nuclei, "actin": actin, "mitochondria": mitochondria, "zebrafish": zebrafish,
    "brain_tissue": brain_tissue,
}


def render(rng: np.random.Generator, fmd_type: str, shape: Shape) -> np.ndarray:
    """Clean intensity image in [0, 1] of one field of ``fmd_type``: specimen, optics, brightness, offset."""
    microscope, specimen = FMD_TYPES[fmd_type]
    optics = OPTICS[microscope]
    structure = SPECIMENS[specimen](rng, shape)
    sharp = blur(structure, rng.uniform(*optics["psf"]))
    haze = rng.uniform(*optics["haze"]) * blur(structure, rng.uniform(8.0, 20.0))
    image = percentile_scale(sharp + haze, 99.5)
    # Brightness: the 99.5th percentile lands between 0.15 and 1.05 of the 8-bit range (dim raw FMD fields to
    # display-stretched ones that saturate); the offset adds the detector/background floor.
    peak = float(np.exp(rng.uniform(np.log(0.15), np.log(1.05))))
    offset = rng.uniform(*optics["offset"])
    return np.clip(offset + (peak - offset) * image, 0.0, 1.0)
