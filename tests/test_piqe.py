"""PIQE against pypiqe (a MATLAB-equivalent port) on real images, plus its defined edge cases.

Comparison protocol: pypiqe rescales its input by the image maximum, ``round(255 * I / max(I))``, where MATLAB
(and ``benchmark.piqe``) use the dtype range, ``round(255 * im2double(I))``. So ours gets ``I / max(I)``: both
then see the same 0..255 grey levels (up to how exact halves round: numpy half-to-even vs MATLAB half-away).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from pypiqe import piqe as pypiqe_reference
from skimage import io

from benchmark.piqe import piqe, piqe_batch

TOLERANCE = 1.0  # PIQE points


def _real_images(root: Path) -> list[Path]:
    """Every real 2-D grey PNG/TIFF under the shared data (FMD, fluorescence, NIR)."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in {".png", ".tif", ".tiff"})
    return [p for p in files if io.imread(p).ndim == 2]


def _compare(paths: list[Path], root: Path) -> None:
    rows, bad = [], []
    for path in paths:
        image = io.imread(path)
        ref = float(pypiqe_reference(image)[0])
        ours = piqe(image / image.max())
        rows.append(f"{path.relative_to(root)}: ours {ours:.4f} pypiqe {ref:.4f}")
        if not abs(ours - ref) <= TOLERANCE:
            bad.append(rows[-1])
    assert not bad, "PIQE differs from pypiqe by more than 1 point:\n" + "\n".join(bad)


def test_matches_pypiqe_on_fmd_test_mix_gt(shared_data: Path) -> None:
    paths = sorted((shared_data / "fmd" / "test_mix" / "gt").glob("*.png"))
    assert len(paths) == 8
    _compare(paths, shared_data)


def test_matches_pypiqe_on_other_real_grey_images(shared_data: Path) -> None:
    gt = shared_data / "fmd" / "test_mix" / "gt"
    paths = [p for p in _real_images(shared_data) if p.parent != gt]
    assert len(paths) >= 20  # fmd raw, fluorescence, NIR-IIa, ICG pairs
    _compare(paths, shared_data)


def test_uint8_input_is_read_like_matlab_im2double(shared_data: Path) -> None:
    """uint8 is scaled by 255: on a full-range image this is pypiqe's protocol too."""
    image = io.imread(shared_data / "fmd" / "test_mix" / "gt" / "TwoPhoton_MICE_1.png")
    assert image.max() == 255
    assert piqe(image) == pytest.approx(piqe(image / 255.0), abs=1e-9)
    assert piqe(image) == pytest.approx(float(pypiqe_reference(image)[0]), abs=0.05)


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_constant_image_scores_100(value: float) -> None:
    """No active block: score = 100 * (0 + 1) / (0 + 1), MATLAB's 'uniform image is bad' convention."""
    assert piqe(np.full((64, 80), value)) == 100.0
    assert piqe(torch.full((1, 64, 80), value)) == 100.0


def test_strong_gaussian_noise_raises_score(shared_data: Path) -> None:
    rng = np.random.default_rng(0)
    for path in sorted((shared_data / "fmd" / "test_mix" / "gt").glob("*.png")):
        clean = io.imread(path) / 255.0
        noisy = np.clip(clean + 0.1 * rng.standard_normal(clean.shape), 0.0, 1.0)
        before, after = piqe(clean), piqe(noisy)
        assert after > before + 10.0, f"{path.name}: clean {before:.2f}, noisy {after:.2f}"


def test_score_in_range_on_real_and_pathological_images(shared_data: Path) -> None:
    rng = np.random.default_rng(1)
    yy, xx = np.indices((96, 112))
    images = [
        io.imread(shared_data / "nir" / "nir_iia_unpaired" / "7.png"),
        rng.random((96, 112)),
        (rng.random((96, 112)) > 0.5).astype(float),
        ((yy + xx) % 2).astype(float),
        ((yy // 8 + xx // 8) % 2).astype(float),
        rng.random((50, 37)),  # not a multiple of 16: padded
    ]
    for image in images:
        score = piqe(image)
        assert 0.0 <= score <= 100.0 and np.isfinite(score)


def test_torch_batch_and_input_checks() -> None:
    rng = np.random.default_rng(2)
    a = rng.random((2, 1, 48, 64))
    batch = piqe_batch(torch.from_numpy(a))
    assert batch == pytest.approx([piqe(a[0, 0]), piqe(a[1, 0])], abs=1e-9)
    with pytest.raises(ValueError):
        piqe(np.zeros((2, 16, 16)))
    with pytest.raises(ValueError):
        piqe(np.full((16, 16), np.nan))
    with pytest.raises(ValueError):
        piqe_batch(torch.zeros(2, 3, 16, 16))
