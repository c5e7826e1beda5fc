"""SBR and tumour-to-normal ratio: hand-computed values on tiny arrays and the nan (n/a) cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from benchmark.ratios import signal_to_background_ratio, tumour_to_normal_ratio

IMAGE = np.array(
    [
        [1.0, 1.0, 2.0, 2.0],
        [1.0, 9.0, 11.0, 2.0],
        [3.0, 10.0, 10.0, 2.0],
        [3.0, 3.0, 4.0, 4.0],
    ]
)
SIGNAL = np.zeros((4, 4), dtype=bool)
SIGNAL[1:3, 1:3] = True  # 9, 11, 10, 10 -> mean 10
# complement: 1,1,2,2,1,2,3,2,3,3,4,4 -> sum 28 over 12 pixels
BACKGROUND = np.zeros((4, 4), dtype=bool)
BACKGROUND[0, :2] = True  # 1, 1 -> mean 1


def test_sbr_with_complement_background() -> None:
    assert signal_to_background_ratio(IMAGE, SIGNAL) == pytest.approx(10.0 / (28.0 / 12.0), rel=1e-12)


def test_sbr_with_explicit_background_and_torch_input() -> None:
    assert signal_to_background_ratio(IMAGE, SIGNAL, BACKGROUND) == pytest.approx(10.0, rel=1e-12)
    t = torch.from_numpy(IMAGE).float()
    background01 = torch.from_numpy(BACKGROUND.astype(np.uint8))  # 0/1 masks are accepted too
    got = signal_to_background_ratio(t, torch.from_numpy(SIGNAL), background01)
    assert got == pytest.approx(10.0, rel=1e-6)


def test_tumour_to_normal_ratio() -> None:
    normal = np.zeros((4, 4), dtype=bool)
    normal[3, :] = True  # 3, 3, 4, 4 -> mean 3.5
    assert tumour_to_normal_ratio(IMAGE, SIGNAL, normal) == pytest.approx(10.0 / 3.5, rel=1e-12)


def test_nan_cases() -> None:
    empty = np.zeros((4, 4), dtype=bool)
    dark = IMAGE.copy()
    dark[0, :2] = 0.0
    assert math.isnan(signal_to_background_ratio(IMAGE, empty))  # empty signal
    assert math.isnan(signal_to_background_ratio(IMAGE, SIGNAL, empty))  # empty background
    assert math.isnan(signal_to_background_ratio(IMAGE, np.ones((4, 4), dtype=bool)))  # no complement left
    assert math.isnan(signal_to_background_ratio(dark, SIGNAL, BACKGROUND))  # zero background
    assert math.isnan(signal_to_background_ratio(-IMAGE, SIGNAL, BACKGROUND))  # negative background
    assert math.isnan(tumour_to_normal_ratio(IMAGE, SIGNAL, empty))
    assert math.isnan(tumour_to_normal_ratio(IMAGE, empty, BACKGROUND))


def test_mask_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError):
        signal_to_background_ratio(IMAGE, np.ones((3, 4), dtype=bool))
    with pytest.raises(ValueError):
        tumour_to_normal_ratio(IMAGE, SIGNAL, np.ones((4, 3), dtype=bool))
