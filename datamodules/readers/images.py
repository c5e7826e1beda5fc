"""Read 2-D PNG/TIFF images (8/16-bit integer or float) as grey float32 arrays in [0, 1].

Why one reader: every dataset of the suite is stored as PNG or TIFF, and a bad file must fail the same way
everywhere: a one-line :class:`DataError` naming the file and what was expected, never a library traceback.

Conventions:
- RGB(A) is converted to grey with the ITU-R BT.601 luma weights 0.2989 R + 0.5870 G + 0.1140 B (MATLAB's
  ``rgb2gray``); an alpha channel is dropped.
- ``scale="dtype"`` divides integers by their type's maximum (255, 65535): the stored intensities keep their
  meaning across images (FMD, NIR). Float images must then already lie in [0, 1].
- ``scale="percentile"`` / ``"minmax"`` normalise each image on its own (robust min-max between the 0.1 and
  99.9 percentiles, then clipped; or plain min-max): for folders mixing bit depths and exposures
  (fluorescence x4). :func:`intensity_bounds` and :func:`rescale` are the two halves of that rule, so a
  dataset can compute the bounds once over many images (per-dataset normalisation) and apply them to each.
- :func:`read_channels` keeps every stored channel (multi-channel data) where :func:`read_array` makes grey.
"""
from __future__ import annotations

import logging
import typing
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from benchmark.errors import DataError

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
LUMA = np.array([0.2989, 0.5870, 0.1140])
Normalization = Literal["dtype", "percentile", "minmax"]  # how raw intensities map to [0, 1]
SCALES = typing.get_args(Normalization)
PERCENTILES = (0.1, 99.9)
_INT_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
MAX_CHANNELS = 16  # a (C, H, W) stack with more planes is taken for a volume, not channels


def _decode(path: Path) -> np.ndarray:
    """Decode the file with tifffile (TIFF) or imageio/Pillow (PNG); any failure becomes a DataError."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise DataError(f"{path}: unsupported image format {suffix!r} (expected PNG or TIFF)")
    if not path.is_file():
        raise DataError(f"{path}: image file not found")
    tiff_log = logging.getLogger("tifffile")
    level = tiff_log.level
    try:
        if suffix == ".png":
            import imageio.v3 as iio

            array = np.asarray(iio.imread(path))
        else:
            import tifffile

            tiff_log.setLevel(logging.CRITICAL)  # a damaged TIFF is logged, then read as nothing: said below
            array = np.asarray(tifffile.imread(path))
    except Exception as exc:  # noqa: BLE001 - decoders raise many unrelated types for corrupt files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: cannot decode image ({reason[:120]})") from None
    finally:
        tiff_log.setLevel(level)
    if array.size == 0:
        raise DataError(f"{path}: cannot decode image (no image data in the file)")
    return array


def _to_grey(array: np.ndarray, path: Path) -> np.ndarray:
    """(H, W), (H, W, 1|3|4) or (1, H, W) -> (H, W); anything else is unsupported."""
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        rgb = array[..., :3]
        if array.dtype == np.bool_:
            rgb = rgb.astype(np.uint8)
        return rgb.astype(np.float64) @ LUMA
    if array.ndim != 2:
        raise DataError(f"{path}: unsupported image shape {tuple(array.shape)} "
                        "(expected a 2-D grey image or RGB/RGBA with 3 or 4 channels)")
    return array


def _stored(path: Path) -> np.ndarray:
    """The decoded array in native byte order, with a supported pixel type."""
    raw = _decode(path)
    if raw.dtype.byteorder not in ("=", "|"):  # big-endian TIFF: native order so the dtype checks match
        raw = raw.astype(raw.dtype.newbyteorder("="))
    dtype = raw.dtype
    if not (dtype == np.bool_ or dtype in _INT_MAX or np.issubdtype(dtype, np.floating)):
        raise DataError(f"{path}: unsupported pixel type {dtype} (expected uint8, uint16 or float)")
    return raw


def _checked(values: np.ndarray, raw: np.ndarray, path: Path) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or min(values.shape) < 1:
        raise DataError(f"{path}: empty image {tuple(raw.shape)}")
    if not np.isfinite(values).all():
        raise DataError(f"{path}: image holds non-finite values (NaN or infinity)")
    return values


def read_array(path: str | Path) -> tuple[np.ndarray, np.dtype]:
    """The image as a grey float64 (H, W) array in its stored units, and the stored dtype."""
    path = Path(path)
    raw = _stored(path)
    return _checked(_to_grey(raw, path), raw, path), raw.dtype


def _to_channels(array: np.ndarray, path: Path) -> np.ndarray:
    """(H, W) -> (1, H, W); (H, W, C<=4) channels last (a PNG's alpha dropped); (C<=16, H, W) channels
    first."""
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if array.ndim == 2:
        return array[None]
    if array.ndim == 3 and array.shape[-1] <= 4 < min(array.shape[:2]):
        if array.shape[-1] == 4 and path.suffix.lower() == ".png":
            array = array[..., :3]
        return np.moveaxis(array, -1, 0)
    if array.ndim == 3 and array.shape[0] <= MAX_CHANNELS < min(array.shape[1:]):
        return array
    raise DataError(f"{path}: unsupported image shape {tuple(array.shape)} (expected (H, W), (H, W, C) with "
                    f"C <= 4, or a stack (C, H, W) with C <= {MAX_CHANNELS})")


def read_channels(path: str | Path) -> tuple[np.ndarray, np.dtype]:
    """Every stored channel as float64 (C, H, W) in stored units, and the stored dtype."""
    path = Path(path)
    raw = _stored(path)
    return _checked(_to_channels(raw, path), raw, path), raw.dtype


def intensity_bounds(values: np.ndarray, mode: str, percentiles: tuple[float, float] = PERCENTILES,
                     region: np.ndarray | None = None) -> tuple[float, float]:
    """The (low, high) intensities that map to 0 and 1.

    'minmax': the minimum and maximum. 'percentile': the ``percentiles[0]`` percentile of all values and the
    ``percentiles[1]`` percentile of the values inside ``region`` (a boolean array of ``values``' shape; all
    values when None or empty), so that a signal region such as a brain mask sets the top of the range; when
    that range is empty, the full range.
    """
    values = np.asarray(values)
    if mode == "minmax":
        return float(values.min()), float(values.max())
    if mode != "percentile":
        raise ValueError(f"unknown normalisation {mode!r}")
    inside = values[region] if region is not None and region.any() else values
    lo, hi = float(np.percentile(values, percentiles[0])), float(np.percentile(inside, percentiles[1]))
    if hi <= lo:  # nearly constant image (e.g. mostly saturated): fall back to the full range
        lo, hi = float(values.min()), float(values.max())
    return lo, hi


def rescale(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(values - lo) / (hi - lo) clipped to [0, 1] as float32; zeros when the range is empty."""
    if hi <= lo:
        return np.zeros_like(values, dtype=np.float32)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def dtype_scaled(values: np.ndarray, dtype: np.dtype, path: str | Path) -> np.ndarray:
    """Stored values divided by their integer type's maximum; floats must already lie in [0, 1]."""
    if dtype == np.bool_:
        return values.astype(np.float32)
    if dtype in _INT_MAX:
        return (values / _INT_MAX[dtype]).astype(np.float32)
    lo, hi = float(values.min()), float(values.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise DataError(f"{path}: float image values span [{lo:.4g}, {hi:.4g}], expected [0, 1] "
                        "(store integers, or rescale the file)")
    return np.clip(values, 0.0, 1.0).astype(np.float32)


def normalize(grey: np.ndarray, mode: str, path: str | Path = "<array>") -> np.ndarray:
    """Per-image normalisation to [0, 1]: 'percentile' (robust, clipped) or 'minmax'."""
    if mode not in ("percentile", "minmax"):
        raise ValueError(f"unknown normalisation {mode!r} for {path}")
    return rescale(grey, *intensity_bounds(grey, mode))


def read_image(path: str | Path, scale: str = "dtype") -> np.ndarray:
    """Grey float32 (H, W) in [0, 1]; see the module docstring for ``scale``."""
    path = Path(path)
    grey, dtype = read_array(path)
    if scale != "dtype":
        return normalize(grey, scale, path)
    return dtype_scaled(grey, dtype, path)


def read_tensor(path: str | Path, scale: str = "dtype") -> torch.Tensor:
    """Grey float32 (1, H, W) tensor in [0, 1]."""
    return torch.from_numpy(read_image(path, scale)[None].copy())


def read_mask(path: str | Path) -> torch.Tensor:
    """A binary mask image as a bool (1, H, W) tensor: nonzero pixels are True."""
    grey, _ = read_array(path)
    return torch.from_numpy(grey[None] > 0)
