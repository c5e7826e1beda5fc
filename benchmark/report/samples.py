"""The first few test predictions of a run, kept as `samples.npz` beside the record.

Why: the report compares models on the same test images (sample grid, zoomed insets, line profiles), and a
record's `sample.png` is an 8-bit picture of one model. The arrays are float16 (enough for plots; a few
hundred kB per run) with their image ids, so the report lines models up by id.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmark.records import atomic_write_bytes

FILE = "samples.npz"


@dataclass
class Samples:
    ids: list[str]
    source: list[np.ndarray]  # (C, H, W) float32 each
    prediction: list[np.ndarray]
    target: list[np.ndarray]


def save_samples(path: Path, ids: list[str],
                 samples: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> None:
    """Write (source, prediction, target) triples; images of different sizes are stored one array each."""
    if not samples or len(ids) != len(samples):
        return
    arrays: dict[str, np.ndarray] = {"ids": np.array(ids, dtype=str)}
    for i, triple in enumerate(samples):
        for name, tensor in zip(("source", "prediction", "target"), triple):
            arrays[f"{name}_{i}"] = tensor.detach().float().cpu().numpy().astype(np.float16)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load_samples(run_dir: str | Path) -> Samples | None:
    """The run's samples, or None when it kept none (older records, failed runs)."""
    path = Path(run_dir) / FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            ids = [str(i) for i in data["ids"]]
            kinds = [[data[f"{name}_{i}"].astype(np.float32) for i in range(len(ids))]
                     for name in ("source", "prediction", "target")]
            return Samples(ids, *kinds)
    except (OSError, KeyError, ValueError):
        return None
