"""The MR signal equations: the MPRAGE closed form against a step-by-step simulation, and tissue ordering."""
from __future__ import annotations

import numpy as np
import pytest

from datamodules.forward.mri_signal import MPRAGE, PROTOCOLS, RELAXATION, SpinEcho, Tissue, relative_signals


def simulated_mprage(protocol: MPRAGE, tissue: Tissue, cycles: int = 60) -> float:
    """Longitudinal magnetisation followed event by event through many cycles until it repeats."""
    t1, a = tissue.t1, np.deg2rad(protocol.flip_deg)
    before = protocol.ti - protocol.shots / 2 * protocol.spacing
    after = protocol.tr - before - protocol.shots * protocol.spacing

    def relax(m: float, ms: float) -> float:
        return 1.0 - (1.0 - m) * np.exp(-ms / t1)

    m, centre = 1.0, 0.0
    for _ in range(cycles):
        m = relax(-m, before)
        for shot in range(protocol.shots):
            if shot == protocol.shots // 2:
                centre = m
            m = relax(m * np.cos(a), protocol.spacing)
        m = relax(m, after)
    return tissue.pd * np.sin(a) * abs(centre) * np.exp(-protocol.te / tissue.t2)


@pytest.mark.parametrize("tissue", ["csf", "gm", "wm", "fat"])
def test_mprage_closed_form_matches_simulation(tissue: str):
    protocol = PROTOCOLS[("3T", "T1")]
    assert isinstance(protocol, MPRAGE)
    expected = simulated_mprage(protocol, RELAXATION["3T"][tissue])
    assert protocol.signal(RELAXATION["3T"][tissue]) == pytest.approx(expected, rel=1e-6)


def test_mprage_gives_stronger_t1_weighting_than_a_spin_echo_can():
    mprage = relative_signals("3T", "T1")
    assert mprage["csf"] < mprage["gm"] < mprage["wm"] < mprage["fat"]
    gm, wm = RELAXATION["3T"]["gm"], RELAXATION["3T"]["wm"]
    shortest_tr = SpinEcho(tr=1.0, te=10.0)  # the spin echo's strongest T1 weighting: TR -> 0
    limit = shortest_tr.signal(gm) / shortest_tr.signal(wm)
    assert 0.7 < limit < 0.8 and mprage["gm"] < limit - 0.05
    low = relative_signals("64mT", "T1")
    assert low["csf"] < low["gm"] < low["wm"] and low["gm"] > mprage["gm"]  # less GM/WM contrast at 64 mT


def test_mprage_whose_train_does_not_fit_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        MPRAGE(tr=1000.0, ti=500.0, flip_deg=8.0, te=3.0, shots=176, spacing=7.0).signal(RELAXATION["3T"]["wm"])
