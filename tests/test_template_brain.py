"""Synthetic MRI subjects from the MNI152 template: real anatomy, per-subject variation, deterministic."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from datamodules.forward.mri_signal import TISSUES
from datamodules.synthetic import image_rng
from datamodules.synthetic.template_brain import (
    _exponentiate,
    _radial,
    _velocity_field,
    sample_variation,
    template_maps,
    template_subject,
)

SIZE, SLICES = 48, 12  # 4.8 mm voxels: a coarse grid keeps this fast


def test_template_maps_load_offline_from_the_package():
    maps = template_maps(230 / SIZE)
    gm, wm, csf, _, _ = (c.numpy() for c in maps.maps)
    brain = gm + wm
    assert maps.spacing == 4.0 and gm.max() <= 1.0 and np.all(gm + wm + csf <= 1.0 + 1e-5)
    # A brain in MNI space (larger than native brains): 1-2 l of GM + WM, GM about as much as WM.
    litres = brain.sum() * maps.spacing ** 3 / 1e6
    assert 1.0 < litres < 2.0 and 0.8 < gm.sum() / wm.sum() < 1.6
    (left, _), (right, covariance) = maps.ventricles
    assert left[0] < 0 < right[0] and abs(left[1] - right[1]) < 5  # one lateral ventricle each side
    assert np.sqrt(np.linalg.eigvalsh(covariance)).max() > 15  # elongated front to back


def test_subject_is_deterministic_partial_volume_and_varied():
    a = template_subject(image_rng(0, "train", 0, "anatomy"), SIZE, SLICES)
    b = template_subject(image_rng(0, "train", 0, "anatomy"), SIZE, SLICES)
    c = template_subject(image_rng(0, "train", 1, "anatomy"), SIZE, SLICES)
    assert np.array_equal(a.fractions, b.fractions) and a.fractions.shape == (len(TISSUES), SLICES, SIZE, SIZE)
    assert np.allclose(a.fractions.sum(axis=0), 1.0, atol=1e-5) and a.fractions.min() >= 0
    assert not np.allclose(a.fractions, c.fractions)
    # Partial volume: many voxels hold a mixture; and every tissue class is present.
    mixed = ((a.fractions > 0.1) & (a.fractions < 0.9)).any(axis=0).mean()
    assert mixed > 0.05 and all(a.fraction(t).max() > 0.5 for t in ("fat", "skull", "csf", "gm", "wm"))
    # Skull and scalp outside the brain mask, air at the corners.
    assert a.brain_mask.mean() > 0.2 and a.fraction("background")[:, 0, 0].min() > 0.99


def test_ventricle_enlargement_and_thinning_change_tissue_volumes():
    base = sample_variation(image_rng(0, "test", 0, "anatomy"))
    volumes = {}
    for name, change in (("big", {"ventricle_factor": 1.6, "thinning": 0.0}),
                         ("small", {"ventricle_factor": 0.85, "thinning": 0.0}),
                         ("thin", {"ventricle_factor": 1.6, "thinning": 0.2})):
        phantom = template_subject(image_rng(0, "test", 0, "anatomy"), SIZE, SLICES,
                                   variation=replace(base, **change))
        centre = phantom.fraction("csf")[:, SIZE // 3:2 * SIZE // 3, SIZE // 3:2 * SIZE // 3]
        volumes[name] = (centre.sum(), phantom.fraction("gm").sum())
    assert volumes["big"][0] > 1.1 * volumes["small"][0]  # central CSF (the ventricles) grows
    assert volumes["thin"][1] < 0.95 * volumes["big"][1]  # thinning removes cortical GM


def test_deformation_is_smooth_and_invertible():
    displacement = _exponentiate(_velocity_field(np.random.default_rng(0), 3.0)).numpy()
    assert 1.0 < np.sqrt((displacement ** 2).sum(axis=0)).mean() < 6.0
    spacing = 240.0 / (displacement.shape[-1] - 1)
    # The Jacobian determinant of x + u(x) stays positive: the map folds nowhere.
    grads = [np.gradient(displacement[i], spacing) for i in range(3)]
    jacobian = np.stack([np.stack(g) for g in grads]) + np.eye(3)[:, :, None, None, None]
    assert np.linalg.det(np.moveaxis(jacobian, (0, 1), (-2, -1))).min() > 0
    # The ventricle map is monotone along a ray (an enlargement, not a fold).
    ray = np.stack([np.linspace(0, 60, 200), np.zeros(200), np.zeros(200)], axis=1)
    radius = np.linalg.norm(_radial(ray, np.zeros(3), np.diag([20.0, 200.0, 50.0]), 1.6), axis=1)
    assert np.all(np.diff(radius) > 0)
