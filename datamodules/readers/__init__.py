"""Real-data readers: 2-D PNG/TIFF images and folder matching (the NIfTI reader lives in `nifti.py`)."""
from __future__ import annotations

from datamodules.readers.folders import by_stem, list_images, match
from datamodules.readers.images import (
    IMAGE_SUFFIXES,
    SCALES,
    Normalization,
    normalize,
    read_array,
    read_image,
    read_mask,
    read_tensor,
)

__all__ = ["IMAGE_SUFFIXES", "SCALES", "Normalization", "by_stem", "list_images", "match", "normalize", "read_array",
           "read_image", "read_mask", "read_tensor"]
