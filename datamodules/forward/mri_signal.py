"""MR signal of brain tissues at 3 T and at 64 mT: relaxation times, proton density, pulse sequences.

Why: the 64 mT image differs from the 3 T one not only in resolution and noise but in *contrast*, because
T1 and T2 depend on the field (T1 of brain tissue is about 3x shorter at 64 mT and the GM/WM ratio of T1
shrinks). A phantom given as tissue fractions is turned into a weighted image by evaluating each protocol's
signal equation per tissue (the spin echo S = PD * (1 - exp(-TR / T1)) * exp(-TE / T2), or the MPRAGE steady
state below) and mixing the signals linearly by the voxel's tissue fractions (partial volume: the
magnetisations of the tissues in a voxel add up).

Sources (values rounded):
- 3 T, WM and GM: Wansapura et al., "NMR relaxation times in the human brain at 3.0 Tesla", JMRI 9:531 (1999):
  T1 WM 832 ms, GM 1331 ms; T2 WM 80 ms, GM 110 ms. (Stanisz et al., MRM 54:507 (2005) report longer T1,
  1084 / 1820 ms, with another method: literature T1 of WM spans 0.6-1.1 s at 3 T; the GM/WM ratio ~1.6,
  which sets the contrast, agrees between them.)
- 3 T, CSF: Lu et al., "Routine clinical brain MRI sequences for use at 3.0 Tesla", JMRI 22:13 (2005):
  T1 about 4160 ms. CSF T2 is long (about 2 s, assumed); at TE <= 100 ms its exact value barely matters.
- 3 T, subcutaneous fat: Gold et al., AJR 183:343 (2004): T1 371 ms, T2 133 ms.
- 64 mT (approximate): O'Reilly & Webb, "In vivo T1 and T2 relaxation time maps of brain tissue, skeletal
  muscle, and lipid measured in healthy volunteers at 50 mT", MRM (2022), and Jordanova et al., "In vivo
  quantitative MRI T1 and T2 measurements of the human brain at 0.064 T", MAGMA (2023),
  doi:10.1007/s10334-023-01095-x. Brain T1 is about 300 ms (WM) and 400-450 ms (GM), T2 about 100 ms (WM)
  and 110 ms (GM); lipid T1 is about 150 ms. The numbers below are rounded representatives of those ranges,
  not a fit: they are good to perhaps +-20 %, and what the simulation relies on is their ordering and ratios
  (GM/WM T1 ratio ~1.4 vs ~1.6 at 3 T; GM/WM T2 ratio ~1.1 vs ~1.4). CSF T1 (3 s) is kept close to free
  water: the lower values measured at 64 mT are limited by the inversion times used (Jordanova et al. report
  underestimated long T1 on test samples).
- Proton density (water content relative to CSF): WM 0.69, GM 0.80 from Neeb et al., NeuroImage 31:1156
  (2006); fat 0.9 (assumed). Cortical bone has almost no MR-visible water and T2* < 1 ms (ultrashort-TE
  studies, e.g. Du & Bydder), so the skull is dark in both fields.

Protocols (T1w at 3 T is a published MPRAGE; the others are chosen here, scaled to the T1/T2 of their field so
each is a sensible T1- or T2-weighted acquisition):
- T1w, 3 T: MPRAGE, the inversion-prepared 3-D gradient echo of 3 T T1w reference scans (ADNI's T1w series
  is an MPRAGE: Jack et al., JMRI 27:685, 2008): TR 2400 ms (inversion to inversion), TI 1000 ms (inversion
  to the k-space centre), flip 8 degrees, TE 3.16 ms, as in a Siemens Trio 1 mm protocol (e.g. the study
  summarised at pubcompare.ai/protocol/Vq761IwB4C3bMWOePrl9). The readout train is 176 excitations (one per
  partition of a 176-partition sagittal slab) 7 ms apart (an assumed, typical echo spacing). The signal is
  the steady-state MPRAGE magnetisation at the train's centre (Mugler & Brookeman, MRM 15:152, 1990;
  Deichmann et al., NeuroImage 12:112, 2000): CSF nearly nulled, GM/WM about 0.68 with the T1 values
  below, a stronger T1 weighting than a spin echo can give (its GM/WM ratio cannot fall below PD * T1
  ratio, about 0.75).
- T1w, 64 mT: SE TR/TE = 200/12 ms (TR/T1_WM ~0.7).
- T2w: 3 T SE TR/TE = 4000/100 ms; 64 mT SE TR/TE = 2000/180 ms (TE ~1.3-1.8 T2_WM; low-field T2w FSE
  protocols use long effective TEs).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

TISSUES = ("background", "fat", "skull", "csf", "gm", "wm")
FIELDS = ("3T", "64mT")
CONTRASTS = ("T1", "T2")


@dataclass(frozen=True)
class Tissue:
    """Relaxation times in ms and proton density relative to CSF."""

    t1: float
    t2: float
    pd: float


# Background is air: no signal. Skull: negligible MR-visible water, T2* < 1 ms.
RELAXATION: dict[str, dict[str, Tissue]] = {
    "3T": {
        "background": Tissue(t1=1.0, t2=1.0, pd=0.0),
        "fat": Tissue(t1=371.0, t2=133.0, pd=0.9),
        "skull": Tissue(t1=250.0, t2=0.5, pd=0.05),
        "csf": Tissue(t1=4160.0, t2=2000.0, pd=1.0),
        "gm": Tissue(t1=1331.0, t2=110.0, pd=0.80),
        "wm": Tissue(t1=832.0, t2=80.0, pd=0.69),
    },
    "64mT": {
        "background": Tissue(t1=1.0, t2=1.0, pd=0.0),
        "fat": Tissue(t1=150.0, t2=100.0, pd=0.9),
        "skull": Tissue(t1=100.0, t2=0.5, pd=0.05),
        "csf": Tissue(t1=3000.0, t2=1700.0, pd=1.0),
        "gm": Tissue(t1=420.0, t2=110.0, pd=0.80),
        "wm": Tissue(t1=300.0, t2=100.0, pd=0.69),
    },
}


@dataclass(frozen=True)
class SpinEcho:
    """Repetition and echo time in ms."""

    tr: float
    te: float

    def signal(self, tissue: Tissue) -> float:
        """Spin-echo magnitude S = PD (1 - exp(-TR/T1)) exp(-TE/T2)."""
        return float(tissue.pd * (1.0 - np.exp(-self.tr / tissue.t1)) * np.exp(-self.te / tissue.t2))


@dataclass(frozen=True)
class MPRAGE:
    """Magnetisation-prepared rapid gradient echo: inversion, a train of ``shots`` low-angle excitations
    ``spacing`` ms apart centred ``ti`` ms after it, recovery until the next inversion ``tr`` ms later."""

    tr: float
    ti: float
    flip_deg: float
    te: float
    shots: int
    spacing: float

    def signal(self, tissue: Tissue) -> float:
        """Steady state of the cycle, read at the centre of the train (linear k-space ordering).

        During the train the longitudinal magnetisation relaxes per excitation towards
        m* = (1 - E) / (1 - cos(a) E), E = exp(-spacing / T1), by the factor r = cos(a) E; the inversion
        flips it, and free recovery fills the gaps before (``ti`` minus half the train) and after the train.
        Requiring the magnetisation before an inversion to repeat gives it in closed form.
        """
        a = np.deg2rad(self.flip_deg)
        e = np.exp(-self.spacing / tissue.t1)
        r = np.cos(a) * e
        steady = (1.0 - e) / (1.0 - r)
        before = self.ti - self.shots / 2 * self.spacing  # inversion to the first excitation
        after = self.tr - before - self.shots * self.spacing  # last excitation to the next inversion
        if before < 0 or after < 0:
            raise ValueError("MPRAGE: the readout train does not fit between the inversions")
        e_before, e_after, r_n = np.exp(-before / tissue.t1), np.exp(-after / tissue.t1), r ** self.shots
        start = (1.0 - e_after + e_after * (steady * (1.0 - r_n) + (1.0 - e_before) * r_n)) \
            / (1.0 + e_after * e_before * r_n)  # longitudinal magnetisation just before an inversion
        first = 1.0 - (1.0 + start) * e_before  # ... at the first excitation
        centre = steady + (first - steady) * r ** (self.shots // 2)
        return float(tissue.pd * np.sin(a) * abs(centre) * np.exp(-self.te / tissue.t2))


PROTOCOLS: dict[tuple[str, str], SpinEcho | MPRAGE] = {
    ("3T", "T1"): MPRAGE(tr=2400.0, ti=1000.0, flip_deg=8.0, te=3.16, shots=176, spacing=7.0),
    ("64mT", "T1"): SpinEcho(tr=200.0, te=12.0),
    ("3T", "T2"): SpinEcho(tr=4000.0, te=100.0),
    ("64mT", "T2"): SpinEcho(tr=2000.0, te=180.0),
}


def tissue_signals(field: str, contrast: str, t1_scale: Mapping[str, float] | None = None) -> dict[str, float]:
    """Signal of each pure tissue for one field and contrast (arbitrary units, comparable within a field);
    ``t1_scale`` multiplies the T1 of the tissues it names (one subject's deviation from the mean)."""
    if field not in FIELDS or contrast not in CONTRASTS:
        raise ValueError(f"field must be one of {FIELDS} and contrast one of {CONTRASTS}")
    protocol, scale = PROTOCOLS[(field, contrast)], t1_scale or {}
    return {name: protocol.signal(replace(tissue, t1=tissue.t1 * scale.get(name, 1.0)))
            for name, tissue in RELAXATION[field].items()}


def relative_signals(field: str, contrast: str) -> dict[str, float]:
    """Tissue signals divided by the WM signal (the reference tissue for SNR and simulate-mode contrast)."""
    signals = tissue_signals(field, contrast)
    return {name: value / signals["wm"] for name, value in signals.items()}


def weighted_image(fractions: np.ndarray, field: str, contrast: str,
                   t1_scale: Mapping[str, float] | None = None) -> np.ndarray:
    """Mix the tissue signals by the voxel fractions ``(len(TISSUES), ...)``; returns the image ``(...)``."""
    if fractions.shape[0] != len(TISSUES):
        raise ValueError(f"expected {len(TISSUES)} tissue fractions, got {fractions.shape[0]}")
    signals = tissue_signals(field, contrast, t1_scale)
    weights = np.array([signals[name] for name in TISSUES], dtype=np.float32)
    return np.tensordot(weights, fractions.astype(np.float32, copy=False), axes=1)
