"""Read brain MRI volumes from NIfTI: paired 64 mT / 3 T folders, high-field-only folders, 64 mT-only scans.

Layouts (the ULF-EnC challenge layout for pairs; ``<C>`` is the contrast, ``T1`` or ``T2``; ``.nii`` works
too):

    paired     <root>/<subject>/64mT/<subject>_<C>.nii.gz + <root>/<subject>/3T/<subject>_<C>.nii.gz
    simulate   <root>/<subject>/3T/<subject>_<C>.nii.gz, or a flat folder <root>/*.nii.gz (one subject each)
    masks      <root>/<subject>/mask/<subject>_<C>.nii.gz, optional (brain mask on the 3 T grid)
    64 mT only <root>/<subject>/64mT/<subject>_<C>.nii.gz (inference on scans without a partner)

Conventions:
- Volumes are reoriented to the closest canonical orientation (RAS+, ``nibabel.as_closest_canonical``), so the
  third axis is inferior-to-superior whatever the acquisition plane: axial slices are ``volume[:, :, k]``,
  shown with anterior up and the subject's right on the left (radiological convention).
- A pair must share shape and affine on disk (they are registered to one grid); masks share the 3 T grid.
- Intensities: per-volume min-max to [0, 1] with a robust maximum, the 99.5th percentile inside the brain mask
  (or, without a mask, inside the foreground): a few bright voxels (vessels, fat, noise spikes) cannot squash
  the brain's range, and source and target brains land on the same scale so the identity map is a fair floor.
  Values above the percentile (scalp fat of non-skull-stripped heads, for one) are clipped to 1.
- Without a mask file, the mask is a foreground mask: Otsu threshold of the 3 T volume, holes filled, largest
  connected component (a head mask when the volume is not skull-stripped).
Every problem is a one-line :class:`DataError` naming the subject or file and what was expected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.errors import DataError

LOW, HIGH, MASK = "64mT", "3T", "mask"
SUFFIXES = (".nii.gz", ".nii")
ROBUST_PERCENTILE = 99.5


@dataclass
class SubjectFiles:
    """The files of one subject for one contrast (``lowfield`` is None in simulate mode)."""

    subject: str
    highfield: Path
    lowfield: Path | None = None
    mask: Path | None = None


def _nifti_name(path: Path) -> str | None:
    """The name without the NIfTI suffix, or None when the file is not NIfTI."""
    for suffix in SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.name[: -len(suffix)]
    return None


def _find(folder: Path, subject: str, contrast: str) -> Path | None:
    for suffix in SUFFIXES:
        path = folder / f"{subject}_{contrast}{suffix}"
        if path.is_file():
            return path
    return None


def _load(path: Path):  # -> nibabel.Nifti1Image
    import nibabel as nib

    try:
        image = nib.load(str(path))
    except Exception as exc:  # noqa: BLE001 - nibabel/gzip raise many unrelated types for corrupt files
        raise DataError(f"{path}: cannot read NIfTI file ({_reason(exc)})") from None
    if len(image.shape) not in (3, 4) or (len(image.shape) == 4 and image.shape[3] != 1):
        raise DataError(f"{path}: expected a 3-D volume, got shape {tuple(image.shape)}")
    return image


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def read_volume(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Load a NIfTI volume in closest-canonical (RAS+) orientation: float32 array (X, Y, Z) and its affine."""
    import nibabel as nib

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: NIfTI file not found")
    image = _load(path)
    if len(image.shape) == 4:
        image = image.slicer[..., 0]
    try:
        canonical = nib.as_closest_canonical(image)
        data = np.asarray(canonical.get_fdata(dtype=np.float32))
    except Exception as exc:  # noqa: BLE001 - truncated gzip streams fail only when the data are read
        raise DataError(f"{path}: cannot read NIfTI data ({_reason(exc)})") from None
    if not np.all(np.isfinite(data)):
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    return data, canonical.affine


def to_axial(volume: np.ndarray) -> np.ndarray:
    """Canonical (X, Y, Z) -> axial slices (Z, H, W): rows anterior to posterior, columns right to left."""
    return np.ascontiguousarray(np.transpose(volume, (2, 1, 0))[:, ::-1, ::-1])


PLANES = ("axial", "coronal", "sagittal")


def to_slices(volume: np.ndarray, plane: str = "axial") -> np.ndarray:
    """Canonical (X, Y, Z) -> slices (N, H, W) in ``plane``, in the radiological display convention.

    axial: :func:`to_axial`; coronal: one slice per Y (posterior to anterior), superior up, the subject's
    right on the left; sagittal: one slice per X (left to right in RAS+ order), superior up,
    anterior on the left.
    """
    if plane == "axial":
        return to_axial(volume)
    if plane == "coronal":
        return np.ascontiguousarray(np.transpose(volume, (1, 2, 0))[:, ::-1, ::-1])
    if plane == "sagittal":
        return np.ascontiguousarray(np.transpose(volume, (0, 2, 1))[:, ::-1, ::-1])
    raise ValueError(f"unknown plane {plane!r}; expected one of {', '.join(PLANES)}")


def axial_spacing(affine: np.ndarray) -> tuple[float, float]:
    """In-plane pixel size (row, column) in mm of :func:`to_axial` slices of a canonical volume."""
    zooms = np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))
    return float(zooms[1]), float(zooms[0])


def normalise(volume: np.ndarray, mask: np.ndarray | None = None,
              percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """Min-max to [0, 1] with a robust maximum: the ``percentile`` inside ``mask`` (else the foreground)."""
    low = float(volume.min())
    region = volume[mask] if mask is not None and mask.any() else volume[volume > low]
    high = float(np.percentile(region, percentile)) if region.size else low
    if high <= low:
        high = float(volume.max())
    if high <= low:
        return np.zeros_like(volume, dtype=np.float32)
    return np.clip((volume - low) / (high - low), 0.0, 1.0).astype(np.float32)


def foreground_mask(volume: np.ndarray) -> np.ndarray:
    """Otsu foreground, holes filled, largest 3-D connected component (when no mask file is given)."""
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    if float(volume.max()) <= float(volume.min()):
        return np.zeros(volume.shape, dtype=bool)
    mask = volume > threshold_otsu(volume)
    labels, count = ndimage.label(mask)
    if count > 1:
        sizes = ndimage.sum(mask, labels, index=np.arange(1, count + 1))
        mask = labels == (int(np.argmax(sizes)) + 1)
    for k in range(mask.shape[0]):  # fill holes slice by slice: ventricles are dark in T1w
        mask[k] = ndimage.binary_fill_holes(mask[k])
    return mask


# --- layouts ------------------------------------------------------------------------------------------------
def _subject_dirs(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and ((d / LOW).is_dir() or (d / HIGH).is_dir()))


def detect_mode(root: Path) -> str:
    """``paired`` when a ``<subject>/64mT`` folder exists, ``simulate`` for 3 T-only or flat NIfTI folders."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"mri: data root {root} does not exist or is not a folder")
    dirs = _subject_dirs(root)
    if any((d / LOW).is_dir() for d in dirs):
        return "paired"
    if dirs or any(_nifti_name(f) for f in root.iterdir() if f.is_file()):
        return "simulate"
    raise DataError(f"mri: no NIfTI volumes under {root}: expected <subject>/{{64mT,3T}}/<subject>_T1.nii.gz "
                    "(paired), <subject>/3T/<subject>_T1.nii.gz or a folder of .nii.gz files (simulate)")


def _flat_files(root: Path, contrast: str) -> list[SubjectFiles]:
    """Flat folder: one subject per file; files naming another contrast (``_T2``, ``-T2``...) are skipped."""
    files = sorted((f, _nifti_name(f)) for f in root.iterdir() if f.is_file() and _nifti_name(f))
    token = re.compile(r"(?:^|[_\-.])(T1|T2)(?:w)?(?:$|[_\-.])", re.IGNORECASE)
    out = []
    for path, stem in files:
        found = token.findall(stem)
        if found and contrast.upper() not in {t.upper() for t in found}:
            continue
        out.append(SubjectFiles(subject=stem, highfield=path))
    return out


def find_subjects(root: str | Path, contrast: str, mode: str) -> list[SubjectFiles]:
    """The subjects under ``root`` for ``contrast`` in ``mode`` (``paired`` or ``simulate``), sorted by name.

    Paired: every subject with either volume must have both (a missing partner is an error). Subjects with no
    volume of this contrast are skipped.
    """
    root = Path(root)
    dirs = _subject_dirs(root) if root.is_dir() else []
    if mode == "simulate" and not any((d / HIGH).is_dir() for d in dirs):
        subjects = _flat_files(root, contrast) if root.is_dir() else []
    else:
        subjects = []
        for folder in dirs:
            name = folder.name
            high, low = _find(folder / HIGH, name, contrast), _find(folder / LOW, name, contrast)
            if mode == "paired" and (high is None) != (low is None):
                have, missing = (HIGH, LOW) if low is None else (LOW, HIGH)
                expected = folder / missing / f"{name}_{contrast}.nii.gz"
                hint = "; unpaired 64 mT scans are for inference: load_lowfield_only" if high is None else ""
                raise DataError(f"mri: subject {name}: {have} {contrast} volume has no {missing} partner "
                                f"(expected {expected}{hint})")
            if high is None:
                continue
            subjects.append(SubjectFiles(subject=name, highfield=high,
                                         lowfield=low if mode == "paired" else None,
                                         mask=_find(folder / MASK, name, contrast)))
    if not subjects:
        raise DataError(f"mri: no {contrast} volumes for mode {mode!r} under {root} (expected "
                        f"<subject>/{HIGH}/<subject>_{contrast}.nii.gz"
                        + (f" and <subject>/{LOW}/<subject>_{contrast}.nii.gz)" if mode == "paired" else ")"))
    return subjects


# --- loading ------------------------------------------------------------------------------------------------
@dataclass
class SubjectVolumes:
    """One subject as axial slices (Z, H, W) on a common grid: ``lowfield`` None in simulate mode."""

    subject: str
    highfield: np.ndarray
    mask: np.ndarray
    spacing: tuple[float, float]
    lowfield: np.ndarray | None = None


def _same_grid(subject: str, what: str, first, second) -> None:
    if tuple(first.shape) != tuple(second.shape):
        raise DataError(f"mri: subject {subject}: {what} differ in shape {tuple(first.shape)} vs "
                        f"{tuple(second.shape)}")
    difference = float(np.abs(np.asarray(first.affine) - np.asarray(second.affine)).max())
    if difference > 1e-3:
        raise DataError(f"mri: subject {subject}: {what} differ in affine "
                        f"(largest difference {difference:.3g})")


def load_subject(files: SubjectFiles, contrast: str) -> SubjectVolumes:
    """Read, check and normalise one subject: axial slices in [0, 1] and a boolean brain mask."""
    high_img = _load(files.highfield)
    if files.lowfield is not None:
        _same_grid(files.subject, f"{LOW} and {HIGH} {contrast} volumes", _load(files.lowfield), high_img)
    if files.mask is not None:
        _same_grid(files.subject, f"{HIGH} {contrast} volume and its mask", high_img, _load(files.mask))
    high, affine = read_volume(files.highfield)
    high = to_axial(high)
    if files.mask is not None:
        mask = to_axial(read_volume(files.mask)[0]) > 0.5
    else:
        mask = foreground_mask(high)
    if not mask.any():
        raise DataError(f"mri: subject {files.subject}: empty brain mask "
                        f"({files.mask or 'derived from ' + str(files.highfield)})")
    low = None
    if files.lowfield is not None:
        low = normalise(to_axial(read_volume(files.lowfield)[0]), mask)
    return SubjectVolumes(subject=files.subject, highfield=normalise(high, mask), mask=mask,
                          spacing=axial_spacing(affine), lowfield=low)


@dataclass
class LowFieldScan:
    """A 64 mT volume without a partner, as axial slices in [0, 1] with a foreground mask."""

    subject: str
    path: Path
    slices: np.ndarray
    mask: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, float]


def load_lowfield_only(root: str | Path, contrast: str = "T1") -> list[LowFieldScan]:
    """Every ``<subject>/64mT/<subject>_<C>.nii.gz`` under ``root`` (or ``root`` itself when it is a file)."""
    root = Path(root)
    if root.is_file():
        stem = _nifti_name(root) or root.stem
        paths = [(stem[: -len(contrast) - 1] if stem.endswith(f"_{contrast}") else stem, root)]
    elif root.is_dir():
        paths = [(d.name, p) for d in sorted(root.iterdir()) if d.is_dir()
                 for p in [_find(d / LOW, d.name, contrast)] if p is not None]
    else:
        raise DataError(f"mri: {root} does not exist")
    if not paths:
        raise DataError(f"mri: no 64 mT {contrast} volumes under {root} (expected <subject>/{LOW}/"
                        f"<subject>_{contrast}.nii.gz)")
    scans = []
    for subject, path in paths:
        volume, affine = read_volume(path)
        axial = to_axial(volume)
        mask = foreground_mask(axial)
        scans.append(LowFieldScan(subject=subject, path=path, slices=normalise(axial, mask), mask=mask,
                                  affine=affine, spacing=axial_spacing(affine)))
    return scans
