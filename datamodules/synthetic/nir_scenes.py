"""Procedural in vivo NIR fluorophore distributions: vessel trees at several depths, lymph nodes, a tumour.

Ma et al. (PNAS 118(1), 2021) image mice injected with NIR probes: the vasculature, lymph nodes and tumours
light up over a weak non-specific uptake in normal tissue. A scene is a field of view of a mouse at
``pixel_mm`` (0.1 mm: a 128 px image covers 12.8 mm, a 640x512 frame a whole mouse at ~0.15 mm):

- the body: a large rotated ellipse with a ragged edge (tissue vs. dark background);
- 1-3 vessel trees, each at its own depth 0.2-2.5 mm (skin vessels to deeper trunks), trunk diameters
  0.1-0.3 mm tapering in the branches;
- 0-2 lymph nodes: bright ellipsoids of radius 0.5-1.5 mm at 1-3 mm;
- one tumour of radius 1.5-4 mm at 0.5-2 mm, with heterogeneous uptake 2-6x normal tissue;
- sometimes a deep, dim organ (liver/spleen uptake) at 3-5 mm;
- normal tissue: weak diffuse uptake at 1 mm.

Returns the layers (fluorophore map, depth) for `forward.nir_scattering` and the masks scored by SBR and TNR:
``signal`` (vessels, nodes, tumour), ``tumour`` and ``normal`` (tissue away from any signal).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from datamodules.synthetic.primitives import (
    blur,
    branching_tree,
    draw_curves_widths,
    smooth_field,
    soft_ellipses,
)

Shape = tuple[int, int]


@dataclass
class NIRScene:
    layers: list[tuple[np.ndarray, float]]
    tissue: np.ndarray  # float in [0, 1]
    signal: np.ndarray  # bool
    tumour: np.ndarray  # bool
    normal: np.ndarray  # bool


def _body(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    h, w = shape
    centre = np.array([[rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w]])
    radii = np.array([[rng.uniform(0.5, 1.0) * w, rng.uniform(0.35, 0.8) * h]])
    body = soft_ellipses(shape, centre, radii, np.array([rng.uniform(0, np.pi)]), edge=2.0)[0]
    ragged = np.clip(body + 0.15 * smooth_field(rng, shape, 6.0) * (body > 0.05), 0, 1)
    return blur((ragged > 0.5).astype(np.float64), 1.0)


def render(rng: np.random.Generator, shape: Shape, pixel_mm: float = 0.1) -> NIRScene:
    """One scene; depths in mm, sizes converted to pixels with ``pixel_mm``."""
    px = 1.0 / pixel_mm
    body = _body(rng, shape)
    inside = body > 0.5
    layers: list[tuple[np.ndarray, float]] = []
    vessel_total = np.zeros(shape)
    for _ in range(int(rng.integers(1, 4))):
        # Vessel diameters 0.1-0.3 mm as a Gaussian sigma in pixels (FWHM = 2.355 sigma).
        curves, widths, present = branching_tree(rng, shape, 1, 2, (0.1 * px / 2.355, 0.3 * px / 2.355),
                                                 length=1.1 * max(shape))
        strength = np.exp(rng.normal(0, 0.3, len(curves)))[:, None] * present
        vessels = draw_curves_widths(shape, curves, strength, widths, step=1.0, bins=3) * body
        layers.append((vessels, rng.uniform(0.2, 2.5)))
        vessel_total += vessels
    k = int(rng.integers(0, 3))
    nodes = np.zeros(shape)
    if k:
        r = rng.uniform(0.5, 1.5, k) * px
        centres = np.stack([rng.uniform(0, shape[0], k), rng.uniform(0, shape[1], k)], 1)
        radii = np.stack([r, r * rng.uniform(0.6, 1.0, k)], 1)
        occ = soft_ellipses(shape, centres, radii, rng.uniform(0, np.pi, k), edge=1.5)
        nodes = (occ * rng.uniform(1.0, 3.0, k)[:, None, None]).max(axis=0) * body
        layers.append((nodes, rng.uniform(1.0, 3.0)))
    # The tumour sits inside the body, at least partly in view.
    r = rng.uniform(1.5, 4.0) * px
    centre = np.argwhere(inside)[int(rng.integers(inside.sum()))] if inside.any() else np.array(shape) / 2
    radii = np.array([[r, r * rng.uniform(0.6, 1.0)]])
    tumour_occ = soft_ellipses(shape, centre[None].astype(np.float64), radii,
                               np.array([rng.uniform(0, np.pi)]), edge=2.0)[0] * body
    normal_uptake = rng.uniform(0.05, 0.15)
    ratio = rng.uniform(2.0, 6.0)  # tumour-to-normal uptake
    uptake = normal_uptake * ratio * np.clip(1 + 0.35 * smooth_field(rng, shape, 4.0), 0.2, None)
    layers.append((tumour_occ * uptake, rng.uniform(0.5, 2.0)))
    if rng.uniform() < 0.5:  # deep organ
        organ = soft_ellipses(shape, np.array([[rng.uniform(0, shape[0]), rng.uniform(0, shape[1])]]),
                              rng.uniform(3, 8, (1, 2)) * px, np.array([rng.uniform(0, np.pi)]), edge=4.0)[0]
        layers.append((organ * body * rng.uniform(0.3, 1.0), rng.uniform(3.0, 5.0)))
    layers.append((body * normal_uptake, 1.0))

    # Vessel profiles peak at their strength (~1): the vessel is where it exceeds 0.3 (about +-1.5 sigma).
    signal = (vessel_total > 0.3) | (nodes > 0.5) | (tumour_occ > 0.5)
    signal &= inside
    tumour = (tumour_occ > 0.5) & inside
    normal = inside & ~ndimage.binary_dilation(signal, iterations=3)
    return NIRScene(layers, body, signal, tumour, normal)
