"""A procedural 3-D brain phantom: soft tissue fractions of one synthetic subject, from a random generator.

Why: paired 64 mT / 3 T brain scans are scarce and gated, but both images are the same anatomy seen through
two acquisitions. Generating the anatomy as tissue *fractions* (partial volume, not hard labels) lets the
forward models of `datamodules.forward` compute both fields' images from one ground truth, with the right
contrast at each field.

Geometry (millimetres, head-centred, x = left-right, y = posterior-anterior, z = inferior-superior). Every
layer is a radial depth below a star-shaped surface, so a voxel's fraction of a layer is a clipped linear ramp
of its signed depth over one voxel (an analytic partial-volume estimate); the folded cortical ribbon, finer
than a voxel, averages 2 x 2 x 2 sub-samples per voxel instead:
- head: an ellipsoid with semi-axes about 74 x 94 x 84 mm (adult head breadth/length ~150/190 mm), randomly
  scaled per subject and with a low-order random shape perturbation;
- scalp/fat 4-7 mm, skull 5-8 mm (dark in MR), subarachnoid CSF 1.5-3 mm;
- cortex: grey matter 2.5-3.5 mm thick (adult cortical thickness 2-3 mm, Fischl & Dale, PNAS 97:11050, 2000;
  a little more so that it survives partial volume on coarse grids) folded by sulci 10-16 mm deep. The sulci
  are the zero-level lines of a smooth random field on the sphere of directions (random plane waves with a
  14-20 mm wavelength at the brain surface, so sulci are ~1 cm apart as between gyri): along them a thin CSF
  cleft cuts into the cortex and the GM/WM boundary dips deeper, so grey matter wraps around each sulcus.
  Near the midline the field ignores the left-right direction (medial sulci cross the medial surface), and a
  smooth random warp bends the sulci with depth;
- an interhemispheric fissure, open above the corpus callosum and in front of / behind it, lined with cortex;
- lateral ventricles (tubes along a curved centreline: frontal horn, body, atrium, occipital horn) and a slit
  third ventricle, with a per-subject enlargement factor 0.7-1.6 (ventricle size varies with age and subject);
- deep grey matter: caudate heads, putamina and thalami as ellipsoids;
- white matter everywhere else inside the cortex, and a +-3 % smooth proton-density texture.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datamodules.forward.mri_signal import TISSUES

FOV_MM = 230.0  # in-plane field of view: a 190 mm head plus margin


@dataclass(frozen=True)
class Anatomy:
    """The random parameters of one subject (mm, radians)."""

    head_axes: tuple[float, float, float]
    scale: float
    scalp: float
    skull: float
    csf: float
    cortex: float
    sulcal_depth: float
    gyral_wavelength: float
    ventricle_scale: float
    yaw: float
    shift: tuple[float, float]
    slab_centre: float


def sample_anatomy(rng: np.random.Generator) -> Anatomy:
    """Draw one subject's anatomy; the ranges are typical adult values (see the module docstring)."""
    scale = rng.uniform(0.9, 1.05)
    axes = tuple(float(a * scale * rng.uniform(0.96, 1.04)) for a in (74.0, 94.0, 84.0))
    return Anatomy(head_axes=axes, scale=scale, scalp=rng.uniform(4.0, 7.0), skull=rng.uniform(5.0, 8.0),
                   csf=rng.uniform(1.5, 3.0), cortex=rng.uniform(2.5, 3.5),
                   sulcal_depth=rng.uniform(10.0, 16.0), gyral_wavelength=rng.uniform(14.0, 20.0),
                   ventricle_scale=rng.uniform(0.7, 1.6),
                   yaw=np.deg2rad(rng.uniform(-6.0, 6.0)), shift=(rng.uniform(-4, 4), rng.uniform(-4, 4)),
                   slab_centre=rng.uniform(6.0, 14.0))


@dataclass
class Phantom:
    """Tissue fractions ``(len(TISSUES), Z, H, W)`` summing to 1, a PD texture ``(Z, H, W)`` and the grid."""

    fractions: np.ndarray
    texture: np.ndarray
    voxel_mm: float
    anatomy: Anatomy

    def fraction(self, tissue: str) -> np.ndarray:
        return self.fractions[TISSUES.index(tissue)]

    @property
    def brain_mask(self) -> np.ndarray:
        """Intracranial voxels (CSF + GM + WM >= 0.5): the mask a skull-stripping tool would give."""
        return (self.fraction("csf") + self.fraction("gm") + self.fraction("wm")) >= 0.5


# --- smooth random fields -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Waves:
    """A sum of random plane waves with unit variance, drawn once and evaluated at any points (N, 3)."""

    vectors: np.ndarray
    phases: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, count: int, wavenumber: float) -> _Waves:
        """``count`` waves of random direction and phase; wavenumber in rad per unit of the points."""
        directions = rng.normal(size=(count, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        vectors = directions * wavenumber * rng.uniform(0.8, 1.25, size=(count, 1))
        phases = rng.uniform(0, 2 * np.pi, size=count)
        return cls(vectors.astype(np.float32), phases.astype(np.float32))

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.ascontiguousarray(points, dtype=np.float32)
        out = np.zeros(len(points), dtype=np.float32)
        for vector, phase in zip(self.vectors, self.phases, strict=True):  # float32: a SIMD-vectorised cos
            out += np.cos(points @ vector + phase)
        return out * np.float32(np.sqrt(2.0 / len(self.phases)))


# --- signed depths (mm, positive inside) --------------------------------------------------------------------
def _ellipsoid_depth(p: np.ndarray, centre: tuple[float, ...], axes: tuple[float, ...]) -> np.ndarray:
    """Approximate signed depth inside an ellipsoid (exact on the surface, scaled by the smallest axis)."""
    q = (p - np.asarray(centre, dtype=np.float32)) / np.asarray(axes, dtype=np.float32)
    return (1.0 - np.linalg.norm(q, axis=1)) * np.float32(min(axes))


def _tube_depth(p: np.ndarray, points: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Signed depth inside a chain of cones (a tube of varying radius along a polyline)."""
    best = np.full(len(p), -np.inf, dtype=np.float32)
    for a, b, ra, rb in zip(points[:-1], points[1:], radii[:-1], radii[1:], strict=True):
        ab = (b - a).astype(np.float32)
        t = np.clip(((p - a) @ ab) / float(ab @ ab), 0.0, 1.0)
        dist = np.linalg.norm(p - a - t[:, None] * ab, axis=1)
        best = np.maximum(best, ra + t * (rb - ra) - dist)
    return best


# Lateral ventricle centreline (right side, mm before scaling): frontal horn, body, atrium, occipital horn.
_VENTRICLE = np.array([(5, 28, 4), (6, 16, 12), (8, 0, 16), (11, -16, 14), (15, -28, 6), (13, -40, 0)], float)
_VENTRICLE_RADII = np.array([3.5, 4.5, 4.0, 3.5, 5.0, 1.5])
# Deep grey matter (right side): centre and semi-axes in mm.
_DEEP_GM = (((11, 17, 8), (5, 8, 8)),     # caudate head
            ((23, 4, 2), (5, 13, 10)),    # putamen
            ((9, -10, 4), (8, 13, 9)))    # thalamus


def _coordinates(anatomy: Anatomy, size: int, n_slices: int, step: float, z_step: float) -> np.ndarray:
    """Head-frame coordinates (Z*H*W, 3) of the sample points; rows run anterior to posterior."""
    axis = (np.arange(size, dtype=np.float32) - (size - 1) / 2) * step
    z = anatomy.slab_centre + (np.arange(n_slices, dtype=np.float32) - (n_slices - 1) / 2) * z_step
    zz, yy, xx = np.meshgrid(z, -axis, axis, indexing="ij")
    x, y = xx - anatomy.shift[0], yy - anatomy.shift[1]
    c, s = np.cos(anatomy.yaw), np.sin(anatomy.yaw)
    return np.stack([c * x + s * y, -s * x + c * y, zz], axis=-1).reshape(-1, 3).astype(np.float32)


def _ramp(depth: np.ndarray, voxel: float) -> np.ndarray:
    """Fraction of a voxel inside a surface from its signed depth (mm): a linear ramp one voxel wide."""
    return np.clip(0.5 + depth / voxel, 0.0, 1.0)


def _fissure_distance(p: np.ndarray, anatomy: Anatomy) -> np.ndarray:
    """Distance (mm) to the interhemispheric fissure, open except where the corpus callosum and deep nuclei
    join the hemispheres (there: infinite)."""
    s = anatomy.scale
    joined = ((p[:, 1] + 4 * s) / (34 * s)) ** 2 + ((p[:, 2] - 8 * s) / (20 * s)) ** 2 < 1.0
    return np.where(joined, np.inf, np.abs(p[:, 0]) - 1.0).astype(np.float32)


@dataclass(frozen=True)
class _CortexFields:
    """The random fields of the cortex: subarachnoid CSF thickness, the warp and the folding pattern."""

    csf: _Waves
    warp: tuple[_Waves, _Waves, _Waves]
    folds: _Waves

    @classmethod
    def draw(cls, rng: np.random.Generator, anatomy: Anatomy) -> _CortexFields:
        csf = _Waves.draw(rng, 8, 3.0)
        warp = tuple(_Waves.draw(rng, 6, 2 * np.pi / 40.0) for _ in range(3))
        folds = _Waves.draw(rng, 32, 2 * np.pi * 65.0 / anatomy.gyral_wavelength)
        return cls(csf, warp, folds)


def _cortex(p: np.ndarray, voxel_index: np.ndarray, centres: np.ndarray, surface: np.ndarray,
            anatomy: Anatomy, fields: _CortexFields, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Parenchyma (GM + WM) and white-matter indicators at sub-sample points ``p`` (N, 3).

    The smooth fields (head surface radius ``surface``, subarachnoid CSF thickness, warp) are evaluated once
    per voxel (``centres`` (V, 3); ``voxel_index`` maps each point to its voxel); only the folding pattern,
    which changes within a voxel, is evaluated per point. ``step`` is the sub-sample spacing (mm).
    """
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    radius = np.linalg.norm(p, axis=1) + 1e-6
    centre_radius = np.linalg.norm(centres, axis=1, keepdims=True) + 1e-6
    csf_layer = np.maximum(anatomy.csf + 0.8 * fields.csf(centres / centre_radius), 0.5)
    inner_depth = surface[voxel_index] - radius - anatomy.scalp - anatomy.skull
    outer_depth = np.minimum(inner_depth - csf_layer[voxel_index], _fissure_distance(p, anatomy))

    # Cortical folding: sulci along the zero lines of a random field on the sphere of directions. Near the
    # midline the left-right component is damped so medial sulci run across the medial surface, and a smooth
    # random warp of the directions bends the sulci with depth instead of keeping them straight rays.
    damp = np.clip(np.abs(x) / 15.0, 0.0, 1.0)
    warp = np.stack([field(centres) for field in fields.warp], axis=1)[voxel_index]
    folding_dirs = np.stack([x * damp, y, z], axis=1) / radius[:, None] + 0.08 * warp
    folding_dirs /= np.linalg.norm(folding_dirs, axis=1, keepdims=True) + 1e-6
    folds = fields.folds(folding_dirs)
    cleft = anatomy.sulcal_depth * np.exp(-(folds / 0.25) ** 2)  # thin CSF cleft along the sulcus
    dip = anatomy.sulcal_depth * np.exp(-(folds / 1.0) ** 2)  # GM/WM boundary dips around it: GM banks
    return _ramp(outer_depth - cleft, step), _ramp(outer_depth - anatomy.cortex - dip, step)


def _subsample_offsets(anatomy: Anatomy, voxel: float, n: int) -> np.ndarray:
    """Head-frame offsets (n**3, 3) of an n x n x n grid of sub-samples around a voxel centre."""
    steps = (np.arange(n, dtype=np.float32) - (n - 1) / 2) * voxel / n
    zs, rows, cols = (a.ravel() for a in np.meshgrid(steps, steps, steps, indexing="ij"))
    x, y = cols, -rows  # image rows run anterior to posterior
    c, s = np.cos(anatomy.yaw), np.sin(anatomy.yaw)
    return np.stack([c * x + s * y, -s * x + c * y, zs], axis=1).astype(np.float32)


def _central(p: np.ndarray, anatomy: Anatomy, voxel: float) -> tuple[np.ndarray, np.ndarray]:
    """Ventricle (CSF) and deep grey-matter indicators of voxels ``p`` (N, 3), mirrored left/right."""
    s = anatomy.scale
    mirror = np.array([-1.0, 1.0, 1.0], np.float32)
    radii = _VENTRICLE_RADII * anatomy.ventricle_scale * s
    lateral = np.maximum(_tube_depth(p, _VENTRICLE * s, radii),
                         _tube_depth(p, _VENTRICLE * s * mirror, radii))
    third = _ellipsoid_depth(p, (0, -6 * s, 2 * s), (1.2 * anatomy.ventricle_scale, 12 * s, 9 * s))
    deep = np.full(len(p), -np.inf, dtype=np.float32)
    for centre, semi in _DEEP_GM:
        for sign in (1.0, -1.0):
            c = (sign * centre[0] * s, centre[1] * s, centre[2] * s)
            deep = np.maximum(deep, _ellipsoid_depth(p, c, tuple(a * s for a in semi)))
    return _ramp(np.maximum(lateral, third), voxel), _ramp(deep, voxel)


def brain_phantom(rng: np.random.Generator, size: int = 96, n_slices: int = 26, fov_mm: float = FOV_MM,
                  supersample: int = 2) -> Phantom:
    """Generate one subject: ``n_slices`` contiguous axial slices of ``size`` x ``size`` isotropic voxels.

    The slab is centred a few mm above the head centre (at the level of the ventricles' bodies), with slices
    as thick as the in-plane voxel (``fov_mm / size``). Smooth surfaces get their partial volume from the
    one-voxel ramp; the folded cortex, whose sulci are thinner than a coarse voxel, averages ``supersample``
    ** 3 sub-samples per voxel (point samples would alias the sulci into jagged, unlearnable detail).
    Costly fields are evaluated only where they matter (the cortical ribbon for the folding; near the centre
    for the ventricles and deep nuclei); the draws from ``rng`` do not depend on those subsets or on the
    grid, so a subject is the same anatomy at every size.
    """
    anatomy = sample_anatomy(rng)
    voxel = fov_mm / size
    head_waves = _Waves.draw(rng, 8, 2.5)
    p = _coordinates(anatomy, size, n_slices, voxel, voxel)
    radius = np.linalg.norm(p, axis=1) + 1e-6
    u = p / radius[:, None]
    axes = np.asarray(anatomy.head_axes, np.float32)
    surface = 1.0 / np.linalg.norm(u / axes, axis=1) + 2.5 * head_waves(u)  # head radius along each ray
    depth = surface - radius  # radial depth below the (perturbed) ellipsoid surface of the head
    in_head, below_scalp = _ramp(depth, voxel), _ramp(depth - anatomy.scalp, voxel)
    intracranial = _ramp(depth - anatomy.scalp - anatomy.skull, voxel)

    # Cortex where it can be (within the deepest sulcus of the brain surface or of the fissure), from
    # sub-samples; deeper voxels are white matter (the subarachnoid CSF layer is at least 0.5 mm thick).
    fields = _CortexFields.draw(rng, anatomy)
    inside = np.flatnonzero(intracranial > 0)
    q, inner_depth = p[inside], depth[inside] - anatomy.scalp - anatomy.skull
    reach = anatomy.cortex + anatomy.sulcal_depth + 2 * voxel
    ribbon = inside[np.minimum(inner_depth - 0.5, _fissure_distance(q, anatomy)) < reach]
    parenchyma, white = np.zeros_like(depth), np.zeros_like(depth)
    parenchyma[inside], white[inside] = 1.0, 1.0
    offsets = _subsample_offsets(anatomy, voxel, supersample)
    sub = (p[ribbon][:, None, :] + offsets[None]).reshape(-1, 3)
    owner = np.repeat(np.arange(len(ribbon)), len(offsets))
    sub_parenchyma, sub_white = _cortex(sub, owner, p[ribbon], surface[ribbon], anatomy, fields,
                                        voxel / supersample)
    parenchyma[ribbon] = sub_parenchyma.reshape(len(ribbon), -1).mean(axis=1)
    white[ribbon] = sub_white.reshape(len(ribbon), -1).mean(axis=1)
    parenchyma *= intracranial
    texture = np.ones_like(depth)
    texture[inside] += 0.03 * _Waves.draw(rng, 12, 2 * np.pi)(q / 40.0)  # +-3 % smooth PD variation

    s = anatomy.scale
    near = ((np.abs(q[:, 0]) < 40 * s) & (np.abs(q[:, 1] + 6 * s) < 52 * s)
            & (np.abs(q[:, 2] - 8 * s) < 26 * s))  # a box around every central structure
    ventricles, deep = np.zeros_like(depth), np.zeros_like(depth)
    ventricles[inside[near]], deep[inside[near]] = _central(q[near], anatomy, voxel)

    tissue = parenchyma * (1.0 - ventricles)
    wm = tissue * white * (1.0 - deep)
    fractions = {
        "background": 1.0 - in_head,
        "fat": in_head - below_scalp,
        "skull": below_scalp - intracranial,
        "csf": intracranial - parenchyma + parenchyma * ventricles,
        "gm": tissue - wm,
        "wm": wm,
    }
    shape = (n_slices, size, size)
    stacked = np.stack([np.clip(fractions[name], 0.0, 1.0).reshape(shape) for name in TISSUES])
    return Phantom(fractions=stacked.astype(np.float32), texture=texture.reshape(shape), voxel_mm=voxel,
                   anatomy=anatomy)
