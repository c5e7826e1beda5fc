"""Real-data readers: 2-D PNG/TIFF images and folder matching (the NIfTI reader lives in `nifti.py`)."""
from __future__ import annotations

from datamodules.readers.folders import by_stem, image_name, list_images, match, suffix_of
from datamodules.readers.images import (
    IMAGE_SUFFIXES,
    SCALES,
    Normalization,
    dtype_scaled,
    intensity_bounds,
    normalize,
    read_array,
    read_channels,
    read_image,
    read_mask,
    read_tensor,
    rescale,
)

__all__ = ["IMAGE_SUFFIXES", "SCALES", "Normalization", "by_stem", "dtype_scaled", "image_name", "intensity_bounds",
           "list_images", "match", "normalize", "read_array", "read_channels", "read_image", "read_mask",
           "read_tensor", "rescale", "suffix_of"]
