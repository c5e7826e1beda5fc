"""Sample figures: source | prediction | target, one row per test image, as a plain PNG (no plotting stack)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmark.records import atomic_write_bytes


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] to (H, W) or (H, W, 3) uint8."""
    array = image.detach().float().clamp(0, 1).mul(255).round().byte().cpu().numpy()
    return array[0] if array.shape[0] == 1 else np.moveaxis(array[:3], 0, -1)


def save_sample_figure(path: Path, samples: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
                       gap: int = 4) -> None:
    if not samples:
        return
    rows = []
    for triple in samples:
        panels = [to_uint8(t) for t in triple]
        height = max(p.shape[0] for p in panels)
        padded = [np.pad(p, [(0, height - p.shape[0]), (0, gap)] + [(0, 0)] * (p.ndim - 2), constant_values=255)
                  for p in panels]
        rows.append(np.concatenate(padded, axis=1))
    width = max(r.shape[1] for r in rows)
    grid = np.concatenate([np.pad(r, [(0, gap), (0, width - r.shape[1])] + [(0, 0)] * (r.ndim - 2),
                                  constant_values=255) for r in rows], axis=0)
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
