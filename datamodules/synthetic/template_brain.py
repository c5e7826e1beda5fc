"""Synthetic subjects from a real brain: the MNI152 2009 template, deformed per subject.

Why: the procedural phantom (`brain_phantom`) does not look like a brain at coarse grids, and a model trained on
it learns the phantom, not brains. A population template is the anatomy of real brains (the average of 152
registered adult scans), so subjects derived from it have real gyri, ventricles, deep nuclei and cerebellum.

Source: the ICBM 2009a nonlinear symmetric template at 1 mm (Fonov et al., NeuroImage 47:S102, 2009; Fonov et
al., NeuroImage 54:313, 2011) with its grey- and white-matter probability maps, as shipped inside nilearn
(``nilearn.datasets.load_mni152_{template,gm_template,wm_template}``; the files are part of the package, no
download). The T1 template there is brain-extracted.

Tissue maps of the template (computed once per grid voxel size and cached):
- GM and WM: the template's probability maps, read as partial-volume fractions;
- intracranial space: the template's nonzero (brain-extracted) region, holes filled, closed by one voxel;
  CSF = intracranial - GM - WM (sulcal and subarachnoid CSF, ventricles);
- skull and scalp: shells outside the intracranial space, from its distance map (skull ``skull`` mm, then
  scalp/fat ``scalp`` mm, the same adult ranges as the phantom: 5-8 and 4-7 mm); air beyond;
- partial volume at the grid: the 1 mm maps are block-averaged to whole millimetres below the grid voxel and
  blurred by the remaining box width (a box of width w has standard deviation w / sqrt(12)), so sampling
  them at grid voxels neither aliases nor over-blurs.

Per-subject variation (mm, MNI axes: x left-right, y posterior-anterior, z inferior-superior), composed as one
pull-back map from subject space to template space, each step invertible, so the composition is a
diffeomorphism:
1. global similarity: isotropic scale 0.82-0.98 with a +-3 % anisotropy per axis, yaw +-6 degrees, in-plane
   shift +-4 mm. The scale is centred below 1 because brains fitted to the ICBM-152 space are consistently
   larger than native brains (Lancaster et al., Hum Brain Mapp 28:1194, 2007); its spread is the +-9 % of
   adult brain size variation;
2. ventricle enlargement: each lateral ventricle (the template's deep CSF on one side; centroid and
   covariance C computed from the template) is enlarged by radial maps around three centres along its long
   axis (the centroid and +-1.2 standard deviations along it), composed one after the other:
   x -> c + (x - c)(1 - a exp(-q / 2)), q = (x - c)' (k C')^-1 (x - c), C' = C with the long-axis variance
   cut to ``SEGMENT_SHARE`` of it, k = ``VENTRICLE_SPREAD``; linear enlargement factor 1 / (1 - a) in
   0.85-1.6 (ventricular volume grows several-fold with age). Each map is monotone along every ray from its
   centre for a < 1, hence invertible, and so is their composition;
3. a smooth random diffeomorphism: a stationary velocity field (Gaussian random field, correlation length
   ~25 mm, displacement ~2-3 mm) integrated by scaling and squaring (Arsigny et al., MICCAI 2006);
4. individual folding: a second stationary velocity field on a 4 mm control grid (correlation ~4-8 mm, RMS
   1.5-2.5 mm), multiplied by the cortex weight below before it is integrated, so only the cortex moves: it
   gives the GM/WM boundary and the pial surface the finer, irregular gyri of one brain, which the average
   of 152 brains has smoothed out;
5. cortical thinning: a fraction 0-20 % of the cortical grey matter (GM within 20 mm of the brain surface,
   fading out to 30 mm, so deep nuclei keep theirs) becomes CSF, as atrophy widens the sulci.
Each subject's axial slab is centred at a height drawn over -35..50 mm (MNI z), so the subjects together
cover the brain from the cerebellum to the vertex, as whole-brain test volumes do.
Optional white-matter hyperintensities are not modelled here. The subject is sampled at the grid points by
trilinear interpolation of the cached maps (torch ``grid_sample``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from datamodules.forward.mri_signal import TISSUES
from datamodules.synthetic.brain_phantom import FOV_MM, Phantom

VENTRICLE_SPREAD = 2.0  # each enlargement's Gaussian weight spans this many (segment) covariances
SEGMENT_SHARE = 0.36  # long-axis variance of one of the three ventricle segments, relative to the whole
SEGMENT_OFFSETS = (-1.2, 0.0, 1.2)  # segment centres along the long axis, in standard deviations
CORTEX_DEPTH_MM = (20.0, 30.0)  # cortical GM weight 1 above the first depth, 0 below the second
VELOCITY_GRID = 12  # control points per axis of the stationary velocity field
SQUARING_STEPS = 6
TEMPLATE_BOX_MM = 240.0  # the cube (centred on the template) over which the velocity field is defined
FOLD_GRID = 60  # control points per axis of the cortical folding field (4 mm apart over the box)
FOLD_MM = (1.5, 2.5)  # RMS velocity of the folding field
SLAB_CENTRE_MM = (-35.0, 50.0)  # MNI z of the centre of a subject's slab: together they span the whole brain


@dataclass(frozen=True)
class Variation:
    """One subject's deviation from the template (see the module docstring)."""

    scale: tuple[float, float, float]
    yaw: float
    shift: tuple[float, float]
    ventricle_factor: float
    thinning: float
    warp_mm: float
    skull: float
    scalp: float
    slab_centre: float
    fold_mm: float


def sample_variation(rng: np.random.Generator) -> Variation:
    """Draw one subject's variation; ranges in the module docstring."""
    size = rng.uniform(0.82, 0.98)
    return Variation(scale=tuple(float(size * rng.uniform(0.97, 1.03)) for _ in range(3)),
                     yaw=float(np.deg2rad(rng.uniform(-6.0, 6.0))),
                     shift=(float(rng.uniform(-4, 4)), float(rng.uniform(-4, 4))),
                     ventricle_factor=float(rng.uniform(0.85, 1.6)), thinning=float(rng.uniform(0.0, 0.2)),
                     warp_mm=float(rng.uniform(2.0, 3.0)), skull=float(rng.uniform(5.0, 8.0)),
                     scalp=float(rng.uniform(4.0, 7.0)), slab_centre=float(rng.uniform(*SLAB_CENTRE_MM)),
                     fold_mm=float(rng.uniform(*FOLD_MM)))


@dataclass(frozen=True)
class TemplateMaps:
    """The template's maps on a regular grid: channels (gm, wm, csf, depth_mm, cortex) as (5, X, Y, Z)."""

    maps: torch.Tensor
    origin: np.ndarray  # MNI mm of voxel (0, 0, 0)
    spacing: float  # mm
    ventricles: tuple[tuple[np.ndarray, np.ndarray], ...]  # (centroid mm, covariance mm^2): left, right


def _template_1mm() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """GM, WM and T1 arrays (X, Y, Z) of the 1 mm template and its affine; loaded from nilearn's package."""
    from nilearn.datasets import load_mni152_gm_template, load_mni152_template, load_mni152_wm_template

    t1 = load_mni152_template(resolution=1)
    gm = load_mni152_gm_template(resolution=1).get_fdata(dtype=np.float32)
    wm = load_mni152_wm_template(resolution=1).get_fdata(dtype=np.float32)
    return gm, wm, t1.get_fdata(dtype=np.float32), np.asarray(t1.affine)


@lru_cache(maxsize=4)
def template_maps(voxel_mm: float) -> TemplateMaps:
    """The template's tissue maps prepared for sampling at grid voxels of ``voxel_mm`` (cached).

    The 1 mm maps are first block-averaged to ``floor(voxel_mm)`` mm (exact partial volume, and far fewer
    voxels for the distance maps), then blurred by the remaining box width of a grid voxel.
    """
    gm, wm, t1, affine = _template_1mm()
    factor = max(1, int(voxel_mm // abs(affine[0, 0])))
    gm, wm, t1 = (_block_mean(v, factor) for v in (gm, wm, t1))
    spacing = float(abs(affine[0, 0])) * factor
    origin = affine[:3, 3] + (factor - 1) / 2 * abs(affine[0, 0])
    intracranial = ndimage.binary_fill_holes(ndimage.binary_closing(t1 > 0.01, iterations=1) | (gm + wm > 0.5))
    inside = ndimage.distance_transform_edt(intracranial) * spacing
    outside = ndimage.distance_transform_edt(~intracranial) * spacing
    depth = np.where(intracranial, inside - spacing / 2, spacing / 2 - outside).astype(np.float32)  # mm, + inside
    excess = np.maximum(gm + wm, 1.0)  # the two maps may overlap by a rounding margin: keep their sum <= 1
    gm, wm = gm / excess, wm / excess
    csf = np.clip(intracranial.astype(np.float32) - gm - wm, 0.0, 1.0)
    near, far = CORTEX_DEPTH_MM
    cortex = np.clip((far - depth) / (far - near), 0.0, 1.0).astype(np.float32)
    ventricles = _ventricle_centroids(csf, depth, origin, spacing)

    sigma = np.sqrt(max(voxel_mm ** 2 - spacing ** 2, 0.0) / 12.0) / spacing
    channels = [ndimage.gaussian_filter(v, sigma) if sigma > 0.05 else v for v in (gm, wm, csf, depth, cortex)]
    maps = torch.from_numpy(np.stack(channels).astype(np.float32))
    return TemplateMaps(maps=maps, origin=origin.astype(np.float64), spacing=spacing, ventricles=ventricles)


def _block_mean(volume: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor``^3 blocks (the volume cropped to a multiple of ``factor``)."""
    if factor == 1:
        return volume
    shape = [n // factor for n in volume.shape]
    cropped = volume[:shape[0] * factor, :shape[1] * factor, :shape[2] * factor]
    return cropped.reshape(shape[0], factor, shape[1], factor, shape[2], factor).mean(axis=(1, 3, 5))


def _ventricle_centroids(csf: np.ndarray, depth: np.ndarray, origin: np.ndarray,
                         spacing: float) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Centroid (MNI mm) and covariance of the deep CSF (> 15 mm below the brain surface, above the
    temporal horns) on each side of the midline: the lateral ventricles."""
    mm = np.argwhere((csf > 0.5) & (depth > 15.0)) * spacing + origin
    central = mm[(np.abs(mm[:, 0]) > 2.0) & (np.abs(mm[:, 0]) < 30.0) & (mm[:, 2] > -10.0)]
    sides = (central[central[:, 0] < 0], central[central[:, 0] > 0])
    return tuple((side.mean(axis=0), np.cov(side.T)) for side in sides)


# --- the per-subject map ---------------------------------------------------------------------------------
def _velocity_field(rng: np.random.Generator, amplitude_mm: float, grid: int = VELOCITY_GRID,
                    sigma: float = 1.2) -> torch.Tensor:
    """A smooth random stationary velocity (3, G, G, G) in mm over the template box, RMS ~ ``amplitude_mm``."""
    field = rng.normal(size=(3, grid, grid, grid))
    field = np.stack([ndimage.gaussian_filter(c, sigma, mode="wrap") for c in field])
    field *= amplitude_mm / max(float(field.std()), 1e-9)
    return torch.from_numpy(field.astype(np.float32))


def _exponentiate(velocity: torch.Tensor) -> torch.Tensor:
    """Displacement (3, G, G, G) mm of the diffeomorphism exp(v): scaling and squaring on the control grid."""
    g = velocity.shape[-1]
    displacement = velocity / 2 ** SQUARING_STEPS
    axis = torch.linspace(-1, 1, g)
    ux, uy, uz = torch.meshgrid(axis, axis, axis, indexing="ij")
    # The field is indexed [component, x, y, z]; grid_sample reads its grid as (z, y, x) for those dims.
    identity = torch.stack([uz, uy, ux], dim=-1)[None]
    to_unit = 2.0 / TEMPLATE_BOX_MM
    for _ in range(SQUARING_STEPS):
        shift = displacement.permute(1, 2, 3, 0).flip(-1)[None] * to_unit
        warped = F.grid_sample(displacement[None], identity + shift, mode="bilinear", padding_mode="border",
                               align_corners=True)[0]
        displacement = displacement + warped
    return displacement


def _fold(points: np.ndarray, rng: np.random.Generator, amplitude_mm: float, maps: TemplateMaps,
          template_centre: np.ndarray) -> np.ndarray:
    """Individual cortical folding: exp of a fine random velocity field that lives in the cortex only.

    The velocity (4 mm control grid, correlation ~4-8 mm) is multiplied by the template's cortex weight at
    each control point before it is integrated, so the map is still a diffeomorphism, deep structures stay
    where the template has them, and the GM/WM boundary and the pial surface get the finer, irregular gyri of
    an individual brain that the 152-brain average has smoothed out.
    """
    axis = np.linspace(-TEMPLATE_BOX_MM / 2, TEMPLATE_BOX_MM / 2, FOLD_GRID)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3) + template_centre
    extent = (np.asarray(maps.maps.shape[1:]) - 1) * maps.spacing
    cortex = _sample(maps.maps[4:5], torch.from_numpy(((grid - maps.origin) / extent * 2 - 1).astype(np.float32)),
                     "border")[0].reshape(FOLD_GRID, FOLD_GRID, FOLD_GRID)
    velocity = _velocity_field(rng, amplitude_mm, FOLD_GRID, 1.0) * cortex
    displacement = _exponentiate(velocity)
    unit = torch.from_numpy(((points - template_centre) * (2.0 / TEMPLATE_BOX_MM)).astype(np.float32))
    return points + _sample(displacement, unit, "border").T.numpy()


def _sample(volume: torch.Tensor, points_unit: torch.Tensor, padding: str) -> torch.Tensor:
    """Trilinear samples (C, N) of ``volume`` (C, X, Y, Z) at points (N, 3) in [-1, 1]^3, (x, y, z) order."""
    grid = points_unit.flip(-1).view(1, 1, 1, -1, 3)  # grid_sample wants (z, y, x) for dims (X, Y, Z)
    return F.grid_sample(volume[None], grid, mode="bilinear", padding_mode=padding, align_corners=True)[0, :, 0, 0]


def _radial(points: np.ndarray, centre: np.ndarray, covariance: np.ndarray, factor: float) -> np.ndarray:
    """Pull-back of an enlargement by ``factor`` around ``centre`` in the metric of ``covariance`` (mm)."""
    a = 1.0 - 1.0 / factor
    offset = points - centre
    q = np.einsum("ni,ij,nj->n", offset, np.linalg.inv(VENTRICLE_SPREAD * covariance), offset)[:, None]
    return centre + offset * (1.0 - a * np.exp(-q / 2))


def _subject_points(variation: Variation, size: int, n_slices: int, voxel: float,
                    maps: TemplateMaps) -> np.ndarray:
    """MNI mm (Z*H*W, 3) of the grid voxels; rows run anterior to posterior, columns left to right."""
    axis = (np.arange(size) - (size - 1) / 2) * voxel
    z = variation.slab_centre + (np.arange(n_slices) - (n_slices - 1) / 2) * voxel
    zz, yy, xx = np.meshgrid(z, -axis, axis, indexing="ij")
    x, y = xx - variation.shift[0], yy - variation.shift[1]
    c, s = np.cos(variation.yaw), np.sin(variation.yaw)
    p = np.stack([c * x + s * y, -s * x + c * y, zz], axis=-1).reshape(-1, 3)
    p = p / np.asarray(variation.scale)
    # The ventricle enlargement acts on each hemisphere's ventricle, weighted by the side of the midline.
    sides = [_segments(p, centre, covariance, variation.ventricle_factor) for centre, covariance in maps.ventricles]
    right = 1.0 / (1.0 + np.exp(-p[:, :1] / 3.0))
    return (1 - right) * sides[0] + right * sides[1]


def _segments(points: np.ndarray, centre: np.ndarray, covariance: np.ndarray, factor: float) -> np.ndarray:
    """Three radial enlargements along a ventricle's long axis, composed (see the module docstring)."""
    values, vectors = np.linalg.eigh(covariance)
    axis, spread = vectors[:, -1], np.sqrt(values[-1])
    local = covariance - (1.0 - SEGMENT_SHARE) * values[-1] * np.outer(axis, axis)
    for offset in SEGMENT_OFFSETS:
        points = _radial(points, centre + offset * spread * axis, local, factor)
    return points


def template_subject(rng: np.random.Generator, size: int = 96, n_slices: int = 26, fov_mm: float = FOV_MM,
                     variation: Variation | None = None) -> Phantom:
    """One subject: ``n_slices`` axial slices of ``size`` x ``size`` isotropic voxels (``fov_mm`` / size).

    ``variation`` replaces the drawn one (the rest of the subject, its warp and texture, stays the same).
    """
    drawn = sample_variation(rng)
    variation = variation or drawn
    voxel = fov_mm / size
    maps = template_maps(round(voxel, 4))
    points = _subject_points(variation, size, n_slices, voxel, maps)
    box_unit = 2.0 / TEMPLATE_BOX_MM
    template_centre = maps.origin + (np.asarray(maps.maps.shape[1:]) - 1) * maps.spacing / 2
    displacement = _exponentiate(_velocity_field(rng, variation.warp_mm))
    unit = torch.from_numpy(((points - template_centre) * box_unit).astype(np.float32))
    points = points + _sample(displacement, unit, "border").T.numpy()
    points = _fold(points, rng, variation.fold_mm, maps, template_centre)
    extent = (np.asarray(maps.maps.shape[1:]) - 1) * maps.spacing
    unit = torch.from_numpy(((points - maps.origin) / extent * 2 - 1).astype(np.float32))
    gm, wm, csf = (c.numpy() for c in _sample(maps.maps[:3], unit, "zeros"))
    depth, cortex = (c.numpy() for c in _sample(maps.maps[3:], unit, "border"))

    lost = gm * cortex * variation.thinning
    gm, csf = gm - lost, csf + lost
    intracranial = np.clip(gm + wm + csf, 0.0, 1.0)
    outside = -depth
    below_skull = np.maximum(_ramp(variation.skull - outside, voxel), intracranial)
    in_head = np.maximum(_ramp(variation.skull + variation.scalp - outside, voxel), below_skull)
    fractions = {"background": 1.0 - in_head, "fat": in_head - below_skull,
                 "skull": below_skull - intracranial, "csf": csf, "gm": gm, "wm": wm}
    shape = (n_slices, size, size)
    stacked = np.stack([np.clip(fractions[name], 0.0, 1.0).reshape(shape) for name in TISSUES])
    stacked /= np.maximum(stacked.sum(axis=0, keepdims=True), 1e-6)
    texture = 1.0 + 0.03 * _smooth_texture(rng, points).reshape(shape)
    return Phantom(fractions=stacked.astype(np.float32), texture=texture.astype(np.float32), voxel_mm=voxel,
                   anatomy=variation)


def _ramp(depth: np.ndarray, voxel: float) -> np.ndarray:
    """Fraction of a voxel inside a surface from its signed depth (mm): a linear ramp one voxel wide."""
    return np.clip(0.5 + depth / voxel, 0.0, 1.0)


def _smooth_texture(rng: np.random.Generator, points: np.ndarray) -> np.ndarray:
    """A unit-variance smooth random field (wavelength ~40 mm) at the points: proton-density variation."""
    directions = rng.normal(size=(12, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    phases = rng.uniform(0, 2 * np.pi, size=12)
    waves = np.cos(points.astype(np.float32) @ (directions.T * 2 * np.pi / 40.0).astype(np.float32)
                   + phases.astype(np.float32))
    return waves.sum(axis=1) * np.float32(np.sqrt(2.0 / 12))
