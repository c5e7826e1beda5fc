"""Procedural ground truth for the synthetic default datasets (no download, deterministic from a seed).

Every generated image draws from its own ``numpy.random.Generator`` seeded by (dataset seed, split, index),
so an image does not change when the size of another split changes, and global random state is never
touched.
"""
from __future__ import annotations

import zlib

import numpy as np

_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


def image_rng(seed: int, split: str, index: int, stream: str = "") -> np.random.Generator:
    """The generator of one synthetic image; ``stream`` separates independent draws (scene, noise...)."""
    key = [int(seed) & 0xFFFFFFFF, _SPLIT_CODES.get(split, zlib.crc32(split.encode())), int(index)]
    if stream:
        key.append(zlib.crc32(stream.encode()))
    return np.random.default_rng(np.random.SeedSequence(key))
