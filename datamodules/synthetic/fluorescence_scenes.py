"""Procedural high-resolution fluorescence scenes for the x4 super-resolution task (FI-GAN).

FI-GAN (Zhang C. et al., Biomed. Opt. Express 10(9):4742, 2019) super-resolves fluorescence images of vessels,
cells and sub-cellular structures, and shows resolution on an ICG resolution plate. A scene mixes, at the
pixel scale of confocal ground truth (the real samples in `shared/data/fluorescence`: nuclei 12-30 px
across, neurites 2-6 px wide, puncta near the resolution limit):

- nuclei: textured ellipses, some clustered (DAPI, Hoechst);
- neurites / filaments: long thin curves bundled along a smooth orientation field (MAP2, NFH, tubulin);
- vessels: branching trees of tapering width (labelled vasculature);
- puncta: sub-resolution spots (vesicles, synapses);
- somata: dim cell bodies with brighter rims;
- resolution plate: groups of three bars (line pairs) of decreasing period, as on a USAF-1951 / ICG plate.

Every structure is blurred by a small diffraction-limited PSF (the high-resolution image is itself a
microscope image) and the scene is normalised like a real image (robust 0.1/99.9 percentile min-max), so
synthetic and real targets share their intensity statistics: a dark background and sparse bright structures.
"""
from __future__ import annotations

import numpy as np

from datamodules.readers.images import normalize
from datamodules.synthetic.primitives import (
    blur,
    branching_tree,
    draw_curves_widths,
    draw_spots,
    smooth_field,
    soft_ellipses,
    trace_curves,
)

Shape = tuple[int, int]


def _points(rng: np.random.Generator, shape: Shape, n: int, margin: float = 0.0) -> np.ndarray:
    rows = rng.uniform(-margin, shape[0] + margin, n)
    return np.stack([rows, rng.uniform(-margin, shape[1] + margin, n)], 1)


def nuclei(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    n = int(rng.integers(3, 26))
    centres = _points(rng, shape, n, 8.0)
    if rng.uniform() < 0.5:  # clustered colonies
        hubs = _points(rng, shape, int(rng.integers(1, 4)))
        centres = hubs[rng.integers(0, len(hubs), n)] + rng.normal(0, rng.uniform(8, 25), (n, 2))
    r = rng.uniform(5.0, 14.0, n)
    radii = np.stack([r, r * rng.uniform(0.6, 1.0, n)], 1)
    occ = soft_ellipses(shape, centres, radii, rng.uniform(0, np.pi, n), edge=rng.uniform(0.6, 1.5))
    bright = np.exp(rng.normal(0, 0.45, n))[:, None, None]
    texture = np.clip(0.8 + 0.2 * smooth_field(rng, shape, rng.uniform(1.0, 2.5)), 0.3, None)
    return (occ * bright).max(axis=0, initial=0.0) * texture


def neurites(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    n, steps = int(rng.integers(4, 40)), 200
    orientation = rng.uniform(0, np.pi) + rng.uniform(0.2, 1.0) * smooth_field(rng, shape, 30.0)
    starts = _points(rng, shape, n, 30.0)
    r = np.clip(starts[:, 0].astype(int), 0, shape[0] - 1)
    c = np.clip(starts[:, 1].astype(int), 0, shape[1] - 1)
    heading = orientation[r, c] + np.pi * rng.integers(0, 2, n)
    curves = trace_curves(rng, starts, heading, steps, step=1.0, turn=0.04, orientation=orientation,
                          follow=0.05)
    length = rng.uniform(30, steps, n)[:, None]
    strength = np.exp(rng.normal(0, 0.5, n))[:, None] * (np.arange(steps)[None] < length)
    return draw_curves_widths(shape, curves, strength, rng.uniform(0.6, 2.2, n), step=1.0, bins=3)


def vessels(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    curves, widths, present = branching_tree(rng, shape, int(rng.integers(1, 4)), 2, (1.5, 4.0),
                                             length=1.2 * max(shape))
    strength = np.exp(rng.normal(0, 0.3, len(curves)))[:, None] * present
    return draw_curves_widths(shape, curves, strength, widths, step=1.0, bins=4)


def puncta(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    n = int(rng.integers(10, 120))
    out = np.zeros(shape)
    for sigma in (0.7, 1.1, 1.6):
        k = n // 3
        out += draw_spots(shape, _points(rng, shape, k), np.exp(rng.normal(0, 0.5, k)), sigma)
    return out


def somata(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    n = int(rng.integers(1, 5))
    centres = _points(rng, shape, n)
    radii = rng.uniform(8, 20, (n, 2))
    angles = rng.uniform(0, np.pi, n)
    body = soft_ellipses(shape, centres, radii, angles, edge=2.0)
    inner = soft_ellipses(shape, centres, radii * 0.75, angles, edge=2.0)
    return (0.35 * body + 0.65 * np.clip(body - inner, 0, 1)).max(axis=0, initial=0.0)


def resolution_plate(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Groups of three bright bars (period 2-12 px, duty 0.5), horizontal or vertical, as on a USAF target."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.zeros(shape)
    for _ in range(int(rng.integers(2, 7))):
        period = rng.uniform(2.0, 12.0)
        extent, bar_len = 3 * period, rng.uniform(4, 7) * period
        r0, c0 = rng.uniform(-0.2 * h, h), rng.uniform(-0.2 * w, w)
        u, v = (cols - c0, rows - r0) if rng.uniform() < 0.5 else (rows - r0, cols - c0)
        inside = (u >= 0) & (u < extent) & (v >= 0) & (v < bar_len)
        bars = (np.mod(u, period) < period / 2) & inside
        out = np.maximum(out, bars * rng.uniform(0.5, 1.0))
    return blur(out, 0.4)


#: component -> (generator, probability that a scene contains it)
COMPONENTS = {"nuclei": (nuclei, 0.5), "neurites": (neurites, 0.55), "vessels": (vessels, 0.35),
              "puncta": (puncta, 0.45), "somata": (somata, 0.25),
              "resolution_plate": (resolution_plate, 0.15)}


def render(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """One high-resolution scene in [0, 1] (float64)."""
    image = np.zeros(shape)
    chosen = [name for name, (_, p) in COMPONENTS.items() if rng.uniform() < p]
    if not chosen:
        chosen = [list(COMPONENTS)[int(rng.integers(len(COMPONENTS)))]]
    for name in chosen:
        layer = COMPONENTS[name][0](rng, shape)
        peak = np.percentile(layer, 99.5)
        image += layer / (peak if peak > 1e-9 else max(layer.max(), 1e-9)) * np.exp(rng.normal(0, 0.4))
    image = blur(image, rng.uniform(0.5, 1.1))  # diffraction-limited high-resolution optics
    # A dim background (up to 3 % of the peak), as in the real confocal and nuclei samples (`data realism`
    # compares the intensity statistics): brighter ones taught models an offset they added to real images.
    background = rng.uniform(0.0, 0.03) * (1 + 0.3 * smooth_field(rng, shape, 25.0))
    return normalize(image + np.clip(background, 0, None) * image.max(), "percentile").astype(np.float64)
